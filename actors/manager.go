package actors

import (
	"math/bits"
	"sort"
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
	forget     []string      // collections released during their packing round: forgotten after it
	retry      *time.Timer   // sends RetryErrors; nil when none is due
	retryDelay time.Duration // the next retry's backoff; 0 after an upload succeeded
}

// blockEntry is the registry's view of one block.
type blockEntry struct {
	pid, owner *actor.PID
	state      messages.BlockState
	capacity   int64
	sealAsked  bool
	order      uint64 // when the registry first heard of the block: creation order
}

// memWaiter is a file waiting for memory.
type memWaiter struct {
	file  *actor.PID
	bytes int64
}

// candidateSet is one collection's packing candidates, by file actor id.
type candidateSet struct {
	byFile map[string]*candidate
	total  int64
}

// candidate is a closed small file's block offered for packing.
type candidate struct {
	file    *actor.PID
	blockID string
	size    int64
	seq     uint64 // the order of its block (blockEntry.order)
}

// packRound is one packed block being filled.
type packRound struct {
	id       uint64
	coll     string
	force    bool
	target   *actor.PID
	targetID string
	accepted int
	offered  map[string]*candidate // by file actor id: offers not yet answered
	replies  []*messages.Reply
}

func newManager(rt *Runtime) *manager {
	return &manager{rt: rt, blocks: make(map[string]*blockEntry), candidates: make(map[string]*candidateSet)}
}

// Receive hands each message to its method.
// Once stopping it ignores everything (a packed block spawned then would
// never stop).
// A panic fails the request being handled and keeps the registry (see
// Runtime.panicked).
func (m *manager) Receive(ctx actor.Context) {
	if m.stopping {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			m.rt.panicked("block manager", "", ctx.Message(), p, replyOf(ctx.Message()))
		}
	}()
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		m.self = ctx.Self()
	case *actor.Stopping:
		m.stopping = true
		if m.retry != nil {
			m.retry.Stop()
		}
	case *messages.RetryErrors:
		m.onRetryErrors(ctx)
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
		e = &blockEntry{order: m.seq}
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
	e.pid, e.owner, e.state, e.capacity = s.PID, s.Owner, s.State, s.Capacity
	if s.State == messages.Deleted {
		delete(m.blocks, s.ID)
	}
	m.relieve(ctx)
}

// onAwaitMemory queues a file for memory; a file waits once (a file parks
// one write at a time: a later AwaitMemory replaces its earlier one).
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
	sealing := m.pending
	var best *blockEntry
	var bestID string
	for id, e := range m.blocks {
		switch {
		case e.state != messages.Writable || e.owner == nil:
		case e.sealAsked:
			sealing++
		case best == nil || e.capacity > best.capacity:
			best, bestID = e, id
		}
	}
	if sealing >= max(m.rt.PutWorkers, 1) {
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

func (m *manager) onCandidate(ctx actorContext, c *messages.Candidate) {
	if c.Withdraw {
		m.onWithdraw(ctx, c)
		return
	}
	set := m.candidates[c.Collection]
	if set == nil {
		set = &candidateSet{byFile: make(map[string]*candidate)}
		m.candidates[c.Collection] = set
	}
	cand := set.byFile[c.File.Id]
	if cand == nil {
		cand = &candidate{file: c.File}
		set.byFile[c.File.Id] = cand
	}
	set.total += c.Size - cand.size
	cand.blockID, cand.size = c.BlockID, c.Size
	cand.seq = m.blockOrder(c.BlockID)
	if m.round == nil && set.total >= m.rt.BlockSize {
		m.startRound(ctx, c.Collection, false, nil)
	}
}

// blockOrder returns the creation order of the block id: its place in the
// registry, or, for a block the registry has not heard of yet, the next one.
func (m *manager) blockOrder(id string) uint64 {
	if e := m.blocks[id]; e != nil {
		return e.order
	}
	m.seq++
	return m.seq
}

func (m *manager) onPackAll(ctx actorContext, p *messages.PackAll) {
	if m.round != nil {
		m.packQueue = append(m.packQueue, p)
		return
	}
	m.startRound(ctx, p.Collection, true, []*messages.Reply{p.Reply})
}

// startRound lays out a packed block for coll's candidates, spawns it and
// offers each candidate its slot.
func (m *manager) startRound(ctx actorContext, coll string, force bool, replies []*messages.Reply) {
	set := m.candidates[coll]
	limit := m.packLimit(force)
	if limit == 0 {
		m.noRoomToPack(replies)
		return
	}
	if set == nil || len(set.byFile) < 2 {
		m.endPacking(ctx, replies)
		return
	}
	queue := make([]*candidate, 0, len(set.byFile))
	for _, c := range set.byFile {
		queue = append(queue, c)
	}
	sort.Slice(queue, func(i, j int) bool { return queue[i].seq < queue[j].seq })
	slots := make([]int64, len(queue)) // offset of each candidate that fits; -1 if none
	var offset int64
	for i, c := range queue {
		slots[i] = -1
		if c.size <= limit-offset {
			slots[i] = offset
			offset += c.size
		}
	}
	m.nextRound++
	id := messages.NewBlockID()
	// The block's buffer is reserved at the laid-out size at once rather
	// than grown (and copied) piece by piece.
	capacity := capacityClass(offset, 0, m.rt.MinCapacity, m.rt.BlockSize)
	if !m.rt.Memory.Reserve(capacity, false) { // a writer took the room meanwhile
		m.noRoomToPack(replies)
		return
	}
	r := &packRound{
		id: m.nextRound, coll: coll, force: force, replies: replies, offered: make(map[string]*candidate),
		targetID: id, target: ctx.Spawn(m.rt.props(newPackedBlock(m.rt, id, capacity))),
	}
	m.round = r
	m.rt.Logger.Debug("packing small blocks", "collection", coll, "candidates", len(queue), "bytes", offset, "force", force)
	for i, c := range queue {
		if slots[i] < 0 {
			continue
		}
		r.offered[c.file.Id] = c
		ctx.Send(c.file, &messages.PackOffer{
			Round: r.id, BlockID: c.blockID, Target: r.target, TargetID: r.targetID,
			Offset: slots[i], Room: c.size, ReplyTo: m.self,
		})
	}
	if len(r.offered) == 0 {
		m.finishRound(ctx)
	}
}

// packLimit is the most bytes a packed block may hold now: a block, or
// less when the memory budget has less room — the largest power of two that
// fits, so that the buffer's capacity class fits too (packing copies bytes
// that stay reserved by the small blocks until copied: it must not exceed
// the budget). A round on its own (not force: commit-all) waits for room
// for a whole block; 0 means no packing now.
func (m *manager) packLimit(force bool) int64 {
	room := m.rt.Memory.Limit() - m.rt.Memory.Used()
	if room >= m.rt.BlockSize {
		return m.rt.BlockSize
	}
	if !force || room < m.rt.MinCapacity {
		return 0
	}
	return int64(1) << (bits.Len64(uint64(room)) - 1)
}

func (m *manager) onPackAnswer(ctx actorContext, a *messages.PackAnswer) {
	r := m.round
	if r == nil || a.Round != r.id || a.File == nil {
		return
	}
	c := r.offered[a.File.Id]
	if c == nil {
		return
	}
	delete(r.offered, a.File.Id)
	set := m.candidates[r.coll]
	switch {
	case a.Accepted:
		m.dropCandidate(set, c)
		r.accepted++
	case a.Keep:
		set.total += a.Size - c.size
		c.size = a.Size
	default:
		m.dropCandidate(set, c)
	}
	if len(r.offered) == 0 {
		m.finishRound(ctx)
	}
}

func (m *manager) dropCandidate(set *candidateSet, c *candidate) {
	if set.byFile[c.file.Id] == c {
		delete(set.byFile, c.file.Id)
		set.total -= c.size
	}
}

// finishRound seals the round's block and starts the next round or answers.
func (m *manager) finishRound(ctx actorContext) {
	r := m.round
	m.round = nil
	ctx.Send(r.target, &messages.PackSeal{Pieces: r.accepted})
	set := m.candidates[r.coll]
	if r.accepted > 0 && len(set.byFile) >= 2 && (r.force || set.total >= m.rt.BlockSize) {
		m.startRound(ctx, r.coll, r.force, r.replies)
		return
	}
	m.endPacking(ctx, r.replies)
}

// onWithdraw forgets a removed file's candidate — unless the running round
// offered it a slot: its answer will drop it — and tells the file.
func (m *manager) onWithdraw(ctx actorContext, c *messages.Candidate) {
	offered := m.round != nil && m.round.offered[c.File.Id] != nil
	if set := m.candidates[c.Collection]; set != nil && !offered {
		if cand := set.byFile[c.File.Id]; cand != nil {
			m.dropCandidate(set, cand)
		}
	}
	ctx.Send(c.File, &messages.CandidateWithdrawn{})
}

// onForgetCollection drops a released collection's candidates. A round
// packing that collection ends now: its files stopped (StopCollection sends
// ForgetCollection once they did), so the offers still out are never
// answered, and the pieces of the packed block belong to files that no
// longer exist. Every PackData their blocks sent is already in the packed
// block's mailbox, before the PackSeal of no piece that stops it.
func (m *manager) onForgetCollection(ctx actorContext, f *messages.ForgetCollection) {
	if r := m.round; r != nil && r.coll == f.Collection {
		m.forget = append(m.forget, f.Collection)
		clear(r.offered)
		r.accepted = 0
		m.finishRound(ctx)
		return
	}
	delete(m.candidates, f.Collection)
}

// noRoomToPack answers replies and every queued PackAll when the budget
// has no room for a packed block: nothing packs now, and commits store the
// small blocks as they are. Later candidates try again.
func (m *manager) noRoomToPack(replies []*messages.Reply) {
	m.rt.Logger.Debug("no memory to pack small blocks: not packing", "used", m.rt.Memory.Used())
	for _, r := range replies {
		r.Finish()
	}
	for _, p := range m.packQueue {
		p.Reply.Finish()
	}
	m.packQueue = nil
	for _, id := range m.forget {
		delete(m.candidates, id)
	}
	m.forget = nil
}

// endPacking answers replies and starts whatever packing is due next.
func (m *manager) endPacking(ctx actorContext, replies []*messages.Reply) {
	for _, r := range replies {
		r.Finish()
	}
	for _, id := range m.forget {
		delete(m.candidates, id)
	}
	m.forget = nil
	if len(m.packQueue) > 0 {
		p := m.packQueue[0]
		m.packQueue = m.packQueue[1:]
		m.startRound(ctx, p.Collection, true, []*messages.Reply{p.Reply})
		return
	}
	for coll, set := range m.candidates {
		if set.total >= m.rt.BlockSize && len(set.byFile) >= 2 {
			m.startRound(ctx, coll, false, nil)
			return
		}
	}
}
