package actors

import (
	"fmt"
	"runtime/debug"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// A cell is how a file actor, a buffer-block actor, a collection actor and
// the BlockManager live in the actor system: a protoactor Process of our own (protoactor's seam for futures,
// routers and remote actors) whose mailbox is its Strand. Its PID is under
// an address of the engine's own, resolved by the system's cell table
// (celltable.go) through protoactor's AddressResolver seam instead of its
// process registry, and comes with its Process already cached (cellpid.go).
//
// Any actor sends to a cell with ctx.Send, stops it with ctx.Stop or a
// PoisonPill, watches it with ctx.Watch; a parent — a cell, or a protoactor
// actor through ctx.Spawn(cellProps(…)) — has it among its Children, is
// told Terminated when it ends, and stops it when the parent stops. What a cell saves is protoactor's per-actor machinery, measured in
// scenario b (10,000 small files, each a file actor and a block actor) at
// ≈ 29 allocations and ≈ 10 µs of CPU per file to spawn and stop two
// actors, and a closure per message scheduled; and what its PID saves is
// the registry's sharded map (an add and a remove, ≈ 3 µs of CPU per file)
// and PID.ref's allocation on the first send. A cell is two allocations
// (itself, with its PID, and its id), and a message is a slot in its
// strand's queue.
//
// The semantics kept are those the engine relies on: Started is the first
// message; messages from one sender arrive in order; Stop jumps the queue
// (messages still queued are dropped, to the dead-letter process), the
// behaviour sees Stopping, the cell's children are stopped and awaited,
// then the behaviour sees Stopped, the cell leaves its table and the
// watchers and the parent are told Terminated. Unlike protoactor's
// mailboxes, Watch, SuspendMailbox and ResumeMailbox take their turn in the
// queue; messages a stopping cell receives are handed to its behaviour
// (which ignores them), and those a stopped one receives — through the PID
// it was spawned with, which names it for good — go to the dead-letter
// process after a dropper behaviour saw them (a copy of the PID made from
// its id resolves to the dead-letter process once the cell left its table,
// unless the copy was used while the cell lived: protoactor then cached the
// cell in it, which drops what it is sent). A cell never restarts:
// its behaviours recover their own panics (Runtime.panicked); one that
// escapes is logged and the cell goes on.
type cell struct {
	sys      *actor.ActorSystem
	tab      *cellTable // where the cell is found by PID (its system's)
	behavior cellBehavior
	strand   *Strand
	pid      actor.PID     // the cell's PID: under cellAddress, its id is seq.index
	proc     actor.Process // c itself, where pid caches its Process (primePID)
	self     *actor.PID    // &pid
	seq      uint64        // the cell's number in tab: its PID resolves to it only
	index    int           // the cell's slot in tab
	parent   *actor.PID    // nil for a cell spawned at the root
	up       *cell         // the parent when it is a cell
	slot     int           // the cell's index in up.children (owned by up's strand)
	keeper   *sharedBlocks // holds the cell instead of a parent (detachChild): told when it stops

	stopAsked atomic.Bool // Stop was called: handled before any queued message

	// Fields below belong to the strand running the cell.
	state     cellState
	suspended bool       // SuspendMailbox: user messages wait in held until ResumeMailbox
	held      []envelope // user messages received while suspended
	children  []*cell
	child0    [1]*cell // children's first array: a file actor's cell has one child, its block, most of the time
	watchers  []*actor.PID
	ctx       cellContext
}

// cellBehavior is what a cell runs: a file actor or a block actor.
type cellBehavior interface {
	receive(ctx *cellContext, msg any)
}

// dropper is a behaviour that is shown the messages sent to it after it
// stopped, which it never handles: a loan they carry (a packed block's
// buffer lent to a PackOffer or a PackCopy) is given back instead of being
// held until the engine closes.
type dropper interface {
	dropped(ctx *cellContext, msg any)
}

// lateReceiver is a behaviour that may, in the normal course of things, be
// sent messages after it stopped (a file actor: its packed block's notice,
// see messages.PackedNotice): those it names expected are dropped without
// a dead letter, which would be logged at Info level to the user's logger.
type lateReceiver interface {
	expectedLate(msg any) bool
}

// terminatedWatcher is a behaviour that is told Terminated when a child
// cell or an actor it watches ends (others are not: it costs a message).
type terminatedWatcher interface{ wantsTerminated() bool }

type cellState uint8

const (
	cellAlive cellState = iota
	cellStopping
	cellStopped
)

// Lifecycle messages a behaviour receives (protoactor's own types).
var (
	cellStartedMsg  = &actor.Started{}
	cellStoppingMsg = &actor.Stopping{}
	cellStoppedMsg  = &actor.Stopped{}
)

// envelope kinds: a user message or a system message.
const (
	envUser uint8 = iota
	envSystem
)

// envelope is one entry of a strand's queue.
type envelope struct {
	c    *cell
	msg  any
	kind uint8
}

// cellChildTerminated tells a parent cell that a child cell ended.
type cellChildTerminated struct{ child *cell }

// cellDetached tells a child on a strand other than its parent's that the
// parent handed it over to keeper (detachChild): its parent fields belong
// to its own strand, so it sets them itself.
type cellDetached struct{ keeper *sharedBlocks }

// cellStop is queued by Stop so that a cell with nothing queued wakes up.
type cellStop struct{}

var _ actor.Process = (*cell)(nil)

// cellProps returns Props that spawn b as a cell on strand s under a
// protoactor parent (ctx.Spawn records it as a child).
func cellProps(b cellBehavior, s *Strand) *actor.Props {
	return actor.PropsFromProducer(nil, actor.WithSpawnFunc(
		func(sys *actor.ActorSystem, id string, _ *actor.Props, parent actor.SpawnerContext) (*actor.PID, error) {
			c := newCell(cellsOf(sys), sys, b, s, parent.Self())
			return c.register(), nil
		}))
}

// spawnCell spawns b as a cell on strand s, a child of the actor whose
// context ctx is: directly when that is a cell, through Props otherwise.
func spawnCell(ctx actorContext, b cellBehavior, s *Strand) *actor.PID {
	if cc, ok := ctx.(*cellContext); ok {
		return cc.c.spawnChild(b, s)
	}
	return ctx.Spawn(cellProps(b, s))
}

// spawnRootCell spawns b as a cell on strand s with no parent.
func spawnRootCell(sys *actor.ActorSystem, b cellBehavior, s *Strand) *actor.PID {
	return newCell(cellsOf(sys), sys, b, s, nil).register()
}

func newCell(tab *cellTable, sys *actor.ActorSystem, b cellBehavior, s *Strand, parent *actor.PID) *cell {
	c := &cell{tab: tab, sys: sys, behavior: b, strand: s, parent: parent}
	c.self = &c.pid
	c.ctx.c = c
	return c
}

// register adds the cell to its table and tells the behaviour Started, on
// the spawner's goroutine: nobody knows the PID before spawn returns it, so
// nothing can be delivered before, nor concurrently with, Started — and a
// small file's two cells save a strand entry each.
func (c *cell) register() *actor.PID {
	c.tab.add(c)
	c.primePID()
	c.ctx.self = c.self
	c.invoke(cellStartedMsg)
	if c.stopAsked.Load() { // stopped itself at once: nothing queued would wake it
		c.strand.push(envelope{c: c, msg: cellStop{}, kind: envSystem})
	}
	return c.self
}

// spawnChild spawns a cell whose parent is c (called on c's strand).
func (c *cell) spawnChild(b cellBehavior, s *Strand) *actor.PID {
	child := newCell(c.tab, c.sys, b, s, c.self)
	child.up = c
	pid := child.register()
	if c.state != cellStopped { // a stopping parent waits for it too
		if c.children == nil {
			c.children = c.child0[:0]
		}
		child.slot = len(c.children)
		c.children = append(c.children, child)
		if len(c.children) > 1 { // past child0: it must not keep the first child reachable once ended
			c.child0[0] = nil
		}
	}
	if c.state != cellAlive {
		child.Stop(pid) // born to a stopping parent: stops at once
	}
	return pid
}

// SendUserMessage queues msg for the cell (protoactor's Process).
func (c *cell) SendUserMessage(_ *actor.PID, msg any) {
	c.strand.push(envelope{c: c, msg: msg, kind: envUser})
}

// SendSystemMessage queues a system message (Watch, Unwatch, Stop,
// SuspendMailbox, ResumeMailbox, a child's Terminated) for the cell.
func (c *cell) SendSystemMessage(_ *actor.PID, msg any) {
	if _, ok := msg.(*actor.Stop); ok {
		c.Stop(c.self)
		return
	}
	c.strand.push(envelope{c: c, msg: msg, kind: envSystem})
}

// Stop asks the cell to stop: it is handled before any message queued.
func (c *cell) Stop(*actor.PID) {
	if c.stopAsked.Swap(true) {
		return
	}
	c.strand.push(envelope{c: c, msg: cellStop{}, kind: envSystem})
}

// deliver runs one envelope of the cell (on its strand).
func (c *cell) deliver(e envelope) {
	if c.state == cellStopped {
		switch m := e.msg.(type) {
		case *actor.Watch:
			c.tellTerminated(m.Watcher)
		case cellDetached: // it stopped before it heard: the keeper let go of it
			m.keeper.forget(c)
		case cellStop, *actor.Unwatch, cellChildTerminated, *actor.Terminated:
		default:
			if e.kind == envUser {
				if d, ok := c.behavior.(dropper); ok {
					d.dropped(&c.ctx, e.msg)
				}
				if l, ok := c.behavior.(lateReceiver); ok && l.expectedLate(e.msg) {
					return
				}
				c.sys.DeadLetter.SendUserMessage(c.self, e.msg)
			}
		}
		return
	}
	if c.state == cellAlive && c.stopAsked.Load() {
		c.beginStop()
		held := c.held
		c.held, c.suspended = nil, false
		for _, h := range held { // a stopping behaviour ignores them; a stopped cell drops them
			c.deliver(h)
		}
		if c.state == cellStopped {
			c.deliver(e)
			return
		}
	}
	if c.suspended && e.kind == envUser && c.state == cellAlive {
		c.held = append(c.held, e)
		return
	}
	switch m := e.msg.(type) {
	case cellStop:
	case *actor.SuspendMailbox:
		c.suspended = true
	case *actor.ResumeMailbox:
		c.suspended = false
		held := c.held
		c.held = nil
		for _, h := range held {
			c.deliver(h)
		}
	case *actor.Watch:
		c.watchers = append(c.watchers, m.Watcher)
	case *actor.Unwatch:
		for i, w := range c.watchers {
			if w.Equal(m.Watcher) {
				c.watchers = append(c.watchers[:i], c.watchers[i+1:]...)
				break
			}
		}
	case cellChildTerminated:
		c.childEnded(m.child)
	case cellDetached:
		c.up, c.parent, c.keeper = nil, nil, m.keeper
	case *actor.Terminated:
		if w, ok := c.behavior.(terminatedWatcher); ok && w.wantsTerminated() {
			c.invoke(m)
		}
	case *actor.PoisonPill: // a Stop that waits its turn
		c.stopAsked.Store(true)
	default:
		c.invoke(e.msg)
	}
	if c.state == cellAlive && c.stopAsked.Load() {
		// Stopped by its own behaviour (cellContext.Stop), or by another
		// goroutine meanwhile: stop before anything else queued.
		c.beginStop()
	}
}

// invoke runs the behaviour on msg; a panic that escapes it is logged.
func (c *cell) invoke(msg any) {
	defer func() {
		if p := recover(); p != nil {
			c.sys.Logger().Error("cell panicked outside its behaviour's recovery", "pid", c.self.Id,
				"message", fmt.Sprintf("%T", msg), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	c.ctx.msg = msg
	c.behavior.receive(&c.ctx, msg)
	c.ctx.msg = nil
}

// beginStop tells the behaviour Stopping, stops the children and, when
// none is left, finishes the stop.
func (c *cell) beginStop() {
	c.state = cellStopping
	c.invoke(cellStoppingMsg)
	for _, ch := range c.children {
		ch.Stop(ch.self)
	}
	if len(c.children) == 0 {
		c.finishStop()
	}
}

// childEnded forgets a child that stopped (on c's strand), tells the
// behaviour if it wants to know, and finishes c's own stop when it waited
// for its last child.
func (c *cell) childEnded(child *cell) {
	c.removeChild(child)
	if w, ok := c.behavior.(terminatedWatcher); ok && w.wantsTerminated() {
		c.invoke(&actor.Terminated{Who: child.self})
	}
	switch {
	case c.state == cellAlive && c.stopAsked.Load():
		// It stopped itself on hearing of the child (told at once, from
		// the child's message on their shared strand: no message of c's
		// own follows to notice).
		c.beginStop()
	case c.state == cellStopping && len(c.children) == 0:
		c.finishStop()
	}
}

// removeChild drops child from c's children (on c's strand). A collection
// has thousands of files: it is done in O(1), moving the last child into
// the slot.
func (c *cell) removeChild(child *cell) {
	if i := child.slot; i < len(c.children) && c.children[i] == child {
		last := c.children[len(c.children)-1]
		c.children[i], last.slot = last, i
		c.children[len(c.children)-1] = nil
		c.children = c.children[:len(c.children)-1]
	}
}

// detachChild hands c's child named pid over to s (see sharedBlocks): it
// is no longer c's child — c neither stops it nor waits for it — and has no
// parent; s holds it until it stops. A child on c's strand is handed over
// at once; one on a strand of its own (a stream block) sets its parent
// fields itself, which belong to its strand, when told (cellDetached) — if
// it stopped first, c is told as a parent is, and ignores it, and s lets go
// of it then. Only a live child is handed over, and none once s is closed
// (the engine is closing: it stops with c). It runs on c's strand.
func (c *cell) detachChild(pid *actor.PID, s *sharedBlocks) {
	if c.state != cellAlive {
		return
	}
	for _, ch := range c.children {
		if ch.self != pid && !ch.self.Equal(pid) {
			continue
		}
		// (A child on a strand of its own has a state that belongs to
		// that strand: it is not read here.)
		if ch.stopAsked.Load() || ch.strand == c.strand && ch.state != cellAlive || !s.add(ch) {
			return
		}
		c.removeChild(ch)
		if ch.strand != c.strand {
			ch.strand.push(envelope{c: ch, msg: cellDetached{keeper: s}, kind: envSystem})
			return
		}
		ch.up, ch.parent, ch.keeper = nil, nil, s
		return
	}
}

// finishStop tells the behaviour Stopped, removes the cell from its table
// and tells the watchers and the parent.
func (c *cell) finishStop() {
	c.invoke(cellStoppedMsg)
	c.state = cellStopped
	c.tab.remove(c)
	if c.keeper != nil {
		c.keeper.forget(c)
	}
	for _, w := range c.watchers {
		c.tellTerminated(w)
	}
	c.watchers = nil
	switch {
	case c.up != nil && c.up.strand == c.strand:
		// A block and its file share a strand, which is running this:
		// the parent is told at once, without a trip through the queue.
		if c.up.state != cellStopped {
			c.up.childEnded(c)
		}
	case c.up != nil:
		c.up.strand.push(envelope{c: c.up, msg: cellChildTerminated{child: c}, kind: envSystem})
	case c.parent != nil:
		c.tellTerminated(c.parent)
	}
}

// tellTerminated sends Terminated{c} to pid as a system message — unless
// pid is a cell that stopped already (a released collection's actor that
// watched its files, say): nobody is left to tell, and the notice would be
// a dead letter logged to the user.
func (c *cell) tellTerminated(pid *actor.PID) {
	if pid.Address == cellAddress && c.tab.lookup(pid) == nil {
		return
	}
	proc, _ := c.sys.ProcessRegistry.Get(pid)
	proc.SendSystemMessage(pid, &actor.Terminated{Who: c.self})
}

// cellContext is what a cell's behaviour is given: the part of an actor
// context the engine's actors use (actorContext), plus the message and the
// cell's PID.
type cellContext struct {
	c    *cell
	self *actor.PID
	msg  any
}

var _ actorContext = (*cellContext)(nil)

// Message returns the message being handled.
func (x *cellContext) Message() any { return x.msg }

// Self returns the cell's PID.
func (x *cellContext) Self() *actor.PID { return x.self }

// Send delivers msg to pid.
func (x *cellContext) Send(pid *actor.PID, msg any) { x.c.sys.Root.Send(pid, msg) }

// Spawn is not for cells, which spawn their children with spawnCell (an
// actor spawned from Props here would have no parent to stop it): it
// panics, which the behaviour's recovery turns into a failed request.
func (x *cellContext) Spawn(*actor.Props) *actor.PID {
	panic("arvfile: a cell spawns its children with spawnCell, not Spawn")
}

// Watch asks pid to tell this cell Terminated when it ends.
func (x *cellContext) Watch(pid *actor.PID) {
	proc, _ := x.c.sys.ProcessRegistry.Get(pid) // a stopped actor's is the dead-letter process, which answers at once
	proc.SendSystemMessage(pid, &actor.Watch{Watcher: x.self})
}

// Children returns the cell's live child cells.
func (x *cellContext) Children() []*actor.PID {
	pids := make([]*actor.PID, len(x.c.children))
	for i, ch := range x.c.children {
		pids[i] = ch.self
	}
	return pids
}

// Stop stops pid. A cell that stops itself does so once the message being
// handled returns (see cell.deliver), without a trip through its queue.
func (x *cellContext) Stop(pid *actor.PID) {
	if pid == x.self {
		x.c.stopAsked.Store(true)
		return
	}
	x.c.sys.Root.Stop(pid)
}
