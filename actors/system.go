package actors

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
)

// Config is what an engine's actors need to start.
type Config struct {
	Store        keep.Store
	PutOptions   keep.PutOptions
	Retries      int
	BlockSize    int64
	PutWorkers   int
	QueueDepth   int
	MemoryBudget int64
	Prefetch     int
	MaxFileSize  int64
	Logger       *slog.Logger
}

// System is one engine's running actors: an actor system on a parked-worker
// dispatcher, the BlockManager, the put coordinator with its workers, the
// padding block, and each collection's actor and event actor.
type System struct {
	// RT is the wiring every actor shares.
	RT         *Runtime
	cancel     context.CancelFunc
	dispatcher *Dispatcher
	blocking   *Dispatcher

	mu       sync.Mutex   // guards tops, events and stopping
	tops     []*actor.PID // top-level actors, stopped by Stop
	events   []*actor.PID // collections' event actors, stopped last by Stop
	stopping bool         // set by Stop: no collection is spawned after it
}

// Start creates the actor system and spawns the engine-wide actors.
func Start(cfg Config) *System {
	logger := cfg.Logger
	if logger == nil {
		logger = DiscardLogger()
	}
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }),
		actor.WithDeadLetterThrottleInterval(50*time.Millisecond),
	)
	ctx, cancel := context.WithCancel(context.Background())
	// Engine actors never wait inside Receive: a few workers per core run
	// them all. Put workers and event actors may wait: they get their own.
	d := NewDispatcher(300, 64, max(8, 4*runtime.GOMAXPROCS(0)))
	blocking := NewDispatcher(300, 16, 0)
	rt := &Runtime{
		System:      sys,
		Dispatcher:  d,
		Blocking:    blocking,
		Ctx:         ctx,
		Logger:      logger,
		Store:       cfg.Store,
		PutOptions:  cfg.PutOptions,
		Retries:     cfg.Retries,
		Putter:      retryingPutter(cfg.Store, cfg.Retries),
		PutWorkers:  cfg.PutWorkers,
		BlockSize:   cfg.BlockSize,
		MinCapacity: min(cfg.BlockSize, MinCapacity),
		Prefetch:    cfg.Prefetch,
		MaxFileSize: cfg.MaxFileSize,
		Memory:      NewMemory(cfg.MemoryBudget, cfg.MemoryBudget),
	}
	s := &System{RT: rt, cancel: cancel, dispatcher: d, blocking: blocking}
	root := sys.Root
	// Every engine-wide actor exists when Start returns. Put workers are
	// stopped last: an upload in flight finishes (its context cancelled)
	// before the buffers it reads are released.
	workers := make([]*actor.PID, max(cfg.PutWorkers, 1))
	for i := range workers {
		workers[i] = root.Spawn(rt.blockingProps(&putWorker{rt: rt}))
	}
	rt.Puts = root.Spawn(rt.props(newPutCoordinator(rt, workers, cfg.QueueDepth)))
	rt.Manager = root.Spawn(rt.props(newManager(rt)))
	rt.Padding = root.Spawn(rt.props(newPaddingBlock(rt)))
	s.tops = append([]*actor.PID{rt.Manager, rt.Padding, rt.Puts}, workers...)
	return s
}

// SpawnCollection spawns a collection's event actor and collection actor
// (whose tree starts as root; nil for an empty collection) and returns the
// collection actor.
// Once Stop has begun it spawns nothing and returns nil.
func (s *System) SpawnCollection(coll *CollectionRuntime, subs *Subscribers, root *segments.Dir) *actor.PID {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return nil
	}
	r := s.RT.System.Root
	coll.Events = r.Spawn(NewEventProps(s.RT, subs))
	pid := r.Spawn(NewCollectionProps(s.RT, coll, root))
	s.tops = append([]*actor.PID{pid}, s.tops...)
	s.events = append(s.events, coll.Events)
	return pid
}

// Send delivers msg to pid from outside the actor system.
func (s *System) Send(pid *actor.PID, msg any) { s.RT.System.Root.Send(pid, msg) }

// Stop cancels uploads in flight and stops every actor (collections and
// their files and blocks first, the put workers next), waits until they
// stopped, calls stopped, and only then stops the collections' event actors:
// a subscriber that calls the engine while it closes is answered (stopped
// is where the engine fails such calls) instead of waiting on a stopped
// actor. Finally it lets the dispatchers' parked workers exit. Queued
// messages are dropped: nothing is committed.
func (s *System) Stop(stopped func()) error {
	s.cancel()
	s.mu.Lock()
	tops, events := s.tops, s.events
	s.tops, s.events, s.stopping = nil, nil, true
	s.mu.Unlock()
	root := s.RT.System.Root
	var errs []error
	for _, pid := range tops {
		if err := root.StopFuture(pid).Wait(); err != nil {
			errs = append(errs, err)
		}
	}
	stopped()
	for _, pid := range events {
		if err := root.StopFuture(pid).Wait(); err != nil {
			errs = append(errs, err)
		}
	}
	s.dispatcher.Close()
	s.blocking.Close()
	s.RT.System.Shutdown()
	if len(errs) > 0 {
		// An actor that did not stop in time may be a put worker still
		// inside a Store.Put that ignores its cancelled context, reading a
		// retired buffer: releasing the buffers could crash it or make it
		// store garbage. Leave them to the process instead.
		s.RT.Logger.Warn("engine closed with actors still running: block buffers are not released", "errors", len(errs))
		return errors.Join(errs...)
	}
	s.RT.Memory.Close()
	return nil
}

// Dispatcher returns the engine's dispatcher (tests count its workers).
func (s *System) Dispatcher() *Dispatcher { return s.dispatcher }

// DiscardLogger returns a logger that drops everything, cheaply.
func DiscardLogger() *slog.Logger { return slog.New(discardHandler{}) }

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }
