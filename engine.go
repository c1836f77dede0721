package arvfile

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arvfile/arvfile/actors"
	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/google/uuid"
)

// Engine runs the actors that own files and buffer blocks, on one
// protoactor actor system, and is the entry point of the synchronous API.
//
// A write travels from a File (the caller's goroutine) to the file's actor,
// which decides where the bytes go and forwards them to a buffer-block
// actor; that actor copies them (the only copy) and answers the caller. A
// file's actor and its blocks share one serial run queue (a strand), and a
// caller whose file is idle runs that queue itself until it is answered, so
// a write usually costs no goroutine handoff at all. A full block is sealed
// and handed to the put coordinator, whose workers (WithPutWorkers) store
// it in Keep while the writer fills the next block; the writer waits only
// when the queue of sealed blocks (WithQueueDepth) is full or the memory
// budget (WithMemoryBudget) is spent — then before its bytes are copied, so
// block buffers never exceed the budget. Large buffers live outside the Go
// heap and are recycled, so the process's memory follows the budget. Sync,
// Close of a large file and Collection.Commit wait for the uploads and
// replace block ids by the locators Keep returned.
//
// Decisions that differ from, or refine, the Python SDK: a write past EOF
// pads with segments (at most 64 MiB each) of the real 64 MiB zero block
// keep.PaddingBlockLocator, stored once per engine, whatever WithBlockSize
// says, so manifests always name a stored block; a block is repacked to
// make room for a write only when that frees a quarter of a block (it is
// repacked before it is sealed in any case, so what is stored is the same);
// packing fills a block first-fit in candidate order and runs as many rounds
// as the candidates need; Close of a writer of a file over half a block
// waits for its upload, as the SDK's flush does.
//
// An Engine is safe for concurrent use. Close it to stop its goroutines.
type Engine struct {
	cfg    config
	sys    *actors.System
	reader keep.Store  // where committed blocks are read from: the cache, or the verified store (readpath.go)
	cache  *keep.Cache // nil with WithCacheBytes(0)

	closing   atomic.Bool
	done      chan struct{} // closed once Close stopped every actor
	closeOnce sync.Once
	closeErr  error

	// The clock bounds File calls without a timer per call: every tick it
	// closes the channel in tick and counts; a waiter gives up after the
	// ticks its timeout spans. Close stops it, leaving tick closed.
	tick      atomic.Pointer[chan struct{}]
	ticks     atomic.Int64
	tickEvery time.Duration
	stopClock chan struct{}
	clockDone chan struct{}
}

// New starts an engine. WithStore is required; every other option has a
// default (see each Option).
func New(opts ...Option) (*Engine, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sys := actors.Start(actors.Config{
		Store:        cfg.store,
		PutOptions:   keep.PutOptions{Copies: cfg.copies, StorageClasses: cfg.storageClasses},
		Retries:      cfg.retries,
		BlockSize:    int64(cfg.blockSize),
		PutWorkers:   cfg.putWorkers,
		QueueDepth:   cfg.queueDepth,
		MemoryBudget: cfg.memoryBudget,
		Prefetch:     cfg.prefetch,
		MaxFileSize:  cfg.maxFileSize,
		Logger:       cfg.logger,
	})
	// Reads retry a temporary Get failure as uploads retry a Put: through
	// the put workers' retrying store. They go through a keep.Cache (which
	// verifies what it fetches) or, without a cache, keep.Verified, so every
	// block is checked against its md5 and size before anyone sees it.
	reads := sys.RT.Putter
	e := &Engine{cfg: cfg, sys: sys, reader: keep.Verified(reads), done: make(chan struct{})}
	if cfg.cacheBytes > 0 {
		e.cache = keep.NewCache(reads, cfg.cacheBytes, cfg.prefetch)
		e.reader = e.cache
	}
	e.startClock()
	return e, nil
}

// Close stops every actor and goroutine the engine started and waits for
// them, within WithCloseTimeout overall (a tenth more when subscribers need
// it to finish). An actor still running then — a put worker inside a
// Store.Put that ignores its cancelled context, a subscriber that does not
// return, a read's Get from such a store — is abandoned, and Close returns
// a *CloseError naming each. Close commits nothing: call Collection.Commit
// first to keep what was written. Calls waiting on the engine return an
// error matching fs.ErrClosed; later calls too. Close is idempotent.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.closing.Store(true)
		deadline := time.Now().Add(e.cfg.closeTimeout)
		e.closeErr = e.sys.Stop(e.cfg.closeTimeout, func() { close(e.done) })
		if e.cache != nil {
			// Within what is left of the close time (at least 10 ms, for a
			// Get that honours its cancelled ctx): a prefetch stuck in a
			// Get is abandoned (the cache's memory is the garbage
			// collector's: nothing it uses is freed).
			if n := e.cache.CloseWithin(max(time.Until(deadline), 10*time.Millisecond)); n > 0 {
				se, _ := e.closeErr.(*actors.StopError)
				if se == nil {
					se = &actors.StopError{}
				}
				for range n {
					se.Abandoned = append(se.Abandoned, "cache prefetch worker (in Store.Get)")
				}
				e.closeErr = se
			}
		}
		close(e.stopClock)
		<-e.clockDone
	})
	return e.closeErr
}

// NewCollection returns a new, empty, writable collection.
func (e *Engine) NewCollection() *Collection {
	return e.newCollection(false)
}

func (e *Engine) newCollection(readOnly bool) *Collection {
	c := &Collection{e: e, rt: &actors.CollectionRuntime{ID: uuid.NewString(), ReadOnly: readOnly}, done: make(chan struct{})}
	if !e.closing.Load() {
		c.pid = e.sys.SpawnCollection(c.rt, &c.subs, nil)
	}
	return c
}

// await waits for r, for ctx, for the engine to close, and for gone (the
// done channel of r's collection, closed once Collection.Close stopped its
// actors: errCollectionClosed; nil for none). ok is false when r did not
// finish: then r must not be released (a late party may use it).
func (e *Engine) await(ctx context.Context, r *messages.Reply, gone <-chan struct{}) (err error, ok bool) {
	select {
	case <-r.Done():
		return r.Err(), true
	case <-ctx.Done():
		return ctx.Err(), false
	case <-e.done:
		return errEngineClosed, false
	case <-gone:
		return closedOr(r, errCollectionClosed)
	}
}

// closedOr is what a wait ended by a close returns: r's answer when it
// came too, err otherwise.
func closedOr(r *messages.Reply, err error) (error, bool) {
	select {
	case <-r.Done():
		return r.Err(), true
	default:
		return err, false
	}
}

// startClock starts the goroutine that ticks for awaitTimeout, a hundred
// ticks per timeout (at least 10 ms, at most a second apart).
func (e *Engine) startClock() {
	e.tickEvery = min(max(e.cfg.timeout/100, 10*time.Millisecond), time.Second)
	ch := make(chan struct{})
	e.tick.Store(&ch)
	e.stopClock = make(chan struct{})
	e.clockDone = make(chan struct{})
	go func() {
		defer close(e.clockDone)
		t := time.NewTicker(e.tickEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				next := make(chan struct{})
				e.ticks.Add(1)
				close(*e.tick.Swap(&next))
			case <-e.stopClock:
				close(*e.tick.Load())
				return
			}
		}
	}()
}

// awaitUntil is await bounded by deadline (Unix nanoseconds), or by the
// engine's timeout when deadline is 0. A deadline costs a timer; the
// engine's timeout costs none (see startClock). ok is false when r did not
// finish (see await).
func (e *Engine) awaitUntil(r *messages.Reply, deadline int64, gone <-chan struct{}) (err error, ok bool) {
	if deadline == 0 {
		return e.awaitTimeout(r, gone)
	}
	select {
	case <-r.Done():
		return r.Err(), true
	default:
	}
	t := time.NewTimer(time.Until(time.Unix(0, deadline)))
	defer t.Stop()
	select {
	case <-r.Done():
		return r.Err(), true
	case <-t.C:
		return os.ErrDeadlineExceeded, false
	case <-e.done:
		return errEngineClosed, false
	case <-gone:
		return closedOr(r, errCollectionClosed)
	}
}

// awaitTimeout is await bounded by the engine's timeout instead of a ctx.
// ok is false when r did not finish (see await).
func (e *Engine) awaitTimeout(r *messages.Reply, gone <-chan struct{}) (err error, ok bool) {
	var limit int64 = -1
	for {
		tick := e.tick.Load()
		select {
		case <-r.Done():
			return r.Err(), true
		case <-*tick:
		case <-gone:
			return closedOr(r, errCollectionClosed)
		}
		select {
		case <-e.done:
			return errEngineClosed, false
		default:
		}
		if e.cfg.timeout == 0 {
			continue
		}
		now := e.ticks.Load()
		if limit < 0 {
			// The first tick may come at once: count the timeout from it.
			limit = now + int64(e.cfg.timeout/e.tickEvery) + 1
		}
		if now >= limit {
			return os.ErrDeadlineExceeded, false
		}
	}
}
