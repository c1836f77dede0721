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
	f.packing = false
	f.replay(ctx)
}
