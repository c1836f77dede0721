package actors

import "github.com/arvfile/arvfile/messages"

// A file written by several writers at once, each in file order over its
// own range (the disjoint ranges of one file that parallel downloaders
// and exporters write), gets one open block per range, so that each block
// is written in file order: hashed while written and sealed without a
// repack, as a file of its own would be.
//
// A file starts with one open block, its home block, which takes every
// piece that continues no open block. The home block remembers where the
// runs of pieces in file order it took end (runTail). A run whose pieces
// came interleaved with other pieces (resumed from its tail, not as the
// home block's next piece: other writers wrote meanwhile) gets a block of
// its own, a stream block, once it holds streamPieces pieces and streamRun
// bytes; its next piece continues that block. A stream block sealed full
// or early leaves its run's end behind, so the run goes on in a new
// stream block. A run that starts while a stream block is idle (no piece
// since the run began: its writer moved on, as a downloader taking its
// next chunk does) goes on in that block rather than a new one, when the
// run comes after that block's bytes (the block stays in file order). Random writes never
// make runs, and a single writer — rewriting, patching a header, appending
// to a copy — makes runs that are never interleaved: they all stay in the
// home block, as they did when a file had one block. Sync, a copy and
// SealBlock treat every open block as the current one.

// maxOpenBlocks bounds the blocks a file writes to at once (its home
// block and its stream blocks): more runs go on in the home block. Each
// holds only what was written to it; the memory budget bounds them all.
const maxOpenBlocks = 32

// streamPieces and streamRun (bytes, for a block size bs: 256 KiB of a
// 64 MiB block) are the fewest pieces and bytes that a run of pieces in
// file order holds before it gets a stream block of its own, and a
// quarter of its pieces at least must have been resumed after other
// pieces (interleaved). Pieces written in random order meet in runs of
// two or three now and then (16 writers each writing 16 pieces of its
// range in a random order do); eight in a row do not, and a few short
// sequential writes stay in the home block: neither makes small blocks.
const streamPieces = 8

func streamRun(bs int64) int64 { return bs / 256 }

// run is a run of pieces in file order: how many and their bytes, and how
// many of its pieces came after other pieces of the home block (streamed:
// the run has had a block of its own, and keeps the right to one).
type run struct {
	bytes   int64
	pieces  int32
	resumes int32
}

// streamed marks, in run.resumes, a run that had a block of its own.
const streamed = -1

// plus returns the run continued by a piece of n bytes.
func (r run) plus(n int64) run { return run{r.bytes + n, r.pieces + 1, r.resumes} }

// openBlocks is the part of a file's write state that exists once a
// piece continued neither the current block nor a fresh one.
type openBlocks struct {
	others []currentBlock // the open blocks besides fileActor.cur
	// ends[i] is where the run of tails[i] ends (-1: an empty slot), apart
	// so that finding a piece's run scans 512 bytes, not the tails.
	ends    [runTails]int64
	tails   [runTails]runTail
	next    int    // the slot of tails the next new run takes
	pieces  uint32 // pieces written since (see currentBlock.last, runTail.since)
	lastOff int64  // where the last piece written starts
}

// runTails is how many runs out of file order a file follows at once:
// more than it may give blocks to, so that runs written in turns by a few
// more writers than that do not push each other out (a run's tail moves
// in place as it grows; a new run takes the oldest slot).
const runTails = 2 * maxOpenBlocks

// runTail is a run of pieces in file order that no open block continues:
// a piece at its end (openBlocks.ends) continues it. since is
// openBlocks.pieces when the run began (reuses: false for a run that went
// on past a sealed block, which may take no idle block).
type runTail struct {
	run    run
	since  uint32
	reuses bool
}

// note records that run r ends at end, continuing the tail that ended at
// from, if any (which keeps when its run began); else r is a new run,
// which may take an idle block when reuses. A run of no pieces is not
// kept.
func (o *openBlocks) note(from, end int64, r run, reuses bool) {
	if r.pieces == 0 {
		return
	}
	if i := o.find(from); i >= 0 {
		o.ends[i], o.tails[i].run = end, r
		return
	}
	i := o.next
	o.ends[i] = end
	o.tails[i] = runTail{run: r, since: o.pieces, reuses: reuses}
	o.next = (o.next + 1) % len(o.tails)
}

// tailTo returns the tail that a piece at off continues, or nil.
func (o *openBlocks) tailTo(off int64) *runTail {
	if i := o.find(off); i >= 0 {
		return &o.tails[i]
	}
	return nil
}

// find returns the slot of the run that ends at off, or -1.
func (o *openBlocks) find(off int64) int {
	if off < 0 {
		return -1
	}
	for i, end := range o.ends {
		if end == off {
			return i
		}
	}
	return -1
}

// newOpenBlocks returns the open blocks of a file that follows no run yet.
func newOpenBlocks() *openBlocks {
	o := new(openBlocks)
	for i := range o.ends {
		o.ends[i] = -1
	}
	return o
}

// selectBlock makes the current block the one a piece of n bytes at off
// goes to (nil: a new home block, started by writePiece) and returns the
// run in file order that the piece continues.
func (f *fileActor) selectBlock(ctx actorContext, off, n int64) (prior run) {
	c := f.cur
	if c != nil && c.wp == 0 && f.open != nil && f.continuing(off) >= 0 {
		c = nil // a fresh block, started for a write that waits: this piece continues another
	}
	if c != nil && (c.wp == 0 || off == c.next) {
		if !(c.wp > 0 && c.scattered && f.qualifies(c.run.plus(n))) {
			return c.run // the usual case: one writer in file order, or a fresh block
		}
		// An interleaved run that the home block, out of order, took last:
		// it gets a block of its own below.
	}
	o := f.open
	if o == nil {
		if c == nil {
			return run{}
		}
		o = newOpenBlocks()
		f.open = o
		o.note(-1, c.next, c.run, false)
	}
	t := o.tailTo(off) // where the run began, when the home block took it
	switch i := f.continuing(off); {
	case c != nil && off == c.next:
		prior = c.run
	case i >= 0:
		if b := &o.others[i]; !b.scattered || !f.qualifies(b.run.plus(n)) {
			f.takeOpen(i)
			return f.cur.run
		}
		prior = o.others[i].run // as above: the run leaves the home block
		f.takeOpen(i)
	}
	switch {
	case prior.pieces > 0:
	case t != nil:
		prior = t.run
		// Other pieces came between: the run is interleaved — unless the
		// last of them patched the run's own bytes (a writer going back
		// to fill in a header it wrote).
		if own := o.lastOff >= off-prior.bytes && o.lastOff < off; prior.resumes != streamed && !own {
			prior.resumes++
		}
	}
	if prior.pieces > 0 && f.qualifies(prior.plus(n)) && f.openCount() < maxOpenBlocks {
		f.putAside()
		if i := f.streamFor(t, off); i >= 0 {
			f.takeOpen(i) // the run goes on in a block its writer left
		} else {
			f.startStreamBlock(ctx)
			f.cur.stream = true
		}
		prior.resumes = streamed // its next block, once this one is sealed, is its own too
		f.cur.run = prior
		return prior
	}
	switch {
	case f.cur != nil && !f.cur.stream:
	case f.homeIndex() >= 0:
		f.takeOpen(f.homeIndex())
	default:
		f.putAside() // a new home block: writePiece starts it
	}
	if h := f.cur; h != nil && h.wp > 0 && !h.scattered && f.openCount() > 1 && f.openCount() < maxOpenBlocks &&
		h.run.pieces >= streamPieces && h.run.bytes >= streamRun(f.rt.BlockSize) {
		// The home block holds one run, in file order, long enough for a
		// block of its own, while other runs have theirs: it becomes that
		// run's block, and this piece starts a new home block. (A file of
		// one writer that goes back to patch a few bytes keeps one block.)
		h.stream = true
		h.run.resumes = streamed
		f.putAside()
	}
	return prior
}

// qualifies reports whether a run is long enough, and interleaved enough,
// for a block of its own.
func (f *fileActor) qualifies(r run) bool {
	return r.resumes == streamed ||
		r.pieces >= streamPieces && r.bytes >= streamRun(f.rt.BlockSize) && 4*r.resumes >= r.pieces
}

// streamFor returns the index in open.others of a stream block for run t
// to go on in from a piece at off: an empty one (started for a write that
// then waited), else, of those that no piece went to since t began and
// whose bytes end at or before off, the one that ends last (the block
// stays in file order); -1 when none.
func (f *fileActor) streamFor(t *runTail, off int64) int {
	best := -1
	for i := range f.open.others {
		b := &f.open.others[i]
		switch {
		case !b.stream:
			continue
		case b.wp == 0:
			return i
		case t == nil || !t.reuses || int32(t.since-b.last) <= 0:
			continue
		}
		if b.next <= off && (best < 0 || b.next > f.open.others[best].next) {
			best = i
		}
	}
	return best
}

// continuing returns the index in open.others of the block whose last
// piece a piece at off continues, or -1.
func (f *fileActor) continuing(off int64) int {
	for i := range f.open.others {
		if b := &f.open.others[i]; b.wp > 0 && b.next == off {
			return i
		}
	}
	return -1
}

// wroteHome records where the run that a piece going to the home block
// continues (prior before it) now ends.
func (f *fileActor) wroteHome(off, n int64, prior run) {
	o := f.open
	if o == nil {
		return
	}
	o.pieces++
	o.lastOff = off
	f.cur.last = o.pieces
	if !f.cur.stream {
		o.note(off, off+n, prior.plus(n), true)
	}
}

// openCount returns how many blocks the file writes to.
func (f *fileActor) openCount() int {
	n := 0
	if f.cur != nil {
		n++
	}
	if f.open != nil {
		n += len(f.open.others)
	}
	return n
}

// isOpen reports whether id is one of the blocks the file writes to.
func (f *fileActor) isOpen(id string) bool {
	if f.cur != nil && f.cur.id == id {
		return true
	}
	return f.openIndex(id) >= 0
}

// openIndex returns the index of block id in open.others, or -1.
func (f *fileActor) openIndex(id string) int {
	if f.open != nil {
		for i := range f.open.others {
			if f.open.others[i].id == id {
				return i
			}
		}
	}
	return -1
}

// homeIndex returns the index of the home block in open.others, or -1.
func (f *fileActor) homeIndex() int {
	if f.open != nil {
		for i := range f.open.others {
			if !f.open.others[i].stream {
				return i
			}
		}
	}
	return -1
}

// takeOpen makes open.others[i] the current block, setting the current
// one (if any) aside in its place.
func (f *fileActor) takeOpen(i int) {
	o := f.open
	if f.cur != nil {
		f.curBlock, o.others[i] = o.others[i], f.curBlock
		return
	}
	f.curBlock = o.others[i]
	f.cur = &f.curBlock
	o.others = append(o.others[:i], o.others[i+1:]...)
}

// putAside sets the current block, if any, aside among the open blocks.
func (f *fileActor) putAside() {
	if f.cur != nil {
		f.open.others = append(f.open.others, f.curBlock)
		f.cur = nil
	}
}

// sealOthers seals every open block but the current one, in file order,
// without making writes wait (a Sync, a copy).
func (f *fileActor) sealOthers(ctx actorContext) {
	if f.open == nil || len(f.open.others) == 0 {
		return
	}
	had := f.cur != nil
	keep := f.curBlock
	others := f.open.others
	f.open.others = nil
	for _, b := range others {
		f.curBlock = b
		f.cur = &f.curBlock
		f.sealCurrent(ctx, false)
	}
	f.open.others = others[:0]
	f.cur = nil
	if had {
		f.curBlock = keep
		f.cur = &f.curBlock
	}
}

// sealOpen seals open block id, the current one or another, for the
// BlockManager (SealBlock); it reports false when id is not open.
func (f *fileActor) sealOpen(ctx actorContext, id string) bool {
	if f.cur != nil && f.cur.id == id {
		f.sealCurrent(ctx, false)
		return true
	}
	i := f.openIndex(id)
	if i < 0 {
		return false
	}
	had := f.cur != nil
	keep := f.curBlock
	f.curBlock = f.open.others[i]
	f.open.others = append(f.open.others[:i], f.open.others[i+1:]...)
	f.cur = &f.curBlock
	f.sealCurrent(ctx, false)
	if had {
		f.curBlock = keep
		f.cur = &f.curBlock
	}
	return true
}

// closeOpen forgets every open block (their blocks were released).
func (f *fileActor) closeOpen() {
	f.cur = nil
	f.open = nil
}

// mayPass reports whether write m may be handled while other writes of
// the file wait for memory (fileActor.parked), instead of waiting behind
// them: so that one range's block waiting to grow does not stop the
// writers of every other range (a file of its own would not). It may when
// nothing else waits before it, no write waits for the put pool, and its
// one piece continues an open block in file order and overlaps no waiting
// write (they are concurrent writes: either order is theirs to see). That
// block may be one a waiting write waits to grow (a write past a gap in
// the home block): the waiting write tries again when it is woken. If its
// block must grow and cannot, it waits for memory too.
func (f *fileActor) mayPass(m *messages.Write) bool {
	n := int64(len(m.Data))
	if len(f.parked) == 0 || f.packing || len(f.deferred) > 0 || len(f.unaccepted) > 0 ||
		m.Append || n == 0 || n > f.rt.BlockSize || f.coll.ReadOnly || f.tooLarge(m.Offset, n) {
		return false
	}
	for _, w := range f.parked {
		if w.pool || (m.Offset < w.off+int64(len(w.data)) && w.off < m.Offset+n) {
			return false
		}
	}
	continues := func(b *currentBlock) bool {
		return b.wp > 0 && b.next == m.Offset && !b.scattered
	}
	if f.cur != nil && continues(f.cur) {
		return true
	}
	if f.open != nil {
		for i := range f.open.others {
			if continues(&f.open.others[i]) {
				return true
			}
		}
	}
	return false
}
