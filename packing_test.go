package arvfile

import (
	"testing"

	"github.com/arvfile/arvfile/segments"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClosedSmallFilesArePackedIntoOneBlockAtCommit(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(64)).NewCollection()
	for _, f := range []struct{ name, data string }{
		{"a", "aaaaaaaaaa"},
		{"dir/b", "bbbbbbbbbbbbbbbbbbbb"},
		{"c", "cccccccccccccccccccccccccccccc"},
	} {
		require.NoError(t, create(t, c, f.name, write{0, f.data}).Close())
	}
	large := create(t, c, "large", write{0, "LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL"}) // 40 > 64/2
	require.NoError(t, large.Close())
	open := create(t, c, "open", write{0, "oooo"})
	defer open.Close()

	packed := loc("aaaaaaaaaa" + "bbbbbbbbbbbbbbbbbbbb" + "cccccccccccccccccccccccccccccc")
	assert.Equal(t, map[string][]segments.Range{
		"a":     {seg(packed, 0, 10, 0)},
		"dir/b": {seg(packed, 0, 20, 10)},
		"c":     {seg(packed, 0, 30, 30)},
		"large": {seg(loc("LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL"), 0, 40, 0)},
		"open":  {seg(loc("oooo"), 0, 4, 0)},
	}, committedSegments(t, c))
	assert.Equal(t, map[string]int{packed: 1, loc("LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLL"): 1, loc("oooo"): 1}, st.putCounts())
	assert.Equal(t, "bbbbbbbbbbbbbbbbbbbb", contents(t, c, "dir/b"))
	assert.Equal(t, "cccccccccccccccccccccccccccccc", contents(t, c, "c"))
}

func TestSmallFilesArePackedAsSoonAsTheyFillABlock(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(64)).NewCollection()
	data := []string{
		"aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccc",
		"dddddddddddddddddddd", "eeeeeeeeeeeeeeeeeeee",
	}
	for i, d := range data[:4] {
		require.NoError(t, create(t, c, string(rune('a'+i)), write{0, d}).Close())
	}
	// 80 bytes of candidates: a, b and c fill 60 of 64 bytes, d waits.
	first := loc(data[0] + data[1] + data[2])
	require.Eventually(t, func() bool { return st.putCounts()[first] == 1 }, waitFor, tick)
	require.NoError(t, create(t, c, "e", write{0, data[4]}).Close())
	second := loc(data[3] + data[4])
	assert.Equal(t, map[string][]segments.Range{
		"a": {seg(first, 0, 20, 0)}, "b": {seg(first, 0, 20, 20)}, "c": {seg(first, 0, 20, 40)},
		"d": {seg(second, 0, 20, 0)}, "e": {seg(second, 0, 20, 20)},
	}, committedSegments(t, c))
	assert.Equal(t, map[string]int{first: 1, second: 1}, st.putCounts())
}

func TestAFileReopenedForWritingIsNotPacked(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(64)).NewCollection()
	require.NoError(t, create(t, c, "a", write{0, "aaaa"}).Close())
	require.NoError(t, create(t, c, "b", write{0, "bbbb"}).Close())
	b, err := c.OpenMode("b", "a")
	require.NoError(t, err)
	_, err = b.WriteString("BB")
	require.NoError(t, err)
	require.NoError(t, create(t, c, "c", write{0, "cccc"}).Close())
	assert.Equal(t, map[string][]segments.Range{
		"a": {seg(loc("aaaacccc"), 0, 4, 0)},
		"b": {seg(loc("bbbbBB"), 0, 6, 0)},
		"c": {seg(loc("aaaacccc"), 0, 4, 4)},
	}, committedSegments(t, c))
	require.NoError(t, b.Close())
	assert.Equal(t, "bbbbBB", contents(t, c, "b"))
}

func TestASingleSmallFileKeepsItsOwnBlock(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(64)).NewCollection()
	require.NoError(t, create(t, c, "a", write{0, "aaaa"}).Close())
	assert.Equal(t, map[string][]segments.Range{"a": {seg(loc("aaaa"), 0, 4, 0)}}, committedSegments(t, c))
}

func TestAPackedFileCanBeWrittenAgain(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(64)).NewCollection()
	require.NoError(t, create(t, c, "a", write{0, "aaaa"}).Close())
	require.NoError(t, create(t, c, "b", write{0, "bbbb"}).Close())
	require.NoError(t, c.Commit(bg))
	f, err := c.OpenMode("a", "r+")
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("AA"), 2)
	require.NoError(t, err)
	assert.Equal(t, "aaAA", contents(t, c, "a"))
	require.NoError(t, f.Close())
	assert.Equal(t, map[string][]segments.Range{
		"a": {seg(loc("aaaabbbb"), 0, 2, 0), seg(loc("AA"), 2, 2, 0)},
		"b": {seg(loc("aaaabbbb"), 0, 4, 4)},
	}, committedSegments(t, c))
}
