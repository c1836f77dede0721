package actors

import (
	"testing"
	"time"

	"github.com/arvfile/arvfile/messages"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestManagerSealsTheLargestWritableBlockWhileFilesWaitForMemory(t *testing.T) {
	rt := testRuntime(64)
	rt.Memory = NewMemory(100, 0)
	rt.PutWorkers = 1
	m := newManager(rt)
	ctx := &fakeCtx{}
	status := func(id, owner string, state messages.BlockState, c int64) {
		m.onBlockStatus(ctx, &messages.BlockStatus{ID: id, PID: pid(id), Owner: pid(owner), State: state, Capacity: c})
	}
	status("small", "f1", messages.Writable, 16)
	status("large", "f2", messages.Writable, 32)
	status("sealed", "f3", messages.Pending, 32)
	rt.Memory.Reserve(80, true)

	m.onAwaitMemory(ctx, &messages.AwaitMemory{File: pid("w1"), Bytes: 16})
	m.onAwaitMemory(ctx, &messages.AwaitMemory{File: pid("w2"), Bytes: 48})
	assert.Equal(t, []sentMsg{{"w1", &messages.MemoryAvailable{}}}, ctx.take(), "16 bytes fit; an upload is pending for the rest")
	rt.Memory.Reserve(16, true) // w1 took its memory
	rt.Memory.Unreserve(32)     // the upload freed its buffer
	status("sealed", "f3", messages.Committed, 0)
	assert.Equal(t, []sentMsg{{"f2", &messages.SealBlock{BlockID: "large"}}}, ctx.take(), "64+48 > 100: seal the largest")
	m.onAwaitMemory(ctx, &messages.AwaitMemory{File: pid("w3"), Bytes: 8})
	assert.Empty(t, ctx.take(), "w3 waits behind w2; the largest is already being sealed")
	status("large", "f2", messages.Pending, 32)
	rt.Memory.Unreserve(32)
	status("large", "f2", messages.Committed, 0)
	assert.Equal(t, []sentMsg{{"w2", &messages.MemoryAvailable{}}, {"w3", &messages.MemoryAvailable{}}}, ctx.take())
}

func TestManagerKeepsFilesWaitingWhenNothingCanFreeMemoryYet(t *testing.T) {
	rt := testRuntime(64)
	rt.Memory = NewMemory(10, 0)
	rt.Memory.Reserve(10, false)
	m := newManager(rt)
	m.self = pid("manager")
	ctx := &fakeCtx{}
	m.onBlockStatus(ctx, &messages.BlockStatus{ID: "w", PID: pid("w"), State: messages.Writable, Capacity: 10})
	m.onAwaitMemory(ctx, &messages.AwaitMemory{File: pid("f"), Bytes: 4})
	assert.Empty(t, ctx.take(), "an ownerless block cannot be sealed: the file waits, within the budget")
	require.NotNil(t, m.retry, "and the manager looks again later")
	m.retry.Stop()
	m.onRetryErrors(ctx)
	assert.Empty(t, ctx.take(), "still no room")
	m.retry.Stop()
	rt.Memory.Unreserve(10)
	m.onBlockStatus(ctx, &messages.BlockStatus{ID: "w", PID: pid("w"), State: messages.Committed})
	assert.Equal(t, []sentMsg{{"f", &messages.MemoryAvailable{}}}, ctx.take(), "the block let its memory go")
	assert.LessOrEqual(t, rt.Memory.Peak(), int64(10))
}

func TestManagerRetriesBlocksInErrorInsteadOfExceedingTheBudget(t *testing.T) {
	rt := testRuntime(64)
	rt.Memory = NewMemory(10, 0)
	rt.Memory.Reserve(8, true)
	m := newManager(rt)
	m.self = pid("manager")
	ctx := &fakeCtx{}
	m.onBlockStatus(ctx, &messages.BlockStatus{ID: "e", PID: pid("e"), State: messages.Error, Capacity: 8})
	m.onAwaitMemory(ctx, &messages.AwaitMemory{File: pid("w"), Bytes: 4})
	assert.Empty(t, ctx.take(), "the writer waits")
	require.NotNil(t, m.retry, "a retry is due")
	m.retry.Stop()
	m.onRetryErrors(ctx)
	assert.Equal(t, []sentMsg{{"e", &messages.AwaitCommit{ReplyTo: pid("manager")}}}, ctx.take())
	m.onBlockStatus(ctx, &messages.BlockStatus{ID: "e", PID: pid("e"), State: messages.Pending, Capacity: 8})
	assert.Empty(t, ctx.take())
	rt.Memory.Unreserve(8)
	m.onBlockStatus(ctx, &messages.BlockStatus{ID: "e", PID: pid("e"), State: messages.Committed})
	assert.Equal(t, []sentMsg{{"w", &messages.MemoryAvailable{}}}, ctx.take())
	assert.Equal(t, time.Duration(0), m.retryDelay, "a success resets the backoff")
}

func TestManagerOffersEverySlotOfARoundAtOnce(t *testing.T) {
	m := newManager(testRuntime(16))
	m.self = pid("manager")
	ctx := &fakeCtx{}
	for i, size := range []int64{4, 7, 2, 1, 6} {
		f := string(rune('a' + i))
		m.onBlockStatus(ctx, &messages.BlockStatus{ID: "X" + f, PID: pid("block" + f), Owner: pid(f), State: messages.Writable, Capacity: size})
		m.onCandidate(ctx, &messages.Candidate{Collection: "c", File: pid(f), BlockID: "X" + f, Size: size})
	}
	sent := ctx.take()
	require.Len(t, sent, 4, "20 bytes of candidates: a round starts; e (6) does not fit after the others")
	target := sent[0].msg.(*messages.PackOffer).TargetID
	pack := sent[0].msg.(*messages.PackOffer).Buffer
	assert.Equal(t, 16, cap(pack), "the packed block's buffer, allocated at the laid-out size")
	offer := func(f string, offset, room int64) sentMsg {
		return sentMsg{f, &messages.PackOffer{Round: 1, BlockID: "X" + f, Target: pid("spawned1"), TargetID: target,
			Offset: offset, Room: room, ReplyTo: pid("manager"), Buffer: pack}}
	}
	assert.Equal(t, []sentMsg{offer("a", 0, 4), offer("b", 4, 7), offer("c", 11, 2), offer("d", 13, 1)}, sent,
		"first fit in candidate order, each at the sum of the sizes before it")
	assert.Equal(t, int64(16), m.rt.Memory.Used(), "the packed block's buffer is reserved at once")

	m.onPackAnswer(ctx, &messages.PackAnswer{Round: 1, File: pid("d"), Keep: true, Size: 5}) // d grew past its slot
	m.onPackAnswer(ctx, &messages.PackAnswer{Round: 1, File: pid("b")})                      // reopened meanwhile
	m.onPackAnswer(ctx, &messages.PackAnswer{Round: 1, File: pid("c"), Accepted: true, Size: 2})
	assert.Empty(t, ctx.take(), "a has not answered yet")
	m.onPackAnswer(ctx, &messages.PackAnswer{Round: 1, File: pid("a"), Accepted: true, Size: 4})
	assert.Equal(t, []sentMsg{{"spawned1", &messages.PackSeal{Pieces: 2}}}, ctx.take(), "11 bytes left: no new round")
	assert.Equal(t, int64(5+6), m.candidates["c"].total, "d and e stay candidates")
	var registered []string
	for id := range m.blocks {
		registered = append(registered, id)
	}
	assert.ElementsMatch(t, []string{"Xb", "Xd", "Xe"}, registered,
		"the blocks of the files that accepted (a, c) are forgotten at once: they stop unreported once copied")

	// The refused offers (b, d) gave the buffer back; once a's and c's blocks
	// copied theirs in and gave it back too, nobody holds it.
	m.rt.Memory.Retire(pack)
	assert.Equal(t, 1, m.rt.Memory.Retired(), "a and c have not copied yet")
	m.rt.Memory.GiveBack(pack)
	m.rt.Memory.GiveBack(pack)
	assert.Equal(t, 0, m.rt.Memory.Retired(), "freed once the last piece was copied")
}

func TestManagerPacksNothingForOneCandidate(t *testing.T) {
	m := newManager(testRuntime(16))
	ctx := &fakeCtx{}
	m.onCandidate(ctx, &messages.Candidate{Collection: "c", File: pid("a"), BlockID: "Xa", Size: 4})
	done := messages.NewReply()
	m.onPackAll(ctx, &messages.PackAll{Collection: "c", Reply: done})
	assert.Equal(t, int32(0), pending(done), "one candidate alone is not packed")
	assert.Empty(t, ctx.take())
}

func TestManagerWaitsForBlocksThatFillUpBeforeSealingOneEarly(t *testing.T) {
	tests := []struct {
		name string
		full time.Duration // since the block reached a whole block's capacity
		want []sentMsg
	}{
		{"a block that just reached a whole block's capacity is left to fill", 0, nil},
		{"one full for a while: its writer may have stopped, seal the largest", -time.Second,
			[]sentMsg{{"f1", &messages.SealBlock{BlockID: "full"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := testRuntime(64)
			rt.Memory = NewMemory(100, 0)
			rt.PutWorkers = 1
			m := newManager(rt)
			m.self = pid("manager")
			ctx := &fakeCtx{}
			m.onBlockStatus(ctx, &messages.BlockStatus{ID: "full", PID: pid("full"), Owner: pid("f1"), State: messages.Writable, Capacity: 64})
			m.onBlockStatus(ctx, &messages.BlockStatus{ID: "half", PID: pid("half"), Owner: pid("f2"), State: messages.Writable, Capacity: 32})
			m.blocks["full"].full = time.Now().Add(tt.full)
			rt.Memory.Reserve(96, true)
			m.onAwaitMemory(ctx, &messages.AwaitMemory{File: pid("f2"), Bytes: 64})
			assert.Equal(t, tt.want, ctx.take())
			if tt.want != nil {
				return
			}
			require.NotNil(t, m.patience, "the manager looks again when the block's patience ends")
			m.patience.Stop()
			// Other blocks come and go meanwhile: that is not this one filling.
			for i := 0; i < 3; i++ {
				m.onBlockStatus(ctx, &messages.BlockStatus{ID: "other", PID: pid("other"), State: messages.Writable, Capacity: 8})
				m.onBlockStatus(ctx, &messages.BlockStatus{ID: "other", PID: pid("other"), State: messages.Deleted})
			}
			assert.Empty(t, ctx.take())
			m.blocks["full"].full = time.Now().Add(-sealPatience)
			m.onRelieveAgain(ctx)
			assert.Equal(t, []sentMsg{{"f1", &messages.SealBlock{BlockID: "full"}}}, ctx.take(),
				"still not full once its patience ended: sealed after all, so that no writer waits forever")
		})
	}
}

// A file that moved to another collection while a packing round of its
// old one was ended (ForgetCollection) answers the offer late; if it
// accepts, its block copies itself and stops without a report, so the
// manager forgets it then, as in a live round. Otherwise the stopped
// block stays registered: the manager may ask its file to seal it and
// count it as sealing for ever, and seal no real block again.
func TestManagerForgetsABlockAcceptedForARoundThatEnded(t *testing.T) {
	m, ctx := roundOfTwo(t, 1)
	m.onForgetCollection(ctx, &messages.ForgetCollection{Collection: "c"})
	ctx.take()
	m.onPackAnswer(ctx, &messages.PackAnswer{Round: 1, File: pid("a"), Accepted: true, Size: 8}) // late
	m.onPackAnswer(ctx, &messages.PackAnswer{Round: 1, File: pid("b")})
	assert.NotContains(t, m.blocks, "Xa", "copied away: forgotten")
	assert.Contains(t, m.blocks, "Xb", "refused: still its file's")
	assert.Empty(t, m.late)
}

// A round whose collection is released (ForgetCollection) seals its packed
// block only once every offer out was answered, with every piece accepted
// before and since: a file that moved to another collection and accepts
// late has its bytes in the packed block, which must not stop under them.
func TestManagerSealsAnEndedRoundsPackedBlockWithTheLatePieces(t *testing.T) {
	tests := []struct {
		name     string
		before   []messages.PackAnswer // answered before the collection was released
		after    []messages.PackAnswer // answered late
		atForget []sentMsg             // sent when ForgetCollection comes
		atEnd    []sentMsg             // sent once the last late answer came
	}{
		{"a moved file accepts late, the other refuses (stopped)", nil,
			[]messages.PackAnswer{{Round: 1, File: pid("a"), Accepted: true, Size: 8}, {Round: 1, File: pid("b")}},
			nil, []sentMsg{{"spawned1", &messages.PackSeal{Pieces: 1}}}},
		{"one accepted before, the other refuses late", []messages.PackAnswer{{Round: 1, File: pid("a"), Accepted: true, Size: 8}},
			[]messages.PackAnswer{{Round: 1, File: pid("b")}},
			nil, []sentMsg{{"spawned1", &messages.PackSeal{Pieces: 1}}}},
		{"both late refusals: no piece, the packed block stops", nil,
			[]messages.PackAnswer{{Round: 1, File: pid("a")}, {Round: 1, File: pid("b")}},
			nil, []sentMsg{{"spawned1", &messages.PackSeal{Pieces: 0}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ctx := roundOfTwo(t, 0)
			for i := range tt.before {
				m.onPackAnswer(ctx, &tt.before[i])
			}
			m.onForgetCollection(ctx, &messages.ForgetCollection{Collection: "c"})
			assert.Equal(t, tt.atForget, ctx.take())
			assert.Nil(t, m.round, "the round is over: another may start")
			for i := range tt.after {
				m.onPackAnswer(ctx, &tt.after[i])
			}
			assert.Equal(t, tt.atEnd, ctx.take())
			assert.Empty(t, m.late)
		})
	}
}

// roundOfTwo returns a manager (of putWorkers put workers; 0: the test
// runtime's) whose packing round for collection c offered a slot to the
// 8-byte blocks Xa and Xb of files a and b, and what it sent since.
func roundOfTwo(t *testing.T, putWorkers int) (*manager, *fakeCtx) {
	t.Helper()
	rt := testRuntime(16)
	if putWorkers > 0 {
		rt.PutWorkers = putWorkers
	}
	m := newManager(rt)
	m.self = pid("manager")
	ctx := &fakeCtx{}
	for _, f := range []string{"a", "b"} {
		m.onBlockStatus(ctx, &messages.BlockStatus{ID: "X" + f, PID: pid("block" + f), Owner: pid(f), State: messages.Writable, Capacity: 8})
		m.onCandidate(ctx, &messages.Candidate{Collection: "c", File: pid(f), BlockID: "X" + f, Size: 8})
	}
	require.Len(t, ctx.take(), 2, "a round offers both")
	return m, ctx
}
