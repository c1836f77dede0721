package arvfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
)

// File is an open handle on a file of a collection. It implements
// io.Reader, io.ReaderAt, io.Writer, io.WriterAt, io.StringWriter, io.Seeker
// and io.Closer, and io.ReaderFrom and io.WriterTo for io.Copy (file_copy.go).
//
// Every call is a request to the file's actor, which serializes the
// requests of all handles on the file: a read sees every write that
// completed before it was made, through any handle. Read, Write and Seek
// share the handle's offset and are serialized per handle; ReadAt and
// WriteAt may run concurrently. Write returns once the bytes are copied;
// it never retains p.
type File struct {
	c      *Collection
	name   string
	pid    *actor.PID
	runner messages.Runner // runs the file's actors inline while a call waits
	read   bool
	write  bool
	append bool

	mu     sync.Mutex // guards offset (the handle's, not the file's state)
	offset int64
	closed atomic.Bool

	// The deadlines of reads and writes, in Unix nanoseconds (0: none, the
	// engine's timeout applies). Set by SetDeadline and friends.
	readDeadline  atomic.Int64
	writeDeadline atomic.Int64

	x fileExt // the line reader's tail (guarded by mu) and the read-only fast path (reader.go, readpath.go)

	req fileRequests // the messages of this handle's own requests: no allocation of their own
}

// fileRequests holds the request messages a handle sends most, inside the
// File: the OpenFile that made it and its Close are sent once each, and the
// Write is reused by the next write once the last one's Reply was released
// (messages.Reply.Release: no actor holds the request any more). A write
// that finds it taken — a concurrent WriteAt, or one whose Reply an actor
// may still hold after a cancelled wait — allocates its own.
type fileRequests struct {
	open      messages.OpenFile
	openOut   messages.OpenResult
	close     messages.Close
	closeOut  messages.SyncResult
	write     messages.Write
	writeBusy atomic.Bool // write is in use, or retired by a cancelled wait
}

// newFile returns the handle an OpenFile of name with flag is about to
// make: its request goes out in f.req.open, and open sets it up from the
// answer.
func newFile(c *Collection, name string, flag int) *File {
	acc := flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
	return &File{
		c:      c,
		name:   name,
		read:   acc != os.O_WRONLY,
		write:  acc != os.O_RDONLY,
		append: flag&os.O_APPEND != 0,
	}
}

// opened sets f up from the answer to its OpenFile.
func (f *File) opened(out messages.OpenResult) {
	f.pid, f.runner = out.File, out.Runner
	if out.File == nil {
		f.x.ro = newROFile(out.Segments, out.ModTime)
	}
}

// Name returns the name the file was opened with.
func (f *File) Name() string { return f.name }

// isClosed reports whether the handle or its collection was closed.
func (f *File) isClosed() bool { return f.closed.Load() || f.c.closed.Load() }

func (f *File) pathErr(op string, err error) error {
	return &fs.PathError{Op: op, Path: f.name, Err: err}
}

// check returns the error of an op on a closed handle, or of a write
// through a handle not open for writing.
func (f *File) check(op string, writing bool) error {
	switch {
	case f.isClosed():
		return f.pathErr(op, fs.ErrClosed)
	case writing && f.c.rt.ReadOnly:
		return f.pathErr(op, ErrReadOnly)
	case writing && !f.write:
		return f.pathErr(op, fmt.Errorf("file not open for writing: %w", fs.ErrPermission))
	case !writing && !f.read:
		return f.pathErr(op, fmt.Errorf("file not open for reading: %w", fs.ErrPermission))
	}
	return nil
}

// SetDeadline sets the read and write deadlines, as SetReadDeadline and
// SetWriteDeadline do.
func (f *File) SetDeadline(t time.Time) error {
	if err := f.SetReadDeadline(t); err != nil {
		return err
	}
	return f.SetWriteDeadline(t)
}

// SetReadDeadline bounds every later Read, ReadAt, Seek from the end, Stat
// and Size call by t, instead of the engine's timeout (WithTimeout); a zero
// t restores the engine's timeout. A call made after t, or still waiting at
// t, fails with an error wrapping os.ErrDeadlineExceeded and has had no
// effect: nothing was read into its buffer, and nothing will be. As with
// os.File, t is an absolute time: it bounds calls until it is changed. A
// call already waiting keeps the deadline it started with.
func (f *File) SetReadDeadline(t time.Time) error {
	if f.isClosed() {
		return f.pathErr("setreaddeadline", fs.ErrClosed)
	}
	f.readDeadline.Store(unixNano(t))
	return nil
}

// SetWriteDeadline bounds every later Write, WriteAt, WriteString,
// Truncate and Sync call by t, instead of the engine's timeout; a zero t
// restores the engine's timeout. A write that fails at its deadline with an
// error wrapping os.ErrDeadlineExceeded has written only the n bytes it
// reports (0 unless p spanned more than a block; see Write), and its buffer
// is no longer read. A Sync that fails at its deadline leaves its uploads
// running.
func (f *File) SetWriteDeadline(t time.Time) error {
	if f.isClosed() {
		return f.pathErr("setwritedeadline", fs.ErrClosed)
	}
	f.writeDeadline.Store(unixNano(t))
	return nil
}

// unixNano is t in Unix nanoseconds, 0 for the zero time (at least 1
// otherwise, so that a deadline in 1970 still counts as one).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixNano(), 1)
}

// expired returns the error of a call made after its deadline, or nil.
func (f *File) expired(op string, deadline int64) error {
	if deadline != 0 && time.Now().UnixNano() >= deadline {
		return f.pathErr(op, os.ErrDeadlineExceeded)
	}
	return nil
}

// await waits for r, a request sent to the file's actor, until deadline (0:
// the engine's timeout). When it gives up it withdraws the request: it sends
// Cancel and waits for r, which the actors answer at once (none of them
// waits inside a message) — r then says what the request did: a write
// withdrawn before it changed anything fails with n = 0. So once await
// returns, no actor touches the caller's buffer. ok is false when the engine
// closed first (then r must not be released).
func (f *File) await(r *messages.Reply, deadline int64) (err error, ok bool) {
	e := f.c.e
	if err, ok = e.awaitUntil(r, deadline, f.c.done); ok || err == errEngineClosed || err == errCollectionClosed {
		return err, ok
	}
	r.Cancelled()
	f.send(&messages.Cancel{Reply: r, Err: err}, r)
	select {
	case <-r.Done():
		return r.Err(), true
	case <-e.done:
		return errEngineClosed, false
	case <-f.c.done:
		return closedOr(r, errCollectionClosed)
	}
}

// Write writes p at the handle's offset (at the end of the file in append
// mode) and advances the offset. A Write that fails has had no effect,
// except that a p longer than a block is written a block at a time: one
// that fails at its deadline may have written the first n bytes (as
// io.Writer allows; the offset then advances by n).
func (f *File) Write(p []byte) (int, error) {
	if err := f.check("write", true); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, at, err := f.writeAt("write", p, f.offset, f.append)
	if n > 0 {
		f.offset = at + int64(n)
	}
	return n, err
}

// WriteString is Write of the bytes of s (without copying them first).
func (f *File) WriteString(s string) (int, error) {
	return f.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// WriteAt writes p at off, past the end of the file too (the gap reads as
// zeros). Like os.File, it refuses a handle opened with O_APPEND.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	if err := f.check("writeat", true); err != nil {
		return 0, err
	}
	if f.append {
		return 0, f.pathErr("writeat", fmt.Errorf("%w: WriteAt in append mode", fs.ErrInvalid))
	}
	if off < 0 {
		return 0, f.pathErr("writeat", fmt.Errorf("%w: negative offset", fs.ErrInvalid))
	}
	n, _, err := f.writeAt("writeat", p, off, false)
	return n, err
}

// send delivers msg (carrying r) to the file's actor. When the file's
// strand is idle the calling goroutine runs it until r is answered: the
// request then costs no goroutine handoff.
func (f *File) send(msg any, r *messages.Reply) {
	if f.runner != nil && f.runner.Claim() {
		f.c.e.sys.Send(f.pid, msg)
		f.runner.RunUntil(r)
		return
	}
	f.c.e.sys.Send(f.pid, msg)
}

// writeAt sends one Write and returns the bytes written and where (n > 0
// with an error: a write withdrawn after some of its blocks were written).
func (f *File) writeAt(op string, p []byte, off int64, appendMode bool) (int, int64, error) {
	deadline := f.writeDeadline.Load()
	if err := f.expired(op, deadline); err != nil {
		return 0, 0, err
	}
	r := messages.NewReply()
	msg, own := &f.req.write, f.req.writeBusy.CompareAndSwap(false, true)
	if !own {
		msg = new(messages.Write)
	}
	*msg = messages.Write{Offset: off, Data: p, Append: appendMode, Reply: r}
	f.send(msg, r)
	err, ok := f.await(r, deadline)
	if !ok {
		return 0, 0, f.pathErr(op, err)
	}
	n, at := r.N, r.Offset
	if r.Release() && own { // no actor holds msg: the next write may reuse it
		*msg = messages.Write{} // nor does the File hold on to p
		f.req.writeBusy.Store(false)
	}
	if err != nil {
		return int(n), at, f.pathErr(op, err)
	}
	return int(n), at, nil
}

// Read reads up to len(p) bytes at the handle's offset and advances it. It
// returns io.EOF at the end of the file.
func (f *File) Read(p []byte) (int, error) {
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.readAt("read", p, f.offset)
	f.offset += int64(n)
	if err == nil && n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, err
}

// ReadAt reads len(p) bytes at off; it is short only at the end of the
// file, with io.EOF.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if err := f.check("readat", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, f.pathErr("readat", fmt.Errorf("%w: negative offset", fs.ErrInvalid))
	}
	n, err := f.readAt("readat", p, off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// readAt asks the file's actor for the bytes at off, then fetches from Keep
// the pieces that are stored there.
func (f *File) readAt(op string, p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if f.x.ro != nil {
		return f.x.ro.readAt(f, op, p, off)
	}
	e := f.c.e
	deadline := f.readDeadline.Load()
	if err := f.expired(op, deadline); err != nil {
		return 0, err
	}
	r := messages.NewReply()
	var out messages.ReadResult
	f.send(&messages.Read{Offset: off, Buf: p, Out: &out, Reply: r}, r)
	err, ok := f.await(r, deadline)
	if !ok {
		return 0, f.pathErr(op, err)
	}
	n := int(r.N)
	r.Release()
	if err != nil {
		return 0, f.pathErr(op, err)
	}
	for _, fe := range out.Fetch {
		if fe.Locator == "" {
			continue
		}
		if err := e.fetchBy(fe, deadline); err != nil {
			return 0, f.pathErr(op, err)
		}
	}
	e.prefetch(out.Prefetch)
	return n, nil
}

// Seek sets the handle's offset: relative to the start (io.SeekStart), the
// current offset (io.SeekCurrent) or the end (io.SeekEnd). A negative result
// is an error wrapping fs.ErrInvalid.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	if f.isClosed() {
		return 0, f.pathErr("seek", fs.ErrClosed)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.offset
	case io.SeekEnd:
		size, err := f.size("seek")
		if err != nil {
			return 0, err
		}
		base = size
	default:
		return 0, f.pathErr("seek", fmt.Errorf("%w: whence %d", fs.ErrInvalid, whence))
	}
	if base+offset < 0 {
		return 0, f.pathErr("seek", fmt.Errorf("%w: negative offset %d", fs.ErrInvalid, base+offset))
	}
	f.offset = base + offset
	return f.offset, nil
}

// Truncate sets the file's size: shrinking drops the bytes past size
// (nothing is stored again), growing adds zeros.
func (f *File) Truncate(size int64) error {
	if err := f.check("truncate", true); err != nil {
		return err
	}
	if size < 0 {
		return f.pathErr("truncate", fmt.Errorf("%w: negative size", fs.ErrInvalid))
	}
	deadline := f.writeDeadline.Load()
	if err := f.expired("truncate", deadline); err != nil {
		return err
	}
	r := messages.NewReply()
	f.c.e.sys.Send(f.pid, &messages.Truncate{Size: size, Reply: r})
	return f.finishBy("truncate", r, deadline)
}

// finish waits for r, within the engine's timeout, and returns its error as
// a *fs.PathError.
func (f *File) finish(op string, r *messages.Reply) error {
	return f.finishBy(op, r, 0)
}

// finishBy waits for r until deadline (0: the engine's timeout; see await)
// and returns its error as a *fs.PathError.
func (f *File) finishBy(op string, r *messages.Reply, deadline int64) error {
	err, ok := f.await(r, deadline)
	if ok {
		r.Release()
	}
	if err != nil {
		return f.pathErr(op, err)
	}
	return nil
}

// Sync stores the file: it seals the file's current block (repacked in file
// order), waits until every block the file names is in Keep (retrying
// blocks in ERROR) and replaces block ids by locators. A failure is a
// *KeepWriteError naming each failed block; the bytes are kept.
func (f *File) Sync() error {
	if f.isClosed() {
		return f.pathErr("sync", fs.ErrClosed)
	}
	if f.x.ro != nil {
		return nil
	}
	deadline := f.writeDeadline.Load()
	if err := f.expired("sync", deadline); err != nil {
		return err
	}
	r := messages.NewReply()
	var out messages.SyncResult
	f.send(&messages.Sync{Out: &out, Reply: r}, r)
	if err := f.finishBy("sync", r, deadline); err != nil {
		return err
	}
	return keepWriteError(out.Failures)
}

func keepWriteError(failed []messages.BlockFailure) error {
	if len(failed) == 0 {
		return nil
	}
	return newKeepWriteError(failed)
}

// Close releases the handle. Closing a writer of a file larger than half a
// block stores the file as Sync does (and returns its error); a smaller file
// with no writer left becomes a candidate for packing with other small
// files, stored at the latest by Collection.Commit. A second Close returns
// an error wrapping fs.ErrClosed.
func (f *File) Close() error {
	if !f.closed.CompareAndSwap(false, true) || f.c.closed.Load() {
		return f.pathErr("close", fs.ErrClosed)
	}
	if f.x.ro != nil {
		return nil
	}
	r := messages.NewReply()
	out := &f.req.closeOut
	f.req.close = messages.Close{Writer: f.write && !f.c.rt.ReadOnly, Out: out, Reply: r}
	f.send(&f.req.close, r)
	// A Close is not withdrawn when it times out: the handle is released
	// in any case, and its flush goes on.
	err, ok := f.c.e.awaitTimeout(r, f.c.done)
	if !ok {
		return f.pathErr("close", err)
	}
	r.Release()
	if err != nil {
		return f.pathErr("close", err)
	}
	return keepWriteError(out.Failures)
}

// Size returns the file's size.
func (f *File) Size() (int64, error) {
	if f.isClosed() {
		return 0, f.pathErr("stat", fs.ErrClosed)
	}
	return f.size("stat")
}

func (f *File) size(op string) (int64, error) {
	info, err := f.stat(op)
	return info.Size, err
}

func (f *File) stat(op string) (messages.FileInfo, error) {
	if f.x.ro != nil {
		return f.x.ro.info, nil
	}
	deadline := f.readDeadline.Load()
	if err := f.expired(op, deadline); err != nil {
		return messages.FileInfo{}, err
	}
	r := messages.NewReply()
	var out messages.FileInfo
	f.c.e.sys.Send(f.pid, &messages.Stat{Out: &out, Reply: r})
	err := f.finishBy(op, r, deadline)
	if err != nil {
		return messages.FileInfo{}, err
	}
	return out, nil
}

// Stat returns the file's name (the last element of its path), size, mode
// (0644, or 0444 in a read-only collection) and modification time.
func (f *File) Stat() (fs.FileInfo, error) {
	if f.isClosed() {
		return nil, f.pathErr("stat", fs.ErrClosed)
	}
	info, err := f.stat("stat")
	if err != nil {
		return nil, err
	}
	return entryInfo{name: path.Base(f.name), size: info.Size, mode: f.c.perm(0o644), modTime: info.ModTime}, nil
}

// fetchBy copies a piece of a Keep block into its destination, giving up at
// deadline (Unix nanoseconds; 0: the engine's timeout) or when the engine
// closes. A block in the cache is copied at once; otherwise the store is
// asked on a goroutine of its own, so that a store that ignores its context
// cannot hold the caller past its deadline: that goroutine is abandoned,
// and the destination is written only here, by the caller.
func (e *Engine) fetchBy(fe messages.Fetch, deadline int64) error {
	ctx := context.Background()
	var cancel context.CancelFunc
	switch {
	case deadline != 0:
		ctx, cancel = context.WithDeadline(ctx, time.Unix(0, deadline))
	case e.cfg.timeout > 0:
		ctx, cancel = context.WithTimeout(ctx, e.cfg.timeout)
	default:
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	if e.cache != nil {
		if _, ok := e.cache.Cached(fe.Locator); ok {
			data, err := e.reader.Get(ctx, fe.Locator) // counts the hit
			return copyPiece(fe, data, err)
		}
	}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := e.reader.Get(ctx, fe.Locator)
		done <- result{data, err}
	}()
	select {
	case res := <-done:
		return copyPiece(fe, res.data, res.err)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return os.ErrDeadlineExceeded
		}
		return ctx.Err()
	case <-e.done:
		return errEngineClosed
	}
}

// copyPiece copies the piece fe wants of a block's data (err: the Get's).
func copyPiece(fe messages.Fetch, data []byte, err error) error {
	if err != nil {
		return err
	}
	end := fe.BlockOffset + int64(len(fe.Dst))
	if fe.BlockOffset < 0 || end > int64(len(data)) {
		return fmt.Errorf("arvfile: block %s has %d bytes, segment wants [%d,%d)", fe.Locator, len(data), fe.BlockOffset, end)
	}
	copy(fe.Dst, data[fe.BlockOffset:end])
	return nil
}

// prefetch asks the cache to load blocks a sequential reader will want.
func (e *Engine) prefetch(locators []string) {
	if len(locators) == 0 {
		return
	}
	if p, ok := e.reader.(interface{ Prefetch(...string) }); ok {
		p.Prefetch(locators...)
	}
}
