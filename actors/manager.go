package actors

import (
	"time"

	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
)

// manager is the BlockManager: the registry of live buffer blocks, the
// writers waiting for memory, and small-block packing.
//
// Every block reports its state and capacity (BlockStatus) whenever either
// changes, so the registry knows which blocks are WRITABLE and how large,
// and how many are PENDING. A file whose write needs memory the budget does
// not have waits (AwaitMemory) and is told MemoryAvailable, in order of
// arrival, once its bytes fit. While files wait, the largest WRITABLE block
// is sealed (its owner is asked: SealBlock) whenever fewer uploads are
// pending than there are put workers, so that memory keeps being freed
// without the workers idling. When blocks in ERROR hold the memory (the
// store is down), their uploads are retried with backoff (RetryErrors) and
// the files keep waiting — or fail at their deadline — so memory stays
// within the budget; only when nothing at all can free memory are the files
// let go over budget rather than stall.
//
// Closed small files offer their blocks (Candidate). When a collection's
// candidates add up to a block, or on PackAll (commit-all), a packing round
// lays out a packed block — first fit, in the order the candidates' buffer
// blocks were created (as the Python SDK packs them: a file reopened,
// rewritten and closed again keeps its place), each candidate at the sum of
// the sizes before it — spawns it, and offers every slot at
// once (so the files copy in parallel, not one after another); a file that
// was reopened or written meanwhile refuses or, grown past its slot, keeps
// its block. Accepting files copy their bytes in (see
// fileActor.onPackOffer); once every file answered, PackSeal tells the
// packed block how many pieces to wait for: it then closes the gaps refused
// slots left, tells each file where its bytes landed, and seals itself.
type manager struct {
	rt *Runtime

	// All fields below belong to this actor alone.
	self       *actor.PID
	blocks     map[string]*blockEntry
	pending    int // blocks PENDING: uploads that will free memory
	waiters    []memWaiter
	waiting    map[string]bool          // the files in waiters, by actor id: one waiter each
	candidates map[string]*candidateSet // by collection id
	seq        uint64                   // the last order given to a block (blockEntry.order)
	round      *packRound
	packQueue  []*messages.PackAll
	nextRound  uint64
	stopping   bool
	forget     []string              // collections released during their packing round: forgotten after it
	late       map[uint64]*lateRound // rounds ended by ForgetCollection with offers unanswered, by round id
	retry      *time.Timer           // sends RetryErrors; nil when none is due
	retryDelay time.Duration         // the next retry's backoff; 0 after an upload succeeded
	patience   *time.Timer           // sends relieveAgain once a filling block's patience ends; nil when none is due
	entries    slab[blockEntry]      // where blockEntries come from
	cands      slab[candidate]       // where candidates come from
}

// slabSize is how many Ts a slab allocates at once.
const slabSize = 64

// slab hands out zeroed Ts allocated slabSize at a time, for an actor that
// makes one per block or per file: one allocation per slabSize instead of
// one each. A T is never handed out twice; an array of them lives as long
// as one of its Ts is referenced (a few KiB at most per live T).
type slab[T any] struct {
	free []T
}

// new returns a zeroed T.
func (s *slab[T]) new() *T {
	if len(s.free) == 0 {
		s.free = make([]T, slabSize)
	}
	t := &s.free[0]
	s.free = s.free[1:]
	return t
}

// blockEntry is the registry's view of one block.
type blockEntry struct {
	pid, owner *actor.PID
	state      messages.BlockState
	capacity   int64
	sealAsked  bool
	order      uint64    // when the registry first heard of the block: creation order
	full       time.Time // when it reached a whole block's capacity
}

// memWaiter is a file waiting for memory.
type memWaiter struct {
	file  *actor.PID
	bytes int64
}

func newManager(rt *Runtime) *manager {
	return &manager{rt: rt, blocks: make(map[string]*blockEntry), candidates: make(map[string]*candidateSet)}
}

// receive hands each message to its method (the BlockManager is a cell).
// Once stopping it ignores everything (a packed block spawned then would
// never stop).
// A panic fails the request being handled and keeps the registry (see
// Runtime.panicked).
func (m *manager) receive(ctx *cellContext, msg any) {
	if m.stopping {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			m.rt.panicked("block manager", "", msg, p, replyOf(msg))
		}
	}()
	switch msg := msg.(type) {
	case *actor.Started:
		m.self = ctx.Self()
	case *actor.Stopping:
		m.stopping = true
		if m.retry != nil {
			m.retry.Stop()
		}
		if m.patience != nil {
			m.patience.Stop()
		}
	case *messages.RetryErrors:
		m.onRetryErrors(ctx)
	case relieveAgain:
		m.onRelieveAgain(ctx)
	case *messages.ForgetCollection:
		m.onForgetCollection(ctx, msg)
	case *messages.BlockStatus:
		m.onBlockStatus(ctx, msg)
	case *messages.AwaitMemory:
		m.onAwaitMemory(ctx, msg)
	case *messages.CancelMemory:
		m.onCancelMemory(msg)
	case *messages.Candidate:
		m.onCandidate(ctx, msg)
	case *messages.PackAll:
		m.onPackAll(ctx, msg)
	case *messages.PackAnswer:
		m.onPackAnswer(ctx, msg)
	}
}

func (m *manager) onBlockStatus(ctx actorContext, s *messages.BlockStatus) {
	e := m.blocks[s.ID]
	if e == nil {
		m.seq++
		e = m.entries.new()
		e.order = m.seq
		m.blocks[s.ID] = e
	}
	if e.state == messages.Pending {
		m.pending--
	}
	if s.State == messages.Pending {
		m.pending++
	}
	if s.State == messages.Committed {
		m.retryDelay = 0
	}
	if s.Capacity >= m.rt.BlockSize && e.capacity < m.rt.BlockSize {
		e.full = time.Now()
	}
	e.pid, e.owner, e.state, e.capacity = s.PID, s.Owner, s.State, s.Capacity
	if s.State == messages.Deleted {
		delete(m.blocks, s.ID)
	}
	m.relieve(ctx)
}

// onAwaitMemory queues a file for memory; a file waits once: a later
// AwaitMemory replaces its earlier one (a file with several parked writes
// asks for the least of them, again whenever that changes).
func (m *manager) onAwaitMemory(ctx actorContext, a *messages.AwaitMemory) {
	if m.waiting == nil {
		m.waiting = make(map[string]bool)
	}
	if !m.waiting[a.File.Id] {
		m.waiting[a.File.Id] = true
		m.waiters = append(m.waiters, memWaiter{file: a.File, bytes: a.Bytes})
	} else if i := m.waiterOf(a.File); i >= 0 {
		m.waiters[i].bytes = a.Bytes
	}
	m.relieve(ctx)
}

// onCancelMemory forgets a file's wait: its write was withdrawn, or it
// stopped.
func (m *manager) onCancelMemory(c *messages.CancelMemory) {
	if !m.waiting[c.File.Id] {
		return
	}
	delete(m.waiting, c.File.Id)
	if i := m.waiterOf(c.File); i >= 0 {
		m.waiters = append(m.waiters[:i], m.waiters[i+1:]...)
	}
}

// waiterOf returns the index of file's waiter, or -1.
func (m *manager) waiterOf(file *actor.PID) int {
	for i, w := range m.waiters {
		if w.file.Equal(file) {
			return i
		}
	}
	return -1
}

// relieve tells waiting files, in order, that their memory fits, and
// otherwise makes sure something is under way that will free memory.
func (m *manager) relieve(ctx actorContext) {
	if len(m.waiters) == 0 {
		return
	}
	live, limit := m.rt.Memory.Used(), m.rt.Memory.Limit()
	woken := 0
	for _, w := range m.waiters {
		if live+w.bytes > limit {
			break
		}
		live += w.bytes
		ctx.Send(w.file, &messages.MemoryAvailable{})
		delete(m.waiting, w.file.Id)
		woken++
	}
	m.waiters = append(m.waiters[:0], m.waiters[woken:]...)
	if len(m.waiters) == 0 {
		return
	}
	sealing, filling := m.pending, 0
	var best *blockEntry
	var bestID string
	var patience time.Duration // the least left of the filling blocks' patience
	now := time.Now()
	for id, e := range m.blocks {
		switch {
		case e.state != messages.Writable || e.owner == nil:
			continue
		case e.sealAsked:
			sealing++
			continue
		case e.capacity >= m.rt.BlockSize && !m.waiting[e.owner.Id]:
			// A whole block's capacity and a writer that does not wait:
			// it needs no more memory, and seals itself once full — for a
			// while (sealPatience): its writer may have stopped writing.
			if left := sealPatience - now.Sub(e.full); left > 0 {
				filling++
				if patience == 0 || left < patience {
					patience = left
				}
			}
		}
		if best == nil || e.capacity > best.capacity {
			best, bestID = e, id
		}
	}
	if sealing >= max(m.rt.PutWorkers, 1) {
		return
	}
	if sealing+filling >= max(m.rt.PutWorkers, 1) {
		// Sealing another block early would only cut a file into more
		// blocks: the filling ones free memory soon after they are full
		// (hashed while written, their sums are ready then). Look again
		// when the first one's patience ends.
		m.relieveIn(patience)
		return
	}
	if best != nil {
		best.sealAsked = true
		m.rt.Logger.Debug("memory budget exceeded: sealing the largest block", "block", bestID,
			"capacity", best.capacity, "used", live, "waiting", len(m.waiters))
		ctx.Send(best.owner, &messages.SealBlock{BlockID: bestID})
		return
	}
	if sealing > 0 {
		return
	}
	// Nothing to seal and no upload under way: the memory is held by
	// blocks being packed, or reserved by writers whose blocks have not
	// reported yet, or by blocks in ERROR. Each of those reports when it
	// lets go (BlockStatus), which relieves again; the retry also looks
	// again after a backoff. Writers wait meanwhile (or fail at their
	// deadline): they never take the engine over its budget.
	m.rt.Logger.Debug("memory budget exceeded and nothing to seal: writers wait",
		"used", live, "waiting", len(m.waiters))
	m.scheduleRetry()
}

// sealPatience is how long a block of a whole block's capacity may take to
// fill up while writers wait for memory before it is no longer counted on
// to free memory (see manager.relieve): the largest block may then be
// sealed early.
const sealPatience = 250 * time.Millisecond

// relieveAgain has the manager look at the waiting files again (relieve)
// once a filling block's patience ended. Sender: the manager's timer.
type relieveAgain struct{}

// onRelieveAgain looks at the waiting files again once a filling block's
// patience ended.
func (m *manager) onRelieveAgain(ctx actorContext) {
	m.patience = nil
	m.relieve(ctx)
}

// relieveIn has relieveAgain sent to the manager after d, unless one is
// due.
func (m *manager) relieveIn(d time.Duration) {
	if m.patience != nil || m.self == nil {
		return
	}
	self, rt := m.self, m.rt
	m.patience = time.AfterFunc(d, func() {
		if rt.System != nil { // nil in unit tests
			rt.System.Root.Send(self, relieveAgain{})
		}
	})
}

// holdsErrors reports whether blocks in ERROR hold memory.
func (m *manager) holdsErrors() bool {
	for _, e := range m.blocks {
		if e.state == messages.Error && e.capacity > 0 {
			return true
		}
	}
	return false
}

// scheduleRetry has RetryErrors sent to the manager after a backoff (20 ms,
// doubling up to 2 s while uploads keep failing), unless one is due.
// Waiting writers thus never take memory over the budget while the store
// is down: they wait (or fail at their deadline) until uploads succeed.
func (m *manager) scheduleRetry() {
	if m.retry != nil || m.self == nil {
		return
	}
	d := max(m.retryDelay, 20*time.Millisecond)
	m.retryDelay = min(2*d, 2*time.Second)
	self, rt := m.self, m.rt
	m.retry = time.AfterFunc(d, func() {
		if rt.System != nil { // nil in unit tests
			rt.System.Root.Send(self, &messages.RetryErrors{})
		}
	})
}

// onRetryErrors retries the uploads of the blocks in ERROR while files
// wait for memory (AwaitCommit: a block in ERROR goes back to PENDING; its
// BlockResult to the manager is ignored); with none in ERROR, it looks at
// the waiting files again (relieve).
func (m *manager) onRetryErrors(ctx actorContext) {
	m.retry = nil
	if len(m.waiters) == 0 {
		return
	}
	if m.holdsErrors() {
		m.rt.Logger.Debug("files wait for memory held by blocks in ERROR: retrying their uploads", "waiting", len(m.waiters))
		for _, e := range m.blocks {
			if e.state == messages.Error {
				ctx.Send(e.pid, &messages.AwaitCommit{ReplyTo: m.self})
			}
		}
		return
	}
	m.relieve(ctx)
}
