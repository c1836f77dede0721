package actors

import (
	"context"
	"crypto/md5"
	"fmt"

	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
)

// putCoordinator feeds sealed blocks to a fixed pool of put workers.
//
// A sealed block (Submit) first has its md5 started on the engine's Hasher
// (a block of at least HashOffActorsMin bytes), so that every sealed block
// the coordinator holds is hashed at once, off the actors, while it waits.
// Then it goes straight to an idle worker, else into a FIFO queue of bounded
// depth, else it waits in an overflow list; the writer that sealed it
// (Notify) is told SealAccepted only when the block is taken by a worker or
// enters the queue, which is what makes writers wait when uploads fall
// behind (hashing changes none of this). A worker that finishes
// (WorkerIdle) pulls the next block, so one slow upload never stalls blocks
// that another worker could take.
type putCoordinator struct {
	rt    *Runtime
	depth int

	// All fields below belong to this actor alone.
	self     *actor.PID
	idle     []*actor.PID
	queue    []sealed
	overflow []sealed
}

// sealed is a submitted block and its md5 in progress (nil: the worker
// hashes it).
type sealed struct {
	submit *messages.Submit
	sum    messages.PendingSum
}

// newPutCoordinator returns a coordinator of the given (already spawned)
// workers.
func newPutCoordinator(rt *Runtime, workers []*actor.PID, depth int) *putCoordinator {
	return &putCoordinator{rt: rt, idle: append([]*actor.PID(nil), workers...), depth: max(depth, 0)}
}

// Receive hands each message to its method. A panic is logged and the
// queue kept (see Runtime.panicked).
func (p *putCoordinator) Receive(ctx actor.Context) {
	defer func() {
		if r := recover(); r != nil {
			p.rt.panicked("put coordinator", "", ctx.Message(), r, nil)
		}
	}()
	switch m := ctx.Message().(type) {
	case *actor.Started:
		p.self = ctx.Self()
	case *messages.Submit:
		p.onSubmit(ctx, m)
	case *messages.WorkerIdle:
		p.onWorkerIdle(ctx, m)
	}
}

func (p *putCoordinator) onSubmit(ctx actorContext, s *messages.Submit) {
	b := sealed{submit: s}
	switch {
	case s.Sum != nil:
		b.sum = knownSum(*s.Sum)
	case s.Pending != nil:
		b.sum = s.Pending
	case p.rt.Hasher != nil && len(s.Data) >= HashOffActorsMin:
		b.sum = p.rt.Hasher.Start(s.Data)
	}
	switch {
	case len(p.idle) > 0:
		w := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		p.upload(ctx, w, b)
		accept(ctx, s)
	case len(p.queue) < p.depth:
		p.queue = append(p.queue, b)
		accept(ctx, s)
	default:
		p.overflow = append(p.overflow, b)
	}
}

func (p *putCoordinator) onWorkerIdle(ctx actorContext, m *messages.WorkerIdle) {
	var next sealed
	switch {
	case len(p.queue) > 0:
		next = p.queue[0]
		p.queue[0] = sealed{}
		p.queue = p.queue[1:]
	case len(p.overflow) > 0:
		next = p.overflow[0]
		p.overflow[0] = sealed{}
		p.overflow = p.overflow[1:]
		accept(ctx, next.submit)
	}
	for len(p.queue) < p.depth && len(p.overflow) > 0 {
		p.queue = append(p.queue, p.overflow[0])
		accept(ctx, p.overflow[0].submit)
		p.overflow[0] = sealed{}
		p.overflow = p.overflow[1:]
	}
	if next.submit == nil {
		p.idle = append(p.idle, m.Worker)
		return
	}
	p.upload(ctx, m.Worker, next)
}

// upload hands b to worker w.
func (p *putCoordinator) upload(ctx actorContext, w *actor.PID, b sealed) {
	ctx.Send(w, &messages.Upload{Submit: b.submit, Coordinator: p.self, Sum: b.sum})
}

// knownSum is a PendingSum already computed.
type knownSum [md5.Size]byte

// Wait returns the sum.
func (k knownSum) Wait(context.Context) ([md5.Size]byte, error) { return k, nil }

// accept tells the block's sealer, if it waits, that the block was accepted.
func accept(ctx actorContext, s *messages.Submit) {
	if s.Notify != nil {
		ctx.Send(s.Notify, &messages.SealAccepted{BlockID: s.BlockID})
	}
}

// putWorker stores one block at a time, handing the store the block's md5
// (keep.PutOptions.MD5): the Hasher's, waited for, or one it computes
// itself for a small block. It blocks on the Hasher, on the store (and on
// backoff between retries of temporary failures) inside its Receive, which
// holds up nothing but itself; it never waits on another actor.
type putWorker struct {
	rt *Runtime
}

// Receive hands each message to its method.
func (w *putWorker) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*messages.Upload); ok {
		w.onUpload(ctx, m.Coordinator, ctx.Self(), m)
	}
}

func (w *putWorker) onUpload(ctx actorContext, coordinator, self *actor.PID, m *messages.Upload) {
	var sum [md5.Size]byte
	var err error
	if m.Sum != nil {
		sum, err = m.Sum.Wait(w.rt.Ctx) // returns only once the Hasher no longer reads the buffer
	} else {
		sum = md5.Sum(m.Submit.Data)
	}
	var loc string
	if err == nil {
		loc, err = w.put(m.Submit.Data, &sum)
	}
	w.rt.Memory.GiveBack(m.Submit.Data) // lent by the block (submit); freed now if it stopped meanwhile
	ctx.Send(m.Submit.Block, &messages.Uploaded{Locator: loc, Err: err})
	ctx.Send(coordinator, &messages.WorkerIdle{Worker: self})
}

// put stores data through the runtime's retrying store (keep.WithRetries):
// temporary failures are retried with backoff, up to Runtime.Retries times.
// A store that panics fails the upload (the block goes to ERROR, keeping
// its bytes) instead of killing the worker.
func (w *putWorker) put(data []byte, sum *[md5.Size]byte) (loc string, err error) {
	defer func() {
		if p := recover(); p != nil {
			w.rt.panicked("put worker", "", nil, p, nil)
			loc, err = "", fmt.Errorf("%w: store Put: %v", ErrActorPanicked, p)
		}
	}()
	opts := w.rt.PutOptions
	opts.MD5 = sum
	return w.rt.Putter.Put(w.rt.Ctx, data, opts)
}
