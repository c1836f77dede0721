package actors

import (
	"errors"
	"io/fs"
	"math"
	"sort"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
)

// fileActor owns one open file: its segments, its writers, its committed
// flag and its current buffer block. Every change to the file's segments
// happens here, in message order, which is what replaces the Python SDK's
// collection lock.
//
// A write arrives from a handle; past EOF the file is first padded with the
// padding block; the data is cut into pieces of at most a block; for each
// piece the current block is made to fit it (repacked when that frees
// enough room, else sealed — the writer then waits until the put pool
// accepts the sealed block — and a new block started at the capacity the
// last one reached), its capacity grown against the memory budget (over
// budget, the write waits — everything else for the file is deferred — until
// the BlockManager says there is room, having sealed the largest writable
// block if need be), the segments updated with ReplaceRange, and an Append
// forwarded to the block, which copies the bytes and answers the writer. Reads travel the same path, so they see every completed write;
// pieces already in Keep are handed back for the facade to fetch. Sync seals
// the current block and waits (without blocking: BlockResult messages) for
// every block the segments name. A closed small file offers its block for
// packing; while the pack copy is in flight every other message is deferred.
type fileActor struct {
	rt     *Runtime
	coll   *CollectionRuntime
	path   string
	strand *Strand // runs this actor and its blocks

	// All fields below belong to this actor alone.
	self        *actor.PID
	segs        *segments.List
	writers     int
	committed   bool
	changes     uint64 // bumped by every change of content
	modTime     time.Time
	cur         *currentBlock           // the WRITABLE block writes go to; nil until the next write
	lastCap     int64                   // capacity of the last block sealed: where the next one starts
	blocks      map[string]*actor.PID   // every buffer block the segments name, and the current one
	syncs       map[uint64]*pendingSync // Syncs waiting for BlockResults, by token
	nextToken   uint64
	packing     bool            // a PackCopy is in flight: defer everything else
	parked      *pendingWrite   // a write waiting for room (memory, the put pool): defer everything else
	unaccepted  map[string]bool // blocks sealed by writes that the put pool has not accepted yet
	deferred    []any           // messages deferred while packing or waiting, in order
	handles     int             // open handles (readers and writers)
	unlinked    bool            // the file left the tree: stop once no handle is open (Unlink)
	shared      bool            // a copy shares blocks this actor is the parent of: never stop it
	candidate   bool            // offered for packing (Candidate), not yet asked nor withdrawn: stay to answer
	withdrawing bool            // unlinked: the candidate is being withdrawn (CandidateWithdrawn ends it)
	seen        uint64          // messages received from the collection (FromCollection)
	offered     bool            // Passivate sent, and no message from the collection since
	overwrote   bool            // the write being handled replaced bytes: release unnamed blocks after it
	stopping    bool            // the engine is closing: ignore everything
	answering   *messages.Reply // the request being handled: a panic fails it
}

// pendingWrite is what is left of a write: data still to write at off.
// A write waits (parks) only before a piece changes anything: for memory
// (memory > 0) or for the put pool to accept every block writes sealed
// (pool). Cancel then drops it; applied says how much of it took effect.
type pendingWrite struct {
	off     int64
	data    []byte
	start   int64
	n       int64
	applied int64
	r       *messages.Reply
	memory  int64
	pool    bool
}

// currentBlock mirrors the state of the file's current block, which only
// this actor appends to: its write pointer and buffer capacity.
type currentBlock struct {
	id  string
	pid *actor.PID
	wp  int64
	cap int64
}

// pendingSync is a Sync waiting for its blocks.
type pendingSync struct {
	out      *messages.SyncResult
	reply    *messages.Reply
	snapshot []segments.Range
	waiting  int
	changes  uint64
	failures []messages.BlockFailure
}

var (
	errBlockMissing = errors.New("arvfile: buffer block missing")
)

func newFileActor(rt *Runtime, coll *CollectionRuntime, path string, ranges []segments.Range) *fileActor {
	return &fileActor{
		rt:        rt,
		strand:    NewStrand(rt.Dispatcher),
		coll:      coll,
		path:      path,
		segs:      segments.NewList(ranges),
		committed: true,
		modTime:   time.Now(),
		blocks:    make(map[string]*actor.PID),
	}
}

// Receive hands each message to its method.
// Once stopping it ignores everything: protoactor still delivers user
// messages to a stopping actor, and a block spawned then would never stop.
// A panic fails the request being handled and keeps the actor, its state
// and its blocks (see Runtime.panicked).
func (f *fileActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		f.self = ctx.Self()
	case *actor.Stopping:
		f.stopping = true
		f.failHeld(ctx)
	case *actor.Stopped, *actor.Restarting:
	default:
		if !f.stopping {
			defer func() {
				if p := recover(); p != nil {
					r := f.answering
					f.answering = nil
					f.rt.panicked("file", f.path, ctx.Message(), p, r)
				}
			}()
			f.handle(ctx, ctx.Message())
		}
	}
}

// handle dispatches one message, deferring it while a pack copy is in flight.
func (f *fileActor) handle(ctx actorContext, msg any) {
	switch m := msg.(type) {
	case *messages.FromCollection:
		f.seen++
		f.offered = false
		f.handle(ctx, m.Msg)
		f.passivateIfIdle(ctx)
		return
	case *messages.PackCopied:
		f.onPackCopied(ctx, m)
		return
	case *messages.BlockResult:
		f.onBlockResult(ctx, m)
		return
	case *messages.MemoryAvailable:
		f.onMemoryAvailable(ctx, m)
		return
	case *messages.SealAccepted:
		f.onSealAccepted(ctx, m)
		return
	case *messages.SealBlock:
		f.onSealBlock(ctx, m)
		return
	case *messages.Cancel:
		f.onCancel(ctx, m)
		return
	case *messages.Unlink:
		f.unlinked = true
		f.retireIfIdle(ctx)
		return
	case *messages.CandidateWithdrawn:
		f.candidate, f.withdrawing = false, false
		f.retireIfIdle(ctx)
		f.passivateIfIdle(ctx)
		return
	}
	if f.packing || f.parked != nil {
		f.deferred = append(f.deferred, msg)
		return
	}
	f.answering = requestReply(msg) // not cleared by a defer: a panic must still see it
	switch m := msg.(type) {
	case *messages.Write:
		f.onWrite(ctx, m)
	case *messages.Read:
		f.onRead(ctx, m)
	case *messages.Open:
		f.onOpen(ctx, m)
	case *messages.Close:
		f.onClose(ctx, m)
	case *messages.Truncate:
		f.onTruncate(ctx, m)
	case *messages.Sync:
		f.startSync(ctx, m.Out, m.Reply)
	case *messages.Stat:
		f.onStat(m)
	case *messages.GetSegments:
		f.onGetSegments(m)
	case *messages.PackOffer:
		f.onPackOffer(ctx, m)
	case *messages.CloneFile, *messages.AdoptBlock, *messages.Reparent, *messages.HashBlocks, *messages.ReplaceLocators:
		f.onNamespace(ctx, m)
	}
	f.answering = nil
}

func (f *fileActor) onOpen(ctx actorContext, m *messages.Open) {
	if !m.Reply.Take() {
		return // its caller gave up while it waited here: no handle, no truncation
	}
	f.handles++
	if m.Writer {
		f.writers++
	}
	if m.Truncate && f.segs.Size() > 0 {
		f.segs.Truncate(0)
		f.changed()
		f.releaseUnnamed(ctx)
	}
	m.Reply.Finish()
}

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
	f.continueWrite(ctx, pendingWrite{off: off, data: m.Data, start: off, n: int64(len(m.Data)), r: r})
}

// continueWrite writes w piece by piece; when a piece must wait for memory
// or for the put pool before it changes anything, it parks w (asking the
// BlockManager for memory: AwaitMemory).
func (f *fileActor) continueWrite(ctx actorContext, w pendingWrite) {
	for len(w.data) > 0 {
		w.r.N = w.applied // what a panic in this piece reports as written
		n := min(int64(len(w.data)), f.rt.BlockSize)
		memory, pool := f.writePiece(ctx, w.off, w.data[:n], w.r)
		if memory > 0 || pool {
			w.memory, w.pool = memory, pool
			f.parked = &w
			if memory > 0 {
				ctx.Send(f.rt.Manager, &messages.AwaitMemory{File: f.self, Bytes: memory})
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
	others := len(f.blocks)
	if f.cur != nil {
		others--
	}
	if _, ok := f.blocks[messages.PaddingBlockID]; ok {
		others--
	}
	if others <= 0 || len(f.syncs) > 0 {
		return
	}
	named := make(map[string]bool, others)
	f.segs.Each(func(_ int, r *segments.Range) bool {
		if _, ok := f.blocks[r.Locator]; ok {
			named[r.Locator] = true
		}
		return true
	})
	for id, pid := range f.blocks {
		if named[id] || id == messages.PaddingBlockID || (f.cur != nil && id == f.cur.id) {
			continue
		}
		delete(f.blocks, id)
		ctx.Send(pid, &messages.Release{})
	}
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
	w := f.parked
	if w == nil || w.memory == 0 {
		return
	}
	f.parked = nil
	f.answering = w.r
	f.continueWrite(ctx, *w)
	f.answering = nil
	f.replay(ctx)
}

func (f *fileActor) onSealAccepted(ctx actorContext, m *messages.SealAccepted) {
	delete(f.unaccepted, m.BlockID)
	w := f.parked
	if w == nil || !w.pool || len(f.unaccepted) > 0 {
		return
	}
	f.parked = nil
	f.answering = w.r
	f.continueWrite(ctx, *w)
	f.answering = nil
	f.replay(ctx)
}

// onCancel withdraws the request carrying m.Reply if this actor still holds
// it: the parked write (answered with the bytes it applied), a Sync waiting
// for uploads (which go on; their outcome is not reported) or a deferred
// request (answered with nothing done) — but a Close, which releases its
// handle whatever happens, and an Open, which the collection sent, are
// kept.
func (f *fileActor) onCancel(ctx actorContext, m *messages.Cancel) {
	if w := f.parked; w != nil && w.r == m.Reply {
		f.parked = nil
		if w.memory > 0 {
			ctx.Send(f.rt.Manager, &messages.CancelMemory{File: f.self})
		}
		f.wrote(ctx, w)
		w.r.N = w.applied
		w.r.Fail(m.Err)
		f.replay(ctx)
		return
	}
	for token, ps := range f.syncs {
		if ps.reply == m.Reply {
			delete(f.syncs, token)
			m.Reply.Fail(m.Err)
			return
		}
	}
	for i, msg := range f.deferred {
		if !withdrawable(msg) || requestReply(msg) != m.Reply {
			continue
		}
		f.deferred = append(f.deferred[:i:i], f.deferred[i+1:]...)
		m.Reply.N = 0
		m.Reply.Fail(m.Err)
		return
	}
}

// failHeld fails the requests the actor holds as it stops (its parked
// write, its pending Syncs, its deferred requests), which it would
// otherwise never answer: their callers return at once instead of at
// their collection's Close.
func (f *fileActor) failHeld(ctx actorContext) {
	if w := f.parked; w != nil {
		f.parked = nil
		if w.memory > 0 {
			ctx.Send(f.rt.Manager, &messages.CancelMemory{File: f.self})
		}
		w.r.N = w.applied
		w.r.Fail(errReleased)
	}
	for token, ps := range f.syncs {
		delete(f.syncs, token)
		ps.reply.Fail(errReleased)
	}
	for _, msg := range f.deferred {
		if r := requestReply(msg); r != nil && r.Take() {
			r.N = 0
			r.Fail(errReleased)
		}
	}
	f.deferred = nil
}

// withdrawable reports whether Cancel may drop msg, a deferred message.
func withdrawable(msg any) bool {
	switch msg.(type) {
	case *messages.Open, *messages.Close:
		return false
	}
	return true
}

// requestReply returns the facade's Reply carried by a request, or nil.
func requestReply(msg any) *messages.Reply {
	switch m := msg.(type) {
	case *messages.FromCollection:
		return requestReply(m.Msg)
	case *messages.Open:
		return m.Reply
	case *messages.Close:
		return m.Reply
	case *messages.Write:
		return m.Reply
	case *messages.Read:
		return m.Reply
	case *messages.Truncate:
		return m.Reply
	case *messages.Stat:
		return m.Reply
	case *messages.Sync:
		return m.Reply
	case *messages.GetSegments:
		return m.Reply
	case *messages.HashBlocks:
		return m.Reply
	}
	return nil
}

// replay handles the messages deferred while the file was busy, until it is
// busy again.
func (f *fileActor) replay(ctx actorContext) {
	for len(f.deferred) > 0 && !f.packing && f.parked == nil {
		msg := f.deferred[0]
		f.deferred[0] = nil
		f.deferred = f.deferred[1:]
		f.handle(ctx, msg)
	}
	if len(f.deferred) == 0 {
		f.deferred = nil
	}
}

// changed records a change of content.
func (f *fileActor) changed() {
	f.coll.Changes.Add(1)
	f.committed = false
	f.changes++
	f.modTime = time.Now()
}

// writePiece writes data (at most a block) at off through the current
// block. A block grows (×4) only when the memory budget has room; otherwise
// it is sealed as full and the data goes to a new block of the same
// capacity. A piece changes nothing and returns what it waits for while a
// block sealed by a write is not accepted by the put pool (pool: the
// writers' back-pressure), or when the budget lacks the memory it needs.
func (f *fileActor) writePiece(ctx actorContext, off int64, data []byte, r *messages.Reply) (memory int64, pool bool) {
	n := int64(len(data))
	bs := f.rt.BlockSize
	if len(f.unaccepted) > 0 {
		return 0, true
	}
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
		if !f.rt.Memory.Reserve(capacity, false) {
			if f.cur.wp == 0 {
				return capacity, false
			}
			// The block is as large as the budget lets it grow: seal it
			// and go on in a block of the same capacity.
			f.rt.Logger.Debug("memory budget reached: sealing", "file", f.path,
				"block", f.cur.id, "bytes", f.cur.wp, "capacity", f.cur.cap)
			f.sealCurrent(ctx, true)
			return 0, true
		}
	}
	if size := f.segs.Size(); off > size {
		f.pad(off)
	} else if off < size {
		f.overwrote = true
	}
	r.Add(1)
	ctx.Send(f.cur.pid, &messages.Append{Data: data, Capacity: capacity, Reply: r})
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
	if f.cur.cap == 0 {
		need = max(need, f.lastCap)
	}
	return capacityClass(need, 2*f.cur.cap, f.rt.MinCapacity, f.rt.BlockSize)
}

// startBlock spawns a new, empty current block.
func (f *fileActor) startBlock(ctx actorContext) {
	id := messages.NewBlockID()
	pid := ctx.Spawn(propsOn(newBlock(f.rt, id, f.self), f.strand))
	f.cur = &currentBlock{id: id, pid: pid}
	f.blocks[id] = pid
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
	var extents []messages.Extent
	var pos int64
	compact := true
	f.segs.Each(func(_ int, r *segments.Range) bool {
		if r.Locator == id {
			if r.SegmentOffset != pos {
				compact = false
			}
			extents = append(extents, messages.Extent{Offset: r.SegmentOffset, Size: r.RangeSize})
			pos += r.RangeSize
		}
		return true
	})
	if compact && pos == f.cur.wp {
		return
	}
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
	f.blocks[messages.PaddingBlockID] = f.rt.Padding
}

func (f *fileActor) onRead(ctx actorContext, m *messages.Read) {
	r := m.Reply
	size := f.segs.Size()
	if m.Offset >= size || len(m.Buf) == 0 {
		r.Finish()
		return
	}
	n := min(int64(len(m.Buf)), size-m.Offset)
	lrs := f.segs.LocatorsAndRanges(m.Offset, n, 0)
	fetch := make([]messages.Fetch, len(lrs))
	var pos int64
	for i, lr := range lrs {
		dst := m.Buf[pos : pos+lr.SegmentSize]
		pos += lr.SegmentSize
		switch {
		case isPadding(lr.Locator):
			clear(dst)
		case messages.IsBlockID(lr.Locator):
			pid := f.blocks[lr.Locator]
			if pid == nil {
				r.SetErr(errBlockMissing)
				continue
			}
			r.Add(1)
			ctx.Send(pid, &messages.ReadBlock{Offset: lr.SegmentOffset, Dst: dst, Fetch: &fetch[i], Reply: r})
		default:
			fetch[i] = messages.Fetch{Locator: lr.Locator, BlockOffset: lr.SegmentOffset, Dst: dst}
		}
	}
	m.Out.Fetch = fetch
	if f.rt.Prefetch > 0 {
		m.Out.Prefetch = f.prefetch(m.Offset+n, lrs)
	}
	r.N = n
	r.Finish()
}

// prefetch lists the Keep blocks named past end, within Prefetch blocks'
// worth of bytes, that the read did not touch.
func (f *fileActor) prefetch(end int64, read []segments.LocatorAndRange) []string {
	next := f.segs.LocatorsAndRanges(end, keep.BlockSize*int64(f.rt.Prefetch), 32)
	var locs []string
outer:
	for _, lr := range next {
		if messages.IsBlockID(lr.Locator) || isPadding(lr.Locator) {
			continue
		}
		for _, r := range read {
			if r.Locator == lr.Locator {
				continue outer
			}
		}
		for _, l := range locs {
			if l == lr.Locator {
				continue outer
			}
		}
		locs = append(locs, lr.Locator)
	}
	return locs
}

// isPadding reports whether loc names the padding block (by id or locator).
func isPadding(loc string) bool {
	if loc == messages.PaddingBlockID {
		return true
	}
	p := keep.PaddingBlockLocator
	return len(loc) >= len(p) && loc[:len(p)] == p && (len(loc) == len(p) || loc[len(p)] == '+')
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

func (f *fileActor) onStat(m *messages.Stat) {
	*m.Out = messages.FileInfo{Size: f.segs.Size(), ModTime: f.modTime}
	m.Reply.Finish()
}

func (f *fileActor) onGetSegments(m *messages.GetSegments) {
	ranges := f.segs.Ranges()
	if m.OnlyCommitted {
		kept := ranges[:0]
		var pos int64
		for _, r := range ranges {
			if messages.IsBlockID(r.Locator) {
				continue
			}
			r.RangeStart = pos
			pos += r.RangeSize
			kept = append(kept, r)
		}
		ranges = kept
	}
	*m.Out = ranges
	m.Reply.Finish()
}

func (f *fileActor) onClose(ctx actorContext, m *messages.Close) {
	if f.handles > 0 {
		f.handles--
	}
	if !m.Writer || f.unlinked {
		if m.Writer && f.writers > 0 {
			f.writers--
		}
		f.finish(m.Reply)
		f.retireIfIdle(ctx)
		f.passivateIfIdle(ctx)
		return
	}
	if f.writers > 0 {
		f.writers--
	}
	if f.segs.Size() > f.rt.BlockSize/2 {
		f.startSync(ctx, m.Out, m.Reply)
		return
	}
	if f.writers == 0 && f.cur != nil && f.rt.Manager != nil {
		f.candidate = true
		ctx.Send(f.rt.Manager, &messages.Candidate{
			Collection: f.coll.ID, File: f.self, BlockID: f.cur.id, Size: f.liveBytes(f.cur.id),
		})
	}
	f.finish(m.Reply)
}

// retireIfIdle ends an unlinked file once no handle is open on it: it
// releases every buffer block it names — the current, WRITABLE one stops
// without being uploaded (its bytes are dead), a block in ERROR or
// COMMITTED stops, a PENDING one once its upload ended — and stops the
// actor. It stays (holding no buffer) while it must still answer: a Sync or
// a write in progress, a pack offer to come (candidate), a pack copy, or
// blocks a copy shares (they are this actor's children).
func (f *fileActor) retireIfIdle(ctx actorContext) {
	if !f.unlinked || f.handles > 0 {
		return
	}
	if len(f.syncs) > 0 || f.parked != nil || f.packing || len(f.deferred) > 0 {
		return
	}
	for id, pid := range f.blocks {
		if id != messages.PaddingBlockID {
			ctx.Send(pid, &messages.Release{})
		}
		delete(f.blocks, id)
	}
	f.cur = nil
	if f.candidate && !f.withdrawing && f.rt.Manager != nil {
		f.withdrawing = true
		ctx.Send(f.rt.Manager, &messages.Candidate{Withdraw: true, Collection: f.coll.ID, File: f.self})
	}
	if f.shared || f.candidate || f.self == nil {
		return
	}
	f.rt.Logger.Debug("file removed and closed: actor stopped", "file", f.path)
	ctx.Stop(f.self)
}

// startSync seals the current block and awaits every buffer block the
// segments name; finishSync answers.
func (f *fileActor) startSync(ctx actorContext, out *messages.SyncResult, r *messages.Reply) {
	if f.cur != nil {
		f.sealCurrent(ctx, false)
	}
	ps := &pendingSync{out: out, reply: r, snapshot: f.segs.Ranges(), changes: f.changes}
	token := f.nextToken
	f.nextToken++
	for i, s := range ps.snapshot {
		if !messages.IsBlockID(s.Locator) || namedBefore(ps.snapshot[:i], s.Locator) {
			continue
		}
		pid := f.blocks[s.Locator]
		if pid == nil {
			ps.failures = append(ps.failures, messages.BlockFailure{BlockID: s.Locator, Err: errBlockMissing})
			continue
		}
		ps.waiting++
		ctx.Send(pid, &messages.AwaitCommit{ReplyTo: f.self, Token: token})
	}
	if ps.waiting == 0 {
		f.finishSync(ctx, ps)
		return
	}
	if f.syncs == nil {
		f.syncs = make(map[uint64]*pendingSync)
	}
	f.syncs[token] = ps
}

// namedBefore reports whether one of segs names loc. A file names few
// buffer blocks, usually in adjacent segments: the search looks back from
// the end and is cheaper than a set for the common single-block file.
func namedBefore(segs []segments.Range, loc string) bool {
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i].Locator == loc {
			return true
		}
	}
	return false
}

func (f *fileActor) onBlockResult(ctx actorContext, m *messages.BlockResult) {
	ps := f.syncs[m.Token]
	if ps == nil {
		return
	}
	if m.Failure != nil {
		ps.failures = append(ps.failures, *m.Failure)
	} else {
		for i := range ps.snapshot {
			if ps.snapshot[i].Locator == m.BlockID {
				ps.snapshot[i].Locator = m.Locator
			}
		}
		f.replaceBlock(ctx, m.BlockID, m.Locator)
	}
	ps.waiting--
	if ps.waiting == 0 {
		delete(f.syncs, m.Token)
		f.finishSync(ctx, ps)
	}
}

// replaceBlock names the committed block id by its locator in the segments
// and releases the block.
func (f *fileActor) replaceBlock(ctx actorContext, id, locator string) {
	pid, ok := f.blocks[id]
	if !ok {
		return
	}
	f.segs.Each(func(_ int, r *segments.Range) bool {
		if r.Locator == id {
			r.Locator = locator
		}
		return true
	})
	delete(f.blocks, id)
	if id != messages.PaddingBlockID {
		ctx.Send(pid, &messages.Release{})
	}
}

func (f *fileActor) finishSync(ctx actorContext, ps *pendingSync) {
	sort.Slice(ps.failures, func(i, j int) bool { return ps.failures[i].BlockID < ps.failures[j].BlockID })
	if ps.out != nil {
		ps.out.Failures = ps.failures
		ps.out.Segments = ps.snapshot
	}
	if len(ps.failures) == 0 {
		if f.changes == ps.changes {
			f.committed = true
		}
		f.coll.emit(ctx, messages.Event{Kind: messages.EventMod, Path: f.path})
	}
	f.releaseUnnamed(ctx)
	f.finish(ps.reply)
	f.retireIfIdle(ctx)
	f.passivateIfIdle(ctx)
}

// passivateIfIdle offers the collection to retire this actor (design rule
// 4) when the file is idle: no handle open, every byte committed and named
// by its locator (no buffer block), nothing pending or deferred, no copy
// sharing its blocks. The collection takes the segments back and stops the
// actor unless a message of its own is on the way (see messages.Passivate);
// the offer is made again after the next such message.
func (f *fileActor) passivateIfIdle(ctx actorContext) {
	switch {
	case f.offered, f.unlinked, f.handles > 0, !f.committed, f.cur != nil, len(f.blocks) > 0,
		f.shared, len(f.syncs) > 0, f.parked != nil, f.packing, len(f.deferred) > 0,
		f.self == nil, f.coll.Self == nil:
		return
	}
	if f.candidate { // a stale one (its block was sealed): withdraw it first, so no pack offer comes
		if !f.withdrawing && f.rt.Manager != nil {
			f.withdrawing = true
			ctx.Send(f.rt.Manager, &messages.Candidate{Withdraw: true, Collection: f.coll.ID, File: f.self})
		}
		return
	}
	f.offered = true
	ctx.Send(f.coll.Self, &messages.Passivate{
		File: f.self, Path: f.path, Segments: f.segs.Ranges(), ModTime: f.modTime, Seen: f.seen,
	})
}

func (f *fileActor) onPackOffer(ctx actorContext, m *messages.PackOffer) {
	ans := &messages.PackAnswer{Round: m.Round, File: f.self}
	f.candidate = false
	if f.writers > 0 || f.cur == nil || f.cur.id != m.BlockID || f.unlinked {
		ctx.Send(m.ReplyTo, ans)
		f.retireIfIdle(ctx)
		f.passivateIfIdle(ctx)
		return
	}
	f.repackCurrent(ctx)
	ans.Size = f.cur.wp
	if f.cur.wp > m.Room {
		ans.Keep = true
		ctx.Send(m.ReplyTo, ans)
		return
	}
	ctx.Send(f.cur.pid, &messages.PackCopy{Target: m.Target, Offset: m.Offset, File: f.self})
	f.packing = true
	f.cur = nil
	ans.Accepted = true
	ctx.Send(m.ReplyTo, ans)
}

func (f *fileActor) onPackCopied(ctx actorContext, m *messages.PackCopied) {
	f.segs.Each(func(_ int, r *segments.Range) bool {
		if r.Locator == m.OldID {
			r.Locator = m.NewID
			r.SegmentOffset += m.Offset
		}
		return true
	})
	delete(f.blocks, m.OldID)
	f.blocks[m.NewID] = m.NewPID
	f.packing = false
	f.replay(ctx)
}

func (f *fileActor) onSealBlock(ctx actorContext, m *messages.SealBlock) {
	if f.cur != nil && f.cur.id == m.BlockID {
		f.sealCurrent(ctx, false)
	}
}
