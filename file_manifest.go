package arvfile

import (
	"context"
	"io/fs"
	"path"

	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
)

// ManifestText returns the manifest of this file alone, the Python SDK's
// ArvadosFile.manifest_text(stream_name, portable_locators, normalize,
// only_committed): one line, the stream stream ("." when ""), the blocks the
// file uses, each once, and the file's spans under the last element of the
// name the handle was opened with (Name; see segments.FormatFileManifest).
// opts.Stripped is portable_locators (no hints); opts.OnlyCommitted leaves
// out the bytes not yet stored. The line is always normalized (adjacent
// spans merged), with or without opts.Normalized, as in the SDK.
//
// Nothing is stored: as in the SDK, bytes still in buffer blocks are named
// by the md5+size of what those blocks hold now, which a later Sync or
// Commit may pack or repack under another locator. Call Sync first for a
// manifest whose blocks are all in Keep. A bad stream name is an error
// wrapping fs.ErrInvalid; a closed handle, fs.ErrClosed.
func (f *File) ManifestText(ctx context.Context, stream string, opts ManifestOptions) (string, error) {
	const op = "manifest"
	if f.closed.Load() {
		return "", f.pathErr(op, fs.ErrClosed)
	}
	if stream == "" {
		stream = "."
	}
	segs, err := f.manifestSegments(ctx, opts.OnlyCommitted)
	if err != nil {
		return "", f.pathErr(op, err)
	}
	text, err := segments.FormatFileManifest(stream, path.Base(f.name), &segments.File{Segments: segs},
		segments.FormatOptions{Stripped: opts.Stripped})
	if err != nil {
		return "", f.pathErr(op, err)
	}
	return text, nil
}

// manifestSegments returns the file's segments with every buffer-block id
// replaced by the md5+size of the block's bytes, or, when onlyCommitted,
// without the segments still on buffer blocks.
func (f *File) manifestSegments(ctx context.Context, onlyCommitted bool) ([]segments.Range, error) {
	if f.x.ro != nil {
		return f.x.ro.segs, nil
	}
	e := f.c.e
	r := messages.NewReply()
	var hashed messages.HashedSegments
	var committed []segments.Range
	if onlyCommitted {
		e.sys.Send(f.pid, &messages.GetSegments{OnlyCommitted: true, Out: &committed, Reply: r})
	} else {
		e.sys.Send(f.pid, &messages.HashBlocks{Out: &hashed, Reply: r})
	}
	err, ok := e.await(ctx, r, f.c.done)
	if !ok {
		return nil, err
	}
	r.Release()
	switch {
	case err != nil:
		return nil, err
	case onlyCommitted:
		return committed, nil
	}
	return named(&hashed), nil
}

// FileManifestText returns the manifest of the file name alone under the
// stream stream: File.ManifestText of a handle opened for reading (and
// closed again). A missing file is fs.ErrNotExist, a directory
// syscall.EISDIR, as Open reports them.
func (c *Collection) FileManifestText(ctx context.Context, name, stream string, opts ManifestOptions) (string, error) {
	f, err := c.Open(name)
	if err != nil {
		return "", err
	}
	text, err := f.ManifestText(ctx, stream, opts)
	if cerr := f.Close(); err == nil && cerr != nil {
		return "", cerr
	}
	return text, err
}
