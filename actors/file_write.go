package actors

import (
	"io/fs"
	"math"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
)

// The file actor's write path: writes and truncates cut into pieces, the
// current buffer block grown, repacked or sealed to fit them, and the
// memory budget waited for.

func (f *fileActor) onWrite(ctx actorContext, m *messages.Write) {
	r := m.Reply
	if f.coll.ReadOnly {
		r.Fail(ErrReadOnly)
		return
	}
	size := f.segs.Size()
	off := m.Offset
	if m.Append {
		off = size
	}
	r.Offset = off
	r.N = int64(len(m.Data))
	if len(m.Data) == 0 {
		r.Finish()
		return
	}
	if f.tooLarge(off, int64(len(m.Data))) {
		r.N = 0
		r.Fail(ErrFileTooLarge)
		return
	}
	f.continueWrite(ctx, pendingWrite{off: off, data: m.Data, start: off, n: int64(len(m.Data)), r: r, first: &m.FirstPiece})
}

// continueWrite writes w piece by piece; when a piece must wait for memory
// or for the put pool before it changes anything, it parks w (asking the
// BlockManager for memory: AwaitMemory).
func (f *fileActor) continueWrite(ctx actorContext, w pendingWrite) {
	for len(w.data) > 0 {
		w.r.N = w.applied // what a panic in this piece reports as written
		n := min(int64(len(w.data)), f.rt.BlockSize)
		memory, pool := f.writePiece(ctx, w.off, w.data[:n], w.r, &w.first)
		if memory > 0 || pool {
			w.memory, w.pool = memory, pool
			parked := w // only a parked write leaves the stack
			f.parked = append(f.parked, &parked)
			if memory > 0 {
				f.awaitMemory(ctx)
			}
			return
		}
		w.off += n
		w.data = w.data[n:]
		w.applied += n
	}
	w.r.N = w.n
	f.wrote(ctx, &w)
	if f.overwrote {
		f.overwrote = false
		f.releaseUnnamed(ctx)
	}
	f.finish(w.r)
}

// finish answers r; r is no longer the request being handled, so that a
// panic after it (Receive's recover) does not answer it again.
func (f *fileActor) finish(r *messages.Reply) {
	if f.answering == r {
		f.answering = nil
	}
	r.Finish()
}

// releaseUnnamed releases the buffer blocks that the segments no longer
// name (cut by a truncate, replaced by an overwrite), but the current one:
// a block in ERROR thus gives its buffer back at once, and a COMMITTED or
// PENDING one stops once its upload ended. Blocks that a pending Sync
// awaits are kept until it finishes (finishSync calls this again). A file
// names few buffer blocks besides the current one: with none, this costs
// nothing.
func (f *fileActor) releaseUnnamed(ctx actorContext) {
	others := f.blockCount() - f.openCount()
	if f.hasBlock(messages.PaddingBlockID) {
		others--
	}
	if others <= 0 || len(f.syncs) > 0 {
		return
	}
	// The List counts the bytes of each block from its first check on, so
	// that a write costs O(blocks) here, not a walk over every segment.
	f.segs.Forget(f.hasBlock)
	f.eachBlock(func(id string, pid *actor.PID) {
		if id == messages.PaddingBlockID || f.isOpen(id) || f.segs.Bytes(id) > 0 {
			return
		}
		f.deleteBlock(id)
		ctx.Send(pid, &messages.Release{})
	})
}

// replacesBufferBlock reports whether bytes [off, off+n) of the file come
// from a buffer block that releaseUnnamed may have to let go: one that is
// not the current block nor the padding block. Overwriting padding,
// committed blocks or the block being written (the usual overwrites) then
// costs no walk over every segment.
func (f *fileActor) replacesBufferBlock(off, n int64) bool {
	var room [4]segments.LocatorAndRange // most writes cover a piece or two: no allocation
	for _, p := range f.segs.AppendLocatorsAndRanges(room[:0], off, n) {
		if messages.IsBlockID(p.Locator) && p.Locator != messages.PaddingBlockID && !f.isOpen(p.Locator) {
			return true
		}
	}
	return false
}

// wrote records the change that w (or what was applied of it) made.
func (f *fileActor) wrote(ctx actorContext, w *pendingWrite) {
	if w.applied == 0 {
		return
	}
	f.changed()
	f.coll.emit(ctx, messages.Event{Kind: messages.EventWrite, Path: f.path, Offset: w.start, Length: w.applied})
}

func (f *fileActor) onMemoryAvailable(ctx actorContext, m *messages.MemoryAvailable) {
	if f.parkedFor(true) {
		f.resumeParked(ctx, true)
	}
}

// awaitMemory asks the BlockManager to say when the least that a parked
// write waits for fits the budget: each of them tries again then.
func (f *fileActor) awaitMemory(ctx actorContext) {
	var least int64
	for _, w := range f.parked {
		if w.memory > 0 && (least == 0 || w.memory < least) {
			least = w.memory
		}
	}
	if least > 0 {
		ctx.Send(f.rt.Manager, &messages.AwaitMemory{File: f.self, Bytes: least})
	}
}

// parkedFor reports whether a parked write waits for memory (else: for
// the put pool).
func (f *fileActor) parkedFor(memory bool) bool {
	for _, w := range f.parked {
		if (w.memory > 0) == memory {
			return true
		}
	}
	return false
}

// resumeParked goes on with the parked writes whose wait is over — those
// waiting for memory, or for the put pool — in the order they parked
// (each may park again), then replays what was deferred behind them.
func (f *fileActor) resumeParked(ctx actorContext, memory bool) {
	ws := f.parked
	f.parked = nil
	for i, w := range ws {
		ws[i] = nil
		if (w.memory > 0) != memory {
			f.parked = append(f.parked, w)
			continue
		}
		f.answering = w.r
		f.continueWrite(ctx, *w)
		f.answering = nil
	}
	f.replay(ctx)
}

func (f *fileActor) onSealAccepted(ctx actorContext, m *messages.SealAccepted) {
	delete(f.unaccepted, m.BlockID)
	if len(f.unaccepted) == 0 && f.parkedFor(false) {
		f.resumeParked(ctx, false)
	}
}

// writePiece writes data (at most a block) at off through the current
// block. A block grows (×4, ×2 from 1 MiB) only when the memory budget has
// room; otherwise a block of half a block or more is sealed, and a smaller
// one waits for the room (it is sealed before it is full only when the
// BlockManager asks: SealBlock). A piece changes nothing and returns what it waits for while a
// block sealed by a write is not accepted by the put pool (pool: the
// writers' back-pressure), or when the budget lacks the memory it needs.
//
// The Append goes in *slot when it is not nil (the Write's FirstPiece),
// which is then used up (set to nil).
func (f *fileActor) writePiece(ctx actorContext, off int64, data []byte, r *messages.Reply, slot **messages.Append) (memory int64, pool bool) {
	n := int64(len(data))
	bs := f.rt.BlockSize
	if len(f.unaccepted) > 0 {
		return 0, true
	}
	prior := f.selectBlock(ctx, off, n)
	if f.cur == nil {
		f.startBlock(ctx)
	}
	if f.cur.wp+n > bs {
		f.makeRoom(ctx, n)
		if f.cur.wp+n > bs {
			f.sealCurrent(ctx, true)
			return 0, true
		}
	}
	var capacity int64
	if need := f.cur.wp + n; need > f.cur.cap {
		capacity = f.nextCapacity(need)
		// Half a block of bytes the file still names (not a block of
		// overwritten bytes, nor one a truncate emptied).
		half := f.cur.wp >= bs/2 && f.liveBytes(f.cur.id) >= bs/2
		pressed := half && f.rt.Memory.Used() > f.rt.Memory.Limit()/2
		if pressed || !f.rt.Memory.Reserve(capacity, false) {
			if half {
				// The budget has no room to grow a block that holds half
				// a block or more: seal it and go on in a new one rather
				// than wait for room (blocks stay at least half a block:
				// at most twice as many as full ones). Sixteen writers
				// of their own files within the budget then keep their
				// blocks moving — hashed while written, sealed, stored —
				// instead of each holding part of the budget while all
				// wait for the rest.
				f.sealCurrent(ctx, true)
				return 0, true
			}
			// The budget has no room to grow a smaller block: wait for it
			// rather than seal a small block (a file then ends in fewer,
			// larger blocks). Uploads free memory; while files wait and
			// too few are under way, the BlockManager has the largest
			// WRITABLE block sealed (SealBlock), which may be this one.
			f.rt.Logger.Debug("memory budget reached: waiting", "file", f.path,
				"block", f.cur.id, "bytes", f.cur.wp, "capacity", f.cur.cap, "want", capacity)
			return capacity, false
		}
	}
	if size := f.segs.Size(); off > size {
		f.pad(off)
	} else if off < size && !f.overwrote {
		f.overwrote = f.replacesBufferBlock(off, n)
	}
	r.Add(1)
	msg := *slot
	if msg == nil {
		msg = new(messages.Append)
	}
	*slot = nil
	*msg = messages.Append{Data: data, Capacity: capacity, Reply: r, Scattered: f.cur.wp > 0 && off < f.cur.next}
	f.cur.scattered = f.cur.scattered || msg.Scattered
	f.wroteHome(off, n, prior)
	f.cur.next = off + n
	f.cur.run = prior.plus(n)
	ctx.Send(f.cur.pid, msg)
	f.segs.ReplaceRange(off, n, f.cur.id, f.cur.wp)
	f.cur.wp += n
	if capacity > 0 {
		f.cur.cap = capacity
	}
	return 0, false
}

// nextCapacity is the capacity the current block grows to for need bytes:
// a file's first block starts at its first write's size class (MinCapacity
// at least), so a small file costs about its size; a later block starts
// where the last one ended (a file written in big sequential runs gets
// full-size buffers at once, without growing them).
func (f *fileActor) nextCapacity(need int64) int64 {
	if f.cur.cap == 0 && f.open == nil { // several open blocks each start small (and grow in place)
		need = max(need, f.lastCap)
	}
	if f.cur.cap >= largeBuffer { // grows in place: doubling costs no copy
		return capacityClass(need, f.cur.cap, f.rt.MinCapacity, f.rt.BlockSize)
	}
	return capacityClass(need, 2*f.cur.cap, f.rt.MinCapacity, f.rt.BlockSize)
}

// startBlock spawns a new, empty current block on the file's strand: its
// Appends run right after the file's turn, on the same goroutine.
func (f *fileActor) startBlock(ctx actorContext) { f.startBlockOn(ctx, f.strand) }

// startStreamBlock spawns a new, empty current block for a run of pieces
// that several writers interleave (file_streams.go), on a strand of its
// own: the file's strand takes every writer's turn one at a time, and
// would take each run's copies with it; on their own strands, the runs'
// blocks copy their pieces on the dispatcher's workers, on every core.
// (Sixteen writers of one file's ranges, bench e, 4 interleaved rounds:
// 0.96× → 1.02× of MD5×2, CPU 1.15–1.39 → 1.05–1.14 s/GiB. Running the
// block's strand on the writer's goroutine as well, handed over through the
// Reply, was slower: 0.92×.)
func (f *fileActor) startStreamBlock(ctx actorContext) {
	f.startBlockOn(ctx, NewStrand(f.rt.Dispatcher))
}

func (f *fileActor) startBlockOn(ctx actorContext, s *Strand) {
	id := messages.NewBlockID()
	pid := spawnCell(ctx, newBlock(f.rt, id, f.self), s)
	f.curBlock = currentBlock{id: id, pid: pid}
	f.cur = &f.curBlock
	f.setBlock(id, pid)
}

// makeRoom repacks the current block when that frees room for n more bytes
// and at least a quarter of a block (so that a nearly compact block is
// sealed rather than copied again and again; sealing repacks it anyway, so
// what is stored is the same).
func (f *fileActor) makeRoom(ctx actorContext, n int64) {
	live := f.liveBytes(f.cur.id)
	freed := f.cur.wp - live
	if freed > 0 && live+n <= f.rt.BlockSize && freed >= f.rt.BlockSize/4 {
		f.repackCurrent(ctx)
	}
}

// liveBytes returns how many bytes of block id the segments name.
func (f *fileActor) liveBytes(id string) int64 {
	var live int64
	f.segs.Each(func(_ int, r *segments.Range) bool {
		if r.Locator == id {
			live += r.RangeSize
		}
		return true
	})
	return live
}

// repackCurrent makes the current block hold exactly the bytes the segments
// name, in file order, unless it already does: it sends Repack with the
// extents and moves each segment to the sum of the sizes before it.
func (f *fileActor) repackCurrent(ctx actorContext) {
	id := f.cur.id
	var pos int64
	compact := true
	f.segs.Each(func(_ int, r *segments.Range) bool {
		if r.Locator == id {
			if r.SegmentOffset != pos {
				compact = false
			}
			pos += r.RangeSize
		}
		return true
	})
	if compact && pos == f.cur.wp {
		return // already in file order (a small file written once): nothing to list
	}
	var extents []messages.Extent
	f.segs.Each(func(_ int, r *segments.Range) bool {
		if r.Locator == id {
			extents = append(extents, messages.Extent{Offset: r.SegmentOffset, Size: r.RangeSize})
		}
		return true
	})
	ctx.Send(f.cur.pid, &messages.Repack{Extents: extents})
	pos = 0
	f.segs.Each(func(_ int, r *segments.Range) bool {
		if r.Locator == id {
			r.SegmentOffset = pos
			pos += r.RangeSize
		}
		return true
	})
	f.rt.Logger.Debug("repacked block", "file", f.path, "block", id, "from", f.cur.wp, "to", pos, "extents", len(extents))
	f.cur.wp = pos
}

// sealCurrent repacks and seals the current block. With wait, writes wait
// until the put pool accepted it (SealAccepted).
func (f *fileActor) sealCurrent(ctx actorContext, wait bool) {
	f.repackCurrent(ctx)
	var notify *actor.PID
	if wait {
		notify = f.self
		if f.unaccepted == nil {
			f.unaccepted = make(map[string]bool)
		}
		f.unaccepted[f.cur.id] = true
	}
	ctx.Send(f.cur.pid, &messages.Seal{Notify: notify})
	if f.cur.cap > 0 {
		f.lastCap = f.cur.cap
	}
	if f.open != nil && f.cur.wp > 0 { // its run goes on in a new block
		f.open.note(-1, f.cur.next, f.cur.run, false)
	}
	f.cur = nil
}

// tooLarge reports whether n bytes at off would end past the largest file
// size (or past math.MaxInt64).
func (f *fileActor) tooLarge(off, n int64) bool {
	limit := f.rt.MaxFileSize
	if limit <= 0 {
		limit = math.MaxInt64
	}
	return off > limit || n > limit-off
}

// pad extends the file to size with segments of the padding block.
func (f *fileActor) pad(size int64) {
	end := f.segs.Size()
	for end < size {
		n := min(size-end, keep.BlockSize)
		_ = f.segs.Append(segments.Range{Locator: messages.PaddingBlockID, RangeStart: end, RangeSize: n}) // well formed by construction
		end += n
	}
	f.setBlock(messages.PaddingBlockID, f.rt.Padding)
}

func (f *fileActor) onTruncate(ctx actorContext, m *messages.Truncate) {
	switch size := f.segs.Size(); {
	case f.coll.ReadOnly:
		m.Reply.SetErr(ErrReadOnly)
	case m.Size < 0:
		m.Reply.SetErr(fs.ErrInvalid)
	case m.Size > size && f.tooLarge(m.Size, 0):
		m.Reply.SetErr(ErrFileTooLarge)
	case m.Size < size:
		f.segs.Truncate(m.Size)
		f.changed()
		f.releaseUnnamed(ctx)
	case m.Size > size:
		f.pad(m.Size)
		f.changed()
	}
	m.Reply.Finish()
}

// onSealBlock seals the block the BlockManager chose to free memory. A
// write waiting for memory to grow that block then needs only a new block's
// worth: it tries again at once (and waits again, for less, if need be).
func (f *fileActor) onSealBlock(ctx actorContext, m *messages.SealBlock) {
	if !f.sealOpen(ctx, m.BlockID) {
		return
	}
	if f.parkedFor(true) {
		f.resumeParked(ctx, true)
	}
}
