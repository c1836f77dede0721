package arvfile

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/arvfile/arvfile/segments"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSparseWritesInEveryOrderStoreOneRepackedBlock(t *testing.T) {
	a, b, c := write{0, "aaaa"}, write{8, "bbbb"}, write{16, "cccc"}
	tests := []struct {
		name   string
		writes []write
		want   []segments.Range
	}{
		{"in file order", []write{a, b, c}, []segments.Range{
			seg(loc("aaaabbbbcccc"), 0, 4, 0), seg(pad, 4, 4, 0), seg(loc("aaaabbbbcccc"), 8, 4, 4),
			seg(pad, 12, 4, 0), seg(loc("aaaabbbbcccc"), 16, 4, 8),
		}},
		{"a c b", []write{a, c, b}, []segments.Range{
			seg(loc("aaaabbbbcccc"), 0, 4, 0), seg(pad, 4, 4, 0), seg(loc("aaaabbbbcccc"), 8, 4, 4),
			seg(pad, 12, 4, 8), seg(loc("aaaabbbbcccc"), 16, 4, 8),
		}},
		{"b a c", []write{b, a, c}, []segments.Range{
			seg(loc("aaaabbbbcccc"), 0, 4, 0), seg(pad, 4, 4, 4), seg(loc("aaaabbbbcccc"), 8, 4, 4),
			seg(pad, 12, 4, 0), seg(loc("aaaabbbbcccc"), 16, 4, 8),
		}},
		{"b c a", []write{b, c, a}, []segments.Range{
			seg(loc("aaaabbbbcccc"), 0, 4, 0), seg(pad, 4, 4, 4), seg(loc("aaaabbbbcccc"), 8, 4, 4),
			seg(pad, 12, 4, 0), seg(loc("aaaabbbbcccc"), 16, 4, 8),
		}},
		{"c a b", []write{c, a, b}, []segments.Range{
			seg(loc("aaaabbbbcccc"), 0, 4, 0), seg(pad, 4, 4, 4), seg(loc("aaaabbbbcccc"), 8, 4, 4),
			seg(pad, 12, 4, 12), seg(loc("aaaabbbbcccc"), 16, 4, 8),
		}},
		{"in reverse order", []write{c, b, a}, []segments.Range{
			seg(loc("aaaabbbbcccc"), 0, 4, 0), seg(pad, 4, 4, 4), seg(loc("aaaabbbbcccc"), 8, 4, 4),
			seg(pad, 12, 4, 12), seg(loc("aaaabbbbcccc"), 16, 4, 8),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newTestStore()
			c := newTestEngine(t, st, WithBlockSize(16)).NewCollection()
			f := create(t, c, "f", tt.writes...)
			require.NoError(t, f.Close())
			assert.Equal(t, "aaaa\x00\x00\x00\x00bbbb\x00\x00\x00\x00cccc", contents(t, c, "f"))
			assert.Equal(t, map[string][]segments.Range{"f": tt.want}, committedSegments(t, c))
			assert.Equal(t, map[string]int{loc("aaaabbbbcccc"): 1, pad: 1}, st.putCounts())
			assert.Equal(t, "aaaa\x00\x00\x00\x00bbbb\x00\x00\x00\x00cccc", contents(t, c, "f"))
		})
	}
}

func TestWritePastEOFOfACommittedFilePadsWithTheSharedPaddingBlock(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(16)).NewCollection()
	f := create(t, c, "a", write{0, "xy"})
	require.NoError(t, f.Sync())
	_, err := f.WriteAt([]byte("z"), 5)
	require.NoError(t, err)
	g := create(t, c, "b", write{3, "w"})
	require.NoError(t, g.Close())
	require.NoError(t, f.Close())
	// Both files are small and closed: their blocks ("z" first, created
	// first, though closed last) are packed into one.
	assert.Equal(t, map[string][]segments.Range{
		"a": {seg(loc("xy"), 0, 2, 0), seg(pad, 2, 3, 0), seg(loc("zw"), 5, 1, 0)},
		"b": {seg(pad, 0, 3, 0), seg(loc("zw"), 3, 1, 1)},
	}, committedSegments(t, c))
	assert.Equal(t, map[string]int{loc("xy"): 1, loc("zw"): 1, pad: 1}, st.putCounts())
	assert.Equal(t, "xy\x00\x00\x00z", contents(t, c, "a"))
	assert.Equal(t, "\x00\x00\x00w", contents(t, c, "b"))
}

func TestOverwritesOfCommittedSegments(t *testing.T) {
	tests := []struct {
		name    string
		at      int64
		data    string
		content string
		want    []segments.Range
	}{
		{"inside one segment", 1, "XY", "aXYabbbbcccc", []segments.Range{
			seg(loc("aaaa"), 0, 1, 0), seg(loc("XY"), 1, 2, 0), seg(loc("aaaa"), 3, 1, 3),
			seg(loc("bbbb"), 4, 4, 0), seg(loc("cccc"), 8, 4, 0),
		}},
		{"across two segments", 2, "XYZW", "aaXYZWbbcccc", []segments.Range{
			seg(loc("aaaa"), 0, 2, 0), seg(loc("XYZW"), 2, 4, 0), seg(loc("bbbb"), 6, 2, 2), seg(loc("cccc"), 8, 4, 0),
		}},
		{"across three segments", 2, "XXXXXXXX", "aaXXXXXXXXcc", []segments.Range{
			seg(loc("aaaa"), 0, 2, 0), seg(loc("XXXXXXXX"), 2, 8, 0), seg(loc("cccc"), 10, 2, 2),
		}},
		{"exactly one whole segment", 4, "BBBB", "aaaaBBBBcccc", []segments.Range{
			seg(loc("aaaa"), 0, 4, 0), seg(loc("BBBB"), 4, 4, 0), seg(loc("cccc"), 8, 4, 0),
		}},
		{"across the end of the file", 10, "XYZ", "aaaabbbbccXYZ", []segments.Range{
			seg(loc("aaaa"), 0, 4, 0), seg(loc("bbbb"), 4, 4, 0), seg(loc("cccc"), 8, 2, 0), seg(loc("XYZ"), 10, 3, 0),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newTestStore()
			c := newTestEngine(t, st, WithBlockSize(16)).NewCollection()
			f := create(t, c, "f")
			for i, s := range []string{"aaaa", "bbbb", "cccc"} {
				_, err := f.WriteAt([]byte(s), int64(4*i))
				require.NoError(t, err)
				require.NoError(t, f.Sync())
			}
			_, err := f.WriteAt([]byte(tt.data), tt.at)
			require.NoError(t, err)
			assert.Equal(t, tt.content, contents(t, c, "f"))
			require.NoError(t, f.Close())
			assert.Equal(t, map[string][]segments.Range{"f": tt.want}, committedSegments(t, c))
			assert.Equal(t, tt.content, contents(t, c, "f"))
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name    string
		size    int64
		content string
		want    []segments.Range
	}{
		{"shrinks by cutting segments", 6, "012345", []segments.Range{
			seg(loc("01234"), 0, 5, 0), seg(loc("56789"), 5, 1, 0),
		}},
		{"shrinks to a segment boundary", 5, "01234", []segments.Range{seg(loc("01234"), 0, 5, 0)}},
		{"shrinks to nothing", 0, "", nil},
		{"keeps the same size", 10, "0123456789", []segments.Range{
			seg(loc("01234"), 0, 5, 0), seg(loc("56789"), 5, 5, 0),
		}},
		{"grows with the padding block", 13, "0123456789\x00\x00\x00", []segments.Range{
			seg(loc("01234"), 0, 5, 0), seg(loc("56789"), 5, 5, 0), seg(pad, 10, 3, 0),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newTestStore()
			c := newTestEngine(t, st, WithBlockSize(5)).NewCollection()
			f := create(t, c, "f", write{0, "0123456789"})
			require.NoError(t, f.Sync())
			before := st.putCounts()
			require.NoError(t, f.Truncate(tt.size))
			size, err := f.Size()
			require.NoError(t, err)
			assert.Equal(t, tt.size, size)
			assert.Equal(t, tt.content, contents(t, c, "f"))
			require.NoError(t, f.Close())
			assert.Equal(t, map[string][]segments.Range{"f": tt.want}, committedSegments(t, c))
			after := st.putCounts()
			delete(after, pad)
			assert.Equal(t, before, after, "truncate stores nothing again")
		})
	}
}

func TestTenOverwritesAtOffsetZeroStoreOneTenByteBlock(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(64)).NewCollection()
	f := create(t, c, "f")
	for i := 0; i < 10; i++ {
		_, err := f.WriteAt([]byte(strings.Repeat(fmt.Sprint(i), 10)), 0)
		require.NoError(t, err)
	}
	require.NoError(t, f.Sync())
	assert.Equal(t, map[string]int{loc("9999999999"): 1}, st.putCounts())
	require.NoError(t, f.Close())
	assert.Equal(t, map[string][]segments.Range{"f": {seg(loc("9999999999"), 0, 10, 0)}}, committedSegments(t, c))
}

func TestOutOfOrderWritesFillingBlocksAreRepackedBeforeEachSeal(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(8)).NewCollection()
	// 4-byte writes in the order 3 1 0 2 over a 16-byte file: blocks fill
	// with two writes each, out of file order, and are repacked before they
	// are sealed.
	f := create(t, c, "f", write{12, "dddd"}, write{4, "bbbb"}, write{0, "aaaa"}, write{8, "cccc"})
	require.NoError(t, f.Close())
	assert.Equal(t, "aaaabbbbccccdddd", contents(t, c, "f"))
	assert.Equal(t, map[string][]segments.Range{"f": {
		seg(loc("aaaacccc"), 0, 4, 0), seg(loc("bbbbdddd"), 4, 4, 0),
		seg(loc("aaaacccc"), 8, 4, 4), seg(loc("bbbbdddd"), 12, 4, 4),
	}}, committedSegments(t, c))
	// The padding first written below "dddd" was overwritten: never stored.
	assert.Equal(t, map[string]int{loc("bbbbdddd"): 1, loc("aaaacccc"): 1}, st.putCounts())
}

func TestDataLargerThanABlockIsSplit(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(4)).NewCollection()
	f := create(t, c, "f", write{0, "0123456789"})
	require.NoError(t, f.Close())
	assert.Equal(t, map[string][]segments.Range{"f": {
		seg(loc("0123"), 0, 4, 0), seg(loc("4567"), 4, 4, 0), seg(loc("89"), 8, 2, 0),
	}}, committedSegments(t, c))
	assert.Equal(t, map[string]int{loc("0123"): 1, loc("4567"): 1, loc("89"): 1}, st.putCounts())
}

func TestSequentialWritesExtendOneSegmentPerBlock(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(8)).NewCollection()
	f := create(t, c, "f")
	for _, s := range []string{"ab", "cd", "ef", "gh", "ij"} {
		_, err := f.WriteString(s)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	assert.Equal(t, map[string][]segments.Range{"f": {
		seg(loc("abcdefgh"), 0, 8, 0), seg(loc("ij"), 8, 2, 0),
	}}, committedSegments(t, c))
}

func TestAppendModeWritesAtTheEndOfFile(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(64)).NewCollection()
	f := create(t, c, "log", write{0, "start\n"})
	require.NoError(t, f.Close())

	a1, err := c.OpenMode("log", "a")
	require.NoError(t, err)
	a2, err := c.OpenMode("log", "ab+")
	require.NoError(t, err)
	_, err = a1.WriteString("one\n")
	require.NoError(t, err)
	_, err = a2.WriteString("two\n")
	require.NoError(t, err)
	pos, err := a1.Seek(0, io.SeekStart)
	require.NoError(t, err)
	assert.Equal(t, int64(0), pos)
	_, err = a1.WriteString("three\n")
	require.NoError(t, err)
	pos, err = a1.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	assert.Equal(t, int64(20), pos, "the offset follows the appended bytes")
	_, err = a1.WriteAt([]byte("x"), 0)
	assert.ErrorIs(t, err, fs_ErrInvalid)
	b := make([]byte, 6)
	_, err = a2.ReadAt(b, 0)
	require.NoError(t, err)
	assert.Equal(t, "start\n", string(b))
	require.NoError(t, a1.Close())
	require.NoError(t, a2.Close())
	assert.Equal(t, "start\none\ntwo\nthree\n", contents(t, c, "log"))
}

func TestOpenModes(t *testing.T) {
	tests := []struct {
		mode    string
		content string // after writing "XY" through the handle, if it can
		canRead bool
		canWrit bool
	}{
		{"r", "hello", true, false},
		{"rb", "hello", true, false},
		{"r+", "XYllo", true, true},
		{"rt+", "XYllo", true, true},
		{"rb+", "XYllo", true, true},
		{"w", "XY", false, true},
		{"wt", "XY", false, true},
		{"w+", "XY", true, true},
		{"wb+", "XY", true, true},
		{"a", "helloXY", false, true},
		{"a+", "helloXY", true, true},
		{"at", "helloXY", false, true},
		{"ab+", "helloXY", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			c := newTestEngine(t, newTestStore(), WithBlockSize(64)).NewCollection()
			f := create(t, c, "f", write{0, "hello"})
			require.NoError(t, f.Close())
			h, err := c.OpenMode("f", tt.mode)
			require.NoError(t, err)
			_, err = h.WriteString("XY")
			if tt.canWrit {
				require.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, fs_ErrPermission)
			}
			_, err = h.ReadAt(make([]byte, 1), 0)
			if tt.canRead {
				require.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, fs_ErrPermission)
			}
			require.NoError(t, h.Close())
			assert.Equal(t, tt.content, contents(t, c, "f"))
		})
	}
}

func TestOpenModeCreatesMissingFilesExceptForReading(t *testing.T) {
	c := newTestEngine(t, newTestStore()).NewCollection()
	_, err := c.OpenMode("missing", "r")
	assert.ErrorIs(t, err, fs_ErrNotExist)
	for _, mode := range []string{"r+", "w", "w+", "a", "a+"} {
		f, err := c.OpenMode("new-"+mode, mode)
		require.NoError(t, err, mode)
		require.NoError(t, f.Close())
	}
	for _, mode := range []string{"", "x", "rr", "r++", "rbt", "+r", "q", "r+b", "w+t", "a+b", "rw", "rb++", "R", "r\n", "x+", "U"} {
		_, err := c.OpenMode("f", mode)
		assert.ErrorIs(t, err, fs_ErrInvalid, mode)
		assert.EqualError(t, err, fmt.Sprintf(`open f: invalid argument: mode %q (want one matching ^[rwa][bt]?\+?$)`, mode))
	}
}

func TestReadsSeeCompletedWritesThroughAnyHandle(t *testing.T) {
	c := newTestEngine(t, newTestStore(), WithBlockSize(4)).NewCollection()
	w := create(t, c, "f")
	r, err := c.Open("f")
	require.NoError(t, err)
	buf := make([]byte, 10)
	n, err := r.Read(buf)
	assert.Equal(t, 0, n)
	assert.Equal(t, io.EOF, err)
	_, err = w.WriteString("0123456")
	require.NoError(t, err)
	n, err = r.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "0123456", string(buf[:n]))
	require.NoError(t, w.Sync())
	_, err = w.WriteString("789")
	require.NoError(t, err)
	n, err = r.ReadAt(buf, 0)
	require.NoError(t, err)
	assert.Equal(t, "0123456789", string(buf[:n]))
	n, err = r.ReadAt(buf, 5)
	assert.Equal(t, io.EOF, err)
	assert.Equal(t, "56789", string(buf[:n]))
	require.NoError(t, w.Close())
	require.NoError(t, r.Close())
}

func TestSeek(t *testing.T) {
	c := newTestEngine(t, newTestStore()).NewCollection()
	f := create(t, c, "f", write{0, "0123456789"})
	tests := []struct {
		off    int64
		whence int
		want   int64
		next   string
	}{
		{3, io.SeekStart, 3, "34"},
		{2, io.SeekCurrent, 7, "78"},
		{-3, io.SeekEnd, 7, "78"},
		{5, io.SeekEnd, 15, ""},
	}
	for _, tt := range tests {
		pos, err := f.Seek(tt.off, tt.whence)
		require.NoError(t, err)
		assert.Equal(t, tt.want, pos)
		b := make([]byte, 2)
		n, _ := f.Read(b)
		assert.Equal(t, tt.next, string(b[:n]))
	}
	_, err := f.Seek(-1, io.SeekStart)
	assert.ErrorIs(t, err, fs_ErrInvalid)
	_, err = f.Seek(-20, io.SeekEnd)
	assert.ErrorIs(t, err, fs_ErrInvalid)
	_, err = f.Seek(0, 7)
	assert.ErrorIs(t, err, fs_ErrInvalid)
	require.NoError(t, f.Close())
}

func TestStat(t *testing.T) {
	c := newTestEngine(t, newTestStore()).NewCollection()
	f := create(t, c, "dir/sub/f.txt", write{0, "hello"})
	info, err := f.Stat()
	require.NoError(t, err)
	assert.Equal(t, "f.txt", info.Name())
	assert.Equal(t, int64(5), info.Size())
	assert.Equal(t, fs_FileMode(0o644), info.Mode())
	assert.False(t, info.IsDir())
	assert.Equal(t, "dir/sub/f.txt", f.Name())
	require.NoError(t, f.Close())
}

var _ = context.Background

func TestSequentialReadsPrefetchTheNextBlocksAndReadEachBlockOnce(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(16), WithPrefetch(2)).NewCollection()
	blocks := []string{"0000000000000000", "1111111111111111", "2222222222222222", "3333333333333333"}
	f := create(t, c, "f", write{0, strings.Join(blocks, "")})
	require.NoError(t, f.Close())
	r, err := c.OpenMode("f", "r+") // a writable collection: reads go through the file actor
	require.NoError(t, err)
	defer r.Close()
	buf := make([]byte, 16)
	_, err = io.ReadFull(r, buf)
	require.NoError(t, err)
	assert.Equal(t, blocks[0], string(buf))
	assert.Equal(t, 1, st.mem.Gets(loc(blocks[0])))
	require.Eventually(t, func() bool {
		return st.mem.Gets(loc(blocks[1])) == 1 && st.mem.Gets(loc(blocks[2])) == 1
	}, waitFor, tick, "the next two blocks are prefetched")
	for _, want := range blocks[1:] {
		_, err = io.ReadFull(r, buf)
		require.NoError(t, err)
		assert.Equal(t, want, string(buf))
	}
	for _, b := range blocks {
		assert.Equal(t, 1, st.mem.Gets(loc(b)), "block %s read from the store once", b[:1])
	}
}
