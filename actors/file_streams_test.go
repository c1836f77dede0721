package actors

import (
	"fmt"
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With 4096-byte blocks, a run of 8 pieces of 4 bytes (32 bytes, at
// least streamRun) gets a block of its own.
const streamTestBlock, streamTestPiece = 4096, 4

// writeRoutes writes a 4-byte piece at each offset and returns where each
// went: the spawned block ("b1" is the first), with "*" when it came out
// of that block's file order (Append.Scattered).
func writeRoutes(t *testing.T, f *fileActor, ctx *fakeCtx, offs []int64) []string {
	t.Helper()
	var routes []string
	for _, off := range offs {
		f.onWrite(ctx, &messages.Write{Offset: off, Data: []byte(fmt.Sprintf("%04d", off%10000)), Reply: openReply()})
		var route string
		for _, m := range ctx.take() {
			if a, ok := m.msg.(*messages.Append); ok {
				require.Empty(t, route, "one Append per piece")
				route = "b" + m.to[len("spawned"):]
				if a.Scattered {
					route += "*"
				}
			}
		}
		require.NotEmpty(t, route, "the piece at %d was appended", off)
		routes = append(routes, route)
	}
	return routes
}

// interleave returns the offsets of runs of pieces that start at starts,
// written in turns, n pieces each.
func interleave(n int, starts ...int64) []int64 {
	var offs []int64
	for i := 0; i < n; i++ {
		for _, s := range starts {
			offs = append(offs, s+int64(i)*streamTestPiece)
		}
	}
	return offs
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestFileActorGivesEachRunInFileOrderABlockOfItsOwn(t *testing.T) {
	tests := []struct {
		name   string
		offs   []int64
		routes []string
	}{
		{"one writer in file order: one block", interleave(12, 0), repeat("b1", 12)},
		{"two runs in turns: each gets a block at its eighth piece", // b's pieces come after every other: in order
			interleave(10, 0, 2048),
			[]string{"b1", "b1", "b1*", "b1", "b1*", "b1", "b1*", "b1", "b1*", "b1", "b1*", "b1", "b1*", "b1",
				"b2", "b3", "b2", "b3", "b2", "b3"}},
		{"one writer's run after a piece elsewhere, never interleaved: one block",
			append([]int64{1000}, interleave(11, 0)...),
			append([]string{"b1", "b1*"}, repeat("b1", 10)...)},
		{"pieces in random order that meet now and then: one block",
			[]int64{40, 0, 4, 28, 12, 16, 20, 36, 44, 8, 24, 32, 48}, // "*": out of the block's order
			[]string{"b1", "b1*", "b1", "b1", "b1*", "b1", "b1", "b1", "b1", "b1*", "b1", "b1", "b1"}},
		{"one writer that goes back to patch its start: one block",
			append(interleave(12, 0), 0),
			append(repeat("b1", 12), "b1*")},
		{"a run of seven pieces: one block",
			append(interleave(7, 0), 1000),
			repeat("b1", 8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ctx := newTestFile(streamTestBlock)
			assert.Equal(t, tt.routes, writeRoutes(t, f, ctx, tt.offs))
		})
	}
}

func TestFileActorKeepsAtMostMaxOpenBlocksOpen(t *testing.T) {
	f, ctx := newTestFile(streamTestBlock)
	starts := make([]int64, maxOpenBlocks+1)
	for i := range starts {
		starts[i] = int64(i) * 100
	}
	writeRoutes(t, f, ctx, interleave(streamPieces, starts...))
	assert.Equal(t, maxOpenBlocks, f.openCount(), "the home block and as many runs' own as fit")
	last := writeRoutes(t, f, ctx, interleave(1, func() []int64 { // one more piece of each run
		next := make([]int64, len(starts))
		for i, s := range starts {
			next[i] = s + streamPieces*streamTestPiece
		}
		return next
	}()...))
	want := make([]string, len(starts))
	for i := range want {
		want[i] = fmt.Sprintf("b%d", i+2) // the runs that got a block go on in it
	}
	want[maxOpenBlocks-1], want[maxOpenBlocks] = "b1*", "b1" // the last two runs stay in the home block
	assert.Equal(t, want, last)
	assert.Equal(t, maxOpenBlocks, f.openCount())
}

// twoStreams writes two runs in turns, 10 pieces each: b1 is the home
// block (the first 7 of each), b2 and b3 the runs' own.
func twoStreams(t *testing.T) (*fileActor, *fakeCtx) {
	f, ctx := newTestFile(streamTestBlock)
	writeRoutes(t, f, ctx, interleave(10, 0, 1024))
	require.Equal(t, 3, f.openCount())
	return f, ctx
}

func TestFileActorSyncSealsEveryOpenBlock(t *testing.T) {
	f, ctx := twoStreams(t)
	home, a, b := blockIDOf(f, pid("spawned1")), blockIDOf(f, pid("spawned2")), blockIDOf(f, pid("spawned3"))
	f.startSync(ctx, nil, openReply())
	var sealed, awaited []string
	for _, m := range ctx.take() {
		switch m.msg.(type) {
		case *messages.Seal:
			sealed = append(sealed, m.to)
		case *messages.AwaitCommit:
			awaited = append(awaited, m.to)
		}
	}
	assert.ElementsMatch(t, []string{"spawned1", "spawned2", "spawned3"}, sealed)
	assert.ElementsMatch(t, []string{"spawned1", "spawned2", "spawned3", "padding"}, awaited)
	assert.Equal(t, 0, f.openCount())
	pad := messages.PaddingBlockID
	assert.Equal(t, []segments.Range{
		{Locator: home, RangeStart: 0, RangeSize: 28},                     // a's first seven pieces, repacked in file order
		{Locator: a, RangeStart: 28, RangeSize: 12},                       // the rest of a's run, in its block
		{Locator: pad, RangeStart: 40, RangeSize: 984, SegmentOffset: 36}, // never written
		{Locator: home, RangeStart: 1024, RangeSize: 28, SegmentOffset: 28},
		{Locator: b, RangeStart: 1052, RangeSize: 12},
	}, merged(f.segs.Ranges()))
}

// merged joins ranges that continue each other in the same block.
func merged(rs []segments.Range) []segments.Range {
	var out []segments.Range
	for _, r := range rs {
		if n := len(out); n > 0 {
			p := &out[n-1]
			if p.Locator == r.Locator && p.RangeStart+p.RangeSize == r.RangeStart && p.SegmentOffset+p.RangeSize == r.SegmentOffset {
				p.RangeSize += r.RangeSize
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func TestFileActorSealsTheOpenBlockTheManagerNames(t *testing.T) {
	f, ctx := twoStreams(t)
	a := blockIDOf(f, pid("spawned2"))
	cur := f.cur.id
	f.handle(ctx, &messages.SealBlock{BlockID: a})
	assert.Equal(t, []sentMsg{{"spawned2", &messages.Seal{}}}, ctx.take())
	assert.Equal(t, cur, f.cur.id, "the current block stays current")
	assert.Equal(t, 2, f.openCount())
	assert.Equal(t, []string{"b4", "b3"}, writeRoutes(t, f, ctx, []int64{40, 1064}),
		"the sealed block's run goes on in a block of its own at once")
}

func TestFileActorWithSeveralOpenBlocksIsNotPacked(t *testing.T) {
	f, ctx := twoStreams(t)
	r := openReply()
	f.onOpen(ctx, &messages.Open{Writer: true, Reply: r})
	ctx.take()
	f.onClose(ctx, &messages.Close{Writer: true, Reply: r})
	for _, m := range ctx.take() {
		_, offered := m.msg.(*messages.Candidate)
		assert.False(t, offered, "a file of several open blocks is no packing candidate")
	}
	pack := make([]byte, 0, streamTestBlock)
	offer := &messages.PackOffer{Round: 1, BlockID: f.cur.id, Target: pid("packed"), TargetID: "P", Room: streamTestBlock, ReplyTo: pid("manager"), Buffer: pack}
	f.handle(ctx, offer)
	assert.Equal(t, []sentMsg{{"manager", &messages.PackAnswer{Round: 1, File: pid("file")}}}, ctx.take(), "refused")
	assert.Equal(t, 3, f.openCount())
}

func TestFileActorGivesAHomeBlockInFileOrderToItsRunWhenOthersHaveTheirs(t *testing.T) {
	f, ctx := twoStreams(t)
	f.handle(ctx, &messages.SealBlock{BlockID: blockIDOf(f, pid("spawned1"))}) // the home block
	ctx.take()
	routes := writeRoutes(t, f, ctx, append(interleave(8, 3000), 2000, 3032))
	assert.Equal(t, append(repeat("b4", 8), "b5", "b4"), routes,
		"a new home block takes a run in file order; a piece elsewhere starts another home block, the run goes on")
	assert.Equal(t, blockIDOf(f, pid("spawned4")), f.cur.id)
	assert.True(t, f.cur.stream, "b4 is the run's block now")
	assert.False(t, f.open.others[f.homeIndex()].stream, "b5 is the home block")
	assert.Equal(t, blockIDOf(f, pid("spawned5")), f.open.others[f.homeIndex()].id)
}

// sentSummary names each message sent: where, what, and for an Append its
// bytes and capacity, for an AwaitMemory its bytes.
func sentSummary(sent []sentMsg) []string {
	var out []string
	for _, m := range sent {
		switch x := m.msg.(type) {
		case *messages.Append:
			out = append(out, fmt.Sprintf("%s Append %d cap %d", m.to, len(x.Data), x.Capacity))
		case *messages.AwaitMemory:
			out = append(out, fmt.Sprintf("%s AwaitMemory %d", m.to, x.Bytes))
		default:
			out = append(out, fmt.Sprintf("%s %T", m.to, m.msg))
		}
	}
	return out
}

func TestFileActorLetsAWriteToAnotherBlockPassAWriteWaitingForMemory(t *testing.T) {
	f, ctx := twoStreams(t) // b2: run a's block, b3: run b's, 12 bytes of 512 each
	f.rt.Memory = NewMemory(1000, 0)
	write := func(off int64, n int) *messages.Write {
		w := &messages.Write{Offset: off, Data: make([]byte, n), Reply: openReply()}
		f.handle(ctx, w)
		return w
	}
	write(40, 600) // a's block must grow to 2048: no room
	assert.Equal(t, []string{"manager AwaitMemory 2048"}, sentSummary(ctx.take()))

	write(1064, 4) // b's block has room: it goes on
	assert.Equal(t, []string{"spawned3 Append 4 cap 0"}, sentSummary(ctx.take()))
	write(1068, 600) // b's block must grow too: it waits for memory as well
	assert.Equal(t, []string{"manager AwaitMemory 2048"}, sentSummary(ctx.take()))
	write(1668, 4) // it continues no block: it waits behind them
	f.handle(ctx, &messages.Stat{Out: new(messages.FileInfo), Reply: openReply()})
	assert.Empty(t, ctx.take())
	assert.Len(t, f.parked, 2)

	f.rt.Memory = NewMemory(1<<20, 0)
	f.handle(ctx, &messages.MemoryAvailable{})
	assert.Equal(t, []string{
		"spawned2 Append 600 cap 2048", // the waiting writes, in order
		"spawned3 Append 600 cap 2048",
		"spawned3 Append 4 cap 0", // then those behind them
	}, sentSummary(ctx.take()))
	assert.Equal(t, int64(1672), f.segs.Size())
}

func TestFileActorKeepsAWriteBehindTheOneWaitingForMemory(t *testing.T) {
	tests := []struct {
		name string
		off  int64
		n    int
	}{
		{"it overlaps the waiting write", 40, 4},
		{"it continues no open block", 2000, 4},
		{"it continues the home block, which is out of order", 1024 + 28, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ctx := twoStreams(t)
			f.rt.Memory = NewMemory(1000, 0)
			f.handle(ctx, &messages.Write{Offset: 40, Data: make([]byte, 600), Reply: openReply()})
			ctx.take()
			f.handle(ctx, &messages.Write{Offset: tt.off, Data: make([]byte, tt.n), Reply: openReply()})
			assert.Empty(t, ctx.take(), "it waits")
			assert.Len(t, f.deferred, 1)
		})
	}
}

func TestFileActorWithTwoWritesWaitingForMemoryTellsTheManagerWhatTheyWaitFor(t *testing.T) {
	f, ctx := twoStreams(t)
	f.rt.Memory = NewMemory(1000, 0)
	a := &messages.Write{Offset: 40, Data: make([]byte, 600), Reply: openReply()}    // its block must grow to 2048
	b := &messages.Write{Offset: 1064, Data: make([]byte, 2100), Reply: openReply()} // its block to 4096
	f.handle(ctx, a)
	f.handle(ctx, b)
	assert.Equal(t, []string{"manager AwaitMemory 2048", "manager AwaitMemory 2048"}, sentSummary(ctx.take()),
		"the least any of them waits for")
	assert.Len(t, f.parked, 2)

	f.handle(ctx, &messages.Cancel{Reply: a.Reply, Err: errReleased})
	assert.Equal(t, []string{"manager AwaitMemory 4096"}, sentSummary(ctx.take()), "what the other write waits for")
	assert.ErrorIs(t, a.Reply.Err(), errReleased)
	f.handle(ctx, &messages.Cancel{Reply: b.Reply, Err: errReleased})
	assert.Equal(t, []string{"manager *messages.CancelMemory"}, sentSummary(ctx.take()))
	assert.Empty(t, f.parked)
}

func TestFileActorKeepsOneBlockForOneWritersRuns(t *testing.T) {
	t.Run("rewritten from the start after a truncate", func(t *testing.T) {
		f, ctx := newTestFile(streamTestBlock)
		writeRoutes(t, f, ctx, interleave(12, 0))
		f.onTruncate(ctx, &messages.Truncate{Size: 0, Reply: openReply()})
		ctx.take()
		assert.Equal(t, append([]string{"b1*"}, repeat("b1", 11)...), writeRoutes(t, f, ctx, interleave(12, 0)))
	})
	t.Run("a header patched halfway", func(t *testing.T) {
		f, ctx := newTestFile(streamTestBlock)
		offs := append(append(interleave(12, 0), 0), interleave(12, 48)...)
		assert.Equal(t, append(append(repeat("b1", 12), "b1*"), repeat("b1", 12)...), writeRoutes(t, f, ctx, offs))
	})
	t.Run("a copy appended to", func(t *testing.T) {
		f, ctx := newTestFile(streamTestBlock)
		f.segs = segments.List{}
		require.NoError(t, f.segs.Append(segments.Range{Locator: "D", RangeSize: 64}))
		f.onAdoptBlock(ctx, &messages.AdoptBlock{ID: "D", Data: make([]byte, 64, 512)})
		ctx.take()
		routes := writeRoutes(t, f, ctx, interleave(12, 64))
		assert.Equal(t, repeat("b1", 12), routes, "the appends continue the adopted block")
		assert.Equal(t, 1, f.openCount())
	})
}

func TestFileActorGivesAChunkedDownloadersNextChunkTheBlockItLeft(t *testing.T) {
	// Four workers take chunks of 16 pieces in turn from a queue (worker
	// w: chunks w, w+4, w+8), writing a piece each in turns.
	f, ctx := newTestFile(streamTestBlock)
	const chunk = 16 * streamTestPiece
	for round := 0; round < 3; round++ {
		starts := make([]int64, 4)
		for w := range starts {
			starts[w] = int64(round*4+w) * chunk
		}
		writeRoutes(t, f, ctx, interleave(16, starts...))
	}
	assert.Equal(t, 5, f.openCount(), "the home block and one block per worker")
	for _, b := range f.open.others {
		if b.stream {
			assertInFileOrder(t, f, b.id)
		}
	}
	if f.cur.stream {
		assertInFileOrder(t, f, f.cur.id)
	}
}

// assertInFileOrder checks that block id's bytes are in file order: it
// needs no repack when sealed, and is hashed while written.
func assertInFileOrder(t *testing.T, f *fileActor, id string) {
	t.Helper()
	var pos int64
	f.segs.Each(func(_ int, r *segments.Range) bool {
		if r.Locator == id {
			assert.Equal(t, pos, r.SegmentOffset, "block %s at file offset %d", id, r.RangeStart)
			pos += r.RangeSize
		}
		return true
	})
	assert.Positive(t, pos)
}

func TestFileActorGivesAWritePassingAnotherTheBlockItContinues(t *testing.T) {
	f, ctx := twoStreams(t) // b2: run a's block, b3: run b's
	// Runs c and d begin in the home block, in turns with a and b.
	writeRoutes(t, f, ctx, interleave(7, 2048, 3072, 40, 1064))
	f.rt.Memory = NewMemory(1000, 0)
	f.handle(ctx, &messages.Write{Offset: 2076, Data: make([]byte, 600), Reply: openReply()})
	assert.Equal(t, []string{"manager AwaitMemory 1024"}, sentSummary(ctx.take()), "run c's new block b4 waits to grow")
	f.handle(ctx, &messages.Write{Offset: 1092, Data: make([]byte, 4), Reply: openReply()})
	assert.Equal(t, []string{"spawned3 Append 4 cap 0"}, sentSummary(ctx.take()), "run b goes on in its block, not in b4")
	f.rt.Memory = NewMemory(1<<20, 0)
	f.handle(ctx, &messages.MemoryAvailable{})
	assert.Equal(t, []string{"spawned4 Append 600 cap 1024"}, sentSummary(ctx.take()), "run c goes on in b4")
	assert.Equal(t, 4, f.openCount())
}

func TestFileActorGoesOnInABlockOfItsOwnPastALongRunsSealedBlock(t *testing.T) {
	f, ctx := twoStreams(t)
	routes := writeRoutes(t, f, ctx, interleave(100, 40)) // run a, long past its few interleaved pieces
	assert.Equal(t, repeat("b2", 100), routes)
	f.handle(ctx, &messages.SealBlock{BlockID: blockIDOf(f, pid("spawned2"))})
	ctx.take()
	assert.Equal(t, []string{"b4", "b4"}, writeRoutes(t, f, ctx, []int64{440, 444}),
		"its next block is its own, not the home block")
}

func TestFileActorKeepsOneBlockForAWriterPatchingItsOwnHeaders(t *testing.T) {
	// A zip-like writer: a 4-byte header, a piece of data, then the header
	// patched, entry after entry.
	f, ctx := newTestFile(streamTestBlock)
	var offs []int64
	for e := int64(0); e < 12; e++ {
		offs = append(offs, e*8, e*8+4, e*8)
	}
	routes := writeRoutes(t, f, ctx, offs)
	for i, r := range routes {
		assert.Regexp(t, `^b1\*?$`, r, "piece %d at %d", i, offs[i])
	}
	assert.Equal(t, 1, f.openCount())
}

func TestFileActorGivesARunNoIdleBlockWhoseBytesComeAfterIt(t *testing.T) {
	f, ctx := twoStreams(t) // b2: run a's block (0..40), b3: run b's (1024..1064)
	// Runs at 100 and 600 begin while b2 and b3 are idle: each may go on
	// after b2's bytes, none before b3's.
	routes := writeRoutes(t, f, ctx, interleave(12, 100, 600))
	for i, r := range routes {
		assert.NotContains(t, []string{"b2*", "b3*"}, r, "piece %d: a stream block stays in file order", i)
	}
	assert.LessOrEqual(t, f.openCount(), 4)
}
