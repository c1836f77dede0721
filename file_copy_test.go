package arvfile

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onlyReader hides every method of a reader but Read, as a network stream
// would, so that io.Copy must use the File's ReadFrom.
type onlyReader struct{ r io.Reader }

func (o *onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// failingReader yields data, then fails with err.
type failingReader struct {
	data []byte
	err  error
	read int // bytes handed out
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.read == len(r.data) {
		return 0, r.err
	}
	n := copy(p, r.data[r.read:])
	r.read += n
	return n, nil
}

// hookReader reads r and calls hook once, before the first Read after
// `after` bytes were handed out.
type hookReader struct {
	r     io.Reader
	after int64
	read  int64
	hook  func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.read >= h.after && h.hook != nil {
		h.hook()
		h.hook = nil
	}
	if h.read < h.after {
		p = p[:min(int64(len(p)), h.after-h.read)] // no byte past after before the hook
	}
	n, err := h.r.Read(p)
	h.read += int64(n)
	return n, err
}

// limitWriter accepts up to limit bytes, then writes short with err.
type limitWriter struct {
	buf   bytes.Buffer
	limit int
	err   error
}

func (w *limitWriter) Write(p []byte) (int, error) {
	room := w.limit - w.buf.Len()
	if len(p) <= room {
		return w.buf.Write(p)
	}
	w.buf.Write(p[:room])
	return room, w.err
}

var errSource = errors.New("source failed")

// big returns n bytes of a pattern that does not repeat every MiB.
func big(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/1021)
	}
	return b
}

func TestReadFromWritesLikeWrite(t *testing.T) {
	large := big(3<<20 + 17)
	tests := []struct {
		name     string
		existing string // the file's content before the copy ("" for a new file)
		flag     int
		seek     int64 // the handle's offset before the copy
		src      func() io.Reader
		wantN    int64
		wantErr  error
		want     string // the file's content after
		wantOff  int64  // the handle's offset after
	}{
		{name: "a new file receives every byte of the source", flag: os.O_RDWR | os.O_CREATE,
			src: func() io.Reader { return &onlyReader{strings.NewReader("hello, world")} }, wantN: 12,
			want: "hello, world", wantOff: 12},
		{name: "the copy starts at the handle's offset and overwrites", existing: "0123456789", flag: os.O_RDWR, seek: 3,
			src: func() io.Reader { return &onlyReader{strings.NewReader("abc")} }, wantN: 3,
			want: "012abc6789", wantOff: 6},
		{name: "append mode writes at the end whatever the offset", existing: "0123456789", flag: os.O_RDWR | os.O_APPEND,
			src: func() io.Reader { return &onlyReader{strings.NewReader("xyz")} }, wantN: 3,
			want: "0123456789xyz", wantOff: 13},
		{name: "a limited reader is copied up to its limit", existing: "0123456789", flag: os.O_RDWR,
			src: func() io.Reader { return io.LimitReader(strings.NewReader("abcdef"), 4) }, wantN: 4,
			want: "abcd456789", wantOff: 4},
		{name: "a source that fails part-way leaves what it gave written", flag: os.O_RDWR | os.O_CREATE,
			src:   func() io.Reader { return &failingReader{data: []byte("partial"), err: errSource} },
			wantN: 7, wantErr: errSource, want: "partial", wantOff: 7},
		{name: "an empty source writes nothing", existing: "keep", flag: os.O_RDWR,
			src: func() io.Reader { return &onlyReader{strings.NewReader("")} }, want: "keep"},
		{name: "a read-only handle fails before reading", existing: "keep", flag: os.O_RDONLY,
			src: func() io.Reader { return &failingReader{data: []byte("never"), err: io.EOF} }, wantErr: fs.ErrPermission,
			want: "keep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestEngine(t, newTestStore(), WithBlockSize(1<<20)).NewCollection()
			if tt.existing != "" {
				require.NoError(t, create(t, c, "f", write{0, tt.existing}).Close())
			}
			f, err := c.OpenFile("f", tt.flag, 0o644)
			require.NoError(t, err)
			defer f.Close()
			_, err = f.Seek(tt.seek, io.SeekStart)
			require.NoError(t, err)
			src := tt.src()
			n, err := f.ReadFrom(src)
			assert.Equal(t, tt.wantN, n)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				assert.NoError(t, err)
			}
			if fr, ok := src.(*failingReader); ok && errors.Is(tt.wantErr, fs.ErrPermission) {
				assert.Equal(t, 0, fr.read, "the source was read")
			}
			off, err := f.Seek(0, io.SeekCurrent)
			require.NoError(t, err)
			assert.Equal(t, tt.wantOff, off)
			assert.Equal(t, tt.want, contents(t, c, "f"))
		})
	}

	t.Run("io.Copy of 3 MiB across 1 MiB blocks lands byte for byte", func(t *testing.T) {
		st := newTestStore()
		c := newTestEngine(t, st, WithBlockSize(1<<20)).NewCollection()
		f, err := c.Create("big")
		require.NoError(t, err)
		n, err := io.Copy(f, &onlyReader{bytes.NewReader(large)})
		require.NoError(t, err)
		assert.Equal(t, int64(len(large)), n)
		require.NoError(t, f.Close())
		assert.True(t, bytes.Equal(large, []byte(contents(t, c, "big"))))
		segs := committedSegments(t, c)["big"]
		require.Len(t, segs, 4)
		assert.Equal(t, seg(loc(string(large[3<<20:])), 3<<20, 17, 0), segs[3])
	})

	t.Run("a closed handle fails before reading", func(t *testing.T) {
		c := newTestEngine(t, newTestStore()).NewCollection()
		f, err := c.Create("f")
		require.NoError(t, err)
		require.NoError(t, f.Close())
		src := &failingReader{data: []byte("never"), err: io.EOF}
		n, err := f.ReadFrom(src)
		assert.Equal(t, int64(0), n)
		assert.ErrorIs(t, err, fs.ErrClosed)
		assert.Equal(t, 0, src.read)
	})

	t.Run("a write that fails part-way reports the bytes written before it", func(t *testing.T) {
		c := newTestEngine(t, newTestStore(), WithBlockSize(1<<20)).NewCollection()
		f, err := c.Create("f")
		require.NoError(t, err)
		first := large[:copyBufSize]
		src := &hookReader{r: bytes.NewReader(large), after: int64(len(first)), hook: func() { _ = f.Close() }}
		n, err := f.ReadFrom(src)
		assert.Equal(t, int64(len(first)), n)
		assert.ErrorIs(t, err, fs.ErrClosed)
		assert.True(t, bytes.Equal(first, []byte(contents(t, c, "f"))), "the first buffer is not what the file holds")
	})

	t.Run("a write past its deadline fails with nothing written", func(t *testing.T) {
		c := newTestEngine(t, newTestStore()).NewCollection()
		f := create(t, c, "f", write{0, "keep"})
		defer f.Close()
		require.NoError(t, f.SetWriteDeadline(time.Now().Add(-time.Second)))
		n, err := f.ReadFrom(&onlyReader{strings.NewReader("lost")})
		assert.Equal(t, int64(0), n)
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
		var pe *fs.PathError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "write", pe.Op)
		assert.Equal(t, "keep", contents(t, c, "f"))
	})
}

func TestWriteToDeliversFromTheOffset(t *testing.T) {
	large := big(3<<20 + 17)
	errSink := errors.New("sink failed")
	tests := []struct {
		name    string
		content []byte
		flag    int
		seek    int64
		dst     *limitWriter
		wantN   int64
		wantErr error
		want    string // what dst received ("" to compare with content[seek:])
		wantOff int64
	}{
		{name: "the whole file from the start", content: []byte("hello, world"), flag: os.O_RDONLY,
			dst: &limitWriter{limit: 1 << 30}, wantN: 12, want: "hello, world", wantOff: 12},
		{name: "the rest of the file from the handle's offset", content: []byte("hello, world"), flag: os.O_RDWR, seek: 7,
			dst: &limitWriter{limit: 1 << 30}, wantN: 5, want: "world", wantOff: 12},
		{name: "an offset past the end delivers nothing", content: []byte("hello"), flag: os.O_RDONLY, seek: 9,
			dst: &limitWriter{limit: 1 << 30}, wantOff: 9},
		{name: "a failing writer keeps the offset just past what it accepted", content: []byte("hello, world"),
			flag: os.O_RDONLY, seek: 1, dst: &limitWriter{limit: 4, err: errSink},
			wantN: 4, wantErr: errSink, want: "ello", wantOff: 5},
		{name: "a short write without an error is io.ErrShortWrite", content: []byte("hello, world"), flag: os.O_RDONLY,
			dst: &limitWriter{limit: 2}, wantN: 2, wantErr: io.ErrShortWrite, want: "he", wantOff: 2},
		{name: "3 MiB across 1 MiB blocks byte for byte", content: large, flag: os.O_RDONLY,
			dst: &limitWriter{limit: 1 << 30}, wantN: int64(len(large)), want: string(large), wantOff: int64(len(large))},
		{name: "a write-only handle fails", content: []byte("secret"), flag: os.O_WRONLY,
			dst: &limitWriter{limit: 1 << 30}, wantErr: fs.ErrPermission},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestEngine(t, newTestStore(), WithBlockSize(1<<20)).NewCollection()
			w, err := c.Create("f")
			require.NoError(t, err)
			_, err = w.Write(tt.content)
			require.NoError(t, err)
			require.NoError(t, w.Close())
			f, err := c.OpenFile("f", tt.flag, 0)
			require.NoError(t, err)
			defer f.Close()
			_, err = f.Seek(tt.seek, io.SeekStart)
			require.NoError(t, err)
			n, err := f.WriteTo(tt.dst)
			assert.Equal(t, tt.wantN, n)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				assert.NoError(t, err)
			}
			assert.True(t, tt.dst.buf.String() == tt.want, "dst received %d bytes, want %d", tt.dst.buf.Len(), len(tt.want))
			off, err := f.Seek(0, io.SeekCurrent)
			require.NoError(t, err)
			assert.Equal(t, tt.wantOff, off)
		})
	}

	t.Run("io.Copy out of a file uses WriteTo and ends at the end", func(t *testing.T) {
		c := newTestEngine(t, newTestStore()).NewCollection()
		require.NoError(t, create(t, c, "f", write{0, "hello, world"}).Close())
		f, err := c.Open("f")
		require.NoError(t, err)
		defer f.Close()
		var out strings.Builder
		n, err := io.Copy(&out, f)
		require.NoError(t, err)
		assert.Equal(t, int64(12), n)
		assert.Equal(t, "hello, world", out.String())
	})

	t.Run("a closed handle fails", func(t *testing.T) {
		c := newTestEngine(t, newTestStore()).NewCollection()
		f := create(t, c, "f", write{0, "x"})
		require.NoError(t, f.Close())
		var out bytes.Buffer
		n, err := f.WriteTo(&out)
		assert.Equal(t, int64(0), n)
		assert.ErrorIs(t, err, fs.ErrClosed)
		assert.Equal(t, 0, out.Len())
	})
}
