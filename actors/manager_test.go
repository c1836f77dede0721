package actors

import (
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestManagerSealsTheLargestWritableBlockWhenWritersWaitForMemory(t *testing.T) {
	rt := testRuntime(64)
	rt.Memory = NewMemory(100, 0)
	m := newManager(rt)
	ctx := &fakeCtx{}
	status := func(id, owner string, state messages.BlockState, c int64) {
		m.onBlockStatus(ctx, &messages.BlockStatus{ID: id, PID: pid(id), Owner: pid(owner), State: state, Capacity: c})
	}
	status("small", "f1", messages.Writable, 32)
	status("large", "f2", messages.Writable, 64)
	status("sealed", "f3", messages.Pending, 64)
	rt.Memory.Reserve(160, true)

	w1, w2 := messages.NewReply(), messages.NewReply()
	m.onParkWriter(ctx, &messages.ParkWriter{Reply: w1})
	assert.Empty(t, ctx.take(), "an upload is pending: it will free memory")
	status("sealed", "f3", messages.Committed, 0)
	rt.Memory.Unreserve(64)
	assert.Equal(t, []sentMsg{{"f2", &messages.SealBlock{BlockID: "large"}}}, ctx.take())
	m.onParkWriter(ctx, &messages.ParkWriter{Reply: w2})
	assert.Empty(t, ctx.take(), "the largest is asked once; its seal is on its way")
	status("large", "f2", messages.Pending, 64)
	status("large", "f2", messages.Committed, 0)
	rt.Memory.Unreserve(64)
	assert.Equal(t, int32(0), pending(w1))
	assert.Equal(t, int32(0), pending(w2))
}

func TestManagerLetsWritersGoWhenNothingCanFreeMemory(t *testing.T) {
	rt := testRuntime(64)
	rt.Memory = NewMemory(10, 0)
	rt.Memory.Reserve(20, true)
	m := newManager(rt)
	ctx := &fakeCtx{}
	m.onBlockStatus(ctx, &messages.BlockStatus{ID: "e", PID: pid("e"), State: messages.Error, Capacity: 20})
	w := messages.NewReply()
	m.onParkWriter(ctx, &messages.ParkWriter{Reply: w})
	assert.Equal(t, int32(0), pending(w))
}

func TestManagerPacksCandidatesInOrderWhileTheyFit(t *testing.T) {
	m := newManager(testRuntime(16))
	m.self = pid("manager")
	ctx := &fakeCtx{}
	for i, size := range []int64{4, 7, 3, 2} {
		f := string(rune('a' + i))
		m.onCandidate(ctx, &messages.Candidate{Collection: "c", File: pid(f), BlockID: "X" + f, Size: size})
	}
	sent := ctx.take()
	require.Len(t, sent, 1, "16 bytes of candidates fill a 16-byte block: a round starts")
	offer := sent[0].msg.(*messages.PackOffer)
	assert.Equal(t, sentMsg{"a", &messages.PackOffer{Round: 1, BlockID: "Xa", Target: pid("spawned1"), TargetID: offer.TargetID, Offset: 0, Room: 16, ReplyTo: pid("manager")}}, sent[0])
	m.onPackAnswer(ctx, &messages.PackAnswer{Round: 1, File: pid("a"), Accepted: true, Size: 4})
	sent = ctx.take()
	require.Len(t, sent, 1)
	assert.Equal(t, "b", sent[0].to)
	assert.Equal(t, int64(4), sent[0].msg.(*messages.PackOffer).Offset)
	m.onPackAnswer(ctx, &messages.PackAnswer{Round: 1, File: pid("b"), Keep: true, Size: 13}) // b grew: no room
	sent = ctx.take()
	require.Len(t, sent, 1)
	assert.Equal(t, "c", sent[0].to)
	assert.Equal(t, int64(4), sent[0].msg.(*messages.PackOffer).Offset)
	m.onPackAnswer(ctx, &messages.PackAnswer{Round: 1, File: pid("c"), Accepted: true, Size: 3})
	sent = ctx.take()
	require.Len(t, sent, 1)
	assert.Equal(t, "d", sent[0].to)
	assert.Equal(t, int64(7), sent[0].msg.(*messages.PackOffer).Offset)
	m.onPackAnswer(ctx, &messages.PackAnswer{Round: 1, File: pid("d")}) // reopened meanwhile
	assert.Equal(t, []sentMsg{{"spawned1", &messages.PackSeal{Pieces: 2}}}, ctx.take())
	assert.Equal(t, int64(13), m.candidates["c"].total, "b stays a candidate")

	done := messages.NewReply()
	m.onPackAll(ctx, &messages.PackAll{Collection: "c", Reply: done})
	assert.Equal(t, int32(0), pending(done), "one candidate alone is not packed")
	assert.Empty(t, ctx.take())
}
