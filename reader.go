package arvfile

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"io"
	"iter"
	"strings"
)

// lineChunk is how much ReadLine reads at a time; what it reads past the
// line is kept as the handle's tail for the next ReadLine.
const lineChunk = 64 << 10

// defaultChunk is the chunk size of Chunks when none is given, and the
// read-ahead of DecompressedReader.
const defaultChunk = 1 << 20

// fileExt is what the reader conveniences and the read-only fast path add to
// a handle.
type fileExt struct {
	// The line reader's tail, guarded by File.mu: bytes read past the last
	// line, at file offset tailOff, read when the collection's change
	// counter was tailGen. It is used only while the handle's offset is
	// tailOff and the counter has not moved (no write anywhere in the
	// collection since), so Seek, Write and Truncate need not clear it.
	tail    []byte
	tailBuf []byte
	tailOff int64
	tailGen uint64

	// ro serves the reads of a file of a read-only collection without its
	// actor (readpath.go); nil otherwise.
	ro *roFile
}

// ReadLine reads one line from the handle's offset and advances the offset
// past it. The line keeps its trailing "\n"; the last line of a file may
// lack one. With max > 0 at most max bytes are returned: a longer line comes
// back in pieces of max bytes, the last piece ending with the "\n". It
// returns io.EOF only when it read nothing; a line is returned without
// error. The returned slice is the caller's.
//
// ReadLine reads ahead in chunks and keeps the unread rest for the next
// ReadLine at the same offset; a write anywhere in the collection drops it,
// so ReadLine sees every write that completed before it, as Read does.
func (f *File) ReadLine(max int) ([]byte, error) {
	if err := f.check("read", false); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var line []byte
	for {
		chunk, err := f.lineChunkLocked()
		if err != nil {
			return nil, err
		}
		if len(chunk) == 0 {
			if len(line) == 0 {
				return nil, io.EOF
			}
			return line, nil
		}
		n, done := len(chunk), false
		if max > 0 && len(line)+n >= max {
			n, done = max-len(line), true
		}
		if i := bytes.IndexByte(chunk[:n], '\n'); i >= 0 {
			n, done = i+1, true
		}
		line = append(line, chunk[:n]...)
		f.x.tail = f.x.tail[n:]
		f.x.tailOff += int64(n)
		f.offset += int64(n)
		if done {
			return line, nil
		}
	}
}

// lineChunkLocked returns the bytes at the handle's offset that the line
// reader holds (its tail, when still valid) or reads a new chunk; empty at
// the end of the file. f.mu is held.
func (f *File) lineChunkLocked() ([]byte, error) {
	gen := f.c.rt.Changes.Load()
	x := &f.x
	if len(x.tail) > 0 && x.tailOff == f.offset && x.tailGen == gen {
		return x.tail, nil
	}
	if x.tailBuf == nil {
		x.tailBuf = make([]byte, lineChunk)
	}
	n, err := f.readAt("read", x.tailBuf, f.offset)
	if err != nil {
		x.tail = nil
		return nil, err
	}
	x.tail, x.tailOff, x.tailGen = x.tailBuf[:n], f.offset, gen
	return x.tail, nil
}

// ReadLines reads lines (as ReadLine does, without a size limit) from the
// handle's offset to the end of the file, or until the lines read add up to
// sizeHint bytes or more when sizeHint > 0. Each line keeps its "\n". The end
// of the file is not an error.
func (f *File) ReadLines(sizeHint int) ([]string, error) {
	var lines []string
	total := 0
	for sizeHint <= 0 || total < sizeHint {
		line, err := f.ReadLine(0)
		if err == io.EOF {
			break
		}
		if err != nil {
			return lines, err
		}
		lines = append(lines, string(line))
		total += len(line)
	}
	return lines, nil
}

// Lines iterates over the lines from the handle's offset to the end of the
// file, as ReadLine returns them. A read error is yielded once, with a nil
// line, and ends the iteration. Each line is a new slice.
func (f *File) Lines() iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		for {
			line, err := f.ReadLine(0)
			switch {
			case err == io.EOF:
				return
			case err != nil:
				yield(nil, err)
				return
			case !yield(line, nil):
				return
			}
		}
	}
}

// Chunks iterates over the rest of the file from the handle's offset in
// reads of size bytes (1 MiB when size ≤ 0), like the Python SDK's readall.
// Every chunk but the last is size bytes long. The yielded slice is reused:
// it is valid only until the next iteration. A read error is yielded once,
// with a nil chunk, and ends the iteration.
func (f *File) Chunks(size int) iter.Seq2[[]byte, error] {
	if size <= 0 {
		size = defaultChunk
	}
	return func(yield func([]byte, error) bool) {
		buf := make([]byte, size)
		for {
			n, err := io.ReadFull(f, buf)
			if n > 0 && !yield(buf[:n], nil) {
				return
			}
			switch err {
			case nil:
			case io.EOF, io.ErrUnexpectedEOF:
				return
			default:
				yield(nil, err)
				return
			}
		}
	}
}

// DecompressedName returns the file's name without a ".gz" or ".bz2"
// suffix: the name of what DecompressedReader returns.
func (f *File) DecompressedName() string {
	for _, ext := range []string{".gz", ".bz2"} {
		if strings.HasSuffix(f.name, ext) {
			return strings.TrimSuffix(f.name, ext)
		}
	}
	return f.name
}

// DecompressedReader returns a reader of the whole file's content,
// decompressed by gzip when the name ends with ".gz" (multi-member files
// included), by bzip2 for ".bz2", and as it is otherwise. It reads from the
// start of the file with ReadAt, so it leaves the handle's offset alone and
// may be used beside other reads. Closing it does not close the File. A
// malformed gzip header is an error here; other corruption is an error of
// Read.
func (f *File) DecompressedReader() (io.ReadCloser, error) {
	if err := f.check("read", false); err != nil {
		return nil, err
	}
	src := bufio.NewReaderSize(&atReader{f: f}, defaultChunk)
	switch {
	case strings.HasSuffix(f.name, ".gz"):
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, f.pathErr("decompress", err)
		}
		return zr, nil
	case strings.HasSuffix(f.name, ".bz2"):
		return io.NopCloser(bzip2.NewReader(src)), nil
	}
	return io.NopCloser(src), nil
}

// atReader reads a File sequentially through ReadAt, from its own offset.
type atReader struct {
	f   *File
	off int64
}

func (r *atReader) Read(p []byte) (int, error) {
	n, err := r.f.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}
