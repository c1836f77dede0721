package actors

import (
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"slices"
	"sort"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
)

// blockActor owns one buffer block: its bytes and its state.
//
// A block is born WRITABLE, empty, with one owner file (or, made by
// small-file packing, with none yet). The owner's FileActor appends to it —
// it alone decides where bytes go, mirroring the write pointer and capacity —
// reads from it, repacks it in file order, and seals it. Sealing makes it
// PENDING and submits the buffer (shared, unchanged from then on) to the put
// coordinator; the put worker's Uploaded makes it COMMITTED (the buffer is
// freed, reads are answered with the locator) or ERROR (the bytes are kept;
// an AwaitCommit retries). Files that await it get a BlockResult. A
// committed block that every owner released stops itself.
type blockActor struct {
	rt *Runtime

	// All fields below belong to this actor alone.
	sm      blockStateMachine
	self    *actor.PID
	owner   *actor.PID // the owner while WRITABLE (nil for packed/padding blocks)
	owners  int        // owners that still name the block in their segments
	padding bool       // the padding block: keep.BlockSize zeros, allocated at seal
	buf     []byte     // the bytes; len is the write pointer
	locator string     // set when COMMITTED
	failure *messages.BlockFailure
	waiters []waiter

	packed   bool        // made by small-file packing
	pieces   []packPiece // packed: the pieces copied in, until finishPack
	expected int         // PackData pieces to expect; -1 until PackSeal
	received int

	// A packed block hashes its bytes as the pieces arrive, so that its md5
	// is ready when it seals instead of being computed after the round.
	digest  hash.Hash       // the md5 of buf[:hashed]; nil until the first piece
	hashed  int64           // where the contiguous run of arrived pieces ends
	waiting map[int64]int64 // pieces arrived past hashed, by offset: their size
	sum     *[md5.Size]byte // the md5 of the sealed bytes, when known
	// With an engine's Hasher, a large block written in file order, and a
	// large packed block's arrived run, are hashed off the actors while
	// written (stream, nil once submitted), and the block hands the put
	// pool the pending sum.
	stream    *HashStream
	pending   messages.PendingSum
	scattered bool // a piece came out of file order: no stream (see messages.Append)

	// Room for a small file's block's reports to the manager (its first
	// growth and its stop), each used once; later ones are allocated.
	statuses [2]messages.BlockStatus
	reported int
	// packedAway: its bytes were copied into a packed block (onPackCopy).
	// Its stop is not reported: the BlockManager forgot it when its file
	// accepted the offer (manager.onPackAnswer), one message fewer per
	// packed file.
	packedAway bool

	filling  bool  // made by a split: the split block copies the bytes into buf (lent to it) and says SplitFilled
	deferred []any // ReadBlock and HashBlock received while filling, answered once filled
}

// packPiece is one small file's bytes copied into a packed block.
type packPiece struct {
	file         *actor.PID
	fromID       string
	offset, size int64
}

// waiter is a file awaiting the block's commit.
type waiter struct {
	pid   *actor.PID
	token uint64
}

var errBlockDeleted = errors.New("arvfile: buffer block deleted")

// errBlockStopped answers what a stopped block drops: it stopped with its
// file, whose collection was closed (or the engine), so the request fails
// as one on a closed collection does (fs.ErrClosed) — a copy racing its
// source's Close, say.
var errBlockStopped = fmt.Errorf("%w: %w", errBlockDeleted, fs.ErrClosed)

func newBlock(rt *Runtime, id string, owner *actor.PID) *blockActor {
	return &blockActor{rt: rt, sm: blockStateMachine{id: id}, owner: owner, owners: 1, expected: -1}
}

// newPackedBlock returns a block for small-file packing over buf, a buffer
// allocated (and reserved) by the BlockManager at the laid-out size, which
// the small blocks write their pieces into (PackCopy).
func newPackedBlock(rt *Runtime, id string, buf []byte) *blockActor {
	return &blockActor{rt: rt, sm: blockStateMachine{id: id}, packed: true, expected: -1, buf: buf[:0]}
}

// newSplitBlock returns a block for a part of a block split at a Sync
// (see fileActor.splitCurrent): buf, reserved and allocated by the owner and
// lent to the block being split, receives the part's bytes; until
// SplitFilled says they are in place the block defers reads, and it seals
// itself once they are.
func newSplitBlock(rt *Runtime, id string, owner *actor.PID, buf []byte) *blockActor {
	return &blockActor{rt: rt, sm: blockStateMachine{id: id}, owner: owner, owners: 1, expected: -1, buf: buf[:0], filling: true}
}

func newPaddingBlock(rt *Runtime) *blockActor {
	return &blockActor{rt: rt, sm: blockStateMachine{id: messages.PaddingBlockID}, padding: true, owners: 1 << 30, expected: -1}
}

// receive hands each message to its method (the block actor is a cell). A
// panic fails the request being handled and keeps the block and its bytes
// (see Runtime.panicked).
func (b *blockActor) receive(ctx *cellContext, msg any) {
	defer func() {
		if p := recover(); p != nil {
			b.rt.panicked("block", b.sm.id, msg, p, replyOf(msg))
		}
	}()
	switch m := msg.(type) {
	case *actor.Started:
		b.onStarted(ctx, ctx.Self())
	case *messages.Append:
		b.onAppend(ctx, m)
	case *messages.ReadBlock:
		b.onReadBlock(m)
	case *messages.Repack:
		b.onRepack(ctx, m)
	case *messages.SplitFilled:
		b.onSplitFilled(ctx, m)
	case *messages.Seal:
		b.onSeal(ctx, m)
	case *messages.AwaitCommit:
		b.onAwaitCommit(ctx, m)
	case *messages.Uploaded:
		b.onUploaded(ctx, m)
	case *messages.PackCopy:
		b.onPackCopy(ctx, m)
	case *messages.PackData:
		b.onPackData(ctx, m)
	case *messages.PackSeal:
		b.onPackSeal(ctx, m)
	case *messages.Release:
		b.onRelease(ctx)
	case *messages.Retain:
		b.owners++
	case *messages.HashBlock:
		b.onHashBlock(m)
	case *actor.Stopped:
		b.onStopped()
	}
}

// dropped settles what the block will never handle (it stopped, with its
// file): an Append gives back its file's reservation and fails; a PackCopy
// gives back the packed block's buffer and tells the packed block that the
// piece is lost, so that it does not wait for it; a request is answered
// with errBlockStopped; a Repack gives back the buffers lent for a split.
func (b *blockActor) dropped(ctx *cellContext, msg any) {
	switch m := msg.(type) {
	case *messages.Append:
		// Queued behind the block's stop (its file stopped: a collection
		// closed while it was written): the capacity the file reserved for
		// it goes back to the budget, and the write fails.
		if m.Capacity > 0 {
			b.rt.Memory.Unreserve(m.Capacity)
		}
		m.Reply.Fail(errBlockStopped)
	case *messages.PackCopy:
		b.rt.Memory.GiveBack(m.Buffer)
		ctx.Send(m.Target, &messages.PackData{FromID: b.sm.id, File: m.File, Offset: m.Offset, Lost: true})
	case *messages.AwaitCommit:
		// A file that still names a block that stopped (not expected: a
		// block a copy shares lives as long as a file names it, see
		// sharedBlocks): the Sync fails rather than wait for ever.
		ctx.Send(m.ReplyTo, &messages.BlockResult{BlockID: b.sm.id, Token: m.Token,
			Failure: &messages.BlockFailure{BlockID: b.sm.id, Err: errBlockStopped}})
	case *messages.ReadBlock:
		m.Reply.SetErr(errBlockStopped)
		m.Reply.Finish()
	case *messages.HashBlock:
		m.Reply.SetErr(errBlockStopped)
		m.Reply.Finish()
	case *messages.Repack:
		// A split at a Sync whose file stopped before this block copied the
		// parts out (a stop jumps the queue): the parts' buffers were lent
		// to it. Their blocks, its siblings, stop with the same file and
		// retire them; given back here, they are freed then instead of at
		// Engine.Close.
		for _, p := range m.Parts {
			b.rt.Memory.GiveBack(p.Buf)
		}
	}
}

// expectedLate reports whether msg, which reached the block after it
// stopped, was settled by dropped and is no dead letter: an Append queued
// behind the stop of its file.
func (b *blockActor) expectedLate(msg any) bool {
	_, ok := msg.(*messages.Append)
	return ok
}

// onStarted reports the block — unless it is a file's new, empty block:
// the Append that follows at once reports it with its capacity (one
// BlockStatus per small file instead of two).
func (b *blockActor) onStarted(ctx actorContext, self *actor.PID) {
	b.self = self
	if b.owner != nil && cap(b.buf) == 0 && b.sm.state == messages.Writable {
		return
	}
	b.report(ctx)
}

// report tells the BlockManager the block's state and capacity.
func (b *blockActor) report(ctx actorContext) {
	if b.rt.Manager == nil || b.packedAway {
		return
	}
	var st *messages.BlockStatus
	if b.reported < len(b.statuses) { // each slot is sent once: the manager may not have read it yet
		st = &b.statuses[b.reported]
		b.reported++
	} else {
		st = new(messages.BlockStatus)
	}
	*st = messages.BlockStatus{ID: b.sm.id, PID: b.self, Owner: b.owner, State: b.sm.state, Capacity: int64(cap(b.buf))}
	ctx.Send(b.rt.Manager, st)
}

func (b *blockActor) onAppend(ctx actorContext, m *messages.Append) {
	if b.sm.state != messages.Writable {
		m.Reply.Fail(fmt.Errorf("arvfile: append to %s block %s", b.sm.state, b.sm.id))
		return
	}
	if need := int64(len(b.buf) + len(m.Data)); need > int64(cap(b.buf)) {
		c := m.Capacity
		if c < need { // the owner's mirror disagrees: a bug, but never lose bytes
			c = capacityClass(need, int64(cap(b.buf)), b.rt.MinCapacity, max(b.rt.BlockSize, need))
			b.rt.Memory.Reserve(c, true)
		}
		b.grow(c)
		b.report(ctx)
	}
	b.buf = append(b.buf, m.Data...)
	if m.Scattered {
		b.scattered = true
		b.abandonStream()
	}
	b.hashWritten()
	m.Reply.Finish()
}

// hashWritten hands the block's md5 the bytes just appended: a large block
// written in file order (with the engine's Hasher) is hashed while it is
// written, off the actors, from its first bytes on, and seals with its sum
// nearly ready. A block written out of file order is not: it will be
// repacked when sealed.
func (b *blockActor) hashWritten() {
	if b.stream == nil {
		// A block of at most half a block may yet be packed with other
		// small files' (its file closed) and hashed there, so it is hashed
		// while written only past that — or when more than half the memory
		// budget is in use: writers are about to wait for memory, and the
		// cores are better used hashing the blocks that wait (sixteen
		// writers' blocks hashed at once by one md5-simd server) than idle,
		// even if a few of them are hashed again once packed.
		if b.scattered || b.rt.Hasher == nil || cap(b.buf) < HashWhileWrittenMin ||
			int64(len(b.buf)) <= b.rt.BlockSize/2 && b.rt.Memory.Used() <= b.rt.Memory.Limit()/2 {
			return
		}
		buf := b.buf
		b.rt.Memory.Lend(buf) // the stream reads it until release
		b.stream = b.rt.Hasher.Stream(buf, func() { b.rt.Memory.GiveBack(buf) })
	}
	b.stream.Extend(len(b.buf), false)
}

// grow gives the bytes a buffer of capacity c, already reserved. A block
// hashed while written grows in place, where the lane may go on reading
// it; if it cannot (a buffer on the heap), its hash starts again from the
// start in the new buffer.
func (b *blockActor) grow(c int64) {
	if b.stream != nil {
		if nb, ok := b.rt.Memory.GrowInPlace(b.buf, c); ok {
			b.buf = nb
			b.stream.Grown(nb)
			return
		}
		b.abandonStream()
	}
	b.buf = b.rt.Memory.Grow(b.buf, c)
}

func (b *blockActor) onReadBlock(m *messages.ReadBlock) {
	switch {
	case b.filling:
		b.deferred = append(b.deferred, m)
		return
	case b.sm.state == messages.Committed:
		*m.Fetch = messages.Fetch{Locator: b.locator, BlockOffset: m.Offset, Dst: m.Dst}
	case b.sm.state == messages.Deleted:
		m.Reply.SetErr(errBlockDeleted)
	case m.Offset < 0 || m.Offset+int64(len(m.Dst)) > int64(len(b.buf)):
		m.Reply.SetErr(fmt.Errorf("arvfile: read [%d,+%d) past the %d bytes of block %s",
			m.Offset, len(m.Dst), len(b.buf), b.sm.id))
	default:
		copy(m.Dst, b.buf[m.Offset:])
	}
	m.Reply.Finish()
}

func (b *blockActor) onRepack(ctx actorContext, m *messages.Repack) {
	// The bytes move: the block is hashed when sealed, and no lane may be
	// reading what the repack rewrites (a lane stops within a chunk).
	if b.stream != nil {
		b.stream.AbandonAndWait()
		b.stream = nil
	}
	b.scattered = true
	if len(m.Parts) > 0 && b.repackSplit(ctx, m) {
		return
	}
	b.splitOff(ctx, m.Parts)
	if b.sm.state != messages.Writable {
		return
	}
	inOrder := true
	var end int64
	for _, e := range m.Extents {
		if e.Offset < end {
			inOrder = false
		}
		end = e.Offset + e.Size
	}
	if inOrder { // every extent moves down or stays: compact in place
		var pos int64
		for _, e := range m.Extents {
			copy(b.buf[pos:], b.buf[e.Offset:e.Offset+e.Size])
			pos += e.Size
		}
		b.buf = b.buf[:pos]
		return
	}
	var live int64
	for _, e := range m.Extents {
		live += e.Size
	}
	c := int64(cap(b.buf))
	switch {
	case c-int64(len(b.buf)) >= live: // gather past the bytes, in the buffer's spare room
		tail := b.buf[len(b.buf):len(b.buf)]
		for _, e := range m.Extents {
			tail = append(tail, b.buf[e.Offset:e.Offset+e.Size]...)
		}
		b.buf = b.buf[:copy(b.buf, tail)]
	case b.rt.Memory.Reserve(c, false): // a second buffer, within the budget
		nb := b.rt.Memory.Alloc(c)
		for _, e := range m.Extents {
			nb = append(nb, b.buf[e.Offset:e.Offset+e.Size]...)
		}
		b.rt.Memory.Free(b.buf)
		b.buf = nb
	case !overlapping(m.Extents): // no room: reorder in place
		b.buf = repackInPlace(b.buf, m.Extents)
	default: // never sent (a file names each byte of its block once): never lose bytes
		b.rt.Memory.Reserve(c, true)
		nb := b.rt.Memory.Alloc(c)
		for _, e := range m.Extents {
			nb = append(nb, b.buf[e.Offset:e.Offset+e.Size]...)
		}
		b.rt.Memory.Free(b.buf)
		b.buf = nb
	}
}

// repackSplit repacks a block being split (Repack with Parts) in two
// copies that run at once, on two cores: a helper goroutine copies the
// parts while the block gathers the bytes it keeps into a second buffer.
// Both only read the old buffer, which is freed once both
// are done, before the handler returns. It reports false, having done
// nothing, when the block is not WRITABLE or the budget has no room for the
// second buffer: onRepack then copies the parts first and repacks the rest
// in place if need be.
func (b *blockActor) repackSplit(ctx actorContext, m *messages.Repack) bool {
	if b.sm.state != messages.Writable || !extentsWithin(m.Extents, int64(len(b.buf))) {
		return false
	}
	var live int64
	for _, e := range m.Extents {
		live += e.Size
	}
	// A buffer of the block's own capacity first (a recycled one is
	// already faulted in), else one of the size class of what it keeps.
	second := int64(cap(b.buf))
	if !b.rt.Memory.Reserve(second, false) {
		second = capacityClass(live, 0, b.rt.MinCapacity, second)
		if !b.rt.Memory.Reserve(second, false) {
			return false
		}
	}
	filled := make([]*messages.SplitFilled, len(m.Parts))
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { // never expected (copyPart checks every bound): fail the parts, not the process
			if r := recover(); r != nil {
				for i := range filled {
					if filled[i] == nil {
						filled[i] = &messages.SplitFilled{Err: fmt.Errorf("%w: split of block %s: %v", ErrActorPanicked, b.sm.id, r)}
					}
				}
			}
		}()
		for i, p := range m.Parts {
			filled[i] = b.copyPart(p)
		}
	}()
	nb := b.rt.Memory.Alloc(second)
	for _, e := range m.Extents {
		nb = append(nb, b.buf[e.Offset:e.Offset+e.Size]...)
	}
	<-done
	for i, p := range m.Parts {
		b.rt.Memory.GiveBack(p.Buf)
		ctx.Send(p.Block, filled[i])
	}
	b.rt.Memory.Free(b.buf)
	b.buf = nb
	return true
}

// extentsWithin reports whether every extent lies within [0, n).
func extentsWithin(extents []messages.Extent, n int64) bool {
	for _, e := range extents {
		if e.Offset < 0 || e.Size < 0 || e.Offset > n-e.Size {
			return false
		}
	}
	return true
}

// splitOff copies each part's extents, in order, into the part's buffer
// (lent by the owner), gives the buffer back and tells the part's block
// (SplitFilled).
func (b *blockActor) splitOff(ctx actorContext, parts []messages.SplitPart) {
	for _, p := range parts {
		filled := b.copyPart(p)
		b.rt.Memory.GiveBack(p.Buf)
		ctx.Send(p.Block, filled)
	}
}

// copyPart copies part p's extents, in order, to the start of p.Buf and
// says how many bytes it copied. A block that is not WRITABLE any more
// (never asked: the owner splits its current block) or extents outside its
// bytes fail the part instead of hanging it. It only reads the block.
func (b *blockActor) copyPart(p messages.SplitPart) *messages.SplitFilled {
	filled := &messages.SplitFilled{}
	dst := p.Buf[:0]
	for _, e := range p.Extents {
		if b.sm.state != messages.Writable {
			filled.Err = fmt.Errorf("arvfile: split of %s block %s", b.sm.state, b.sm.id)
			break
		}
		if !extentsWithin([]messages.Extent{e}, int64(len(b.buf))) || int64(len(dst))+e.Size > int64(cap(dst)) {
			filled.Err = fmt.Errorf("arvfile: split extent [%d,+%d) of block %s (%d bytes) into %d of %d bytes",
				e.Offset, e.Size, b.sm.id, len(b.buf), len(dst), cap(dst))
			break
		}
		dst = append(dst, b.buf[e.Offset:e.Offset+e.Size]...)
	}
	filled.Size = int64(len(dst))
	return filled
}

// onSplitFilled makes a block made by a split whole: its bytes are in
// place, so it answers the reads it deferred and seals itself (it exists
// only for the Sync that split its bytes off). A failed copy fails it.
func (b *blockActor) onSplitFilled(ctx actorContext, m *messages.SplitFilled) {
	if !b.filling {
		return
	}
	if m.Err != nil {
		b.rt.Logger.Error("block split failed", "block", b.sm.id, "err", m.Err)
		b.stop(ctx)
		return
	}
	b.filling = false
	b.buf = b.buf[:m.Size]
	deferred := b.deferred
	b.deferred = nil
	for _, d := range deferred {
		switch d := d.(type) {
		case *messages.ReadBlock:
			b.onReadBlock(d)
		case *messages.HashBlock:
			b.onHashBlock(d)
		}
	}
	if b.sm.state == messages.Writable {
		b.seal(ctx, nil)
	}
}

// overlapping reports whether two extents share a byte.
func overlapping(extents []messages.Extent) bool {
	sorted := append([]messages.Extent(nil), extents...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Offset < sorted[j].Offset })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Offset < sorted[i-1].Offset+sorted[i-1].Size {
			return true
		}
	}
	return false
}

// repackInPlace moves the extents of buf, which do not overlap, to its start
// in the order given and returns buf cut after them, using no memory but a
// few words per extent and a small scratch buffer: they are first compacted
// in place in buffer order, then merge-sorted into the order given, each
// merge a few rotations (SymMerge, as Go's sort.Stable merges). It moves
// each byte O(log² extents) times — 16 writers' thousand interleaved
// pieces of a 64 MiB block a few hundred MiB, where rotating each piece
// into its place in turn moved the rest of the block each time — but still
// more than gathering into a second buffer: it serves only when the budget
// has no room for one.
func repackInPlace(buf []byte, extents []messages.Extent) []byte {
	order := make([]int, len(extents))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(x, y int) bool { return extents[order[x]].Offset < extents[order[y]].Offset })
	q := &pieceSeq{buf: buf, rank: make([]int, len(extents)), size: make([]int64, len(extents)), off: make([]int64, len(extents)+1)}
	var pos int64
	for k, i := range order { // moving down in buffer order never overwrites one not yet moved
		e := extents[i]
		copy(buf[pos:], buf[e.Offset:e.Offset+e.Size])
		q.rank[k], q.size[k], q.off[k] = i, e.Size, pos
		pos += e.Size
	}
	q.off[len(extents)] = pos
	q.sort(0, len(extents))
	return buf[:pos]
}

// pieceSeq is a run of pieces laid end to end in buf, piece k of rank[k]
// and size[k] at off[k] (off[n] is the run's end): repackInPlace sorts it
// by rank, moving the bytes with the pieces.
type pieceSeq struct {
	buf     []byte
	rank    []int
	size    []int64
	off     []int64
	scratch []byte
}

// sort orders pieces [a, b) by rank: a merge sort.
func (q *pieceSeq) sort(a, b int) {
	if b-a < 2 {
		return
	}
	m := int(uint(a+b) >> 1)
	q.sort(a, m)
	q.sort(m, b)
	q.merge(a, m, b)
}

// merge merges the sorted runs [a, m) and [m, b) (SymMerge: split the
// longer at its middle, find where it goes in the other by binary search,
// rotate, recurse on both sides).
func (q *pieceSeq) merge(a, m, b int) {
	if q.rank[m-1] < q.rank[m] { // already in order: a common case
		return
	}
	if m-a == 1 { // piece a goes before the first of [m, b) ranked above it
		i, j := m, b
		for i < j {
			h := int(uint(i+j) >> 1)
			if q.rank[h] < q.rank[a] {
				i = h + 1
			} else {
				j = h
			}
		}
		q.rotate(a, m, i)
		return
	}
	if b-m == 1 { // piece m goes after the last of [a, m) ranked below it
		i, j := a, m
		for i < j {
			h := int(uint(i+j) >> 1)
			if !(q.rank[m] < q.rank[h]) {
				i = h + 1
			} else {
				j = h
			}
		}
		q.rotate(i, m, b)
		return
	}
	mid := int(uint(a+b) >> 1)
	n := mid + m
	var start, r int
	if m > mid {
		start, r = n-b, mid
	} else {
		start, r = a, m
	}
	p := n - 1
	for start < r {
		c := int(uint(start+r) >> 1)
		if !(q.rank[p-c] < q.rank[c]) {
			start = c + 1
		} else {
			r = c
		}
	}
	end := n - start
	if start < m && m < end {
		q.rotate(start, m, end)
	}
	if a < start && start < mid {
		q.merge(a, start, mid)
	}
	if mid < end && end < b {
		q.merge(mid, end, b)
	}
}

// rotate puts pieces [m, b) before [a, m), bytes and all.
func (q *pieceSeq) rotate(a, m, b int) {
	if a >= m || m >= b {
		return
	}
	if q.scratch == nil {
		q.scratch = make([]byte, 64<<10)
	}
	rotateRightWith(q.buf[q.off[a]:q.off[b]], q.off[b]-q.off[m], q.scratch)
	rotateInts(q.rank[a:b], b-m)
	rotateInts(q.size[a:b], b-m)
	for k := a; k < b; k++ {
		q.off[k+1] = q.off[k] + q.size[k]
	}
}

// rotateInts rotates x right by k, in place.
func rotateInts[T any](x []T, k int) {
	slices.Reverse(x)
	slices.Reverse(x[:k])
	slices.Reverse(x[k:])
}

// rotateRightWith rotates b right by k bytes in place, through scratch
// (not empty): its last k bytes come first. It swaps blocks (Gries and
// Mills: the shorter side is swapped with the far end of the longer one
// until both are equal), each swap a few memmoves a scratch-full at a
// time: the bytes move at memory speed, where reversing them one at a
// time (the classic three reversals) ran at a tenth of it.
func rotateRightWith(b []byte, k int64, scratch []byte) {
	n := int64(len(b))
	if n == 0 {
		return
	}
	k %= n
	if k == 0 {
		return
	}
	// Rotating right by k is swapping A = b[:d] and B = b[d:], d = n-k; no
	// swap is longer than the shorter of the two.
	d := n - k
	i, j := d, n-d // the lengths of what is left of A and of B
	for i != j {
		if i > j { // swap B's remaining j bytes with A's last j before it
			swapBlocks(b[d-i:d-i+j], b[d:d+j], scratch)
			i -= j
		} else { // swap A's remaining i bytes with B's last i
			swapBlocks(b[d-i:d], b[d+j-i:d+j], scratch)
			j -= i
		}
	}
	swapBlocks(b[d-i:d], b[d:d+i], scratch)
}

// swapBlocks swaps the bytes of x and y, of equal length and not
// overlapping, a scratch buffer's length at a time.
func swapBlocks(x, y, scratch []byte) {
	for off := 0; off < len(x); off += len(scratch) {
		n := copy(scratch, x[off:])
		copy(x[off:off+n], y[off:off+n])
		copy(y[off:off+n], scratch[:n])
	}
}

func (b *blockActor) onSeal(ctx actorContext, m *messages.Seal) {
	if b.sm.state != messages.Writable {
		b.notifyAccepted(ctx, m.Notify)
		return
	}
	b.seal(ctx, m.Notify)
}

// notifyAccepted tells notify (if not nil) that the block needs no room in
// the put pool any more.
func (b *blockActor) notifyAccepted(ctx actorContext, notify *actor.PID) {
	if notify != nil {
		ctx.Send(notify, &messages.SealAccepted{BlockID: b.sm.id})
	}
}

// seal makes the block PENDING and submits it for upload; notify, if not
// nil, is told when the put pool accepted it.
func (b *blockActor) seal(ctx actorContext, notify *actor.PID) {
	if b.padding && b.buf == nil {
		// Constant zeros, never written: not counted in the budget (see
		// zeroBuffer), so that a hole never takes the engine over it.
		b.buf = zeroBuffer(keep.BlockSize)
	}
	if err := b.mustTransition(messages.Pending); err != nil {
		b.notifyAccepted(ctx, notify)
		return
	}
	if b.stream != nil { // hashed while written: the sum is soon whole
		b.stream.Extend(len(b.buf), true)
		b.pending, b.stream = b.stream, nil
	}
	b.report(ctx)
	b.submit(ctx, notify)
}

func (b *blockActor) submit(ctx actorContext, notify *actor.PID) {
	b.rt.Memory.Lend(b.buf) // the put worker gives it back when the upload ends
	ctx.Send(b.rt.Puts, &messages.Submit{BlockID: b.sm.id, Block: b.self, Data: b.buf, Notify: notify, Sum: b.sum, Pending: b.pending})
}

func (b *blockActor) onAwaitCommit(ctx actorContext, m *messages.AwaitCommit) {
	w := waiter{pid: m.ReplyTo, token: m.Token}
	switch b.sm.state {
	case messages.Committed, messages.Deleted:
		b.answer(ctx, w)
		return
	case messages.Error:
		if err := b.mustTransition(messages.Pending); err == nil {
			b.report(ctx)
			b.submit(ctx, nil)
		}
	case messages.Writable:
		if !b.packed && !b.filling { // a packed or split block seals itself once its bytes arrived
			b.seal(ctx, nil)
		}
	}
	b.waiters = append(b.waiters, w)
}

// answer sends w the block's outcome.
func (b *blockActor) answer(ctx actorContext, w waiter) {
	b.answerInto(ctx, w, &messages.BlockResult{})
}

// answerAll sends every waiter the block's outcome (a packed block's are
// its ten thousand files: their answers come in one allocation).
func (b *blockActor) answerAll(ctx actorContext) {
	if len(b.waiters) == 0 {
		return
	}
	results := make([]messages.BlockResult, len(b.waiters))
	for i, w := range b.waiters {
		b.answerInto(ctx, w, &results[i])
	}
}

// answerInto sends w the block's outcome in res.
func (b *blockActor) answerInto(ctx actorContext, w waiter, res *messages.BlockResult) {
	*res = messages.BlockResult{BlockID: b.sm.id, Token: w.token}
	switch b.sm.state {
	case messages.Committed:
		res.Locator = b.locator
	case messages.Deleted:
		res.Failure = &messages.BlockFailure{BlockID: b.sm.id, Err: errBlockDeleted}
	default:
		res.Failure = b.failure
	}
	ctx.Send(w.pid, res)
}

func (b *blockActor) onUploaded(ctx actorContext, m *messages.Uploaded) {
	if b.sm.state != messages.Pending {
		return
	}
	if m.Err != nil {
		if err := b.mustTransition(messages.Error); err != nil {
			return
		}
		b.failure = &messages.BlockFailure{BlockID: b.sm.id, Locator: keep.BlockLocatorOf(b.buf), Err: m.Err}
		// A pending sum may be what failed (a stream ended early): a retry
		// has the bytes hashed again rather than wait for it once more.
		b.pending = nil
		b.rt.Logger.Debug("block upload failed", "block", b.sm.id, "bytes", len(b.buf), "err", m.Err)
	} else {
		if err := b.mustTransition(messages.Committed); err != nil {
			return
		}
		b.locator = m.Locator
		b.failure = nil
		b.freeBuf()
	}
	b.answerAll(ctx)
	clear(b.waiters) // a packed block's are its files': not kept reachable by the room kept
	b.waiters = b.waiters[:0]
	b.report(ctx)
	if b.owners <= 0 {
		b.stop(ctx) // COMMITTED or ERROR, and released meanwhile (a packed block's files too)
	}
}

// onPackCopy copies the block's bytes into their slot of the packed block's
// buffer (on its own file's strand: the pieces of a round are copied in
// parallel), gives that buffer back, tells the packed block, and stops: the
// bytes live in the packed block now, and the file, which defers everything
// until PackCopied, never names this block again; nor does the BlockManager,
// which forgot it when the file accepted (its stop is not reported). The BlockManager laid the
// slot out at the file's size and the file checked that its bytes fit, so a
// piece that does not fit is a bug: it is logged and nothing is written.
func (b *blockActor) onPackCopy(ctx actorContext, m *messages.PackCopy) {
	n := int64(len(b.buf))
	if m.Offset < 0 || m.Offset+n > int64(cap(m.Buffer)) {
		b.rt.Logger.Error("pack slot too small: piece not copied", "block", b.sm.id, "offset", m.Offset, "bytes", n, "capacity", cap(m.Buffer))
		return
	}
	copy(m.Buffer[m.Offset:m.Offset+n], b.buf)
	b.rt.Memory.GiveBack(m.Buffer)
	m.Data = messages.PackData{FromID: b.sm.id, File: m.File, Offset: m.Offset, Size: n}
	ctx.Send(m.Target, &m.Data)
	b.packedAway = true
	b.stop(ctx)
}

// onPackData records a piece that a small block copied into the buffer at
// the offset the BlockManager laid out for it; the file learns where its
// bytes landed once every piece arrived (see finishPack).
func (b *blockActor) onPackData(ctx actorContext, m *messages.PackData) {
	if m.Lost {
		b.received++
		if b.received == b.expected {
			b.finishPack(ctx)
		}
		return
	}
	end := m.Offset + m.Size
	if end > int64(len(b.buf)) {
		b.buf = b.buf[:end] // within the capacity: the small block checked
	}
	b.pieces = append(b.pieces, packPiece{file: m.File, fromID: m.FromID, offset: m.Offset, size: m.Size})
	b.received++
	b.owners++
	b.hashArrived(m.Offset, m.Size)
	if b.received == b.expected {
		b.finishPack(ctx)
	}
}

// hashArrived notes the piece at off and hashes the pieces that now
// continue the hashed run. Pieces arrive roughly in offset order (the
// slots are offered in order), so most are hashed as they come, while the
// other files are still copying theirs in: with the engine's Hasher, by a
// HashStream off the actors, to which the block hands each new end of the
// run (the strand then only answers the ten thousand messages of a
// round, and the md5, some 5 µs of every 4 KiB file, runs beside them);
// else, for a small buffer, on this strand.
func (b *blockActor) hashArrived(off, size int64) {
	if b.digest == nil && b.stream == nil {
		if b.rt.Hasher != nil && cap(b.buf) >= HashOffActorsMin {
			buf := b.buf
			b.rt.Memory.Lend(buf) // the stream reads it until release
			b.stream = b.rt.Hasher.Stream(buf, func() { b.rt.Memory.GiveBack(buf) })
		} else {
			b.digest = md5.New()
		}
	}
	if off != b.hashed {
		if b.waiting == nil {
			b.waiting = make(map[int64]int64)
		}
		b.waiting[off] = size
		return
	}
	for {
		if b.digest != nil {
			b.digest.Write(b.buf[off : off+size])
		}
		b.hashed = off + size
		next, ok := b.waiting[b.hashed]
		if !ok {
			if b.stream != nil {
				b.stream.Extend(int(b.hashed), false)
			}
			return
		}
		delete(b.waiting, b.hashed)
		off, size = b.hashed, next
	}
}

// finishPack closes the gaps that refused slots left (moving pieces down, in
// offset order), tells each file where its bytes are (PackCopied), and seals
// the block.
func (b *blockActor) finishPack(ctx actorContext) {
	if len(b.pieces) == 0 { // every piece lost: nothing to store
		b.stop(ctx)
		return
	}
	sort.Slice(b.pieces, func(i, j int) bool { return b.pieces[i].offset < b.pieces[j].offset })
	copied := make([]messages.PackCopied, len(b.pieces)) // one allocation for every file's answer
	// Each file is told the upload's outcome unasked (PackedNotice): it
	// awaits the block as if it had sent AwaitCommit.
	b.waiters = slices.Grow(b.waiters, len(b.pieces))
	var pos int64
	for i, p := range b.pieces {
		if p.offset != pos {
			copy(b.buf[pos:pos+p.size], b.buf[p.offset:p.offset+p.size])
		}
		copied[i] = messages.PackCopied{OldID: p.fromID, NewID: b.sm.id, NewPID: b.self, Offset: pos}
		ctx.Send(p.file, &copied[i])
		b.waiters = append(b.waiters, waiter{pid: p.file, token: messages.PackedNotice})
		pos += p.size
	}
	b.buf = b.buf[:pos]
	b.pieces = nil
	// The hashed run ends at the first refused slot, before which nothing
	// moved: hash what the gaps' closing moved down, and the sum is whole.
	switch {
	case b.stream != nil: // what the gaps' closing moved lies above what it may be reading
		b.stream.Extend(int(pos), true)
		b.pending, b.stream = b.stream, nil
	case b.digest != nil && b.hashed <= pos:
		b.digest.Write(b.buf[b.hashed:pos])
		var sum [md5.Size]byte
		b.digest.Sum(sum[:0])
		b.sum = &sum
	}
	b.digest, b.waiting = nil, nil
	b.seal(ctx, nil)
}

func (b *blockActor) onPackSeal(ctx actorContext, m *messages.PackSeal) {
	b.expected = m.Pieces
	switch {
	case m.Pieces == 0:
		b.stop(ctx)
	case b.received == b.expected:
		b.finishPack(ctx)
	}
}

// onRelease counts an owner gone. A block no owner names any more stops
// once it holds no upload in flight: COMMITTED, in ERROR, or WRITABLE (the
// current block of a removed file) — bytes nobody needs now, so its buffer
// and budget go back at once, and nothing is uploaded.
func (b *blockActor) onRelease(ctx actorContext) {
	b.owners--
	if b.owners > 0 {
		return
	}
	switch b.sm.state {
	case messages.Committed, messages.Error, messages.Writable:
		b.stop(ctx)
	}
}

// mustTransition moves the block to the state to. The block's protocol
// only asks for legal moves, so a refused one is a bug in the engine: it is
// logged at error level naming the block and both states, and the
// *messages.StateChangeError (carrying both) is returned with the state
// unchanged, for the caller to leave things as they are.
func (b *blockActor) mustTransition(to messages.BlockState) error {
	from := b.sm.state
	err := b.sm.transition(to)
	if err != nil {
		b.rt.Logger.Error("impossible block state transition", "block", b.sm.id, "from", from.String(), "to", to.String(), "err", err)
	}
	return err
}

// stop frees the buffer, becomes DELETED and stops the actor.
func (b *blockActor) stop(ctx actorContext) {
	b.abandonStream()
	b.freeBuf()
	b.mustTransition(messages.Deleted) // DELETED is legal from every state; a refusal is logged
	b.report(ctx)
	b.answerAll(ctx)
	b.waiters = nil
	b.failDeferred()
	if b.self != nil {
		ctx.Stop(b.self)
	}
}

// failDeferred answers the reads deferred while filling with
// errBlockDeleted: the block stops before its bytes arrived.
func (b *blockActor) failDeferred() {
	for _, d := range b.deferred {
		if r := replyOf(d); r != nil {
			r.SetErr(errBlockDeleted)
			r.Finish()
		}
	}
	b.deferred = nil
}

// onStopped gives the buffer back. One that an upload (PENDING) or a pack
// copy may still be reading is retired instead: it is freed when that
// reader gives it back (Memory.GiveBack), not kept until the engine closes.
func (b *blockActor) onStopped() {
	b.abandonStream()
	b.failDeferred()
	switch {
	case b.padding && b.buf != nil && b.sm.state == messages.Pending:
		b.rt.Memory.Keep(b.buf) // not counted; unmapped at Close
		b.buf = nil
	case b.sm.state == messages.Pending:
		// An upload may be reading it: Retire frees it once it gave it
		// back, at once if none is left. (A packed block's buffer that a
		// small block may still be copying into is lent too: freeBuf's
		// Memory.Free retires it rather than recycle it.)
		b.rt.Memory.Retire(b.buf)
		b.buf = nil
	default:
		b.freeBuf()
	}
}

// abandonStream stops the hashing of a block whose bytes change, or that
// stops before it sealed: the stream gives the buffer back once it no
// longer reads it.
func (b *blockActor) abandonStream() {
	if b.stream != nil {
		b.stream.Abandon()
		b.stream = nil
	}
}

// freeBuf gives the buffer back: to the budget, or unmapped for the
// padding block's zeros (never counted).
func (b *blockActor) freeBuf() {
	if b.filling { // still lent to the block being split: freed when it gives it back
		b.rt.Memory.Retire(b.buf)
		b.buf = nil
		return
	}
	if b.padding {
		freeBuffer(b.buf)
	} else {
		b.rt.Memory.Free(b.buf)
	}
	b.buf = nil
}

// onHashBlock answers the block's locator, hashing its bytes when it has no
// locator yet.
func (b *blockActor) onHashBlock(m *messages.HashBlock) {
	switch {
	case b.filling:
		b.deferred = append(b.deferred, m)
		return
	case b.sm.state == messages.Committed:
		*m.Out = b.locator
	case b.sm.state == messages.Deleted:
		m.Reply.SetErr(errBlockDeleted)
	case b.padding && b.buf == nil:
		*m.Out = keep.PaddingBlockLocator
	default:
		*m.Out = keep.BlockLocatorOf(b.buf)
	}
	m.Reply.Finish()
}
