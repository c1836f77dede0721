package arvfile

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/segments"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errStoreDown = errors.New("store down")

func TestAFailedPutKeepsTheDataAndCommitSucceedsOnceTheStoreRecovers(t *testing.T) {
	st := newTestStore()
	st.setFailPut(func(string) error { return errStoreDown })
	c := newTestEngine(t, st, WithBlockSize(8)).NewCollection()
	f := create(t, c, "f", write{0, "0123456789"})

	err := f.Sync()
	var kwe *KeepWriteError
	require.ErrorAs(t, err, &kwe)
	require.Len(t, kwe.Failed, 2)
	locs := []string{kwe.Failed[0].Locator, kwe.Failed[1].Locator}
	assert.ElementsMatch(t, []string{loc("01234567"), loc("89")}, locs)
	for _, fl := range kwe.Failed {
		assert.ErrorIs(t, fl.Err, errStoreDown)
		assert.Regexp(t, `^buffer:[0-9a-f-]{36}$`, fl.BlockID)
	}
	assert.ErrorIs(t, err, errStoreDown)
	assert.Equal(t, "0123456789", contents(t, c, "f"), "ERROR blocks keep their bytes")

	_, err = c.commitAll(bg)
	var again *KeepWriteError
	require.ErrorAs(t, err, &again)
	assert.Equal(t, kwe.Failed[0].BlockID, again.Failed[0].BlockID)
	assert.Equal(t, kwe.Failed[1].BlockID, again.Failed[1].BlockID)
	assert.Empty(t, st.putCounts())

	st.setFailPut(nil)
	require.NoError(t, f.Close())
	assert.Equal(t, map[string][]segments.Range{"f": {
		seg(loc("01234567"), 0, 8, 0), seg(loc("89"), 8, 2, 0),
	}}, committedSegments(t, c))
	assert.Equal(t, map[string]int{loc("01234567"): 1, loc("89"): 1}, st.putCounts())
	assert.Equal(t, "0123456789", contents(t, c, "f"))
}

func TestCommitReportsEveryFailedBlockOfEveryFile(t *testing.T) {
	st := newTestStore()
	st.setFailPut(func(l string) error {
		if l == loc("bbbb") {
			return nil
		}
		return errStoreDown
	})
	c := newTestEngine(t, st, WithBlockSize(8)).NewCollection()
	require.NoError(t, create(t, c, "a", write{0, "aaaa"}).Close(), "small: packed at commit")
	require.NoError(t, create(t, c, "d", write{0, "dd"}).Close(), "small: packed at commit")
	f := create(t, c, "b", write{0, "bbbb"})
	g := create(t, c, "c", write{0, "cccc"})
	err := c.Commit(bg)
	var kwe *KeepWriteError
	require.ErrorAs(t, err, &kwe)
	var failed []string
	for _, fl := range kwe.Failed {
		failed = append(failed, fl.Locator)
		assert.ErrorIs(t, fl.Err, errStoreDown)
	}
	assert.ElementsMatch(t, []string{loc("aaaadd"), loc("cccc")}, failed)
	assert.Equal(t, map[string]int{loc("bbbb"): 1}, st.putCounts())
	assert.Equal(t, "aaaa", contents(t, c, "a"))
	assert.Equal(t, "cccc", contents(t, c, "c"))

	st.setFailPut(nil)
	require.NoError(t, c.Commit(bg))
	require.NoError(t, f.Close())
	require.NoError(t, g.Close())
	assert.Equal(t, map[string][]segments.Range{
		"a": {seg(loc("aaaadd"), 0, 4, 0)},
		"d": {seg(loc("aaaadd"), 0, 2, 4)},
		"b": {seg(loc("bbbb"), 0, 4, 0)},
		"c": {seg(loc("cccc"), 0, 4, 0)},
	}, committedSegments(t, c))
	assert.Equal(t, map[string]int{loc("aaaadd"): 1, loc("bbbb"): 1, loc("cccc"): 1}, st.putCounts())
}

func TestTemporaryPutFailuresAreRetried(t *testing.T) {
	st := newTestStore()
	var fails atomic.Int32
	fails.Store(2)
	st.setFailPut(func(string) error {
		if fails.Add(-1) >= 0 {
			return keep.Temporary(errStoreDown)
		}
		return nil
	})
	c := newTestEngine(t, st, WithBlockSize(64), WithRetries(2)).NewCollection()
	f := create(t, c, "f", write{0, "data"})
	require.NoError(t, f.Sync())
	assert.Equal(t, map[string]int{loc("data"): 1}, st.putCounts())
	require.NoError(t, f.Close())
}

func TestTemporaryPutFailuresBeyondTheRetriesFailTheBlock(t *testing.T) {
	st := newTestStore()
	st.setFailPut(func(string) error { return keep.Temporary(errStoreDown) })
	c := newTestEngine(t, st, WithBlockSize(64), WithRetries(1)).NewCollection()
	f := create(t, c, "f", write{0, "data"})
	var kwe *KeepWriteError
	require.ErrorAs(t, f.Sync(), &kwe)
	assert.Equal(t, loc("data"), kwe.Failed[0].Locator)
	assert.ErrorIs(t, kwe.Failed[0].Err, errStoreDown)
	assert.True(t, keep.IsTemporary(kwe.Failed[0].Err))
	st.setFailPut(nil)
	require.NoError(t, f.Close())
}
