package actors

import (
	"errors"
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const mib = 1 << 20

func TestFileActorSplitsALargeBlockOutOfFileOrderAtSync(t *testing.T) {
	type span struct{ off, size int64 } // a write of size bytes at off
	ext := func(off, size int64) messages.Extent { return messages.Extent{Offset: off, Size: size} }
	tests := []struct {
		name    string
		writes  []span
		workers int
		budget  int64               // 0: room for everything
		partCap int64               // each part's buffer: 0, the current block's capacity
		head    []messages.Extent   // Repack's extents: what the current block keeps
		parts   [][]messages.Extent // the extents of each other part; none: not split
		segs    []segments.Range    // after the split: "cur" names the current block, "part1"… the parts
	}{
		{"two halves written in reverse are split in two", []span{{4 * mib, 4 * mib}, {0, 4 * mib}}, 2, 0, 0,
			[]messages.Extent{ext(4*mib, 4*mib)}, [][]messages.Extent{{ext(0, 4*mib)}},
			[]segments.Range{{Locator: "cur", RangeSize: 4 * mib}, {Locator: "part1", RangeStart: 4 * mib, RangeSize: 4 * mib}}},
		{"room for parts of their own size class only", []span{{4 * mib, 4 * mib}, {0, 4 * mib}}, 2, 4 * mib, 4 * mib,
			[]messages.Extent{ext(4*mib, 4*mib)}, [][]messages.Extent{{ext(0, 4*mib)}},
			[]segments.Range{{Locator: "cur", RangeSize: 4 * mib}, {Locator: "part1", RangeStart: 4 * mib, RangeSize: 4 * mib}}},
		{"three workers, three parts; each part keeps its extents in file order",
			[]span{{8 * mib, 4 * mib}, {4 * mib, 2 * mib}, {0, 4 * mib}, {6 * mib, 2 * mib}}, 3, 0, 0,
			[]messages.Extent{ext(6*mib, 4*mib)}, [][]messages.Extent{{ext(4*mib, 2*mib), ext(10*mib, 2*mib)}, {ext(0, 4*mib)}},
			[]segments.Range{
				{Locator: "cur", RangeSize: 4 * mib},
				{Locator: "part1", RangeStart: 4 * mib, RangeSize: 2 * mib},
				{Locator: "part1", RangeStart: 6 * mib, RangeSize: 2 * mib, SegmentOffset: 2 * mib},
				{Locator: "part2", RangeStart: 8 * mib, RangeSize: 4 * mib},
			}},
		{"a block in file order is sealed as it is", []span{{0, 4 * mib}, {4 * mib, 4 * mib}}, 2, 0, 0,
			nil, nil, []segments.Range{{Locator: "cur", RangeSize: 8 * mib}}},
		{"a part would hold less than 4 MiB: repacked, one block", []span{{2 * mib, 6 * mib}, {0, 2 * mib}}, 2, 0, 0,
			[]messages.Extent{ext(6*mib, 2*mib), ext(0, 6*mib)}, nil,
			[]segments.Range{{Locator: "cur", RangeSize: 2 * mib}, {Locator: "cur", RangeStart: 2 * mib, RangeSize: 6 * mib, SegmentOffset: 2 * mib}}},
		{"one put worker: repacked, one block", []span{{4 * mib, 4 * mib}, {0, 4 * mib}}, 1, 0, 0,
			[]messages.Extent{ext(4*mib, 4*mib), ext(0, 4*mib)}, nil,
			[]segments.Range{{Locator: "cur", RangeSize: 4 * mib}, {Locator: "cur", RangeStart: 4 * mib, RangeSize: 4 * mib, SegmentOffset: 4 * mib}}},
		{"no room in the budget for a part: repacked, one block", []span{{4 * mib, 4 * mib}, {0, 4 * mib}}, 2, 4*mib - 1, 0,
			[]messages.Extent{ext(4*mib, 4*mib), ext(0, 4*mib)}, nil,
			[]segments.Range{{Locator: "cur", RangeSize: 4 * mib}, {Locator: "cur", RangeStart: 4 * mib, RangeSize: 4 * mib, SegmentOffset: 4 * mib}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ctx := newTestFile(64 * mib)
			f.rt.PutWorkers = tt.workers
			r := openReply()
			for _, w := range tt.writes {
				f.onWrite(ctx, &messages.Write{Offset: w.off, Data: make([]byte, w.size), Reply: r})
			}
			cur, curCap := f.cur.id, f.cur.cap
			ctx.take()
			if tt.budget > 0 {
				f.rt.Memory = NewMemory(tt.budget, 0)
			}
			used := f.rt.Memory.Used()

			var out messages.SyncResult
			sr := messages.NewReply()
			f.startSync(ctx, &out, sr)
			sent := ctx.take()

			names := map[string]string{cur: "cur"}
			var want []sentMsg
			var reserved int64
			if tt.head != nil {
				repack := &messages.Repack{Extents: tt.head}
				got, ok := sent[0].msg.(*messages.Repack)
				require.True(t, ok, "first %+v", sent[0])
				for i, p := range tt.parts {
					require.Len(t, got.Parts, len(tt.parts))
					c := curCap
					if tt.partCap > 0 {
						c = tt.partCap
					}
					assert.Equal(t, 0, len(got.Parts[i].Buf))
					assert.Equal(t, int(c), cap(got.Parts[i].Buf), "part %d's buffer", i+1)
					reserved += c
					block := pid("spawned" + string(rune('2'+i)))
					repack.Parts = append(repack.Parts, messages.SplitPart{Extents: p, Buf: got.Parts[i].Buf, Block: block})
					names[blockIDOf(f, block)] = "part" + string(rune('1'+i))
				}
				want = append(want, sentMsg{"spawned1", repack})
			}
			want = append(want, sentMsg{"spawned1", &messages.Seal{}})
			want = append(want, sentMsg{"spawned1", &messages.AwaitCommit{ReplyTo: pid("file")}})
			for i := range tt.parts {
				want = append(want, sentMsg{"spawned" + string(rune('2'+i)), &messages.AwaitCommit{ReplyTo: pid("file")}})
			}
			assert.Equal(t, want, sent)
			assert.Equal(t, used+reserved, f.rt.Memory.Used(), "the parts' buffers are reserved")

			var segs []segments.Range
			for _, s := range f.segs.Ranges() {
				s.Locator = names[s.Locator]
				segs = append(segs, s)
			}
			assert.Equal(t, tt.segs, segs)

			// Each block commits; the Sync answers with their locators.
			for id, name := range names {
				f.handle(ctx, &messages.BlockResult{BlockID: id, Locator: name + "+1"})
			}
			assert.Equal(t, int32(0), pending(sr))
			var committed []segments.Range
			for _, s := range tt.segs {
				s.Locator += "+1"
				committed = append(committed, s)
			}
			assert.Equal(t, committed, out.Segments)
			assert.Equal(t, committed, f.segs.Ranges())
		})
	}
}

// blockIDOf returns the id of the block f knows as p.
func blockIDOf(f *fileActor, p *actor.PID) string {
	for id, q := range f.blocks {
		if q.Equal(p) {
			return id
		}
	}
	return ""
}

func TestSplitExtentsCutsAtTheFirstBoundaryPastEachShare(t *testing.T) {
	sizes := func(s ...int64) []messages.Extent {
		var out []messages.Extent
		for _, n := range s {
			out = append(out, messages.Extent{Size: n})
		}
		return out
	}
	tests := []struct {
		name      string
		extents   []messages.Extent
		n         int
		wantCuts  []int
		wantSizes []int64
	}{
		{"even extents in two", sizes(1, 1, 1, 1), 2, []int{0, 2, 4}, []int64{2, 2}},
		{"odd extents in two: the first part ends past the half", sizes(1, 1, 1), 2, []int{0, 2, 3}, []int64{2, 1}},
		{"in three", sizes(1, 1, 1, 1, 1, 1), 3, []int{0, 2, 4, 6}, []int64{2, 2, 2}},
		{"a large first extent takes several shares", sizes(5, 1, 1, 1), 4, []int{0, 1, 2, 3, 4}, []int64{5, 1, 1, 1}},
		{"a large last extent leaves fewer parts", sizes(1, 1, 6), 4, []int{0, 2, 3}, []int64{2, 6}},
		{"one extent: one part", sizes(8), 2, []int{0, 1}, []int64{8}},
		{"one part asked", sizes(1, 2, 3), 1, []int{0, 3}, []int64{6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var live int64
			for _, e := range tt.extents {
				live += e.Size
			}
			cuts, got := splitExtents(tt.extents, live, tt.n)
			assert.Equal(t, tt.wantCuts, cuts)
			assert.Equal(t, tt.wantSizes, got)
		})
	}
}

func TestBlockActorCopiesThePartsOfASplitBeforeItRepacks(t *testing.T) {
	tests := []struct {
		name   string
		state  messages.BlockState
		budget int64 // 0: room for a second buffer, and the parts copy beside the gather
		parts  [][]messages.Extent
		want   []string // each part's bytes
		errs   []bool   // whether each part is told of an error
		keep   string   // the block's bytes after the Repack
	}{
		{"parts in file order, then the rest", messages.Writable, 0,
			[][]messages.Extent{{{Offset: 0, Size: 3}, {Offset: 9, Size: 1}}, {{Offset: 4, Size: 2}}},
			[]string{"abcj", "ef"}, []bool{false, false}, "gh"},
		{"no room for a second buffer: the parts first, then the rest in place", messages.Writable, 16 + 2*8,
			[][]messages.Extent{{{Offset: 0, Size: 3}, {Offset: 9, Size: 1}}, {{Offset: 4, Size: 2}}},
			[]string{"abcj", "ef"}, []bool{false, false}, "gh"},
		{"an extent past the bytes fails its part only", messages.Writable, 0,
			[][]messages.Extent{{{Offset: 8, Size: 3}}, {{Offset: 0, Size: 1}}},
			[]string{"", "a"}, []bool{true, false}, "gh"},
		{"a sealed block fails every part", messages.Pending, 0,
			[][]messages.Extent{{{Offset: 0, Size: 3}}},
			[]string{""}, []bool{true}, "abcdefghij"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ctx := newTestBlock(64)
			if tt.budget > 0 {
				b.rt.Memory = NewMemory(tt.budget, 0)
			}
			require.True(t, b.rt.Memory.Reserve(16, false))
			b.onAppend(ctx, &messages.Append{Data: []byte("abcdefghij"), Capacity: 16, Reply: openReply()})
			b.sm.state = tt.state
			old := &b.buf[0]
			ctx.take()
			m := &messages.Repack{Extents: []messages.Extent{{Offset: 6, Size: 2}}}
			for i, p := range tt.parts {
				require.True(t, b.rt.Memory.Reserve(8, false))
				buf := b.rt.Memory.Alloc(8)
				b.rt.Memory.Lend(buf)
				m.Parts = append(m.Parts, messages.SplitPart{Extents: p, Buf: buf, Block: pid("part" + string(rune('1'+i)))})
			}
			b.onRepack(ctx, m)
			sent := ctx.take()
			require.Len(t, sent, len(tt.parts))
			for i, p := range m.Parts {
				filled := sent[i].msg.(*messages.SplitFilled)
				assert.Equal(t, "part"+string(rune('1'+i)), sent[i].to)
				assert.Equal(t, tt.errs[i], filled.Err != nil, "part %d: %v", i+1, filled.Err)
				assert.Equal(t, tt.want[i], string(p.Buf[:filled.Size]))
			}
			assert.Equal(t, tt.keep, string(b.buf))
			assert.Empty(t, b.rt.Memory.lent, "every part's buffer is given back")
			switch {
			case tt.budget > 0:
				assert.Equal(t, tt.budget, b.rt.Memory.Peak(), "within the budget")
				assert.Same(t, old, &b.buf[:1][0], "repacked in place")
			case tt.state == messages.Writable:
				assert.NotSame(t, old, &b.buf[:1][0], "gathered into a second buffer beside the parts' copy")
			}
		})
	}
}

func TestASplitBlockDefersReadsUntilItsBytesArriveThenSealsItself(t *testing.T) {
	rt, buf, b, ctx := newTestSplitBlock(t)
	b.onStarted(ctx, pid("split"))
	assert.Equal(t, []sentMsg{{"manager", &messages.BlockStatus{ID: "S", PID: pid("split"), Owner: pid("file"), State: messages.Writable, Capacity: 8}}}, ctx.take())

	dst := make([]byte, 2)
	read := messages.NewReply()
	b.onReadBlock(&messages.ReadBlock{Offset: 1, Dst: dst, Reply: read})
	var hashed string
	hash := messages.NewReply()
	b.onHashBlock(&messages.HashBlock{Out: &hashed, Reply: hash})
	b.onAwaitCommit(ctx, &messages.AwaitCommit{ReplyTo: pid("file"), Token: 3})
	assert.False(t, read.Finished(), "the read waits for the bytes")
	assert.False(t, hash.Finished(), "the hash waits for the bytes")
	assert.Empty(t, ctx.take(), "not sealed before its bytes arrived")

	copy(buf[:4], "wxyz") // the split block's copy
	rt.Memory.GiveBack(buf)
	b.onSplitFilled(ctx, &messages.SplitFilled{Size: 4})
	assert.True(t, read.Finished())
	assert.NoError(t, read.Err())
	assert.Equal(t, "xy", string(dst))
	assert.True(t, hash.Finished())
	assert.Equal(t, "a7c3c2aa70d99921f9fb23ac87382997+4", hashed)
	assert.Equal(t, []sentMsg{
		{"manager", &messages.BlockStatus{ID: "S", PID: pid("split"), Owner: pid("file"), State: messages.Pending, Capacity: 8}},
		{"puts", &messages.Submit{BlockID: "S", Block: pid("split"), Data: []byte("wxyz")}},
	}, ctx.take())
}

func TestASplitBlockStoppedBeforeItsBytesArriveFailsItsReadsAndFreesItsBuffer(t *testing.T) {
	rt, buf, b, ctx := newTestSplitBlock(t)
	read := messages.NewReply()
	b.onReadBlock(&messages.ReadBlock{Offset: 0, Dst: make([]byte, 1), Reply: read})
	b.onAwaitCommit(ctx, &messages.AwaitCommit{ReplyTo: pid("file"), Token: 3})
	ctx.take()

	b.onRelease(ctx)
	assert.True(t, read.Finished())
	assert.True(t, errors.Is(read.Err(), errBlockDeleted))
	assert.Equal(t, []sentMsg{
		{"manager", &messages.BlockStatus{ID: "S", PID: pid("split"), Owner: pid("file"), State: messages.Deleted}},
		{"file", &messages.BlockResult{BlockID: "S", Token: 3, Failure: &messages.BlockFailure{BlockID: "S", Err: errBlockDeleted}}},
	}, ctx.take())
	assert.Equal(t, int64(0), rt.Memory.Used(), "its capacity is released")
	assert.Equal(t, 1, rt.Memory.Retired(), "the buffer waits for the split block's copy")
	rt.Memory.GiveBack(buf)
	assert.Equal(t, 0, rt.Memory.Retired())
}

func TestFileActorSyncPutsItsSnapshotInTheRoomItsCallerGave(t *testing.T) {
	tests := []struct {
		name    string
		room    int  // capacity of out.Segments
		written bool // the file has one segment
		inRoom  bool // the snapshot is in out.Segments' array
	}{
		{"room for the one segment: filled", 1, true, true},
		{"no room: a snapshot of its own", 0, true, false},
		{"an empty file answers no segments, room or not", 1, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ctx := newTestFile(64 * mib)
			if tt.written {
				f.onWrite(ctx, &messages.Write{Offset: 0, Data: []byte("abc"), Reply: openReply()})
			}
			var cur string
			if f.cur != nil {
				cur = f.cur.id
			}
			ctx.take()
			room := make([]segments.Range, 0, tt.room)
			out := messages.SyncResult{Segments: room}
			sr := messages.NewReply()
			f.startSync(ctx, &out, sr)
			if tt.written {
				assert.Equal(t, []sentMsg{{"spawned1", &messages.Seal{}}, {"spawned1", &messages.AwaitCommit{ReplyTo: pid("file")}}}, ctx.take())
				f.handle(ctx, &messages.BlockResult{BlockID: cur, Locator: "loc+3"})
			}
			require.Equal(t, int32(0), pending(sr))
			if !tt.written {
				assert.Nil(t, out.Segments)
				return
			}
			assert.Equal(t, []segments.Range{{Locator: "loc+3", RangeSize: 3}}, out.Segments)
			assert.Equal(t, tt.inRoom, tt.room > 0 && &room[:1][0] == &out.Segments[0])
		})
	}
}

// newTestSplitBlock returns a split block "S" of file "file" over an 8-byte
// buffer lent to it, as the block it is split from does.
func newTestSplitBlock(t *testing.T) (*Runtime, []byte, *blockActor, *fakeCtx) {
	rt := testRuntime(64)
	require.True(t, rt.Memory.Reserve(8, false))
	buf := rt.Memory.Alloc(8)
	rt.Memory.Lend(buf)
	b := newSplitBlock(rt, "S", pid("file"), buf)
	b.self = pid("split")
	return rt, buf, b, &fakeCtx{}
}
