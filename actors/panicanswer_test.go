package actors

import (
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// panicCtx is a fakeCtx whose Send panics at the nth message that panicAt
// matches, as a bug after the request was answered would.
type panicCtx struct {
	*fakeCtx
	panicAt func(msg any) bool
	nth     int
}

func (p *panicCtx) Send(pid *actor.PID, msg any) {
	if p.panicAt(msg) {
		if p.nth--; p.nth == 0 {
			panic("injected")
		}
	}
	p.fakeCtx.Send(pid, msg)
}

// A panic after a request was answered must not answer it again (Receive's
// recover fails f.answering: it must be nil then), and a multi-piece write
// that panics reports the bytes it applied.
func TestAPanicNeverFinishesAnAnsweredRequest(t *testing.T) {
	isPassivate := func(msg any) bool { _, ok := msg.(*messages.Passivate); return ok }
	isAppend := func(msg any) bool { _, ok := msg.(*messages.Append); return ok }
	isSeal := func(msg any) bool { _, ok := msg.(*messages.Seal); return ok } // the second piece seals the first block
	tests := []struct {
		name      string
		blockSize int64
		panicAt   func(msg any) bool
		nth       int
		request   func(r *messages.Reply) any
		answered  bool  // the request was answered before the panic
		n         int64 // what r.N reports
	}{
		{"close of a reader, then passivation panics", 16, isPassivate, 1,
			func(r *messages.Reply) any { return &messages.Close{Reply: r} }, true, 0},
		{"sync with nothing to upload, then passivation panics", 16, isPassivate, 1,
			func(r *messages.Reply) any { return &messages.Sync{Out: &messages.SyncResult{}, Reply: r} }, true, 0},
		{"write of 3 pieces, the second panics", 4, isSeal, 1,
			func(r *messages.Reply) any { return &messages.Write{Offset: 0, Data: []byte("0123456789"), Reply: r} }, false, 4},
		{"write of 3 pieces, the first panics", 4, isAppend, 1,
			func(r *messages.Reply) any { return &messages.Write{Offset: 0, Data: []byte("0123456789"), Reply: r} }, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, fake := newTestFile(tt.blockSize)
			r0 := openReply()
			f.coll.Self = pid("coll")
			f.committed = true
			if _, ok := tt.request(r0).(*messages.Close); ok {
				f.handles = 1 // the reader's handle
			}
			ctx := &panicCtx{fakeCtx: fake, panicAt: tt.panicAt, nth: tt.nth}
			r := messages.NewReply()
			p := func() (p any) {
				defer func() { p = recover() }()
				f.handle(ctx, tt.request(r))
				return nil
			}()
			require.Equal(t, "injected", p)
			if tt.answered {
				assert.Nil(t, f.answering, "a panic now would finish the answered request again")
				<-r.Done()
			} else {
				assert.Same(t, r, f.answering, "a panic now fails the request")
				assert.Equal(t, int32(-1), pending(r))
			}
			assert.Equal(t, tt.n, r.N)
		})
	}
}
