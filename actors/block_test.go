package actors

import (
	"errors"
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestBlock(blockSize int64) (*blockActor, *fakeCtx) {
	b := newBlock(testRuntime(blockSize), "B", pid("file"))
	b.self = pid("block")
	return b, &fakeCtx{}
}

func TestBlockActorAppendsGrowsAndAnswersTheWriter(t *testing.T) {
	b, ctx := newTestBlock(64)
	r := messages.NewReply()
	r.Add(2) // the facade's part and the two appends
	b.onAppend(ctx, &messages.Append{Data: []byte("abc"), Capacity: 8, Reply: r})
	assert.Equal(t, 8, cap(b.buf))
	data := []byte("defghi")
	b.onAppend(ctx, &messages.Append{Data: data, Capacity: 16, Reply: r})
	data[0] = 'X' // the caller may reuse its slice once answered
	assert.Equal(t, "abcdefghi", string(b.buf))
	assert.Equal(t, 16, cap(b.buf))
	assert.Equal(t, int32(-1), pending(r))
	r.Finish()
	assert.Equal(t, int32(0), pending(r))
	assert.Equal(t, []sentMsg{
		{"manager", &messages.BlockStatus{ID: "B", PID: pid("block"), Owner: pid("file"), State: messages.Writable, Capacity: 8}},
		{"manager", &messages.BlockStatus{ID: "B", PID: pid("block"), Owner: pid("file"), State: messages.Writable, Capacity: 16}},
	}, ctx.take())
}

func TestBlockActorRepacksInFileOrder(t *testing.T) {
	tests := []struct {
		name    string
		extents []messages.Extent
		want    string
	}{
		{"in place when extents only move down", []messages.Extent{{Offset: 2, Size: 3}, {Offset: 7, Size: 2}}, "cdehi"},
		{"through a new buffer otherwise", []messages.Extent{{Offset: 6, Size: 2}, {Offset: 0, Size: 3}, {Offset: 9, Size: 1}}, "ghabcj"},
		{"to nothing", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ctx := newTestBlock(64)
			b.onAppend(ctx, &messages.Append{Data: []byte("abcdefghij"), Capacity: 16, Reply: openReply()})
			b.onRepack(ctx, &messages.Repack{Extents: tt.extents})
			assert.Equal(t, tt.want, string(b.buf))
		})
	}
}

func TestBlockActorLifecycle(t *testing.T) {
	b, ctx := newTestBlock(64)
	b.onAppend(ctx, &messages.Append{Data: []byte("hello"), Capacity: 8, Reply: openReply()})
	ctx.take()

	b.onSeal(ctx, &messages.Seal{Notify: pid("file")})
	sent := ctx.take()
	require.Len(t, sent, 2)
	assert.Equal(t, messages.Pending, sent[0].msg.(*messages.BlockStatus).State)
	assert.Equal(t, sentMsg{"puts", &messages.Submit{BlockID: "B", Block: pid("block"), Data: b.buf, Notify: pid("file")}}, sent[1])

	read := openReply()
	dst := make([]byte, 3)
	var fetch messages.Fetch
	b.onReadBlock(&messages.ReadBlock{Offset: 1, Dst: dst, Fetch: &fetch, Reply: read})
	assert.Equal(t, "ell", string(dst), "a PENDING block still serves reads")

	b.onAwaitCommit(ctx, &messages.AwaitCommit{ReplyTo: pid("file"), Token: 7})
	down := errors.New("down")
	b.onUploaded(ctx, &messages.Uploaded{Err: down})
	failure := &messages.BlockFailure{BlockID: "B", Locator: "5d41402abc4b2a76b9719d911017c592+5", Err: down}
	assert.Equal(t, []sentMsg{
		{"file", &messages.BlockResult{BlockID: "B", Token: 7, Failure: failure}},
		{"manager", &messages.BlockStatus{ID: "B", PID: pid("block"), Owner: pid("file"), State: messages.Error, Capacity: 8}},
	}, ctx.take())
	assert.Equal(t, "hello", string(b.buf), "ERROR keeps the bytes")

	b.onAwaitCommit(ctx, &messages.AwaitCommit{ReplyTo: pid("file"), Token: 8})
	sent = ctx.take()
	require.Len(t, sent, 2, "an awaited ERROR block is retried")
	assert.Equal(t, messages.Pending, sent[0].msg.(*messages.BlockStatus).State)
	assert.Equal(t, "puts", sent[1].to)

	b.onUploaded(ctx, &messages.Uploaded{Locator: "5d41402abc4b2a76b9719d911017c592+5"})
	assert.Nil(t, b.buf, "COMMITTED frees the bytes")
	assert.Equal(t, []sentMsg{
		{"file", &messages.BlockResult{BlockID: "B", Token: 8, Locator: "5d41402abc4b2a76b9719d911017c592+5"}},
		{"manager", &messages.BlockStatus{ID: "B", PID: pid("block"), Owner: pid("file"), State: messages.Committed}},
	}, ctx.take())
	b.onReadBlock(&messages.ReadBlock{Offset: 1, Dst: dst, Fetch: &fetch, Reply: read})
	assert.Equal(t, messages.Fetch{Locator: "5d41402abc4b2a76b9719d911017c592+5", BlockOffset: 1, Dst: dst}, fetch)

	b.onRelease(ctx)
	assert.Equal(t, messages.Deleted, b.sm.state)
	assert.Equal(t, []*actor.PID{pid("block")}, ctx.stopped)
}

func TestBlockActorRefusesAppendsOnceSealed(t *testing.T) {
	b, ctx := newTestBlock(64)
	b.onSeal(ctx, &messages.Seal{})
	r := messages.NewReply()
	b.onAppend(ctx, &messages.Append{Data: []byte("x"), Reply: r})
	<-r.Done()
	assert.EqualError(t, r.Err(), "arvfile: append to PENDING block B")
}

func TestPackedBlockSealsOnceEveryPieceArrived(t *testing.T) {
	rt := testRuntime(64)
	p := newPackedBlock(rt, "P", 0)
	p.self = pid("packed")
	ctx := &fakeCtx{}
	p.onPackData(ctx, &messages.PackData{FromID: "X2", From: pid("x2"), File: pid("f2"), Offset: 3, Data: []byte("defg")})
	p.onPackSeal(ctx, &messages.PackSeal{Pieces: 2})
	assert.Equal(t, "x2", ctx.take()[1].to, "the small block may go once copied")
	p.onPackData(ctx, &messages.PackData{FromID: "X1", From: pid("x1"), File: pid("f1"), Offset: 0, Data: []byte("abc")})
	assert.Equal(t, "abcdefg", string(p.buf))
	sent := ctx.take()
	require.Len(t, sent, 5)
	assert.Equal(t, []sentMsg{
		{"x1", &messages.PackDone{}},
		{"f1", &messages.PackCopied{OldID: "X1", NewID: "P", NewPID: pid("packed"), Offset: 0}},
		{"f2", &messages.PackCopied{OldID: "X2", NewID: "P", NewPID: pid("packed"), Offset: 3}},
	}, sent[:3])
	assert.Equal(t, "puts", sent[4].to, "sealed and submitted")
	assert.Equal(t, 2, p.owners)
}

func TestPackedBlockClosesTheGapsOfRefusedSlots(t *testing.T) {
	rt := testRuntime(64)
	p := newPackedBlock(rt, "P", 16)
	p.self = pid("packed")
	ctx := &fakeCtx{}
	p.onStarted(ctx, pid("packed"))
	assert.Equal(t, 16, cap(p.buf), "allocated at the laid-out size")
	// Slots: f1 [0,3), a refused one [3,7), f2 [7,9) of which it used 1, f3 [9,12).
	p.onPackData(ctx, &messages.PackData{FromID: "X3", From: pid("x3"), File: pid("f3"), Offset: 9, Data: []byte("xyz")})
	p.onPackData(ctx, &messages.PackData{FromID: "X1", From: pid("x1"), File: pid("f1"), Offset: 0, Data: []byte("abc")})
	p.onPackData(ctx, &messages.PackData{FromID: "X2", From: pid("x2"), File: pid("f2"), Offset: 7, Data: []byte("q")})
	ctx.take()
	p.onPackSeal(ctx, &messages.PackSeal{Pieces: 3})
	assert.Equal(t, "abcqxyz", string(p.buf))
	sent := ctx.take()
	require.GreaterOrEqual(t, len(sent), 3)
	assert.Equal(t, []sentMsg{
		{"f1", &messages.PackCopied{OldID: "X1", NewID: "P", NewPID: pid("packed"), Offset: 0}},
		{"f2", &messages.PackCopied{OldID: "X2", NewID: "P", NewPID: pid("packed"), Offset: 3}},
		{"f3", &messages.PackCopied{OldID: "X3", NewID: "P", NewPID: pid("packed"), Offset: 4}},
	}, sent[:3])
	assert.Equal(t, messages.Pending, p.sm.state)
}

func TestRepackInPlaceOrdersExtentsWithoutASecondBuffer(t *testing.T) {
	tests := []struct {
		name    string
		buf     string
		extents []messages.Extent
		want    string
	}{
		{"reversed", "aaabbcccc", []messages.Extent{{Offset: 5, Size: 4}, {Offset: 3, Size: 2}, {Offset: 0, Size: 3}}, "ccccbbaaa"},
		{"an overwrite appended at the end", "0123xx6789AB", []messages.Extent{{Offset: 0, Size: 4}, {Offset: 10, Size: 2}, {Offset: 6, Size: 4}}, "0123AB6789"},
		{"gaps and a swap", "..ab..cdef.", []messages.Extent{{Offset: 6, Size: 4}, {Offset: 2, Size: 2}}, "cdefab"},
		{"in order", "abcdef", []messages.Extent{{Offset: 0, Size: 2}, {Offset: 2, Size: 4}}, "abcdef"},
		{"one byte each, shuffled", "abcde", []messages.Extent{{Offset: 3, Size: 1}, {Offset: 0, Size: 1}, {Offset: 4, Size: 1}, {Offset: 2, Size: 1}, {Offset: 1, Size: 1}}, "daecb"},
		{"nothing", "abc", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := []byte(tt.buf)
			got := repackInPlace(buf, tt.extents)
			assert.Equal(t, tt.want, string(got))
			if len(got) > 0 {
				assert.Same(t, &buf[0], &got[0], "in place")
			}
		})
	}
}

func TestBlockActorRepacksWithinTheBudget(t *testing.T) {
	tests := []struct {
		name    string
		budget  int64 // the block's 16 bytes are reserved in it
		extents []messages.Extent
		want    string
	}{
		{"in the buffer's spare room", 16, []messages.Extent{{Offset: 12, Size: 2}, {Offset: 0, Size: 1}}, "mna"},
		{"through a second buffer the budget has room for", 32, []messages.Extent{{Offset: 10, Size: 4}, {Offset: 0, Size: 5}}, "klmnabcde"},
		{"in place when the budget is full", 16, []messages.Extent{{Offset: 10, Size: 4}, {Offset: 0, Size: 5}}, "klmnabcde"},
		{"in place, many extents", 16, []messages.Extent{{Offset: 13, Size: 1}, {Offset: 1, Size: 3}, {Offset: 9, Size: 3}, {Offset: 0, Size: 1}}, "nbcdjkla"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ctx := newTestBlock(64)
			b.rt.Memory = NewMemory(tt.budget, 0)
			require.True(t, b.rt.Memory.Reserve(16, false))
			b.onAppend(ctx, &messages.Append{Data: []byte("abcdefghijklmn"), Capacity: 16, Reply: openReply()})
			b.onRepack(ctx, &messages.Repack{Extents: tt.extents})
			assert.Equal(t, tt.want, string(b.buf))
			assert.LessOrEqual(t, b.rt.Memory.Peak(), tt.budget)
			assert.Equal(t, int64(cap(b.buf)), b.rt.Memory.Used())
		})
	}
}
