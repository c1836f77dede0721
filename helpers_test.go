package arvfile

import (
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"io/fs"
	"testing"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/segments"
	"github.com/stretchr/testify/require"
)

// loc returns the locator (md5+size) of s.
func loc(s string) string { return fmt.Sprintf("%x+%d", md5.Sum([]byte(s)), len(s)) }

// pad is the padding block's locator.
const pad = keep.PaddingBlockLocator

// seg builds a segment.
func seg(locator string, start, size, offset int64) segments.Range {
	return segments.Range{Locator: locator, RangeStart: start, RangeSize: size, SegmentOffset: offset}
}

func newTestEngine(t *testing.T, st *testStore, opts ...Option) *Engine {
	t.Helper()
	e, err := New(append([]Option{WithStore(st)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// committedSegments commits c and returns each file's segments by path.
func committedSegments(t *testing.T, c *Collection) map[string][]segments.Range {
	t.Helper()
	files, err := c.commitAll(context.Background())
	require.NoError(t, err)
	m := make(map[string][]segments.Range, len(files))
	for _, f := range files {
		m[f.path] = f.segs
	}
	return m
}

// contents reads the whole file at path through a new handle.
func contents(t *testing.T, c *Collection, path string) string {
	t.Helper()
	f, err := c.Open(path)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	return string(b)
}

// create creates path and writes each string at its offset (in order).
func create(t *testing.T, c *Collection, path string, writes ...write) *File {
	t.Helper()
	f, err := c.Create(path)
	require.NoError(t, err)
	for _, w := range writes {
		n, err := f.WriteAt([]byte(w.data), w.off)
		require.NoError(t, err)
		require.Equal(t, len(w.data), n)
	}
	return f
}

type write struct {
	off  int64
	data string
}

// Short names for the io/fs vocabulary in tables.
var (
	fs_ErrInvalid    = fs.ErrInvalid
	fs_ErrPermission = fs.ErrPermission
	fs_ErrNotExist   = fs.ErrNotExist
)

type fs_FileMode = fs.FileMode

var bg = context.Background()

const (
	waitFor = 10 * time.Second
	tick    = time.Millisecond
)
