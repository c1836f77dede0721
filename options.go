package arvfile

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/arvfile/arvfile/actors"
	"github.com/arvfile/arvfile/keep"
)

// Option configures an Engine (see New).
type Option func(*config)

// config is the engine's configuration; defaults in defaultConfig.
type config struct {
	store          keep.Store
	blockSize      int
	putWorkers     int
	queueDepth     int
	memoryBudget   int64
	copies         int
	storageClasses []string
	prefetch       int
	cacheBytes     int64
	retries        int
	logger         *slog.Logger
	timeout        time.Duration
	maxFileSize    int64
	closeTimeout   time.Duration
}

func defaultConfig() config {
	return config{
		blockSize:    keep.BlockSize,
		putWorkers:   2,
		queueDepth:   2,
		memoryBudget: 384 << 20,
		prefetch:     2,
		cacheBytes:   256 << 20,
		retries:      3,
		timeout:      10 * time.Minute,
		maxFileSize:  DefaultMaxFileSize,
		closeTimeout: 10 * time.Second,
	}
}

// WithStore sets the Keep store blocks are written to and read from.
// Required: New fails with ErrNoStore without it (a storage library does
// not pick a place on disk for the caller).
func WithStore(s keep.Store) Option { return func(c *config) { c.store = s } }

// WithBlockSize sets the largest buffer block, 1..keep.BlockSize bytes
// (default keep.BlockSize, 64 MiB). Tests use tiny blocks.
func WithBlockSize(n int) Option { return func(c *config) { c.blockSize = n } }

// WithPutWorkers sets how many blocks are uploaded at once (default 2).
func WithPutWorkers(n int) Option { return func(c *config) { c.putWorkers = n } }

// WithQueueDepth sets how many sealed blocks may wait for a put worker
// before writers wait (default 2).
func WithQueueDepth(n int) Option { return func(c *config) { c.queueDepth = n } }

// WithMemoryBudget bounds the bytes of every block buffer of the engine —
// writable, queued and in flight (default 384 MiB). When a write would
// exceed it, the writer waits for room; a block of half a block or more is
// sealed rather than grown while over half the budget is in use, so that
// many writers keep their blocks moving (they are then at least half a
// block each).
func WithMemoryBudget(n int64) Option { return func(c *config) { c.memoryBudget = n } }

// WithCopies sets the replication asked of the store for each block
// (default 0: the store's default).
func WithCopies(n int) Option { return func(c *config) { c.copies = n } }

// WithStorageClasses sets the storage classes asked of the store.
func WithStorageClasses(classes ...string) Option {
	return func(c *config) { c.storageClasses = append([]string(nil), classes...) }
}

// WithPrefetch sets how many blocks past a read are prefetched, by as many
// background workers (default 2; 0 turns prefetch off).
func WithPrefetch(n int) Option { return func(c *config) { c.prefetch = n } }

// WithCacheBytes sets the size of the cache of blocks read from Keep
// (default 256 MiB; 0: no cache, and no prefetch).
func WithCacheBytes(n int64) Option { return func(c *config) { c.cacheBytes = n } }

// WithRetries sets how many times a temporary store failure is retried,
// with exponential backoff (default 3): an upload before its block goes to
// ERROR, and a read of a block before the read fails.
func WithRetries(n int) Option { return func(c *config) { c.retries = n } }

// WithLogger sends the engine's logs, protoactor's included, to l (default:
// discarded). Debug level shows the engine's decisions with their numbers.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithTimeout bounds each File call and each Collection call without a
// context (OpenFile, Mkdir, Remove, Rename, Copy, Stat, ReadDir...; default
// 10 minutes; 0: no bound); File.SetDeadline and friends replace it for one
// handle. Calls that take a context.Context use the context instead. A call
// that times out has had no effect (a Write longer than a block may have
// written a first part, which its n reports; RenameTo, see there), and once
// it returned the engine no longer reads from or writes into the caller's
// buffer.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// DefaultMaxFileSize is the largest file an engine writes unless
// WithMaxFileSize says otherwise: 1 TiB.
const DefaultMaxFileSize = 1 << 40

// WithMaxFileSize sets the largest size a file may reach by a write or a
// truncation (default DefaultMaxFileSize): a Write, WriteAt or Truncate
// that would end past it fails with an error wrapping ErrFileTooLarge and
// changes nothing. The bound also bounds the cost of a hole: a file grown
// past its end holds one segment of the padding block per 64 MiB of the gap
// (16,384 for 1 TiB), which its manifest must list. Files loaded from a
// manifest may be larger; they can still be read and shrunk.
func WithMaxFileSize(n int64) Option { return func(c *config) { c.maxFileSize = n } }

// ErrFileTooLarge is wrapped (in a *fs.PathError) by a write or truncation
// that would make a file larger than WithMaxFileSize allows. It matches
// syscall.EFBIG, as os.File's error does.
var ErrFileTooLarge = actors.ErrFileTooLarge

// WithCloseTimeout bounds Engine.Close (default 10 seconds; see Close):
// actors still running after it are abandoned and reported.
func WithCloseTimeout(d time.Duration) Option { return func(c *config) { c.closeTimeout = d } }

// validate reports the first unusable setting.
func (c *config) validate() error {
	switch {
	case c.store == nil:
		return ErrNoStore
	case c.blockSize < 1 || c.blockSize > keep.BlockSize:
		return fmt.Errorf("arvfile: block size %d outside 1..%d", c.blockSize, keep.BlockSize)
	case c.putWorkers < 1:
		return fmt.Errorf("arvfile: %d put workers: need at least 1", c.putWorkers)
	case c.queueDepth < 0:
		return fmt.Errorf("arvfile: negative queue depth %d", c.queueDepth)
	case c.memoryBudget < int64(c.blockSize):
		return fmt.Errorf("arvfile: memory budget %d smaller than a block (%d)", c.memoryBudget, c.blockSize)
	case c.copies < 0, c.prefetch < 0, c.cacheBytes < 0, c.retries < 0, c.timeout < 0:
		return fmt.Errorf("arvfile: negative copies, prefetch, cache bytes, retries or timeout")
	case c.maxFileSize < 1:
		return fmt.Errorf("arvfile: largest file size %d: need at least 1", c.maxFileSize)
	case c.closeTimeout <= 0:
		return fmt.Errorf("arvfile: close timeout %v: need a positive one", c.closeTimeout)
	}
	return nil
}
