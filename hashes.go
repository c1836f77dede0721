package arvfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
)

// Portable hashes, file equality and permission tokens. None of these stores
// anything: bytes still in buffer blocks are named by the md5+size of what
// the blocks hold now (as the Python SDK does), so a later Commit that packs
// small files or repacks a block may name them differently.

// PortableManifestText returns the collection's stripped, normalized manifest
// (md5+size locators, no hints) without storing anything: the text whose
// md5 is the portable data hash.
func (c *Collection) PortableManifestText(ctx context.Context) (string, error) {
	files, err := c.hashedFiles(ctx)
	if err != nil {
		return "", err
	}
	tree, err := buildTree(files)
	if err != nil {
		return "", err
	}
	return segments.FormatManifest(tree, segments.FormatOptions{Stripped: true}), nil
}

// PortableDataHash returns the collection's portable data hash: the md5 of
// its PortableManifestText, "+", and the text's length. Nothing is stored.
func (c *Collection) PortableDataHash(ctx context.Context) (string, error) {
	text, err := c.PortableManifestText(ctx)
	if err != nil {
		return "", err
	}
	return segments.PortableDataHash(text), nil
}

// hashedFiles lists every file with its segments, buffer-block ids replaced
// by the md5+size of the blocks' bytes.
func (c *Collection) hashedFiles(ctx context.Context) ([]fileSegments, error) {
	return askEveryFile(ctx, c, func(out *messages.HashedSegments, r *messages.Reply) any {
		return &messages.HashBlocks{Out: out, Reply: r}
	}, named)
}

// named returns the segments of h with every buffer-block id replaced by the
// block's locator.
func named(h *messages.HashedSegments) []segments.Range {
	if len(h.Blocks) == 0 {
		return h.Segments
	}
	locs := make(map[string]string, len(h.Blocks))
	for _, b := range h.Blocks {
		locs[b.ID] = b.Locator
	}
	segs := h.Segments
	for i := range segs {
		if loc, ok := locs[segs[i].Locator]; ok {
			segs[i].Locator = loc
		}
	}
	return segs
}

// Equal reports whether f and other hold the same segments: the same
// locators (md5+size, hints ignored; bytes not yet stored named by their
// md5+size) at the same places of the same blocks — the Python SDK's
// ArvadosFile equality. Files with equal content stored differently are not
// equal.
func (f *File) Equal(other *File) (bool, error) {
	a, err := f.hashedSegments()
	if err != nil {
		return false, err
	}
	b, err := other.hashedSegments()
	if err != nil {
		return false, err
	}
	if len(a) != len(b) {
		return false, nil
	}
	for i := range a {
		x, y := a[i], b[i]
		if stripped(x.Locator) != stripped(y.Locator) || x.RangeStart != y.RangeStart ||
			x.RangeSize != y.RangeSize || x.SegmentOffset != y.SegmentOffset {
			return false, nil
		}
	}
	return true, nil
}

// stripped returns md5+size of a locator (or the text itself if it is not
// one).
func stripped(locator string) string {
	if l, err := keep.ParseLocator(locator); err == nil {
		return l.Stripped()
	}
	return locator
}

// hashedSegments returns the file's segments with portable locators.
func (f *File) hashedSegments() ([]segments.Range, error) {
	if f.isClosed() {
		return nil, f.pathErr("equal", fs.ErrClosed)
	}
	if f.x.ro != nil {
		return f.x.ro.segs, nil
	}
	r := messages.NewReply()
	var out messages.HashedSegments
	f.c.e.sys.Send(f.pid, &messages.HashBlocks{Out: &out, Reply: r})
	if err := f.finish("equal", r); err != nil {
		return nil, err
	}
	return named(&out), nil
}

// PermissionExpired reports whether any block locator of the collection
// carries a permission signature that expires at or before asOf. A
// permission hint that is not `A<40 hex>@<1-8 hex>` (an opaque signature,
// such as the placeholders of the Arvados documentation) has no expiry it
// can read and counts as expired (keep.Locator.PermissionExpired), so a
// caller that refreshes expired signatures replaces it.
func (c *Collection) PermissionExpired(ctx context.Context, asOf time.Time) (bool, error) {
	return c.anyLocator(ctx, func(l keep.Locator) bool { return l.PermissionExpired(asOf) })
}

// HasRemoteBlocks reports whether any block locator of the collection names
// a block of a remote cluster (a +R hint).
func (c *Collection) HasRemoteBlocks(ctx context.Context) (bool, error) {
	return c.anyLocator(ctx, keep.Locator.IsRemote)
}

// anyLocator reports whether pred holds for a locator of the collection.
func (c *Collection) anyLocator(ctx context.Context, pred func(keep.Locator) bool) (bool, error) {
	files, err := c.hashedFiles(ctx)
	if err != nil {
		return false, err
	}
	seen := make(map[string]bool)
	for _, f := range files {
		for _, s := range f.segs {
			if seen[s.Locator] {
				continue
			}
			seen[s.Locator] = true
			if l, err := keep.ParseLocator(s.Locator); err == nil && pred(l) {
				return true, nil
			}
		}
	}
	return false, nil
}

// ErrNoRefresher is wrapped by CopyRemoteBlocks when the engine's store
// cannot copy remote blocks (it does not implement keep.Refresher). It
// matches errors.ErrUnsupported.
var ErrNoRefresher = fmt.Errorf("arvfile: the store cannot copy remote blocks (no keep.Refresher): %w", errors.ErrUnsupported)

// CopyRemoteBlocks makes every remote block of the collection (a locator with
// a +R hint) local: the store's RefreshSignature copies it and returns a
// local (signed) locator, which then replaces the remote one in every file
// (each changed file emits EventTok). A block shared by several files is
// refreshed once. It fails with ErrNoRefresher when the store has no such
// capability, with ErrReadOnly for a read-only collection, and with the
// store's error (nothing replaced) when a block cannot be refreshed.
func (c *Collection) CopyRemoteBlocks(ctx context.Context) error {
	if c.rt.ReadOnly {
		return &fs.PathError{Op: "copyremote", Path: ".", Err: ErrReadOnly}
	}
	refresher, ok := c.e.cfg.store.(keep.Refresher)
	if !ok {
		return ErrNoRefresher
	}
	files, err := c.hashedFiles(ctx)
	if err != nil {
		return err
	}
	local := make(map[string]string)
	for _, f := range files {
		for _, s := range f.segs {
			if _, done := local[s.Locator]; done {
				continue
			}
			if l, err := keep.ParseLocator(s.Locator); err != nil || !l.IsRemote() {
				continue
			}
			loc, err := refresher.RefreshSignature(ctx, s.Locator)
			if err != nil {
				return fmt.Errorf("arvfile: copying remote block %s: %w", s.Locator, err)
			}
			local[s.Locator] = loc
		}
	}
	if len(local) == 0 {
		return nil
	}
	if err := c.gone(); err != nil {
		return err
	}
	r := messages.NewReply()
	c.send(&messages.ReplaceLocators{Map: local, Reply: r}, r)
	err, ok = c.e.await(ctx, r, c.done)
	if ok {
		r.Release()
	}
	return err
}
