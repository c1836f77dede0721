package actors

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
)

// Runtime is the wiring every actor of one engine shares. It is filled in
// before the first actor that reads a field is spawned and never changed
// afterwards, so actors read it without synchronization.
type Runtime struct {
	// System is the engine's actor system.
	System *actor.ActorSystem
	// Dispatcher runs the engine's actors on a few workers; Blocking runs,
	// on as many as needed, those that may wait: put workers (on the store)
	// and event actors (subscribers may call back into the engine).
	Dispatcher *Dispatcher
	Blocking   *Dispatcher
	// Ctx is cancelled when the engine closes; uploads use it.
	Ctx context.Context
	// Logger receives debug logs of the decisions actors take.
	Logger *slog.Logger

	// Store is where put workers store sealed blocks.
	Store keep.Store
	// PutOptions are passed to every Store.Put.
	PutOptions keep.PutOptions
	// Retries is how many times a put worker retries a temporary failure.
	Retries int
	// Putter is Store wrapped to retry temporary failures Retries times
	// with exponential backoff; put workers upload through it, and the
	// engine reads committed blocks through it.
	Putter keep.Store
	// PutWorkers is the number of put workers.
	PutWorkers int
	// Hasher computes the md5 of sealed blocks for the put workers (nil:
	// each worker hashes its block).
	Hasher *Hasher

	// BlockSize is the largest buffer block (keep.BlockSize unless a test
	// asks for tiny blocks).
	BlockSize int64
	// MinCapacity is the smallest buffer a block starts with.
	MinCapacity int64
	// Prefetch is how many blocks past a read are worth prefetching.
	Prefetch int
	// MaxFileSize bounds every file's size: a write or truncation past it
	// fails with ErrFileTooLarge. ≤ 0 means no bound.
	MaxFileSize int64
	// Memory is the engine-wide buffer budget.
	Memory *Memory
	// Shared holds the buffer blocks copies share once their maker handed
	// them over (see sharedBlocks); System.Stop stops those left.
	Shared *sharedBlocks

	// Manager is the BlockManager; Puts the put coordinator; Padding the
	// padding block.
	Manager *actor.PID
	Puts    *actor.PID
	Padding *actor.PID
}

// props returns Props that run a (pre-built, so state survives a restart)
// actor on the engine's dispatcher.
func (rt *Runtime) props(a actor.Actor) *actor.Props {
	return propsOn(a, rt.Dispatcher)
}

// blockingProps returns Props that run a pre-built actor on the Blocking
// dispatcher.
func (rt *Runtime) blockingProps(a actor.Actor) *actor.Props {
	return propsOn(a, rt.Blocking)
}

// propsOn returns Props that run a pre-built actor on d.
func propsOn(a actor.Actor, d actor.Dispatcher) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return a }, actor.WithDispatcher(d))
}

// CollectionRuntime is the wiring the actors of one collection share.
type CollectionRuntime struct {
	// ID names the collection to the BlockManager (packing stays inside it).
	ID string
	// ReadOnly collections refuse every change.
	ReadOnly bool
	// Events is the collection's event actor.
	Events *actor.PID
	// Self is the collection's actor, where idle files offer to passivate
	// (set before any file actor exists).
	Self *actor.PID
	// Runner is the collection actor's strand: a facade call whose request
	// finds it idle runs it on the caller's goroutine (as for files).
	Runner *Strand
	// Subscribed is true while the collection has subscribers; senders skip
	// events otherwise.
	Subscribed atomic.Bool
	// Changes counts changes of the collection's content or names: every
	// FileActor change of content and every namespace change bumps it before
	// answering. The facade reads it to tell an unmodified collection and to
	// validate cached reads.
	Changes atomic.Uint64
}

// emit sends ev to the collection's subscribers, if it has any (without
// allocating when it has none: only the copy sent escapes).
func (c *CollectionRuntime) emit(ctx actorContext, ev messages.Event) {
	if c.Subscribed.Load() && c.Events != nil {
		sent := ev
		ctx.Send(c.Events, &sent)
	}
}

// retryingPutter wraps st to retry a temporary Put failure retries times,
// with exponential backoff from 20 ms up to 2 s.
func retryingPutter(st keep.Store, retries int) keep.Store {
	return keep.WithRetries(st, keep.RetryPolicy{
		Attempts: retries + 1, Initial: 20 * time.Millisecond, Max: 2 * time.Second,
	})
}

// ReleaseCopy gives back what a CopyOut collected and no CopyIn used: it
// releases the retained blocks and frees the duplicated bytes.
func (rt *Runtime) ReleaseCopy(ctx interface{ Send(*actor.PID, any) }, src *messages.CopySource) {
	if src == nil {
		return
	}
	for i := range src.Entries {
		e := &src.Entries[i]
		for id, pid := range e.Blocks {
			if id != messages.PaddingBlockID {
				ctx.Send(pid, &messages.Release{})
			}
		}
		e.Blocks = nil
		if e.Dup != nil {
			rt.Memory.Free(e.Dup.Data)
			e.Dup = nil
		}
	}
}
