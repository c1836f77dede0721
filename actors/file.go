package actors

import (
	"errors"
	"slices"
	"time"

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
// padding block; the data is cut into pieces of at most a block; each
// piece goes to the open block it continues in file order (a file has one,
// its current block, unless several writers write runs in file order:
// file_streams.go), and that block is made to fit it (repacked when that frees
// enough room, else sealed — the writer then waits until the put pool
// accepts the sealed block — and a new block started at the capacity the
// last one reached), its capacity grown against the memory budget (over
// budget, the write waits — everything else for the file is deferred — until
// the BlockManager says there is room, having sealed the largest writable
// block if need be), the segments updated with ReplaceRange, and an Append
// forwarded to the block, which copies the bytes and answers the writer. Reads travel the same path, so they see every completed write;
// pieces already in Keep are handed back for the facade to fetch. Sync seals
// the open blocks and waits (without blocking: BlockResult messages) for
// every block the segments name. A closed small file offers its block for
// packing; while the pack copy is in flight every other message is deferred.
type fileActor struct {
	rt     *Runtime
	coll   *CollectionRuntime
	path   string
	strand *Strand // runs this actor and its blocks (but for its runs' stream blocks: startStreamBlock)

	// All fields below belong to this actor alone.
	self        *actor.PID
	segs        segments.List // inside the actor (Init): one allocation less
	writers     int
	committed   bool
	changes     uint64 // bumped by every change of content
	modTime     time.Time
	cur         *currentBlock         // the WRITABLE block writes go to (&curBlock); nil until the next write
	curBlock    currentBlock          // where cur points: one allocation less per block
	open        *openBlocks           // the other blocks writes go to, once writes came out of file order (file_streams.go)
	lastCap     int64                 // capacity of the last block sealed: where the next one starts
	blocks      map[string]*actor.PID // every buffer block the segments name, and the current one, once more than one (see block)
	oneID       string                // the one block while blocks is nil ("": none)
	onePID      *actor.PID
	syncs       []*pendingSync // Syncs waiting for BlockResults (few: a slice, not a map), in syncBuf while one
	syncBuf     [1]*pendingSync
	nextToken   uint64
	packing     bool            // a PackCopy is in flight: defer everything else
	noticeFrom  string          // the packed block that will tell its upload's outcome unasked (PackedNotice); "" none
	parked      []*pendingWrite // writes waiting for room (memory, the put pool): defer everything else (see mayPass)
	unaccepted  map[string]bool // blocks sealed by writes that the put pool has not accepted yet
	deferred    []any           // messages deferred while packing or waiting, in order
	deferredBuf [1]any          // where the first of them goes
	handles     int             // open handles (readers and writers)
	unlinked    bool            // the file left the tree: stop once no handle is open (Unlink)
	candidate   bool            // offered for packing (Candidate), not yet asked nor withdrawn: stay to answer
	withdrawing bool            // unlinked: the candidate is being withdrawn (CandidateWithdrawn ends it)
	seen        uint64          // messages received from the collection (FromCollection)
	offered     bool            // Passivate sent, and no message from the collection since
	overwrote   bool            // the write being handled replaced bytes: release unnamed blocks after it
	stopping    bool            // the engine is closing: ignore everything
	answering   *messages.Reply // the request being handled: a panic fails it

	// The storage of the first of each of these messages the actor sends
	// (most files send one of each): sent once, never written again, so
	// that they cost one allocation between them, made when the first is
	// sent. Later ones are allocated. It is not inside the actor: an actor
	// of more than 512 bytes (a malloc header, a larger size class) cost
	// more CPU per small file than the allocation (see firstMessages).
	first     *firstMessages
	firstSent struct{ candidate, passivate, sync bool }
}

// firstMessages holds the first Candidate, Passivate and pendingSync of a
// file actor (see fileActor.first). Measured with it inside the actor (a
// 696-byte fileActor) against apart (456 bytes, one allocation more):
// scenario b's writers 9.7 -> 9.3 µs of CPU per file, a warm engine's
// 18.4 -> 17.2 (GOMAXPROCS=1, medians of 8 interleaved rounds).
type firstMessages struct {
	candidate messages.Candidate
	passivate messages.Passivate
	sync      pendingSync
}

// firstMsgs returns the room of the first messages, allocated on first use.
func (f *fileActor) firstMsgs() *firstMessages {
	if f.first == nil {
		f.first = new(firstMessages)
	}
	return f.first
}

// newCandidate returns where to put a Candidate to send.
func (f *fileActor) newCandidate() *messages.Candidate {
	if f.firstSent.candidate {
		return new(messages.Candidate)
	}
	f.firstSent.candidate = true
	return &f.firstMsgs().candidate
}

// newPassivate returns where to put a Passivate to send.
func (f *fileActor) newPassivate() *messages.Passivate {
	if f.firstSent.passivate {
		return new(messages.Passivate)
	}
	f.firstSent.passivate = true
	return &f.firstMsgs().passivate
}

// newPendingSync returns where to put a pendingSync (which holds the
// AwaitCommit it sends).
func (f *fileActor) newPendingSync() *pendingSync {
	if f.firstSent.sync {
		return new(pendingSync)
	}
	f.firstSent.sync = true
	return &f.firstMsgs().sync
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
	first   *messages.Append // where the next piece's Append goes (Write.FirstPiece); nil: allocated
}

// currentBlock mirrors the state of the file's current block, which only
// this actor appends to: its write pointer and buffer capacity.
type currentBlock struct {
	id  string
	pid *actor.PID
	wp  int64
	cap int64
	// next is the file offset that continues the block's last piece in
	// file order (see messages.Append.Scattered).
	next int64
	// run is the run of pieces in file order that ends at next; stream:
	// the block was started for such a run (file_streams.go); scattered:
	// a piece came out of file order (it is no longer hashed while
	// written).
	run       run
	stream    bool
	scattered bool
	last      uint32 // openBlocks.pieces after its last piece
}

// pendingSync is a Sync waiting for its blocks.
type pendingSync struct {
	token    uint64               // the Token of its AwaitCommits
	await    messages.AwaitCommit // sent to each block it waits for (one allocation with the Sync's)
	out      *messages.SyncResult
	reply    *messages.Reply
	snapshot []segments.Range
	waiting  int  // blocks not answered yet
	notice   bool // one of them is the packed block's notice (fileActor.noticeFrom), not asked
	changes  uint64
	failures []messages.BlockFailure
}

var (
	errBlockMissing = errors.New("arvfile: buffer block missing")
)

func newFileActor(rt *Runtime, coll *CollectionRuntime, path string, ranges []segments.Range) *fileActor {
	f := &fileActor{
		rt:        rt,
		strand:    NewStrand(rt.Dispatcher),
		coll:      coll,
		path:      path,
		committed: true,
		modTime:   time.Now(),
	}
	f.segs.Init(ranges)
	f.syncs = f.syncBuf[:0]
	return f
}

// block returns the pid of the buffer block id that the file names, or nil.
// A file names one block most of the time (a small file, or one written
// in order): it is kept in oneID and onePID, and the blocks map is made
// only for a second one — one allocation less per file, two per small one.
func (f *fileActor) block(id string) *actor.PID {
	if f.blocks != nil {
		return f.blocks[id]
	}
	if id != "" && id == f.oneID {
		return f.onePID
	}
	return nil
}

// hasBlock reports whether the file names the buffer block id.
func (f *fileActor) hasBlock(id string) bool {
	if f.blocks != nil {
		_, ok := f.blocks[id]
		return ok
	}
	return id != "" && id == f.oneID
}

// setBlock records pid as the buffer block id.
func (f *fileActor) setBlock(id string, pid *actor.PID) {
	switch {
	case f.blocks != nil:
		f.blocks[id] = pid
	case f.oneID == "" || f.oneID == id:
		f.oneID, f.onePID = id, pid
	default:
		f.blocks = map[string]*actor.PID{f.oneID: f.onePID, id: pid}
		f.oneID, f.onePID = "", nil
	}
}

// deleteBlock forgets the buffer block id.
func (f *fileActor) deleteBlock(id string) {
	if f.blocks != nil {
		delete(f.blocks, id)
	} else if id == f.oneID {
		f.oneID, f.onePID = "", nil
	}
}

// blockCount returns how many buffer blocks the file names.
func (f *fileActor) blockCount() int {
	switch {
	case f.blocks != nil:
		return len(f.blocks)
	case f.oneID != "":
		return 1
	}
	return 0
}

// eachBlock calls fn with every buffer block the file names; fn may
// deleteBlock the one it is given.
func (f *fileActor) eachBlock(fn func(id string, pid *actor.PID)) {
	if f.blocks != nil {
		for id, pid := range f.blocks {
			fn(id, pid)
		}
	} else if f.oneID != "" {
		fn(f.oneID, f.onePID)
	}
}

// receive hands each message to its method (the file actor is a cell).
// Once stopping it ignores everything: messages queued before the stop
// are still delivered, and a block spawned then would never stop.
// A panic fails the request being handled and keeps the actor, its state
// and its blocks (see Runtime.panicked).
func (f *fileActor) receive(ctx *cellContext, msg any) {
	switch msg.(type) {
	case *actor.Started:
		f.self = ctx.Self()
	case *actor.Stopping:
		f.stopping = true
		f.failHeld(ctx)
		f.releaseOthers(ctx)
	case *actor.Stopped:
	default:
		if f.stopping {
			f.dropped(ctx, msg)
		} else {
			defer func() {
				if p := recover(); p != nil {
					r := f.answering
					f.answering = nil
					f.rt.panicked("file", f.path, msg, p, r)
				}
			}()
			f.handle(ctx, msg)
		}
	}
}

// dropped settles what the actor will never handle (it is stopping or
// stopped): a PackOffer is refused, so that the BlockManager gives back the
// packed block's buffer lent to the offer; a PackCopied's packed block is
// released; a clone for a copy is answered, and bytes to adopt are freed
// (dropCopy).
func (f *fileActor) dropped(ctx *cellContext, msg any) { f.drop(ctx, msg) }

func (f *fileActor) drop(ctx actorContext, msg any) {
	switch m := msg.(type) {
	case *messages.FromCollection:
		f.drop(ctx, m.Msg)
	case *messages.PackOffer:
		ctx.Send(m.ReplyTo, &messages.PackAnswer{Round: m.Round, File: f.self})
	case *messages.PackCopied:
		// Its bytes landed in a packed block that counted it as an owner,
		// but it will never name that block: let it go, or the packed
		// block would outlive its collection.
		ctx.Send(m.NewPID, &messages.Release{})
	case *messages.CloneFile, *messages.AdoptBlock:
		f.dropCopy(ctx, m)
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
	if f.packing || len(f.parked) > 0 {
		if w, ok := msg.(*messages.Write); ok && f.mayPass(w) {
			f.answering = w.Reply
			f.onWrite(ctx, w)
			f.answering = nil
			return
		}
		if cap(f.deferred) == 0 { // none held: the first goes in deferredBuf (a Sync behind a pack copy)
			f.deferred = f.deferredBuf[:0]
		}
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

// onCancel withdraws the request carrying m.Reply if this actor still holds
// it: the parked write (answered with the bytes it applied), a Sync waiting
// for uploads (which go on; their outcome is not reported) or a deferred
// request (answered with nothing done) — but a Close, which releases its
// handle whatever happens, and an Open, which the collection sent, are
// kept.
func (f *fileActor) onCancel(ctx actorContext, m *messages.Cancel) {
	if i := slices.IndexFunc(f.parked, func(w *pendingWrite) bool { return w.r == m.Reply }); i >= 0 {
		w := f.parked[i]
		f.parked = slices.Delete(f.parked, i, i+1)
		switch {
		case w.memory > 0 && !f.parkedFor(true):
			ctx.Send(f.rt.Manager, &messages.CancelMemory{File: f.self})
		case w.memory > 0:
			f.awaitMemory(ctx) // what the others wait for, not what it did
		}
		f.wrote(ctx, w)
		w.r.N = w.applied
		w.r.Fail(m.Err)
		f.replay(ctx)
		return
	}
	for i, ps := range f.syncs {
		if ps.reply == m.Reply {
			f.dropSync(i)
			ps.forget()
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
	if f.parkedFor(true) {
		ctx.Send(f.rt.Manager, &messages.CancelMemory{File: f.self})
	}
	for _, w := range f.parked {
		w.r.N = w.applied
		w.r.Fail(errReleased)
	}
	f.parked = nil
	for _, ps := range f.syncs {
		ps.reply.Fail(errReleased)
	}
	f.syncs = nil
	for _, msg := range f.deferred {
		if r := requestReply(msg); r != nil {
			if r.Take() {
				r.N = 0
				r.Fail(errReleased)
			}
			continue
		}
		f.drop(ctx, msg) // a pack offer, a clone: what they lend or retain is given back
	}
	f.deferred = nil
}

// releaseOthers releases, as the actor stops (its collection released),
// the blocks it names that are not its children: a packed block, or a
// block a copy shares. Its own blocks stop with it; those others stop
// once no file names them (in ERROR at once, PENDING once their upload
// ended), instead of holding their bytes until the engine closes.
func (f *fileActor) releaseOthers(ctx *cellContext) {
	if f.blockCount() == 0 {
		return
	}
	mine := make(map[*actor.PID]bool)
	for _, c := range ctx.Children() {
		mine[c] = true
	}
	f.eachBlock(func(id string, pid *actor.PID) {
		if id != messages.PaddingBlockID && !mine[pid] {
			ctx.Send(pid, &messages.Release{})
		}
		f.deleteBlock(id)
	})
	f.closeOpen()
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
	for len(f.deferred) > 0 && !f.packing && len(f.parked) == 0 {
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

func (f *fileActor) onStat(m *messages.Stat) {
	*m.Out = messages.FileInfo{Size: f.segs.Size(), ModTime: f.modTime}
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
	if f.writers == 0 && f.cur != nil && f.openCount() == 1 && f.rt.Manager != nil {
		f.candidate = true
		msg := f.newCandidate()
		*msg = messages.Candidate{Collection: f.coll.ID, File: f.self, BlockID: f.cur.id, Size: f.liveBytes(f.cur.id)}
		ctx.Send(f.rt.Manager, msg)
	}
	f.finish(m.Reply)
}

// retireIfIdle ends an unlinked file once no handle is open on it: it
// releases every buffer block it names — the current, WRITABLE one stops
// without being uploaded (its bytes are dead), a block in ERROR or
// COMMITTED stops, a PENDING one once its upload ended — and stops the
// actor. It stays (holding no buffer) while it must still answer: a Sync or
// a write in progress, a pack offer to come (candidate) or a pack copy.
// Blocks a copy shares are not its children (see sharedBlocks): they live
// on as long as the copy names them.
func (f *fileActor) retireIfIdle(ctx actorContext) {
	if !f.unlinked || f.handles > 0 {
		return
	}
	if len(f.syncs) > 0 || len(f.parked) > 0 || f.packing || len(f.deferred) > 0 {
		return
	}
	f.eachBlock(func(id string, pid *actor.PID) {
		if id != messages.PaddingBlockID {
			ctx.Send(pid, &messages.Release{})
		}
		f.deleteBlock(id)
	})
	f.closeOpen()
	if f.candidate && !f.withdrawing && f.rt.Manager != nil {
		f.withdrawing = true
		ctx.Send(f.rt.Manager, &messages.Candidate{Withdraw: true, Collection: f.coll.ID, File: f.self})
	}
	if f.candidate || f.self == nil {
		return
	}
	f.rt.Logger.Debug("file removed and closed: actor stopped", "file", f.path)
	ctx.Stop(f.self)
}

// passivateIfIdle offers the collection to retire this actor (design rule
// 4) when the file is idle: no handle open, every byte committed and named
// by its locator (no buffer block), nothing pending or deferred, no copy
// sharing its blocks. The collection takes the segments back and stops the
// actor unless a message of its own is on the way (see messages.Passivate);
// the offer is made again after the next such message.
func (f *fileActor) passivateIfIdle(ctx actorContext) {
	switch {
	case f.offered, f.unlinked, f.handles > 0, !f.committed, f.openCount() > 0, f.blockCount() > 0,
		len(f.syncs) > 0, len(f.parked) > 0, f.packing, len(f.deferred) > 0,
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
	// The segments go without a copy (View): a collection that takes them
	// stops this actor, to which nothing else can send a change meanwhile
	// (no handle is open, and no message of the collection's is on the
	// way); one that refuses drops them.
	msg := f.newPassivate()
	*msg = messages.Passivate{File: f.self, Path: f.path, Segments: f.segs.View(), ModTime: f.modTime, Seen: f.seen}
	ctx.Send(f.coll.Self, msg)
}
