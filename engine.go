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
// full block is sealed and handed to the put coordinator, whose workers
// (WithPutWorkers) store it in Keep while the writer fills the next block;
// the writer waits only when the queue of sealed blocks (WithQueueDepth) is
// full or the memory budget (WithMemoryBudget) is spent. Sync, Close of a
// large file and Collection.Commit wait for the uploads and replace block
// ids by the locators Keep returned.
//
// An Engine is safe for concurrent use. Close it to stop its goroutines.
type Engine struct {
	cfg    config
	sys    *actors.System
	reader keep.Store  // where committed blocks are read from: the cache, or the store
	cache  *keep.Cache // nil with WithCacheBytes(0)

	closing   atomic.Bool
	done      chan struct{} // closed once Close stopped every actor
	closeOnce sync.Once
	closeErr  error
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
		Logger:       cfg.logger,
	})
	e := &Engine{cfg: cfg, sys: sys, reader: cfg.store, done: make(chan struct{})}
	if cfg.cacheBytes > 0 {
		e.cache = keep.NewCache(cfg.store, cfg.cacheBytes, cfg.prefetch)
		e.reader = e.cache
	}
	return e, nil
}

// Close stops every actor and goroutine the engine started and waits for
// them. It commits nothing: call Collection.Commit first to keep what was
// written. Calls waiting on the engine return an error matching fs.ErrClosed;
// later calls too. Close is idempotent.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.closing.Store(true)
		e.closeErr = e.sys.Stop()
		if e.cache != nil {
			e.cache.Close()
		}
		close(e.done)
	})
	return e.closeErr
}

// NewCollection returns a new, empty, writable collection.
func (e *Engine) NewCollection() *Collection {
	return e.newCollection(false)
}

func (e *Engine) newCollection(readOnly bool) *Collection {
	c := &Collection{e: e, rt: &actors.CollectionRuntime{ID: uuid.NewString(), ReadOnly: readOnly}}
	if !e.closing.Load() {
		c.pid = e.sys.SpawnCollection(c.rt, &c.subs, nil)
	}
	return c
}

// await waits for r, for ctx, and for the engine to close. ok is false when
// r did not finish: then r must not be released (a late party may use it).
func (e *Engine) await(ctx context.Context, r *messages.Reply) (err error, ok bool) {
	select {
	case <-r.Done():
		return r.Err(), true
	case <-ctx.Done():
		return ctx.Err(), false
	case <-e.done:
		return errEngineClosed, false
	}
}

var timerPool sync.Pool

// awaitTimeout is await bounded by the engine's timeout instead of a ctx.
func (e *Engine) awaitTimeout(r *messages.Reply) (err error, ok bool) {
	if e.cfg.timeout == 0 {
		return e.await(context.Background(), r)
	}
	t, _ := timerPool.Get().(*time.Timer)
	if t == nil {
		t = time.NewTimer(e.cfg.timeout)
	} else {
		t.Reset(e.cfg.timeout)
	}
	defer func() {
		t.Stop()
		timerPool.Put(t)
	}()
	select {
	case <-r.Done():
		return r.Err(), true
	case <-t.C:
		return os.ErrDeadlineExceeded, false
	case <-e.done:
		return errEngineClosed, false
	}
}
