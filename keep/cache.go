package keep

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCacheBytes is the cache bound used when NewCache is given none.
const DefaultCacheBytes = 256 << 20

// prefetchQueuePerWorker is the prefetch queue's capacity per worker.
const prefetchQueuePerWorker = 8

// Cache is a Store that keeps recently read blocks in memory in front of a
// backend Store. It is safe for concurrent use.
//
// A Get goes: parse the locator; the empty block is answered at once; a
// cached block is answered from memory (a hit) and becomes the most recently
// used; otherwise, if another Get or a prefetch is already fetching the same
// block, wait for it (or for the caller's context); otherwise fetch it from
// the backend, insert it, evicting least recently used blocks until the
// accounted bytes (the sum of cached block lengths) fit the bound, and wake
// the waiters. A block larger than the bound is returned but not cached. If a
// fetch fails because its caller's context ended, the waiters whose context
// is still live fetch again instead of inheriting that error.
//
// Blocks are cached by `md5+size`; the backend receives the caller's locator
// with its hints. Cached blocks are shared: every Get of a block returns the
// same slice, and callers must not modify it. Every block fetched — by a Get
// or by a prefetch — is checked against its locator's md5 and size before it
// is cached or returned: a mismatch is an error wrapping ErrCorrupt for that
// fetch and its waiters, and nothing is cached, so the next Get fetches
// again. (A DirStore or MemoryStore backend, which verify their own Gets,
// are not hashed a second time; see Verified.)
//
// Put passes through to the backend and does not cache the data (that would
// cost a copy on the write path).
//
// Prefetch queues background fetches on a fixed pool of workers fed by a
// bounded queue; requests that find the queue full are dropped. Close stops
// the workers and waits for them; Get and Put keep working after Close.
type Cache struct {
	backend  Store
	maxBytes int64
	// verify is set when the backend is not known to verify its Gets.
	verify bool

	// mu guards everything below.
	mu sync.Mutex
	// lru holds *cacheEntry values, most recently used at the front.
	lru *list.List
	// entries maps `md5+size` to its element in lru.
	entries map[string]*list.Element
	// inflight maps `md5+size` to the fetch in progress for it.
	inflight map[string]*cacheFetch
	// queued holds the `md5+size` of blocks waiting in the prefetch queue.
	queued map[string]bool
	// bytes is the sum of the lengths of the cached blocks.
	bytes int64
	stats CacheStats
	// closed is set by Close; Prefetch then does nothing.
	closed bool

	// queue feeds the prefetch workers; nil when there are none.
	queue chan Locator
	// stop is closed by Close to stop the workers and their fetches.
	stop      chan struct{}
	stopCtx   context.Context
	cancelCtx context.CancelFunc
	workers   sync.WaitGroup
	getting   atomic.Int32 // prefetch workers inside a fetch (CloseWithin)
	closeOnce sync.Once
}

// cacheEntry is a cached block.
type cacheEntry struct {
	key  string
	data []byte
}

// cacheFetch is a backend fetch in progress; done is closed when data and err
// are set.
type cacheFetch struct {
	done chan struct{}
	data []byte
	err  error
	// abandoned is set when err comes from the fetching caller's context,
	// so waiters should fetch again rather than return err.
	abandoned bool
}

// CacheStats are a Cache's counters.
type CacheStats struct {
	// Hits counts Gets answered from memory without waiting.
	Hits int64
	// Misses counts Gets that fetched or waited for a fetch.
	Misses int64
	// Bytes is the sum of the lengths of the cached blocks; never more than
	// the bound.
	Bytes int64
	// Entries is the number of cached blocks.
	Entries int
	// InFlight is the number of blocks being fetched from the backend.
	InFlight int
	// Prefetches counts backend fetches started by prefetch workers.
	Prefetches int64
	// Dropped counts prefetch requests dropped because the queue was full.
	Dropped int64
}

// NewCache returns a Cache of at most maxBytes bytes (DefaultCacheBytes when
// maxBytes ≤ 0) in front of backend, with prefetchWorkers background workers
// (none when ≤ 0: Prefetch then does nothing). The prefetch queue holds
// 8 requests per worker. Call Close to stop the workers.
func NewCache(backend Store, maxBytes int64, prefetchWorkers int) *Cache {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache{
		backend:   backend,
		maxBytes:  maxBytes,
		verify:    !verifiesGets(backend),
		lru:       list.New(),
		entries:   make(map[string]*list.Element),
		inflight:  make(map[string]*cacheFetch),
		queued:    make(map[string]bool),
		stop:      make(chan struct{}),
		stopCtx:   ctx,
		cancelCtx: cancel,
	}
	if prefetchWorkers > 0 {
		c.queue = make(chan Locator, prefetchWorkers*prefetchQueuePerWorker)
		c.workers.Add(prefetchWorkers)
		for i := 0; i < prefetchWorkers; i++ {
			go c.prefetchWorker()
		}
	}
	return c
}

// Put stores data in the backend with opts unchanged (PutOptions.MD5
// included); it does not cache it.
func (c *Cache) Put(ctx context.Context, data []byte, opts PutOptions) (string, error) {
	return c.backend.Put(ctx, data, opts)
}

// Get returns the block named by locator from memory or from the backend (one
// backend fetch for concurrent Gets of one block). The caller must not modify
// the returned slice.
func (c *Cache) Get(ctx context.Context, locator string) ([]byte, error) {
	loc, empty, err := parseGetLocator(locator)
	if err != nil {
		return nil, err
	}
	if empty {
		return []byte{}, nil
	}
	return c.get(ctx, loc, locator, false)
}

// Cached returns the block named by locator if it is in memory, without any
// I/O and without counting a hit or a miss. The caller must not modify it.
func (c *Cache) Cached(locator string) ([]byte, bool) {
	loc, empty, err := parseGetLocator(locator)
	if err != nil {
		return nil, false
	}
	if empty {
		return []byte{}, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[loc.Stripped()]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cacheEntry).data, true
	}
	return nil, false
}

// get answers a Get, or a prefetch when prefetch is set.
func (c *Cache) get(ctx context.Context, loc Locator, locator string, prefetch bool) ([]byte, error) {
	key := loc.Stripped()
	counted := false
	for {
		c.mu.Lock()
		if e, ok := c.entries[key]; ok {
			c.lru.MoveToFront(e)
			if !counted && !prefetch {
				c.stats.Hits++
			}
			c.mu.Unlock()
			return e.Value.(*cacheEntry).data, nil
		}
		if !counted && !prefetch {
			c.stats.Misses++
		}
		counted = true
		if f, ok := c.inflight[key]; ok {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if f.abandoned && ctx.Err() == nil {
				continue
			}
			return f.data, f.err
		}
		f := &cacheFetch{done: make(chan struct{})}
		c.inflight[key] = f
		if prefetch {
			c.stats.Prefetches++
		}
		c.mu.Unlock()
		return c.fetch(ctx, loc, locator, f)
	}
}

// fetch gets the block from the backend for f, verifies it, caches it and
// wakes f's waiters.
func (c *Cache) fetch(ctx context.Context, loc Locator, locator string, f *cacheFetch) ([]byte, error) {
	key := loc.Stripped()
	data, err := c.backend.Get(ctx, locator)
	if err == nil && c.verify {
		if err = VerifyBlock(loc, data); err != nil {
			data = nil
		}
	}
	c.mu.Lock()
	delete(c.inflight, key)
	if err == nil {
		c.insertLocked(key, data)
	}
	f.data, f.err = data, err
	f.abandoned = err != nil && ctx.Err() != nil
	c.mu.Unlock()
	close(f.done)
	return data, err
}

// insertLocked caches data under key, evicting least recently used blocks
// so the accounted bytes stay within the bound.
func (c *Cache) insertLocked(key string, data []byte) {
	size := int64(len(data))
	if size > c.maxBytes {
		return
	}
	if _, ok := c.entries[key]; ok {
		return
	}
	for c.bytes+size > c.maxBytes {
		back := c.lru.Back()
		old := back.Value.(*cacheEntry)
		c.lru.Remove(back)
		delete(c.entries, old.key)
		c.bytes -= int64(len(old.data))
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, data: data})
	c.bytes += size
}

// Prefetch asks the workers to fetch the blocks named by locators into the
// cache in the background, in order. It never blocks: malformed locators,
// the empty block, blocks already cached, being fetched or queued are
// skipped, and requests that find the queue full are dropped (counted in
// Stats().Dropped). It does nothing after Close or without workers.
func (c *Cache) Prefetch(locators ...string) {
	if c.queue == nil {
		return
	}
	for _, locator := range locators {
		loc, empty, err := parseGetLocator(locator)
		if err != nil || empty {
			continue
		}
		key := loc.Stripped()
		c.mu.Lock()
		if c.closed || c.entries[key] != nil || c.inflight[key] != nil || c.queued[key] {
			c.mu.Unlock()
			continue
		}
		select {
		case c.queue <- loc:
			c.queued[key] = true
		default:
			c.stats.Dropped++
		}
		c.mu.Unlock()
	}
}

// prefetchWorker fetches queued blocks until Close.
func (c *Cache) prefetchWorker() {
	defer c.workers.Done()
	for {
		select {
		case <-c.stop:
			return
		case loc := <-c.queue:
			c.getting.Add(1) // before the check: CloseWithin counts it once it cancelled
			if c.stopCtx.Err() != nil {
				c.getting.Add(-1)
				return
			}
			c.mu.Lock()
			delete(c.queued, loc.Stripped())
			c.mu.Unlock()
			// Errors are dropped: a later Get fetches again and reports them.
			_, _ = c.get(c.stopCtx, loc, loc.String(), true)
			c.getting.Add(-1)
		}
	}
}

// RefreshSignature forwards to the backend if it is a Refresher.
func (c *Cache) RefreshSignature(ctx context.Context, locator string) (string, error) {
	return refreshVia(ctx, c.backend, locator)
}

// Stats returns a snapshot of the cache's counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Bytes = c.bytes
	s.Entries = len(c.entries)
	s.InFlight = len(c.inflight)
	return s
}

// MaxBytes returns the cache's bound.
func (c *Cache) MaxBytes() int64 { return c.maxBytes }

// Close stops the prefetch workers, cancelling their fetches, and waits for
// them to return. It is idempotent. The cache keeps serving Get and Put.
func (c *Cache) Close() {
	c.close(-1)
}

// CloseWithin is Close waiting at most d (not at all when d ≤ 0) for the
// prefetch workers. It returns how many were still fetching then: each is
// inside a backend Get that ignores its cancelled context, and exits when
// that Get returns. Only the first Close or CloseWithin waits.
func (c *Cache) CloseWithin(d time.Duration) int {
	return c.close(max(d, 0))
}

// close stops the workers and waits for them, at most d when d ≥ 0, and
// returns how many still ran.
func (c *Cache) close(d time.Duration) (running int) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.stop)
		c.cancelCtx()
		if d < 0 {
			c.workers.Wait()
			return
		}
		done := make(chan struct{})
		go func() { // exits with the last worker
			c.workers.Wait()
			close(done)
		}()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			running = int(c.getting.Load())
		}
	})
	return running
}
