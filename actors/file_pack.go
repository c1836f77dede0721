package actors

import (
	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
)

// The file actor's part in small-block packing: answering the packer's
// offer and adopting the packed copy.

func (f *fileActor) onPackOffer(ctx actorContext, m *messages.PackOffer) {
	ans := messages.PackAnswer{Round: m.Round, File: f.self}
	f.candidate = false
	if f.writers > 0 || f.cur == nil || f.cur.id != m.BlockID || f.unlinked {
		sendAnswer(ctx, m.ReplyTo, ans)
		f.retireIfIdle(ctx)
		f.passivateIfIdle(ctx)
		return
	}
	f.repackCurrent(ctx)
	ans.Size = f.cur.wp
	if f.cur.wp > m.Room {
		ans.Keep = true
		sendAnswer(ctx, m.ReplyTo, ans)
		return
	}
	// The PackCopy and the answer, in one allocation.
	acc := &struct {
		cp  messages.PackCopy
		ans messages.PackAnswer
	}{cp: messages.PackCopy{Target: m.Target, Offset: m.Offset, File: f.self, Buffer: m.Buffer}, ans: ans}
	ctx.Send(f.cur.pid, &acc.cp)
	f.packing = true
	f.cur = nil
	acc.ans.Accepted = true
	ctx.Send(m.ReplyTo, &acc.ans)
}

// sendAnswer sends a refusal (the heap copy of ans is made here, so that an
// acceptance's answer comes with its PackCopy).
func sendAnswer(ctx actorContext, to *actor.PID, ans messages.PackAnswer) {
	ctx.Send(to, &ans)
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
