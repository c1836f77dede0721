package arvfile

import (
	"context"
	"crypto/md5"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/arvfile/arvfile/keep"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sumCheckingStore is a MemoryStore that records, for every Put, whether it
// was handed an md5 and whether that md5 is the data's.
type sumCheckingStore struct {
	*keep.MemoryStore
	mu                  sync.Mutex
	puts, without, bad  int
	hashedOffActors     int64 // bytes of blocks of at least actors.HashOffActorsMin
	smallBytes          int64 // bytes of the others
	largeBlocks, others int
}

func (s *sumCheckingStore) Put(ctx context.Context, data []byte, opts keep.PutOptions) (string, error) {
	s.mu.Lock()
	s.puts++
	switch {
	case opts.MD5 == nil:
		s.without++
	case *opts.MD5 != md5.Sum(data):
		s.bad++
	}
	if len(data) >= 64<<10 {
		s.hashedOffActors += int64(len(data))
		s.largeBlocks++
	} else {
		s.others++
		s.smallBytes += int64(len(data))
	}
	s.mu.Unlock()
	return s.MemoryStore.Put(ctx, data, opts)
}

func TestTheEngineHandsEveryBlockItsRightSum(t *testing.T) {
	var before int
	require.Eventually(t, func() bool { before = runtime.NumGoroutine(); return true }, waitFor, tick)
	st := &sumCheckingStore{MemoryStore: keep.NewMemoryStore()}
	e, err := New(WithStore(st), WithBlockSize(1<<20), WithMemoryBudget(6<<20))
	require.NoError(t, err)
	c := e.NewCollection()

	// 16 writers of their own file, 8 of one shared file, one small file:
	// blocks seal together (many at once in the hasher) and alone.
	const writers, size, chunk = 16, 3<<20 + 1000, 64 << 10
	want := map[string][]byte{}
	for i := 0; i < writers; i++ {
		want[fmt.Sprintf("own/%02d", i)] = pattern(i, size)
	}
	shared := pattern(99, 8*(1<<20))
	want["shared"] = shared
	want["small"] = pattern(7, 5000)
	sf, err := c.Create("shared")
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := fmt.Sprintf("own/%02d", i)
			f, err := c.Create(name)
			if !assert.NoError(t, err) {
				return
			}
			data := want[name]
			for off := 0; off < len(data); off += chunk {
				_, err := f.Write(data[off:min(off+chunk, len(data))])
				if !assert.NoError(t, err) {
					return
				}
			}
			assert.NoError(t, f.Close())
		}(i)
	}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			part := shared[i<<20 : (i+1)<<20]
			for off := 0; off < len(part); off += chunk {
				_, err := sf.WriteAt(part[off:off+chunk], int64(i<<20+off))
				if !assert.NoError(t, err) {
					return
				}
			}
		}(i)
	}
	wg.Wait()
	require.NoError(t, sf.Close())
	small, err := c.Create("small")
	require.NoError(t, err)
	_, err = small.Write(want["small"])
	require.NoError(t, err)
	require.NoError(t, small.Close())
	require.NoError(t, c.Commit(bg))

	st.mu.Lock()
	assert.Zero(t, st.without, "every Put carried a sum")
	assert.Zero(t, st.bad, "every sum was the md5 of the data")
	assert.GreaterOrEqual(t, st.largeBlocks, writers*3+8, "each 3 MiB file is at least 3 blocks, the shared file 8")
	hashed, smallBytes := st.hashedOffActors, st.smallBytes
	st.mu.Unlock()
	stats := e.sys.RT.Hasher.Stats()
	t.Logf("%+v large %d", stats, st.largeBlocks)
	// Every large block once; the last small block of a file written in
	// 1 MiB buffers was hashed while written too, the other small ones by
	// the put workers.
	assert.GreaterOrEqual(t, stats.SIMDBytes+stats.ScalarBytes, hashed, "the hasher hashed every large block")
	assert.LessOrEqual(t, stats.SIMDBytes+stats.ScalarBytes, hashed+smallBytes, "and no block twice")
	for name, data := range want {
		assert.Equal(t, string(data), contents(t, c, name), name)
	}
	text, err := c.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	require.NoError(t, e.Close())
	// The manifest names blocks by the engine's sums: loaded on a fresh
	// engine over the same store, every file reads back the same.
	e2, err := New(WithStore(st.MemoryStore))
	require.NoError(t, err)
	c2, err := e2.LoadCollection(text)
	require.NoError(t, err)
	for name, data := range want {
		assert.Equal(t, string(data), contents(t, c2, name), name)
	}
	require.NoError(t, e2.Close())
	assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= before }, waitFor, tick,
		"goroutines: before %d, now %d (the hasher's lanes and md5-simd servers are stopped by Close)", before, runtime.NumGoroutine())
}
