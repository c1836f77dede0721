package actors

import (
	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
)

// Portable locators without uploads, and locator replacement.

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

// onHashBlock answers the block's locator, hashing its bytes when it has no
// locator yet.
func (b *blockActor) onHashBlock(m *messages.HashBlock) {
	switch {
	case b.sm.state == messages.Committed:
		*m.Out = b.locator
	case b.sm.state == messages.Deleted:
		m.Reply.SetErr(errBlockDeleted)
	case b.padding && b.buf == nil:
		*m.Out = keep.PaddingBlockLocator
	default:
		*m.Out = md5Locator(b.buf)
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

// onReplaceLocators replaces locators in the files never opened (their
// segments are copied first: copies may share them) and forwards the
// request to every open file.
func (c *collectionActor) onReplaceLocators(ctx actorContext, m *messages.ReplaceLocators) {
	// prefix is the path of the directory visited, built in place (as in
	// onSnapshot): only the changed files' paths are allocated.
	var prefix []byte
	var visit func(d *dirNode)
	visit = func(d *dirNode) {
		for name, fn := range d.files {
			if fn.pid != nil {
				m.Reply.Add(1)
				c.sendFile(ctx, fn, m)
				continue
			}
			if segs, ok := replaced(fn.segs, m.Map); ok {
				fn.segs = segs
				c.coll.Changes.Add(1)
				c.emit(ctx, messages.EventTok, joined(prefix, name))
			}
		}
		for name, sub := range d.dirs {
			mark := len(prefix)
			prefix = append(append(prefix, name...), '/')
			visit(sub)
			prefix = prefix[:mark]
		}
	}
	visit(c.root)
	m.Reply.Finish()
}

// replaced returns a copy of segs with the locators of m replaced, or false
// when none is.
func replaced(segs []segments.Range, m map[string]string) ([]segments.Range, bool) {
	var out []segments.Range
	for i, s := range segs {
		loc, ok := m[s.Locator]
		if !ok {
			continue
		}
		if out == nil {
			out = append([]segments.Range(nil), segs...)
		}
		out[i].Locator = loc
	}
	return out, out != nil
}
