package actors

import (
	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
)

// A FileActor's part of the namespace: cloning its file for a copy, adopting
// a duplicated block as a copy, and learning a new path after a rename.

// onNamespace hands each namespace message to its method.
func (f *fileActor) onNamespace(ctx actorContext, msg any) {
	switch m := msg.(type) {
	case *messages.CloneFile:
		f.onCloneFile(ctx, m)
	case *messages.AdoptBlock:
		f.onAdoptBlock(ctx, m)
	case *messages.Reparent:
		f.onReparent(m)
	case *messages.HashBlocks:
		f.onHashBlocks(ctx, m)
	case *messages.ReplaceLocators:
		f.onReplaceLocators(ctx, m)
	}
}

// onCloneFile copies the file for a CopyOut: the segments, every buffer
// block they name but the current one (retained: the copy shares them), and
// a duplicate of the current WRITABLE block, repacked first, whose bytes the
// block copies into a buffer reserved against the memory budget. When the
// budget has no room for that buffer, the current block is sealed instead
// and shared like the others: a copy never takes the engine over its budget.
//
// A shared block that this actor made (its child) is handed over to the
// runtime's sharedBlocks: it then lives as long as a file names it, not as
// long as this actor, which may stop first (its collection closed, the file
// removed, passivated) and releases it then like any block it names.
func (f *fileActor) onCloneFile(ctx actorContext, m *messages.CloneFile) {
	var reserved int64
	f.sealOthers(ctx) // the copy shares the blocks of runs in file order, sealed
	if f.cur != nil {
		f.repackCurrent(ctx)
		c := capacityClass(f.cur.wp, 0, f.rt.MinCapacity, f.rt.BlockSize)
		if f.rt.Memory.Reserve(c, false) {
			reserved = c
		} else {
			f.sealCurrent(ctx, false)
		}
	}
	out := m.Out
	out.Segments = f.segs.Ranges()
	dup := false
	for _, s := range out.Segments {
		id := s.Locator
		if !messages.IsBlockID(id) || out.Blocks[id] != nil {
			continue
		}
		if f.cur != nil && id == f.cur.id {
			dup = true
			continue
		}
		pid := f.block(id)
		if pid == nil {
			m.Reply.SetErr(errBlockMissing)
			continue
		}
		if out.Blocks == nil {
			out.Blocks = make(map[string]*actor.PID)
		}
		if id != messages.PaddingBlockID {
			ctx.Send(pid, &messages.Retain{})
			share(ctx, f.rt, pid)
		}
		out.Blocks[id] = pid
	}
	if !dup && reserved > 0 { // no segment names the current block (truncated away): nothing to duplicate
		f.rt.Memory.Unreserve(reserved)
	}
	if dup {
		n := f.cur.wp
		buf := f.rt.Memory.Alloc(reserved)[:n]
		out.Dup = &messages.DupBlock{ID: f.cur.id, Data: buf}
		m.Reply.Add(1)
		ctx.Send(f.cur.pid, &messages.ReadBlock{Offset: 0, Dst: buf, Fetch: new(messages.Fetch), Reply: m.Reply})
	}
	m.Reply.Finish()
}

// onAdoptBlock makes a duplicated block this (copied) file's current block.
func (f *fileActor) onAdoptBlock(ctx actorContext, m *messages.AdoptBlock) {
	b := newBlock(f.rt, m.ID, f.self)
	b.buf = m.Data
	pid := spawnCell(ctx, b, f.strand)
	f.setBlock(m.ID, pid)
	f.curBlock = currentBlock{id: m.ID, pid: pid, wp: int64(len(m.Data)), cap: int64(cap(m.Data))}
	f.cur = &f.curBlock
	f.segs.Each(func(_ int, r *segments.Range) bool { // its bytes are in file order: a write after them continues it
		if r.Locator == m.ID {
			f.cur.next = max(f.cur.next, r.RangeStart+r.RangeSize)
		}
		return true
	})
}

// dropCopy settles a CloneFile or an AdoptBlock the actor will never handle
// (it stops, or stopped): the clone is answered with errReleased — the
// copy out then gives back what other files' clones retained — and the
// duplicated bytes a copied file was to adopt go back to the budget.
func (f *fileActor) dropCopy(_ actorContext, msg any) {
	switch m := msg.(type) {
	case *messages.CloneFile:
		m.Reply.Fail(errReleased)
	case *messages.AdoptBlock:
		f.rt.Memory.Free(m.Data)
	}
}

// onReparent records the file's new path and collection.
func (f *fileActor) onReparent(m *messages.Reparent) {
	f.path = m.Path
	if coll, ok := m.Collection.(*CollectionRuntime); ok && coll != nil {
		f.coll = coll
	}
}
