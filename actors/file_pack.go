package actors

import (
	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
)

// The file actor's part in small-block packing: answering the packer's
// offer and adopting the packed copy.

func (f *fileActor) onPackOffer(ctx actorContext, m *messages.PackOffer) {
	ans := &m.Answer // the offer has room for the answer, and for the PackCopy
	*ans = messages.PackAnswer{Round: m.Round, File: f.self}
	f.candidate = false
	if f.writers > 0 || f.cur == nil || f.cur.id != m.BlockID || f.openCount() > 1 || f.unlinked {
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
	m.Copy = messages.PackCopy{Target: m.Target, Offset: m.Offset, File: f.self, Buffer: m.Buffer}
	ctx.Send(f.cur.pid, &m.Copy)
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
	f.deleteBlock(m.OldID)
	f.setBlock(m.NewID, m.NewPID)
	if f.noticeFrom == "" { // else the earlier packed block's notice is still due: this one's is ignored, Syncs ask it
		f.noticeFrom = m.NewID
	}
	f.packing = false
	f.replay(ctx)
}

// onPackedNotice settles what waited for the packed block's outcome, told
// unasked (see messages.PackCopied): the Syncs that counted on it, and
// the segments, which name the locator from now on. A failed upload is
// reported to those Syncs; a later Sync asks the block again
// (AwaitCommit), which retries it. A notice from a packed block the file
// did not count on (a second one packed before the first's notice came,
// or one it no longer names) changes nothing.
func (f *fileActor) onPackedNotice(ctx actorContext, m *messages.BlockResult) {
	if m.BlockID != f.noticeFrom {
		return
	}
	f.noticeFrom = ""
	if m.Failure == nil {
		f.replaceBlock(ctx, m.BlockID, m.Locator)
	}
	for i := 0; i < len(f.syncs); {
		ps := f.syncs[i]
		if !ps.notice {
			i++
			continue
		}
		ps.notice = false
		settleBlock(ps, m)
		if ps.waiting > 0 {
			i++
			continue
		}
		f.dropSync(i)
		f.finishSync(ctx, ps)
	}
}

// expectedLate reports whether msg, which reached the actor after it
// stopped, is one that may come then in the normal course of things
// (lateReceiver): the notice of a packed block whose upload ended after the
// file was removed or its collection released; the answer of a block a
// copy shares (it outlives the file: shared_blocks.go) to a Sync the file
// failed as it stopped; or where a packed block put its bytes (its
// collection released during the round).
func (f *fileActor) expectedLate(msg any) bool {
	switch msg.(type) {
	case *messages.BlockResult:
		return true
	case *messages.PackCopied: // released by dropped
		return true
	}
	return false
}
