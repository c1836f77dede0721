package actors

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
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

	mu        sync.Mutex                // guards tops, colls and stopping
	tops      []namedPID                // engine-wide actors, stopped by Stop
	colls     map[string]collectionPIDs // each open collection's actors, by id: stopped by StopCollection or Stop
	lingering []namedPID                // released collection actors still the parents of files moved away: stopped by Stop
	stopping  bool                      // set by Stop: no collection is spawned after it
}

// collectionPIDs are a collection's actor (the parent of its files' actors,
// themselves the parents of their blocks) and its event actor.
type collectionPIDs struct {
	coll, events namedPID
}

// namedPID is an actor and what to call it when it does not stop.
type namedPID struct {
	pid  *actor.PID
	name string
}

// StopError lists the actors that had not stopped when Stop's time ran out:
// a put worker inside a Store.Put that ignores its cancelled context, an
// event actor inside a subscriber that does not return. They are abandoned:
// they go on running, and the block buffers are left to the process.
type StopError struct {
	Abandoned []string
}

func (e *StopError) Error() string {
	return fmt.Sprintf("arvfile: engine closed, abandoning %d actors still running: %s",
		len(e.Abandoned), strings.Join(e.Abandoned, ", "))
}

// Start creates the actor system and spawns the engine-wide actors.
func Start(cfg Config) *System {
	logger := cfg.Logger
	if logger == nil {
		logger = DiscardLogger()
	}
	sys := newActorSystem(
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
		Shared:      newSharedBlocks(),
		Hasher:      NewHasher(DefaultHashServers()),
	}
	s := &System{RT: rt, cancel: cancel, dispatcher: d, blocking: blocking, colls: make(map[string]collectionPIDs)}
	root := sys.Root
	// Every engine-wide actor exists when Start returns. Put workers are
	// stopped last: an upload in flight finishes (its context cancelled)
	// before the buffers it reads are released.
	workers := make([]*actor.PID, max(cfg.PutWorkers, 1))
	for i := range workers {
		workers[i] = root.Spawn(rt.blockingProps(&putWorker{rt: rt}))
	}
	rt.Puts = root.Spawn(rt.props(newPutCoordinator(rt, workers, cfg.QueueDepth)))
	rt.Manager = spawnRootCell(sys, newManager(rt), NewStrand(d))
	rt.Padding = spawnRootCell(sys, newPaddingBlock(rt), NewStrand(d))
	s.tops = []namedPID{{rt.Manager, "block manager"}, {rt.Padding, "padding block"}, {rt.Puts, "put coordinator"}}
	for i, w := range workers {
		s.tops = append(s.tops, namedPID{w, fmt.Sprintf("put worker %d (in Store.Put)", i+1)})
	}
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
	strand := NewStrand(s.dispatcher)
	pid := spawnRootCell(s.RT.System, newCollectionActor(s.RT, coll, root), strand)
	coll.Self, coll.Runner = pid, strand
	s.colls[coll.ID] = collectionPIDs{
		coll:   namedPID{pid, "collection " + coll.ID},
		events: namedPID{coll.Events, "event actor of collection " + coll.ID + " (in a subscriber)"},
	}
	return pid
}

// StopCollection stops a collection's actors — the actors of the files of
// its tree, with their blocks (ReleaseCollection), its collection actor and
// its event actor — waits at most timeout for them, and tells the
// BlockManager to forget the collection's packing candidates. Their buffers
// go back to the budget; those an upload may still read are freed when it
// ends (Memory.Retire). A file the collection's actor spawned that moved to
// another collection (RenameTo) goes on: the actor stays as its parent until
// it stopped (or until Stop). An actor that did not stop in time is named in
// a *StopError. Once Stop has begun it does nothing: Stop stops everything.
func (s *System) StopCollection(id string, timeout time.Duration) error {
	s.mu.Lock()
	c, ok := s.colls[id]
	delete(s.colls, id)
	stopping := s.stopping
	s.mu.Unlock()
	if !ok || stopping {
		return nil
	}
	deadline := time.Now().Add(timeout)
	var abandoned []string
	var lingering bool
	r := messages.NewReply()
	s.Send(c.coll.pid, &messages.ReleaseCollection{Lingering: &lingering, Reply: r})
	t := time.NewTimer(timeout)
	select {
	case <-r.Done():
		t.Stop()
		r.Release()
		if lingering {
			s.mu.Lock()
			s.lingering = append(s.lingering, c.coll)
			s.mu.Unlock()
		}
	case <-t.C:
		abandoned = append(abandoned, c.coll.name)
		s.RT.System.Root.Stop(c.coll.pid)
	}
	abandoned = append(abandoned, s.stopAll([]namedPID{c.events}, max(time.Until(deadline), timeout/10))...)
	s.Send(s.RT.Manager, &messages.ForgetCollection{Collection: id})
	if len(abandoned) > 0 {
		return &StopError{Abandoned: abandoned}
	}
	return nil
}

// Collections returns how many collections have actors (tests check that
// released ones do not).
func (s *System) Collections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.colls)
}

// newActorSystem creates an actor system where cells can live (one with a
// cell table, see installCells).
func newActorSystem(opts ...actor.ConfigOption) *actor.ActorSystem {
	sys := actor.NewActorSystem(opts...)
	installCells(sys)
	return sys
}

// Cells returns how many cells (file, block, collection actors, the
// BlockManager, the padding block) are live: they are not among the
// processes of protoactor's registry.
func (s *System) Cells() int {
	live, _ := cellsOf(s.RT.System).counts()
	return live
}

// SharedBlocks returns how many buffer blocks copies share that outlived,
// or may outlive, the file actor that made them (see sharedBlocks): tests
// check that none is left once no file names them.
func (s *System) SharedBlocks() int { return s.RT.Shared.count() }

// Send delivers msg to pid from outside the actor system.
func (s *System) Send(pid *actor.PID, msg any) { s.RT.System.Root.Send(pid, msg) }

// Stop cancels uploads in flight and stops every actor (collections with
// their files and blocks, the blocks copies share, the BlockManager, the
// put pool), all at once, and
// waits until they stopped; calls stopped; and only then stops the
// collections' event actors: a subscriber that calls the engine while it
// closes is answered (stopped is where the engine fails such calls) instead
// of waiting on a stopped actor. Finally it lets the dispatchers' parked
// workers exit. Queued messages are dropped: nothing is committed.
//
// Stop returns within timeout, or timeout/10 more when the event actors
// needed it: an actor that has not stopped by then is abandoned and named
// in the *StopError returned.
func (s *System) Stop(timeout time.Duration, stopped func()) error {
	deadline := time.Now().Add(timeout)
	s.cancel()
	s.mu.Lock()
	tops := s.tops
	ids := make([]string, 0, len(s.colls))
	for id := range s.colls {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var events []namedPID
	for _, id := range ids {
		tops = append(tops, s.colls[id].coll)
		events = append(events, s.colls[id].events)
	}
	tops = append(tops, s.lingering...)
	tops = append(tops, s.RT.Shared.close()...)
	s.tops, s.colls, s.lingering, s.stopping = nil, nil, nil, true
	s.mu.Unlock()
	abandoned := s.stopAll(tops, timeout)
	s.RT.Hasher.Close() // its lanes read block buffers: before they are released
	stopped()
	abandoned = append(abandoned, s.stopAll(events, max(time.Until(deadline), timeout/10))...)
	s.dispatcher.Close()
	s.blocking.Close()
	s.RT.System.Shutdown()
	if len(abandoned) > 0 {
		// An actor that did not stop in time may be a put worker still
		// inside a Store.Put that ignores its cancelled context, reading a
		// retired buffer: releasing the buffers could crash it or make it
		// store garbage. Leave them to the process instead.
		s.RT.Logger.Warn("engine closed with actors still running: block buffers are not released", "abandoned", abandoned)
		return &StopError{Abandoned: abandoned}
	}
	s.RT.Memory.Close()
	return nil
}

// stopAll stops every actor of pids at once and waits, at most timeout, for
// them to stop. It returns the names of those that did not.
func (s *System) stopAll(pids []namedPID, timeout time.Duration) []string {
	sys := s.RT.System
	futures := make([]*actor.Future, len(pids))
	for i, n := range pids {
		futures[i] = actor.NewFuture(sys, timeout)
		proc, _ := sys.ProcessRegistry.Get(n.pid) // a stopped actor's is the dead-letter process, which answers Watch at once
		proc.SendSystemMessage(n.pid, &actor.Watch{Watcher: futures[i].PID()})
		sys.Root.Stop(n.pid)
	}
	var abandoned []string
	for i, f := range futures {
		if err := f.Wait(); err != nil {
			abandoned = append(abandoned, pids[i].name)
		}
	}
	return abandoned
}

// Dispatcher returns the engine's dispatcher (tests count its workers).
func (s *System) Dispatcher() *Dispatcher { return s.dispatcher }

// DiscardLogger returns a logger that drops everything, cheaply.
func DiscardLogger() *slog.Logger { return slog.New(discardHandler{}) }

// discardLoggerFactory gives an actor system the DiscardLogger.
func discardLoggerFactory(*actor.ActorSystem) *slog.Logger { return DiscardLogger() }

type discardHandler struct{}

func (discardHandler) Enabled(context.Context, slog.Level) bool  { return false }
func (discardHandler) Handle(context.Context, slog.Record) error { return nil }
func (h discardHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h discardHandler) WithGroup(string) slog.Handler           { return h }
