package actors

import (
	"io/fs"
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A write parked for memory that is withdrawn (Cancel) or whose file stops
// withdraws its AwaitMemory, and the manager keeps one waiter per file.
func TestAWithdrawnWriteLeavesNoMemoryWaiter(t *testing.T) {
	tests := []struct {
		name     string
		withdraw func(f *fileActor, ctx *fakeCtx, r *messages.Reply)
		wantErr  error
	}{
		{"cancelled", func(f *fileActor, ctx *fakeCtx, r *messages.Reply) {
			f.handle(ctx, &messages.Cancel{Reply: r, Err: fs.ErrInvalid})
		}, fs.ErrInvalid},
		{"file stopped", func(f *fileActor, ctx *fakeCtx, r *messages.Reply) {
			f.failHeld(ctx)
		}, fs.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ctx := newTestFile(16)
			f.rt.MinCapacity = 4
			f.rt.Memory = NewMemory(8, 0)
			f.onWrite(ctx, &messages.Write{Offset: 0, Data: []byte("abcd"), Reply: openReply()})
			f.rt.Memory.Reserve(4, true) // someone else takes the rest
			r := messages.NewReply()
			f.handle(ctx, &messages.Write{Offset: 4, Data: []byte("efgh"), Reply: r})
			acceptSeals(f, ctx)
			ctx.take()
			require.NotEmpty(t, f.parked, "the write waits for memory")

			tt.withdraw(f, ctx, r)
			assert.Equal(t, []sentMsg{{"manager", &messages.CancelMemory{File: pid("file")}}}, ctx.take())
			<-r.Done()
			assert.ErrorIs(t, r.Err(), tt.wantErr)
			assert.Equal(t, int64(0), r.N)
			assert.Empty(t, f.parked)
		})
	}
}

func TestTheManagerKeepsOneMemoryWaiterPerFileAndForgetsCancelledOnes(t *testing.T) {
	tests := []struct {
		name  string
		msgs  []any // AwaitMemory and CancelMemory, in order
		waits []memWaiter
		woken []sentMsg // once memory is free
	}{
		{"a retried write waits once", []any{
			&messages.AwaitMemory{File: pid("f"), Bytes: 4},
			&messages.AwaitMemory{File: pid("f"), Bytes: 6},
			&messages.AwaitMemory{File: pid("f"), Bytes: 6},
		}, []memWaiter{{pid("f"), 6}}, []sentMsg{{"f", &messages.MemoryAvailable{}}}},
		{"cancelled", []any{
			&messages.AwaitMemory{File: pid("f"), Bytes: 4},
			&messages.AwaitMemory{File: pid("g"), Bytes: 4},
			&messages.CancelMemory{File: pid("f")},
		}, []memWaiter{{pid("g"), 4}}, []sentMsg{{"g", &messages.MemoryAvailable{}}}},
		{"cancelled then waiting again", []any{
			&messages.AwaitMemory{File: pid("f"), Bytes: 4},
			&messages.CancelMemory{File: pid("f")},
			&messages.CancelMemory{File: pid("f")},
			&messages.AwaitMemory{File: pid("f"), Bytes: 2},
		}, []memWaiter{{pid("f"), 2}}, []sentMsg{{"f", &messages.MemoryAvailable{}}}},
		{"every wait cancelled", []any{
			&messages.AwaitMemory{File: pid("f"), Bytes: 4},
			&messages.CancelMemory{File: pid("f")},
			&messages.CancelMemory{File: pid("g")},
		}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := testRuntime(64)
			rt.Memory = NewMemory(10, 0)
			rt.Memory.Reserve(10, false)
			m := newManager(rt)
			m.self = pid("manager")
			ctx := &fakeCtx{}
			for _, msg := range tt.msgs {
				switch msg := msg.(type) {
				case *messages.AwaitMemory:
					m.onAwaitMemory(ctx, msg)
				case *messages.CancelMemory:
					m.onCancelMemory(msg)
				}
			}
			if m.retry != nil {
				m.retry.Stop()
			}
			assert.Empty(t, ctx.take(), "no room yet")
			assert.Equal(t, len(tt.waits), len(m.waiters))
			for i, w := range tt.waits {
				assert.Equal(t, w.file.Id, m.waiters[i].file.Id)
				assert.Equal(t, w.bytes, m.waiters[i].bytes)
			}
			rt.Memory.Unreserve(10)
			m.relieve(ctx)
			assert.Equal(t, tt.woken, ctx.take())
			assert.Empty(t, m.waiting)
		})
	}
}
