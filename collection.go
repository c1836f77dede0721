package arvfile

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/arvfile/arvfile/actors"
	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
)

// Collection is a tree of files saved as one manifest. Its methods are safe
// for concurrent use; each is a request to the collection's actor (and, for
// Commit and ManifestText, to its files' actors).
type Collection struct {
	e   *Engine
	pid *actor.PID // nil when created after the engine closed
	rt  *actors.CollectionRuntime

	subs    actors.Subscribers
	subMu   sync.Mutex // guards subList and nextSub (not file state)
	subList []subscription
	nextID  int

	loaded loadedText // the manifest a loaded collection came from (load.go)

	closed atomic.Bool   // set by Close: every later call fails with fs.ErrClosed
	done   chan struct{} // closed by Close once its actors stopped: ends the waits of calls in flight
}

// Close releases the collection: it stops the actors of its files (those
// in its tree now: moved in by RenameTo too, moved out not), of their
// buffer blocks and of its subscribers, and gives their memory back, so a
// server's memory follows the collections it has open. It commits nothing:
// call Commit first to keep what was written. It waits for the actors, at
// most the engine's close timeout (WithCloseTimeout); one still running then
// (a subscriber that does not return) is named in a *CloseError. Later calls
// on the collection and its files fail with an error matching fs.ErrClosed.
// Close is idempotent.
func (c *Collection) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	// Calls in flight wait for their answers until the actors stopped (so
	// that none touches a caller's buffer after its call returned); a
	// request the stop dropped is then failed by closing done.
	defer close(c.done)
	if c.pid == nil {
		return nil
	}
	return c.e.sys.StopCollection(c.rt.ID, c.e.cfg.closeTimeout)
}

// gone returns the error of a call on a released collection or a closed
// engine, or nil.
func (c *Collection) gone() error {
	switch {
	case c.pid == nil:
		return errEngineClosed
	case c.closed.Load():
		return errCollectionClosed
	}
	return nil
}

type subscription struct {
	id int
	fn actors.Subscriber
}

// ManifestOptions chooses the form of ManifestText.
type ManifestOptions struct {
	// Stripped drops every locator hint (md5+size only): the portable form.
	Stripped bool
	// Normalized asks for normalized text (streams sorted, locators listed
	// once per stream, adjacent spans merged). The text of a collection
	// built through this API is always normalized.
	Normalized bool
	// OnlyCommitted commits nothing and leaves out the bytes not yet stored
	// (segments still on buffer blocks), like the Python SDK's
	// only_committed.
	OnlyCommitted bool
}

// Event is a change to a collection's files, delivered to subscribers (see
// Collection.Subscribe) in the order the changes to each file happened.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Path is the file's path in the collection.
	Path string
	// Offset and Length locate the bytes of an EventWrite.
	Offset int64
	Length int64
}

// EventKind says what happened: EventAdd, EventDel, EventMod, EventTok or
// EventWrite.
type EventKind int

// The event kinds (the same numbers as the engine's own).
const (
	// EventAdd: a file was created.
	EventAdd = EventKind(messages.EventAdd)
	// EventDel: a file was removed.
	EventDel = EventKind(messages.EventDel)
	// EventMod: a file was flushed (its segments now name Keep locators).
	EventMod = EventKind(messages.EventMod)
	// EventTok: a file's locators changed without a change of content (new
	// permission tokens).
	EventTok = EventKind(messages.EventTok)
	// EventWrite: bytes were written to a file.
	EventWrite = EventKind(messages.EventWrite)
)

// String returns the event's name as the Python SDK spells it ("add",
// "del", "mod", "tok", "write"), or "unknown".
func (k EventKind) String() string { return messages.EventKind(k).String() }

// OpenFile opens the file name (a slash-separated path; "./" may prefix it;
// parent directories are implied) with the os.O_* flags: O_RDONLY, O_WRONLY
// or O_RDWR, plus O_CREATE, O_EXCL, O_TRUNC and O_APPEND. perm is ignored:
// collections have no permissions. Errors are *fs.PathError wrapping
// fs.ErrNotExist, fs.ErrExist, fs.ErrInvalid, syscall.EISDIR,
// syscall.ENOTDIR, ErrReadOnly or fs.ErrClosed, or os.ErrDeadlineExceeded
// past the engine's timeout (WithTimeout): such a call created, opened and
// truncated nothing.
func (c *Collection) OpenFile(name string, flag int, perm fs.FileMode) (*File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR) == os.O_WRONLY|os.O_RDWR {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if err := c.gone(); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	r := messages.NewReply()
	f := newFile(c, name, flag) // its request and answer live in it: one allocation for the three
	f.req.open = messages.OpenFile{Name: name, Flag: flag, Out: &f.req.openOut, Reply: r}
	c.send(&f.req.open, r)
	err, ok := c.e.awaitTimeout(r, c.done)
	if !ok {
		// Withdrawn before the file was created or its actor took the Open
		// (which may wait there behind a busy file): nothing happened, no
		// O_TRUNC either. Taken: the answer comes at once.
		if err == errEngineClosed || err == errCollectionClosed || r.Withdraw() {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		select {
		case <-r.Done():
			err = r.Err()
		case <-c.e.done:
			return nil, &fs.PathError{Op: "open", Path: name, Err: errEngineClosed}
		case <-c.done:
			if err, ok = closedOr(r, errCollectionClosed); !ok {
				return nil, &fs.PathError{Op: "open", Path: name, Err: err}
			}
		}
	}
	r.Release()
	if err != nil {
		return nil, err
	}
	f.opened(f.req.openOut)
	f.req.openOut = messages.OpenResult{} // the File keeps what it needs of it
	return f, nil
}

// send delivers msg (carrying r) to the collection's actor. When its
// strand is idle the calling goroutine runs it until r is answered, as
// File.send does: an uncontended Create or Stat costs no goroutine handoff.
func (c *Collection) send(msg any, r *messages.Reply) {
	if s := c.rt.Runner; s != nil && s.Claim() {
		c.e.sys.Send(c.pid, msg)
		s.RunUntil(r)
		return
	}
	c.e.sys.Send(c.pid, msg)
}

// Open opens name for reading.
func (c *Collection) Open(name string) (*File, error) { return c.OpenFile(name, os.O_RDONLY, 0) }

// Create creates name, or truncates it, and opens it for reading and
// writing.
func (c *Collection) Create(name string) (*File, error) {
	return c.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0)
}

// OpenMode opens name with a mode of the Arvados Python SDK's
// Collection.open: exactly the modes matching `^[rwa][bt]?\+?$`, with their
// Python (C stdio) meaning:
//
//	r   read; a missing file is fs.ErrNotExist
//	r+  read and write at the handle's offset; a missing file is created
//	w   write only, after truncating the file (created when missing)
//	w+  w, and read too
//	a   write only, every write at the end of the file (created when missing)
//	a+  a, and read too (reads start at the beginning)
//
// A "b" or "t" may come between the letter and the "+" ("rb", "wt",
// "rb+"); both mean the same, since a File is always binary. Any other mode
// ("r+b", "rw", "x", "") is an error wrapping fs.ErrInvalid, as the Python
// SDK refuses it.
func (c *Collection) OpenMode(name, mode string) (*File, error) {
	flag, ok := parseMode(mode)
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: mode %q (want one matching ^[rwa][bt]?\\+?$)", fs.ErrInvalid, mode)}
	}
	return c.OpenFile(name, flag, 0)
}

// parseMode returns the os.O_* flags of a Python mode `^[rwa][bt]?\+?$`.
func parseMode(mode string) (int, bool) {
	if mode == "" {
		return 0, false
	}
	rest := mode[1:]
	if rest != "" && (rest[0] == 'b' || rest[0] == 't') {
		rest = rest[1:]
	}
	plus := rest == "+"
	if rest != "" && !plus {
		return 0, false
	}
	rw := os.O_WRONLY
	if plus {
		rw = os.O_RDWR
	}
	switch mode[0] {
	case 'r':
		if plus {
			return os.O_RDWR | os.O_CREATE, true
		}
		return os.O_RDONLY, true
	case 'w':
		return rw | os.O_CREATE | os.O_TRUNC, true
	case 'a':
		return rw | os.O_CREATE | os.O_APPEND, true
	}
	return 0, false
}

// Commit stores everything written to the collection: it packs closed
// small files into shared blocks, seals every file's current block, waits
// for every upload (retrying blocks in ERROR), and replaces block ids by
// locators. It returns a *KeepWriteError naming every block that failed;
// their bytes are kept and a later Commit retries them.
func (c *Collection) Commit(ctx context.Context) error {
	_, err := c.commitAll(ctx)
	return err
}

// fileSegments is one file's path and segments, for a manifest.
type fileSegments struct {
	path string
	segs []segments.Range
	dir  bool // an empty directory, not a file
}

// commitAll commits every file and returns their segments as of the commit.
func (c *Collection) commitAll(ctx context.Context) ([]fileSegments, error) {
	if err := c.gone(); err != nil {
		return nil, err
	}
	r := messages.NewReply()
	c.e.sys.Send(c.e.sys.RT.Manager, &messages.PackAll{Collection: c.rt.ID, Reply: r})
	if err, ok := c.e.await(ctx, r, c.done); !ok {
		return nil, err
	}
	r.Release()

	var failed []messages.BlockFailure
	seen := make(map[string]bool)
	files, err := askEveryFile(ctx, c, func(call *syncCall, r *messages.Reply) any {
		call.out.Segments = call.room[:0]
		call.msg = messages.Sync{Out: &call.out, Reply: r}
		return &call.msg
	}, func(call *syncCall) []segments.Range {
		out := &call.out
		for _, f := range out.Failures {
			if !seen[f.BlockID] {
				seen[f.BlockID] = true
				failed = append(failed, f)
			}
		}
		return out.Segments
	})
	if err != nil {
		return nil, err
	}
	if len(failed) > 0 {
		sort.Slice(failed, func(i, j int) bool { return failed[i].BlockID < failed[j].BlockID })
		return files, newKeepWriteError(failed)
	}
	return files, nil
}

// syncCall is Commit's Sync to one file: the message, its answer, and room
// for the snapshot of a file of one segment (the file actor copies its
// segments there instead of allocating).
type syncCall struct {
	msg  messages.Sync
	out  messages.SyncResult
	room [1]segments.Range
}

// askEveryFile lists the collection's files with their segments: for each
// file that has an actor, the segments that segsOf reads from its answer to
// the message ask makes in a T of its own (ask runs on the collection
// actor's goroutine, segsOf on the caller's, in the files' order, once
// every file answered); for the others, and for empty directories, the
// snapshot's. The Ts are allocated many at a time: a commit of n files
// costs a few allocations for them, not n.
func askEveryFile[T any](ctx context.Context, c *Collection, ask func(call *T, r *messages.Reply) any, segsOf func(call *T) []segments.Range) ([]fileSegments, error) {
	var calls []*T // by entry index; nil for an entry not asked
	var free []T
	entries, err := c.snapshot(ctx, func(i int, file *actor.PID, r *messages.Reply) any {
		if len(free) == 0 {
			free = make([]T, min(max(16, len(calls)), 1024))
		}
		call := &free[0]
		free = free[1:]
		for len(calls) <= i {
			calls = append(calls, nil)
		}
		calls[i] = call
		return ask(call, r)
	})
	if err != nil {
		return nil, err
	}
	files := make([]fileSegments, len(entries))
	for i, en := range entries {
		files[i] = fileSegments{path: en.Path, segs: en.Segments, dir: en.Dir}
		if i < len(calls) && calls[i] != nil {
			files[i].segs = segsOf(calls[i])
		}
	}
	return files, nil
}

// snapshot lists the collection's files. With forward, the collection's
// actor also sends each file that has an actor the message forward makes
// (see messages.Snapshot), and snapshot waits for their answers too;
// forward runs on the actor's goroutine, before snapshot returns.
func (c *Collection) snapshot(ctx context.Context, forward func(i int, file *actor.PID, r *messages.Reply) any) ([]messages.SnapshotEntry, error) {
	if err := c.gone(); err != nil {
		return nil, err
	}
	r := messages.NewReply()
	var out []messages.SnapshotEntry
	c.send(&messages.Snapshot{Out: &out, Forward: forward, Reply: r}, r)
	err, ok := c.e.await(ctx, r, c.done)
	if !ok {
		return nil, err
	}
	r.Release()
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ManifestText returns the collection's manifest. Unless opts.OnlyCommitted
// it commits everything first (see Commit) and fails as Commit does.
func (c *Collection) ManifestText(ctx context.Context, opts ManifestOptions) (string, error) {
	if text, ok := c.verbatim(opts); ok {
		return text, nil
	}
	var files []fileSegments
	if opts.OnlyCommitted {
		var err error
		if files, err = c.committedSegments(ctx); err != nil {
			return "", err
		}
	} else {
		var err error
		if files, err = c.commitAll(ctx); err != nil {
			return "", err
		}
	}
	tree, err := buildTree(files)
	if err != nil {
		return "", err
	}
	return segments.FormatManifest(tree, segments.FormatOptions{Stripped: opts.Stripped}), nil
}

// committedSegments returns every file's committed segments.
func (c *Collection) committedSegments(ctx context.Context) ([]fileSegments, error) {
	return askEveryFile(ctx, c, func(out *[]segments.Range, r *messages.Reply) any {
		return &messages.GetSegments{OnlyCommitted: true, Out: out, Reply: r}
	}, func(out *[]segments.Range) []segments.Range { return *out })
}

// buildTree makes a manifest tree of files. The collection actor only
// holds valid paths, so the error (segments.Dir.MkdirAll's, for an invalid
// component or a directory named like a file) is not expected.
func buildTree(files []fileSegments) (*segments.Dir, error) {
	root := segments.NewDir()
	for _, f := range files {
		if f.dir {
			if _, err := root.MkdirAll(f.path); err != nil {
				return nil, err
			}
			continue
		}
		dir, name := path.Split(f.path)
		d, err := root.MkdirAll(strings.TrimSuffix(dir, "/"))
		if err != nil {
			return nil, err
		}
		d.Files[name] = &segments.File{Segments: f.segs}
	}
	return root, nil
}

// Subscribe calls fn with every later change to the collection's files, in
// the order each file's changes happened, from a goroutine of the engine's
// (one event at a time). fn may call the engine. cancel stops the calls
// (an event already being delivered may still arrive).
func (c *Collection) Subscribe(fn func(Event)) (cancel func()) {
	c.subMu.Lock()
	c.nextID++
	id := c.nextID
	deliver := func(ev messages.Event) {
		fn(Event{Kind: EventKind(ev.Kind), Path: ev.Path, Offset: ev.Offset, Length: ev.Length})
	}
	c.subList = append(c.subList, subscription{id: id, fn: deliver})
	c.publishLocked()
	c.subMu.Unlock()
	return func() {
		c.subMu.Lock()
		for i, s := range c.subList {
			if s.id == id {
				c.subList = append(c.subList[:i:i], c.subList[i+1:]...)
				break
			}
		}
		c.publishLocked()
		c.subMu.Unlock()
	}
}

// publishLocked hands the event actor a fresh copy of the subscribers.
func (c *Collection) publishLocked() {
	l := make([]actors.Subscriber, len(c.subList))
	for i, s := range c.subList {
		l[i] = s.fn
	}
	c.subs.Store(l)
	c.rt.Subscribed.Store(len(l) > 0)
}
