package arvfile

import (
	"errors"
	"io"
	"sync"
)

// copyBufSize is the size of the buffer ReadFrom and WriteTo move bytes
// through: large enough that the per-request cost of the file's actor is
// spread over many bytes (io.Copy's own 32 KiB buffer makes an io.Copy into
// a File take twice as long as a loop with a 1 MiB buffer), small enough
// that many concurrent copies cost little memory.
const copyBufSize = 1 << 20

// copyBufs holds the buffers of ReadFrom and WriteTo between calls.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// ReadFrom implements io.ReaderFrom, so that io.Copy into a File moves the
// bytes through one 1 MiB buffer and as few write requests as a loop with
// such a buffer would make. It reads r until io.EOF and writes what it read
// as Write does: at the handle's offset, or at the end of the file in append
// mode, advancing the offset by each write.
//
// It fills its buffer from r before each Write (as bufio would), so a slow
// stream's bytes reach the file a buffer at a time, or at r's end.
//
// It returns the bytes written and the first error met, never io.EOF. A
// handle that is closed or not open for writing fails before r is read. A
// read error is returned after the bytes read before it are written; a
// write error stops the copy, and the bytes written until then stay written
// (as io.ReaderFrom allows): n counts exactly those, and the bytes of the
// failed Write, read from r, are dropped.
func (f *File) ReadFrom(r io.Reader) (n int64, err error) {
	if err := f.check("write", true); err != nil {
		return 0, err
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	if lr, ok := r.(*io.LimitedReader); ok && lr.N < int64(len(buf)) {
		buf = buf[:max(lr.N, 1)]
	}
	for {
		nr, rerr := fill(r, buf)
		if nr > 0 {
			nw, werr := f.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, werr
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// fill reads r into buf until buf is full, r fails, or r returns no bytes
// and no error several times in a row (io.ErrNoProgress, as bufio does).
func fill(r io.Reader, buf []byte) (int, error) {
	n, empty := 0, 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		if m < 0 || m > len(buf)-n {
			return n, errors.New("arvfile: the reader returned an impossible count")
		}
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 {
			if empty++; empty >= 100 {
				return n, io.ErrNoProgress
			}
		}
	}
	return n, nil
}

// WriteTo implements io.WriterTo, so that io.Copy out of a File moves the
// bytes through one 1 MiB buffer and as few read requests as a loop with
// such a buffer would make. It reads from the handle's offset to the end of
// the file and writes each piece to w.
//
// It returns the bytes w accepted and the first error met, never io.EOF.
// The handle's offset advances by the bytes w accepted, so a copy that
// fails part-way leaves the offset just past the last byte delivered; a
// short write by w without an error is io.ErrShortWrite.
func (f *File) WriteTo(w io.Writer) (n int64, err error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		if err := f.check("read", false); err != nil {
			return n, err
		}
		f.mu.Lock()
		at := f.offset
		nr, rerr := f.readAt("read", buf, at)
		f.offset = at + int64(nr)
		f.mu.Unlock()
		if nr > 0 {
			nw, werr := w.Write(buf[:nr])
			if nw < 0 || nw > nr {
				nw, werr = 0, errors.New("arvfile: the writer returned an impossible count")
			}
			n += int64(nw)
			if nw < nr {
				f.mu.Lock()
				if f.offset == at+int64(nr) { // no other Read or Seek moved it meanwhile
					f.offset = at + int64(nw)
				}
				f.mu.Unlock()
				if werr == nil {
					werr = io.ErrShortWrite
				}
			}
			if werr != nil {
				return n, werr
			}
		}
		if rerr != nil {
			return n, rerr
		}
		if nr == 0 {
			return n, nil
		}
	}
}
