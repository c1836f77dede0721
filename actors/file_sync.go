package actors

import (
	"slices"
	"sort"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
)

// The file actor's sync and commit path: sealing, awaiting every block the
// segments name, hashing for portable locators, and locator replacement.

// startSync seals the current block (split, when it is large and out of
// file order: splitCurrent) and awaits every buffer block the segments
// name; finishSync answers.
func (f *fileActor) startSync(ctx actorContext, out *messages.SyncResult, r *messages.Reply) {
	f.sealOthers(ctx)
	if f.cur != nil && !f.splitCurrent(ctx) {
		f.sealCurrent(ctx, false)
	}
	token := f.nextToken
	f.nextToken++
	ps := f.newPendingSync()
	*ps = pendingSync{token: token, out: out, reply: r, changes: f.changes}
	ps.await = messages.AwaitCommit{ReplyTo: f.self, Token: token}
	if n := f.segs.Len(); n > 0 && out != nil && cap(out.Segments) >= n {
		ps.snapshot = f.segs.AppendRanges(out.Segments[:0]) // into the room the caller gave (a commit does)
	} else {
		ps.snapshot = f.segs.Ranges() // nil for an empty file
	}
	for i, s := range ps.snapshot {
		if !messages.IsBlockID(s.Locator) || namedBefore(ps.snapshot[:i], s.Locator) {
			continue
		}
		if s.Locator == f.noticeFrom && f.hasBlock(s.Locator) { // the packed block will tell: no need to ask
			ps.waiting++
			ps.notice = true
			continue
		}
		pid := f.block(s.Locator)
		if pid == nil {
			ps.failures = append(ps.failures, messages.BlockFailure{BlockID: s.Locator, Err: errBlockMissing})
			continue
		}
		ps.waiting++
		ctx.Send(pid, &ps.await) // the same for every block; a block keeps only its values
	}
	if ps.waiting == 0 {
		f.finishSync(ctx, ps)
		return
	}
	f.syncs = append(f.syncs, ps)
}

// dropSync removes the i-th pending Sync, keeping the others in order.
func (f *fileActor) dropSync(i int) {
	copy(f.syncs[i:], f.syncs[i+1:])
	f.syncs[len(f.syncs)-1] = nil
	f.syncs = f.syncs[:len(f.syncs)-1]
}

// splitMinPart is the fewest bytes a part of a block split at a Sync holds:
// a smaller block hashes in a few milliseconds, and each part is one more
// locator in the manifest.
const splitMinPart = 4 << 20

// splitCurrent seals the current block as several blocks, one per put
// worker, when the Sync must repack it anyway (its bytes are not in file
// order: random writes, overwrites) and it holds at least two parts' worth
// of live bytes. The bytes are copied once either way; split, the put
// workers hash and store the parts at once instead of one after another
// (MD5 is the cost of a Sync: about 1.5 ms per MiB on one core).
//
// Part 0 stays in the current block; each other part gets a new block
// whose buffer (reserved here, within the budget, and lent to the current
// block) the current block fills from its extents as it repacks (Repack
// with Parts), before it seals. The segments name the parts at once, so
// the Sync awaits them all; a part's block defers reads until its bytes
// arrived. It reports false, having changed nothing, when the block is not
// split: then sealCurrent repacks and seals it as one block.
func (f *fileActor) splitCurrent(ctx actorContext) bool {
	minPart := int64(splitMinPart)
	if f.rt.PutWorkers < 2 {
		return false
	}
	id := f.cur.id
	var extents []messages.Extent
	var live int64
	compact := true
	f.segs.Each(func(_ int, r *segments.Range) bool {
		if r.Locator == id {
			if r.SegmentOffset != live {
				compact = false
			}
			extents = append(extents, messages.Extent{Offset: r.SegmentOffset, Size: r.RangeSize})
			live += r.RangeSize
		}
		return true
	})
	if compact || live < 2*minPart {
		return false
	}
	var cuts []int
	var sizes []int64
	for n := int(min(int64(f.rt.PutWorkers), live/minPart)); n >= 2 && cuts == nil; n-- {
		cuts, sizes = splitExtents(extents, live, n)
		if len(sizes) < 2 || slices.Min(sizes) < minPart { // large extents: cut where they allow
			cuts, sizes = nil, nil
		}
	}
	if cuts == nil {
		return false
	}
	caps := f.reserveParts(sizes[1:])
	if caps == nil {
		return false
	}
	parts := make([]messages.SplitPart, len(sizes)-1)
	ids := make([]string, len(sizes))
	ids[0] = id
	for i := range parts {
		buf := f.rt.Memory.Alloc(caps[i])
		f.rt.Memory.Lend(buf) // to the current block, which gives it back once it copied
		ids[i+1] = messages.NewBlockID()
		pid := spawnCell(ctx, newSplitBlock(f.rt, ids[i+1], f.self, buf), f.strand)
		f.setBlock(ids[i+1], pid)
		parts[i] = messages.SplitPart{Extents: extents[cuts[i+1]:cuts[i+2]], Buf: buf, Block: pid}
	}
	ctx.Send(f.cur.pid, &messages.Repack{Extents: extents[:cuts[1]], Parts: parts})
	part, k, pos := 0, 0, int64(0) // the part of the k-th segment over the block, and where it goes in it
	f.segs.Each(func(_ int, r *segments.Range) bool {
		if r.Locator != id {
			return true
		}
		if k == cuts[part+1] {
			part, pos = part+1, 0
		}
		r.Locator, r.SegmentOffset = ids[part], pos
		pos += r.RangeSize
		k++
		return true
	})
	f.rt.Logger.Debug("split block at sync", "file", f.path, "block", id, "from", f.cur.wp, "live", live,
		"extents", len(extents), "parts", len(sizes))
	ctx.Send(f.cur.pid, &messages.Seal{})
	if f.cur.cap > 0 {
		f.lastCap = f.cur.cap
	}
	f.cur = nil
	return true
}

// splitExtents cuts extents (live bytes in all) into at most n parts of
// about live/n bytes each, at extent boundaries: part i is
// extents[cuts[i]:cuts[i+1]], of sizes[i] bytes. No part is empty (extents
// are not), and a part ends at the first boundary at or past its share.
func splitExtents(extents []messages.Extent, live int64, n int) (cuts []int, sizes []int64) {
	cuts = append(make([]int, 0, n+1), 0)
	var pos, size int64
	for i, e := range extents {
		if len(sizes) < n-1 && size > 0 && pos*int64(n) >= live*int64(len(sizes)+1) {
			cuts, sizes, size = append(cuts, i), append(sizes, size), 0
		}
		pos += e.Size
		size += e.Size
	}
	return append(cuts, len(extents)), append(sizes, size)
}

// reserveParts reserves the buffers of the parts of the given sizes within
// the memory budget, all or none, and returns their capacities (nil: no
// room). A part takes a buffer of the current block's capacity when the
// budget has room for all of them: the engine recycles buffers by capacity,
// and one already faulted in costs a third of a fresh one to fill (page
// faults: measured 9 against 6 ms for 32 MiB gathered in 4 KiB pieces);
// otherwise one of its own size class.
func (f *fileActor) reserveParts(sizes []int64) []int64 {
	same := make([]int64, len(sizes))
	own := make([]int64, len(sizes))
	for i, size := range sizes {
		same[i] = f.cur.cap
		own[i] = capacityClass(size, 0, f.rt.MinCapacity, f.rt.BlockSize)
	}
	for _, caps := range [][]int64{same, own} {
		if f.reserveAll(caps) {
			return caps
		}
	}
	return nil
}

// reserveAll reserves every capacity of caps within the budget, or none.
func (f *fileActor) reserveAll(caps []int64) bool {
	for i, c := range caps {
		if c <= 0 || !f.rt.Memory.Reserve(c, false) {
			for _, done := range caps[:i] {
				f.rt.Memory.Unreserve(done)
			}
			return false
		}
	}
	return true
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
	if m.Token == messages.PackedNotice {
		f.onPackedNotice(ctx, m)
		return
	}
	at := -1
	for i, ps := range f.syncs {
		if ps.token == m.Token {
			at = i
			break
		}
	}
	if at < 0 {
		return
	}
	ps := f.syncs[at]
	if m.Failure == nil {
		f.replaceBlock(ctx, m.BlockID, m.Locator)
	}
	settleBlock(ps, m)
	if ps.waiting == 0 {
		f.dropSync(at)
		f.finishSync(ctx, ps)
	}
}

// settleBlock records a block's outcome in a Sync that awaited it: a
// failure, or its locator in place of its id in the snapshot.
func settleBlock(ps *pendingSync, m *messages.BlockResult) {
	if m.Failure != nil {
		ps.failures = append(ps.failures, *m.Failure)
	} else {
		for i := range ps.snapshot {
			if ps.snapshot[i].Locator == m.BlockID {
				ps.snapshot[i].Locator = m.Locator
			}
		}
	}
	ps.waiting--
}

// replaceBlock names the committed block id by its locator in the segments
// and releases the block.
func (f *fileActor) replaceBlock(ctx actorContext, id, locator string) {
	pid := f.block(id)
	if !f.hasBlock(id) {
		return
	}
	f.segs.Each(func(_ int, r *segments.Range) bool {
		if r.Locator == id {
			r.Locator = locator
		}
		return true
	})
	f.deleteBlock(id)
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
	ps.forget()
	f.retireIfIdle(ctx)
	f.passivateIfIdle(ctx)
}

// forget lets go of what a finished or dropped Sync pointed to (the
// Commit's batch of results, the snapshot, the failures): the first
// pendingSync lives as long as the file actor, and must not keep its first
// Commit's memory. Its AwaitCommit is left alone: a block may still read it.
func (ps *pendingSync) forget() {
	ps.out, ps.reply, ps.snapshot, ps.failures = nil, nil, nil, nil
}

// onHashBlocks answers HashBlocks: the segments, and a HashBlock to every
// buffer block they name (the padding block is named by its known locator).
// Messages to a block arrive after every Append this actor sent it, so the
// hash covers the bytes the segments refer to.
func (f *fileActor) onHashBlocks(ctx actorContext, m *messages.HashBlocks) {
	out := m.Out
	out.Segments = f.segs.Ranges()
	seen := make(map[string]bool)
	for _, s := range out.Segments {
		if messages.IsBlockID(s.Locator) && !seen[s.Locator] {
			seen[s.Locator] = true
			out.Blocks = append(out.Blocks, messages.HashedBlock{ID: s.Locator})
		}
	}
	for i := range out.Blocks {
		hb := &out.Blocks[i]
		if hb.ID == messages.PaddingBlockID {
			hb.Locator = keep.PaddingBlockLocator
			continue
		}
		pid := f.block(hb.ID)
		if pid == nil {
			m.Reply.SetErr(errBlockMissing)
			continue
		}
		m.Reply.Add(1)
		ctx.Send(pid, &messages.HashBlock{Out: &hb.Locator, Reply: m.Reply})
	}
	m.Reply.Finish()
}

// onReplaceLocators replaces locators in the file's segments.
func (f *fileActor) onReplaceLocators(ctx actorContext, m *messages.ReplaceLocators) {
	changed := false
	f.segs.Each(func(_ int, r *segments.Range) bool {
		if loc, ok := m.Map[r.Locator]; ok {
			r.Locator, changed = loc, true
		}
		return true
	})
	if changed {
		f.committed = false
		f.coll.Changes.Add(1)
		f.coll.emit(ctx, messages.Event{Kind: messages.EventTok, Path: f.path})
	}
	m.Reply.Finish()
}
