package actors

import (
	"cmp"
	"math/bits"
	"slices"

	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
)

// The BlockManager's small-block packer: candidates, packing rounds, and
// the packed block's layout (see manager for the protocol).

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
	buf      []byte // the packed block's buffer, lent to every offer out
	accepted int
	offered  map[string]*candidate // by file actor id: offers not yet answered
	replies  []*messages.Reply
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
		cand = m.cands.new()
		cand.file = c.File
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
	slices.SortFunc(queue, func(a, b *candidate) int { return cmp.Compare(a.seq, b.seq) })
	slots := make([]int64, len(queue)) // offset of each candidate that fits; -1 if none
	var offset int64
	offers := 0
	for i, c := range queue {
		slots[i] = -1
		if c.size <= limit-offset {
			slots[i] = offset
			offset += c.size
			offers++
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
	buf := m.rt.Memory.Alloc(capacity)
	r := &packRound{
		id: m.nextRound, coll: coll, force: force, replies: replies, offered: make(map[string]*candidate, offers),
		targetID: id, target: spawnCell(ctx, newPackedBlock(m.rt, id, buf), NewUrgentStrand(m.rt.Dispatcher)), buf: buf,
	}
	m.round = r
	m.rt.Logger.Debug("packing small blocks", "collection", coll, "candidates", len(queue), "bytes", offset, "force", force)
	m.rt.Memory.LendN(buf, offers)             // each offer gives it back: copied, or refused (onPackAnswer)
	msgs := make([]messages.PackOffer, offers) // one allocation for every offer
	var faulted int64                          // the buffer's bytes faulted in so far (see prefault)
	for i, c := range queue {
		if slots[i] < 0 {
			continue
		}
		if end := slots[i] + c.size; end > faulted {
			// The slot's pages are resident before its file may copy into
			// them: faulted in here a step at a time, so that the first
			// files copy while the next steps fault in.
			next := min((end+prefaultStep-1)/prefaultStep*prefaultStep, int64(cap(buf)))
			prefault(buf[faulted:next])
			faulted = next
		}
		r.offered[c.file.Id] = c
		offer := &msgs[0]
		msgs = msgs[1:]
		*offer = messages.PackOffer{
			Round: r.id, BlockID: c.blockID, Target: r.target, TargetID: r.targetID,
			Offset: slots[i], Room: c.size, ReplyTo: m.self, Buffer: buf,
		}
		ctx.Send(c.file, offer)
	}
	if len(r.offered) == 0 {
		m.finishRound(ctx)
	}
}

// prefaultStep is how many bytes of a packed block's buffer startRound
// faults in at once, ahead of the offers whose slots lie there.
const prefaultStep = 4 << 20

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

// lateRound is a round that ForgetCollection ended while offers were out:
// the packed block's buffer stays lent to each until its file answers — a
// refusal, or the refusal a stopped file's actor makes of an offer it never
// handled (fileActor.dropped) — so that no small block can still be copying
// into it when it is freed.
type lateRound struct {
	buf      []byte
	target   *actor.PID        // the packed block, sealed once every offer was answered
	accepted int               // the pieces it gets: accepted before the round ended and since
	offered  map[string]string // the block offered, by file actor id
}

func (m *manager) onPackAnswer(ctx actorContext, a *messages.PackAnswer) {
	r := m.round
	if a.File != nil && (r == nil || a.Round != r.id) {
		m.onLateAnswer(ctx, a)
		return
	}
	if r == nil || a.File == nil {
		return
	}
	c := r.offered[a.File.Id]
	if c == nil {
		return
	}
	delete(r.offered, a.File.Id)
	if !a.Accepted { // nothing will be copied for this offer
		m.rt.Memory.GiveBack(r.buf)
	}
	set := m.candidates[r.coll]
	switch {
	case a.Accepted:
		m.dropCandidate(set, c)
		m.forgetBlock(c.blockID) // it stops once copied, unreported (blockActor.packedAway)
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

// onLateAnswer settles an answer to an offer of a round that
// ForgetCollection ended: a refusal gives the buffer back (an acceptance's
// block gives it back once it copied, and is one more piece of the packed
// block). Once every offer was answered, the packed block is sealed with
// the pieces it gets.
func (m *manager) onLateAnswer(ctx actorContext, a *messages.PackAnswer) {
	lr := m.late[a.Round]
	if lr == nil {
		return
	}
	blockID, ok := lr.offered[a.File.Id]
	if !ok {
		return
	}
	delete(lr.offered, a.File.Id)
	if a.Accepted {
		m.forgetBlock(blockID) // it stops once copied, unreported, as in a live round
		lr.accepted++
	} else {
		m.rt.Memory.GiveBack(lr.buf)
	}
	if len(lr.offered) == 0 {
		delete(m.late, a.Round)
		ctx.Send(lr.target, &messages.PackSeal{Pieces: lr.accepted})
	}
}

// forgetBlock drops a block from the registry without waiting for its
// report: a small block whose file accepted a packing offer stops once it
// copied its bytes and does not report it.
func (m *manager) forgetBlock(id string) {
	e := m.blocks[id]
	if e == nil {
		return
	}
	if e.state == messages.Pending {
		m.pending--
	}
	delete(m.blocks, id)
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
// packing that collection ends now — its files stopped (StopCollection
// sends ForgetCollection once they did), and no new round starts for it —
// but its packed block is sealed only once every offer out was answered
// (lateRound), with every piece accepted before and since: a file that
// stopped refuses the offer it dropped (fileActor.dropped), and one that
// moved to another collection answers as usual, and if it accepts, its
// bytes are in the packed block, which it names from then on. (Sealing at
// once with no piece stopped the packed block under a moved file's late
// piece: the file waited for PackCopied for ever, and its bytes were
// lost.) Pieces of files that stopped are stored with the others; the
// block stops once no file names it.
func (m *manager) onForgetCollection(ctx actorContext, f *messages.ForgetCollection) {
	r := m.round
	if r == nil || r.coll != f.Collection {
		delete(m.candidates, f.Collection)
		return
	}
	m.forget = append(m.forget, f.Collection)
	m.round = nil
	if len(r.offered) == 0 {
		ctx.Send(r.target, &messages.PackSeal{Pieces: r.accepted})
	} else {
		lr := &lateRound{buf: r.buf, target: r.target, accepted: r.accepted, offered: make(map[string]string, len(r.offered))}
		for id, c := range r.offered {
			lr.offered[id] = c.blockID
		}
		if m.late == nil {
			m.late = make(map[uint64]*lateRound)
		}
		m.late[r.id] = lr
	}
	m.endPacking(ctx, r.replies)
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
