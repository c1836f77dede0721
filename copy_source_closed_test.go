package arvfile

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A copy shares the buffer blocks of its source file; once the source's
// collection is closed those blocks are gone (they stop with the source
// file's actor). Not yet kept alive for the copy: its Commit fails with a
// clear error instead of waiting for ever.
func TestACopysCommitFailsRatherThanHangsOnceItsSourceCollectionIsClosed(t *testing.T) {
	st := newTestStore()
	var down atomic.Bool
	down.Store(true)
	st.setFailPut(func(string) error {
		if down.Load() {
			return errStoreDown
		}
		return nil
	})
	e := newTestEngine(t, st, WithBlockSize(64), WithRetries(0))
	c, dst := e.NewCollection(), e.NewCollection()
	data := strings.Repeat("x", 64) + strings.Repeat("y", 64) + "zz"
	// Its Close fails (the store is down): its blocks stay in ERROR, with their bytes.
	require.Error(t, create(t, c, "a", write{0, data}).Close())
	require.NoError(t, c.CopyTo("a", dst, "b"))
	require.NoError(t, c.Close())
	down.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	err := dst.Commit(ctx)
	require.Error(t, err)
	assert.NotErrorIs(t, err, context.DeadlineExceeded, "the Commit did not wait for blocks that stopped")
	assert.Contains(t, err.Error(), "buffer block deleted")
}
