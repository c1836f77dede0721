package keep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventually is how long tests wait for background work.
const eventually = 10 * time.Second

// goroutinesAtMost reports whether no more than n goroutines run, not
// counting the one require.Eventually runs its condition in.
func goroutinesAtMost(n int) bool { return runtime.NumGoroutine()-1 <= n }

// putBlocks stores n distinct blocks of size bytes in st and returns their
// locators in order.
func putBlocks(t *testing.T, st Store, n, size int) []string {
	t.Helper()
	locators := make([]string, n)
	for i := range locators {
		data := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, size/2)
		locator, err := st.Put(context.Background(), data, PutOptions{})
		require.NoError(t, err)
		locators[i] = locator
	}
	return locators
}

func TestCacheCountsHitsAndMisses(t *testing.T) {
	ctx := context.Background()
	backend := NewMemoryStore()
	c := NewCache(backend, 0, 0)
	defer c.Close()
	_, err := c.Put(ctx, []byte("hello"), PutOptions{})
	require.NoError(t, err)
	_, ok := c.Cached(helloLocator)
	assert.False(t, ok, "Put does not cache")

	for i := 0; i < 3; i++ {
		data, err := c.Get(ctx, helloLocator+"+Kzzzzz")
		require.NoError(t, err)
		assert.Equal(t, []byte("hello"), data)
	}
	_, err = c.Get(ctx, fooLocator)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = c.Get(ctx, fooLocator)
	assert.ErrorIs(t, err, ErrNotFound, "failures are not cached")

	data, ok := c.Cached(helloLocator)
	assert.True(t, ok)
	assert.Equal(t, []byte("hello"), data)
	assert.Equal(t, CacheStats{Hits: 2, Misses: 3, Bytes: 5, Entries: 1}, c.Stats())
	assert.Equal(t, 1, backend.Gets(helloLocator))
	assert.Equal(t, 2, backend.Gets(fooLocator))
	assert.Equal(t, int64(DefaultCacheBytes), c.MaxBytes())
}

func TestCacheNeverExceedsItsBoundAndEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	backend := NewMemoryStore()
	const bound = 10_000
	c := NewCache(backend, bound, 0)
	defer c.Close()
	locators := putBlocks(t, backend, 60, 1000)
	odd := putBlocks(t, backend, 1, 3002) // sizes that do not divide the bound
	locators = append(locators, odd...)

	for i, locator := range locators {
		_, err := c.Get(ctx, locator)
		require.NoError(t, err)
		if i == 55 {
			// Touch the oldest cached block so that it outlives newer ones.
			_, ok := c.Cached(locators[50])
			require.True(t, ok)
		}
		s := c.Stats()
		require.LessOrEqual(t, s.Bytes, int64(bound), "after %d gets", i+1)
	}
	// 60 blocks of 1000 bytes, then one of 3002: the LRU order before the
	// last insert is 50, 59, 58, … 51 (most recent first); 3002 bytes more
	// evict the four least recently used, 51 to 54.
	s := c.Stats()
	assert.Equal(t, int64(9002), s.Bytes)
	assert.Equal(t, 7, s.Entries)
	for i, locator := range locators {
		_, ok := c.Cached(locator)
		want := i == 50 || i >= 55
		assert.Equal(t, want, ok, "block %d", i)
	}
}

func TestCacheDoesNotCacheABlockLargerThanItsBound(t *testing.T) {
	backend := NewMemoryStore()
	c := NewCache(backend, 100, 0)
	defer c.Close()
	small := putBlocks(t, backend, 1, 50)[0]
	big := putBlocks(t, backend, 1, 200)[0]
	_, err := c.Get(context.Background(), small)
	require.NoError(t, err)
	data, err := c.Get(context.Background(), big)
	require.NoError(t, err)
	assert.Len(t, data, 200)
	_, ok := c.Cached(big)
	assert.False(t, ok)
	_, ok = c.Cached(small)
	assert.True(t, ok, "the small block was not evicted for nothing")
	assert.Equal(t, int64(50), c.Stats().Bytes)
}

func TestCacheFetchesOnceForConcurrentGets(t *testing.T) {
	backend := NewMemoryStore()
	_, err := backend.Put(context.Background(), []byte("hello"), PutOptions{})
	require.NoError(t, err)
	release := make(chan struct{})
	gate := NewFaultStore(backend)
	gate.SetFault(func(op, locator string, n int) error {
		<-release
		return nil
	})
	c := NewCache(gate, 0, 0)
	defer c.Close()

	const readers = 32
	var wg sync.WaitGroup
	results := make([][]byte, readers)
	errs := make([]error, readers)
	for i := 0; i < readers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = c.Get(context.Background(), helloLocator)
		}(i)
	}
	require.Eventually(t, func() bool { return c.Stats().Misses == readers }, eventually, time.Millisecond)
	close(release)
	wg.Wait()
	for i := 0; i < readers; i++ {
		assert.NoError(t, errs[i])
		assert.Equal(t, []byte("hello"), results[i])
	}
	assert.Equal(t, 1, backend.Gets(helloLocator), "one backend fetch")
	assert.Equal(t, 1, gate.Gets())
}

func TestCacheWaiterGivesUpWithItsOwnContext(t *testing.T) {
	backend := NewMemoryStore()
	_, err := backend.Put(context.Background(), []byte("hello"), PutOptions{})
	require.NoError(t, err)
	release := make(chan struct{})
	gate := NewFaultStore(backend)
	gate.SetFault(func(op, locator string, n int) error {
		<-release
		return nil
	})
	c := NewCache(gate, 0, 0)
	defer c.Close()

	leader := make(chan error, 1)
	go func() {
		_, err := c.Get(context.Background(), helloLocator)
		leader <- err
	}()
	require.Eventually(t, func() bool { return gate.Gets() == 1 }, eventually, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Get(ctx, helloLocator)
	assert.ErrorIs(t, err, context.Canceled)
	close(release)
	assert.NoError(t, <-leader)
	assert.Equal(t, 1, backend.Gets(helloLocator))
}

func TestCacheWaiterFetchesAgainWhenTheLeaderGivesUp(t *testing.T) {
	backend := NewMemoryStore()
	_, err := backend.Put(context.Background(), []byte("hello"), PutOptions{})
	require.NoError(t, err)
	backend.SetLatency(time.Hour) // the leader waits here until cancelled
	c := NewCache(backend, 0, 0)
	defer c.Close()

	leaderCtx, cancelLeader := context.WithCancel(context.Background())
	leader := make(chan error, 1)
	go func() {
		_, err := c.Get(leaderCtx, helloLocator)
		leader <- err
	}()
	require.Eventually(t, func() bool { return c.Stats().Misses == 1 }, eventually, time.Millisecond)
	waiter := make(chan []byte, 1)
	go func() {
		data, err := c.Get(context.Background(), helloLocator)
		assert.NoError(t, err)
		waiter <- data
	}()
	require.Eventually(t, func() bool { return c.Stats().Misses == 2 }, eventually, time.Millisecond)
	backend.SetLatency(0)
	cancelLeader()

	assert.ErrorIs(t, <-leader, context.Canceled)
	assert.Equal(t, []byte("hello"), <-waiter)
	assert.Equal(t, 1, backend.Gets(helloLocator), "the cancelled fetch never reached the block")
}

func TestCachePrefetchFetchesAheadAndStopsOnClose(t *testing.T) {
	before := runtime.NumGoroutine()
	backend := NewMemoryStore()
	locators := putBlocks(t, backend, 6, 100)
	c := NewCache(backend, 0, 3)

	c.Prefetch(locators...)
	require.Eventually(t, func() bool {
		for _, locator := range locators {
			if _, ok := c.Cached(locator); !ok {
				return false
			}
		}
		return true
	}, eventually, time.Millisecond)
	c.Prefetch(locators...) // all cached: nothing to do
	c.Prefetch(EmptyBlockLocator, "garbage")
	for _, locator := range locators {
		assert.Equal(t, 1, backend.Gets(locator))
	}
	assert.Equal(t, CacheStats{Bytes: 600, Entries: 6, Prefetches: 6}, c.Stats())

	c.Close()
	c.Close() // idempotent
	require.Eventually(t, func() bool { return goroutinesAtMost(before) }, eventually, time.Millisecond,
		"no goroutine is left behind")

	more := putBlocks(t, backend, 7, 100)[6:]
	c.Prefetch(more...)
	assert.Equal(t, int64(6), c.Stats().Prefetches, "Prefetch does nothing after Close")
	data, err := c.Get(context.Background(), more[0])
	require.NoError(t, err, "Get works after Close")
	assert.Len(t, data, 100)
}

func TestCachePrefetchDropsRequestsWhenTheQueueIsFull(t *testing.T) {
	before := runtime.NumGoroutine()
	backend := NewMemoryStore()
	locators := putBlocks(t, backend, 30, 10)
	backend.SetLatency(time.Hour) // the worker waits here until Close
	c := NewCache(backend, 0, 1)

	c.Prefetch(locators[0])
	require.Eventually(t, func() bool { return c.Stats().Prefetches == 1 }, eventually, time.Millisecond)
	c.Prefetch(locators[0], locators[1]) // the first is in flight
	c.Prefetch(locators[1:]...)          // the second is queued already
	s := c.Stats()
	assert.Equal(t, int64(29-prefetchQueuePerWorker), s.Dropped)
	assert.Equal(t, int64(1), s.Prefetches)

	c.Close() // cancels the fetch in flight
	require.Eventually(t, func() bool { return goroutinesAtMost(before) }, eventually, time.Millisecond)
	assert.Equal(t, 0, backend.TotalGets())
}

func TestCacheForwardsRefreshSignature(t *testing.T) {
	ctx := context.Background()
	backend := NewMemoryStore()
	_, err := backend.Put(ctx, []byte("hello"), PutOptions{})
	require.NoError(t, err)
	c := NewCache(backend, 0, 0)
	defer c.Close()
	got, err := c.RefreshSignature(ctx, helloLocator+"+Rzzzzz-x")
	require.NoError(t, err)
	assert.Equal(t, helloLocator, got)

	dir, err := NewDirStore(t.TempDir())
	require.NoError(t, err)
	overDir := NewCache(dir, 0, 0)
	defer overDir.Close()
	_, err = overDir.RefreshSignature(ctx, helloLocator)
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}

func ExampleCache() {
	ctx := context.Background()
	backend := NewMemoryStore()
	locator, _ := backend.Put(ctx, []byte("hello"), PutOptions{})

	c := NewCache(backend, 64<<20, 2)
	defer c.Close()
	c.Get(ctx, locator)
	c.Get(ctx, locator)
	fmt.Println(backend.Gets(locator), c.Stats().Hits)
	// Output: 1 1
}
