package actors

import (
	"sort"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
)

// The file actor's sync and commit path: sealing, awaiting every block the
// segments name, hashing for portable locators, and locator replacement.

// startSync seals the current block and awaits every buffer block the
// segments name; finishSync answers.
func (f *fileActor) startSync(ctx actorContext, out *messages.SyncResult, r *messages.Reply) {
	if f.cur != nil {
		f.sealCurrent(ctx, false)
	}
	token := f.nextToken
	ps := &pendingSync{token: token, out: out, reply: r, snapshot: f.segs.Ranges(), changes: f.changes}
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
	f.syncs = append(f.syncs, ps)
}

// dropSync removes the i-th pending Sync, keeping the others in order.
func (f *fileActor) dropSync(i int) {
	copy(f.syncs[i:], f.syncs[i+1:])
	f.syncs[len(f.syncs)-1] = nil
	f.syncs = f.syncs[:len(f.syncs)-1]
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
		f.dropSync(at)
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
		pid := f.blocks[hb.ID]
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
