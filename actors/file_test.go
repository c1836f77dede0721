package actors

import (
	"bytes"
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestFile(blockSize int64) (*fileActor, *fakeCtx) {
	f := newFileActor(testRuntime(blockSize), &CollectionRuntime{ID: "c"}, "f", nil)
	f.self = pid("file")
	return f, &fakeCtx{}
}

func TestFileActorAppendsSequentialWritesToOneBlockAndOneSegment(t *testing.T) {
	f, ctx := newTestFile(16)
	r := openReply()
	f.onWrite(ctx, &messages.Write{Offset: 0, Data: []byte("abc"), Reply: r})
	f.onWrite(ctx, &messages.Write{Offset: 3, Data: []byte("de"), Reply: r})
	assert.Equal(t, []sentMsg{
		{"spawned1", &messages.Append{Data: []byte("abc"), Capacity: 16, Reply: r}},
		{"spawned1", &messages.Append{Data: []byte("de"), Reply: r}},
	}, ctx.take())
	assert.Equal(t, []segments.Range{{Locator: f.cur.id, RangeStart: 0, RangeSize: 5}}, f.segs.Ranges())
	assert.Equal(t, int64(5), f.cur.wp)
	assert.Equal(t, int64(2), r.N)
	assert.Equal(t, int64(3), r.Offset)
}

func TestFileActorRepacksWhenThatMakesRoomAndSealsOtherwise(t *testing.T) {
	f, ctx := newTestFile(16)
	r := openReply()
	for i := 0; i < 4; i++ { // four overwrites of 4 bytes at 0 fill the block
		f.onWrite(ctx, &messages.Write{Offset: 0, Data: []byte("abcd"), Reply: r})
	}
	first := f.cur.id
	ctx.take()
	f.onWrite(ctx, &messages.Write{Offset: 4, Data: []byte("efgh"), Reply: r})
	assert.Equal(t, []sentMsg{
		{"spawned1", &messages.Repack{Extents: []messages.Extent{{Offset: 12, Size: 4}}}},
		{"spawned1", &messages.Append{Data: []byte("efgh"), Reply: r}},
	}, ctx.take())
	assert.Equal(t, []segments.Range{{Locator: first, RangeSize: 8}}, f.segs.Ranges(), "repacked, then extended")

	f.onWrite(ctx, &messages.Write{Offset: 8, Data: []byte("ijklmnopq"), Reply: r})
	assert.Equal(t, []sentMsg{{"spawned1", &messages.Seal{Notify: pid("file")}}}, ctx.take(),
		"the writer waits until the sealed block is accepted, before it changes anything")
	assert.Equal(t, []segments.Range{{Locator: first, RangeSize: 8}}, f.segs.Ranges())
	f.handle(ctx, &messages.SealAccepted{BlockID: first})
	assert.Equal(t, []sentMsg{{"spawned2", &messages.Append{Data: []byte("ijklmnopq"), Capacity: 16, Reply: r}}}, ctx.take(),
		"a block sealed full starts the next at full size")
	assert.Equal(t, []segments.Range{
		{Locator: first, RangeSize: 8},
		{Locator: f.cur.id, RangeStart: 8, RangeSize: 9},
	}, f.segs.Ranges())
}

func TestFileActorPadsPastEOFAndZeroFillsPaddingOnRead(t *testing.T) {
	f, ctx := newTestFile(16)
	r := openReply()
	f.onWrite(ctx, &messages.Write{Offset: 3, Data: []byte("xy"), Reply: r})
	assert.Equal(t, []segments.Range{
		{Locator: messages.PaddingBlockID, RangeSize: 3},
		{Locator: f.cur.id, RangeStart: 3, RangeSize: 2},
	}, f.segs.Ranges())
	ctx.take()
	buf := []byte("?????")
	var out messages.ReadResult
	rr := messages.NewReply()
	f.onRead(ctx, &messages.Read{Offset: 0, Buf: buf, Out: &out, Reply: rr})
	assert.Equal(t, "\x00\x00\x00??", string(buf), "padding is zero filled here; the block fills the rest")
	sent := ctx.take()
	require.Len(t, sent, 1)
	assert.Equal(t, &messages.ReadBlock{Offset: 0, Dst: buf[3:5], Fetch: &out.Fetch[1], Reply: rr}, sent[0].msg)
	assert.Equal(t, int64(5), rr.N)
}

func TestFileActorOffersAClosedSmallFileForPacking(t *testing.T) {
	f, ctx := newTestFile(16)
	r := openReply()
	f.onOpen(ctx, &messages.Open{Writer: true, Reply: r})
	f.onWrite(ctx, &messages.Write{Offset: 0, Data: []byte("abcdef"), Reply: r})
	f.onWrite(ctx, &messages.Write{Offset: 0, Data: []byte("AB"), Reply: r})
	ctx.take()
	f.onClose(ctx, &messages.Close{Writer: true, Reply: r})
	assert.Equal(t, []sentMsg{{"manager", &messages.Candidate{Collection: "c", File: pid("file"), BlockID: f.cur.id, Size: 6}}}, ctx.take())

	pack := make([]byte, 0, 16)
	f.handle(ctx, &messages.PackOffer{Round: 1, BlockID: f.cur.id, Target: pid("packed"), TargetID: "P", Offset: 10, Room: 6, ReplyTo: pid("manager"), Buffer: pack})
	old := "spawned1"
	assert.Equal(t, []sentMsg{
		{old, &messages.Repack{Extents: []messages.Extent{{Offset: 6, Size: 2}, {Offset: 2, Size: 4}}}},
		{old, &messages.PackCopy{Target: pid("packed"), Offset: 10, File: pid("file"), Buffer: pack}},
		{"manager", &messages.PackAnswer{Round: 1, File: pid("file"), Accepted: true, Size: 6}},
	}, ctx.take())

	// While the copy is in flight every request waits.
	w := &messages.Write{Offset: 6, Data: []byte("gh"), Reply: r}
	f.handle(ctx, w)
	assert.Empty(t, ctx.take())
	oldID := f.segs.Ranges()[0].Locator
	f.handle(ctx, &messages.PackCopied{OldID: oldID, NewID: "P", NewPID: pid("packed"), Offset: 10})
	sent := ctx.take()
	require.Len(t, sent, 1, "the deferred write goes to a new block")
	assert.Equal(t, "spawned2", sent[0].to)
	assert.Equal(t, []segments.Range{
		{Locator: "P", RangeSize: 2, SegmentOffset: 10},
		{Locator: "P", RangeStart: 2, RangeSize: 4, SegmentOffset: 12},
		{Locator: f.cur.id, RangeStart: 6, RangeSize: 2},
	}, f.segs.Ranges())
}

func TestFileActorRefusesToPackAReopenedFile(t *testing.T) {
	f, ctx := newTestFile(16)
	r := openReply()
	f.onOpen(ctx, &messages.Open{Writer: true, Reply: r})
	f.onWrite(ctx, &messages.Write{Offset: 0, Data: []byte("abc"), Reply: r})
	f.onOpen(ctx, &messages.Open{Writer: true, Reply: r})
	ctx.take()
	f.handle(ctx, &messages.PackOffer{Round: 3, BlockID: f.cur.id, Target: pid("packed"), Room: 16, ReplyTo: pid("manager")})
	assert.Equal(t, []sentMsg{{"manager", &messages.PackAnswer{Round: 3, File: pid("file")}}}, ctx.take())
	assert.False(t, f.packing)
}

func TestFileActorSyncAwaitsEveryBlockAndReplacesIDs(t *testing.T) {
	f, ctx := newTestFile(4)
	r := openReply()
	f.onWrite(ctx, &messages.Write{Offset: 2, Data: []byte("abcdef"), Reply: r})
	acceptSeals(f, ctx)
	ids := []string{f.segs.Ranges()[1].Locator, f.cur.id}
	ctx.take()
	var out messages.SyncResult
	sr := messages.NewReply()
	f.startSync(ctx, &out, sr)
	sent := ctx.take()
	require.Len(t, sent, 4)
	assert.Equal(t, &messages.Seal{}, sent[0].msg)
	assert.ElementsMatch(t, []string{"padding", "spawned1", "spawned2"}, []string{sent[1].to, sent[2].to, sent[3].to})
	f.handle(ctx, &messages.BlockResult{BlockID: messages.PaddingBlockID, Token: 0, Locator: "pad+1"})
	f.handle(ctx, &messages.BlockResult{BlockID: ids[0], Token: 0, Locator: "one+4"})
	assert.Equal(t, int32(-1), pending(sr))
	fail := &messages.BlockFailure{BlockID: ids[1], Locator: "x+2"}
	f.handle(ctx, &messages.BlockResult{BlockID: ids[1], Token: 0, Failure: fail})
	assert.Equal(t, int32(0), pending(sr))
	assert.Equal(t, []messages.BlockFailure{*fail}, out.Failures)
	assert.Equal(t, []segments.Range{
		{Locator: "pad+1", RangeSize: 2},
		{Locator: "one+4", RangeStart: 2, RangeSize: 4},
		{Locator: ids[1], RangeStart: 6, RangeSize: 2},
	}, out.Segments)
	assert.Equal(t, out.Segments, f.segs.Ranges())
	assert.Equal(t, []sentMsg{{"spawned1", &messages.Release{}}}, ctx.take(), "committed blocks are released")
}

func TestFileActorWaitsForMemoryBeforeCopyingAndDefersMeanwhile(t *testing.T) {
	f, ctx := newTestFile(16)
	f.rt.MinCapacity = 4
	f.rt.Memory = NewMemory(20, 0)
	r := openReply()
	f.onWrite(ctx, &messages.Write{Offset: 0, Data: []byte("abc"), Reply: r})
	assert.Equal(t, []sentMsg{{"spawned1", &messages.Append{Data: []byte("abc"), Capacity: 4, Reply: r}}}, ctx.take())
	first := f.cur.id
	f.rt.Memory.Reserve(8, true) // someone else takes 8: 4+8+16 > 20
	// Growing to 16 does not fit a budget of 20: the write waits for the
	// memory instead of sealing a 3-byte block, and nothing is copied.
	f.onWrite(ctx, &messages.Write{Offset: 3, Data: []byte("def"), Reply: r})
	assert.Equal(t, []sentMsg{{"manager", &messages.AwaitMemory{File: pid("file"), Bytes: 16}}}, ctx.take())
	assert.Equal(t, int64(3), f.segs.Size())
	stat := &messages.Stat{Out: &messages.FileInfo{}, Reply: openReply()}
	f.handle(ctx, stat)
	assert.Equal(t, []any{stat}, f.deferred, "everything else waits behind the write")
	// The BlockManager finds nothing pending and has the largest block
	// sealed: the write then needs only a new block of the same capacity,
	// which fits, and goes on at once.
	f.handle(ctx, &messages.SealBlock{BlockID: first})
	assert.Equal(t, []sentMsg{
		{"spawned1", &messages.Seal{}},
		{"spawned2", &messages.Append{Data: []byte("def"), Capacity: 4, Reply: r}},
	}, ctx.take())
	assert.Empty(t, f.deferred)
	assert.Equal(t, int64(6), stat.Out.Size, "the deferred Stat ran after the write")
	assert.Equal(t, []segments.Range{
		{Locator: first, RangeSize: 3},
		{Locator: f.cur.id, RangeStart: 3, RangeSize: 3},
	}, f.segs.Ranges())

	f.handle(ctx, &messages.Write{Offset: 6, Data: []byte("ghij"), Reply: r})
	assert.Equal(t, []sentMsg{{"manager", &messages.AwaitMemory{File: pid("file"), Bytes: 16}}}, ctx.take(),
		"4+8+4+16 > 20")
	f.rt.Memory.Unreserve(12) // the first block's upload and the other user let go
	f.handle(ctx, &messages.MemoryAvailable{})
	assert.Equal(t, []sentMsg{{"spawned2", &messages.Append{Data: []byte("ghij"), Capacity: 16, Reply: r}}}, ctx.take(),
		"the block grows once there is room: one block for the 7 bytes")
	assert.Equal(t, []segments.Range{
		{Locator: first, RangeSize: 3},
		{Locator: f.cur.id, RangeStart: 3, RangeSize: 7},
	}, f.segs.Ranges())
	assert.LessOrEqual(t, f.rt.Memory.Peak(), int64(20), "never over the budget")
}

// An overwrite releases the buffer blocks it leaves unnamed, and only
// those: replacing padding, committed bytes or the current block's own
// bytes sends nothing but the Append.
func TestAnOverwriteReleasesOnlyTheBufferBlocksItLeavesUnnamed(t *testing.T) {
	tests := []struct {
		name        string
		off         int64
		data        string
		wantRelease bool
		want        func(sealed, cur string) []segments.Range
	}{
		{"over padding", 0, "xy", false, func(sealed, cur string) []segments.Range {
			return []segments.Range{
				{Locator: cur, RangeSize: 2, SegmentOffset: 2},
				{Locator: "committed+4", RangeStart: 2, RangeSize: 4},
				{Locator: sealed, RangeStart: 6, RangeSize: 4},
				{Locator: cur, RangeStart: 10, RangeSize: 2},
			}
		}},
		{"over committed bytes", 2, "xy", false, func(sealed, cur string) []segments.Range {
			return []segments.Range{
				{Locator: messages.PaddingBlockID, RangeSize: 2},
				{Locator: cur, RangeStart: 2, RangeSize: 2, SegmentOffset: 2},
				{Locator: "committed+4", RangeStart: 4, RangeSize: 2, SegmentOffset: 2},
				{Locator: sealed, RangeStart: 6, RangeSize: 4},
				{Locator: cur, RangeStart: 10, RangeSize: 2},
			}
		}},
		{"over the current block", 10, "xy", false, func(sealed, cur string) []segments.Range {
			return []segments.Range{
				{Locator: messages.PaddingBlockID, RangeSize: 2},
				{Locator: "committed+4", RangeStart: 2, RangeSize: 4},
				{Locator: sealed, RangeStart: 6, RangeSize: 4},
				{Locator: cur, RangeStart: 10, RangeSize: 2, SegmentOffset: 2},
			}
		}},
		{"over part of a sealed block", 6, "xy", false, func(sealed, cur string) []segments.Range {
			return []segments.Range{
				{Locator: messages.PaddingBlockID, RangeSize: 2},
				{Locator: "committed+4", RangeStart: 2, RangeSize: 4},
				{Locator: cur, RangeStart: 6, RangeSize: 2, SegmentOffset: 2},
				{Locator: sealed, RangeStart: 8, RangeSize: 2, SegmentOffset: 2},
				{Locator: cur, RangeStart: 10, RangeSize: 2},
			}
		}},
		{"over all of a sealed block", 6, "wxyz", true, func(sealed, cur string) []segments.Range {
			return []segments.Range{
				{Locator: messages.PaddingBlockID, RangeSize: 2},
				{Locator: "committed+4", RangeStart: 2, RangeSize: 4},
				{Locator: cur, RangeStart: 6, RangeSize: 4, SegmentOffset: 2},
				{Locator: cur, RangeStart: 10, RangeSize: 2},
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// padding [0,2), a committed block [2,6), a sealed buffer block
			// [6,10), the current block [10,12).
			f, ctx := newTestFile(8)
			r := openReply()
			f.pad(2)
			f.segs.ReplaceRange(2, 4, "committed+4", 0)
			f.onWrite(ctx, &messages.Write{Offset: 6, Data: []byte("abcd"), Reply: r})
			sealed := f.cur.id
			f.sealCurrent(ctx, false)
			f.onWrite(ctx, &messages.Write{Offset: 10, Data: []byte("ef"), Reply: r})
			cur := f.cur.id
			ctx.take()

			f.onWrite(ctx, &messages.Write{Offset: tt.off, Data: []byte(tt.data), Reply: r})
			// Not where the block's last piece ended: the block will be
			// repacked, so it is not hashed while written.
			want := []sentMsg{{"spawned2", &messages.Append{Data: []byte(tt.data), Reply: r, Scattered: true}}}
			if tt.wantRelease {
				want = append(want, sentMsg{"spawned1", &messages.Release{}})
			}
			assert.Equal(t, want, ctx.take())
			assert.Equal(t, tt.want(sealed, cur), f.segs.Ranges())
			_, kept := f.blocks[sealed]
			assert.Equal(t, !tt.wantRelease, kept)
		})
	}
}

func TestFileActorKeepsItsOneBlockInlineAndAMapForMore(t *testing.T) {
	type op struct {
		set bool // setBlock, else deleteBlock
		id  string
	}
	tests := []struct {
		name    string
		ops     []op
		want    map[string]string // id → pid name, as every accessor sees them
		inlined bool              // no map made
	}{
		{"none", nil, map[string]string{}, true},
		{"one block stays inline", []op{{true, "a"}}, map[string]string{"a": "a"}, true},
		{"the one block set again stays inline", []op{{true, "a"}, {true, "a"}}, map[string]string{"a": "a"}, true},
		{"one block replaced by another stays inline", []op{{true, "a"}, {false, "a"}, {true, "b"}}, map[string]string{"b": "b"}, true},
		{"a second block makes the map, with both", []op{{true, "a"}, {true, "b"}}, map[string]string{"a": "a", "b": "b"}, false},
		{"the map stays when blocks go", []op{{true, "a"}, {true, "b"}, {false, "a"}}, map[string]string{"b": "b"}, false},
		{"deleting a block never named changes nothing", []op{{true, "a"}, {false, "z"}}, map[string]string{"a": "a"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := newTestFile(16)
			for _, o := range tt.ops {
				if o.set {
					f.setBlock(o.id, pid(o.id))
				} else {
					f.deleteBlock(o.id)
				}
			}
			assert.Equal(t, tt.inlined, f.blocks == nil)
			assert.Equal(t, len(tt.want), f.blockCount())
			seen := map[string]string{}
			f.eachBlock(func(id string, p *actor.PID) { seen[id] = p.Id })
			assert.Equal(t, tt.want, seen)
			for id, name := range tt.want {
				assert.True(t, f.hasBlock(id), id)
				assert.Equal(t, pid(name), f.block(id), id)
			}
			for _, id := range []string{"z", ""} {
				assert.False(t, f.hasBlock(id), id)
				assert.Nil(t, f.block(id), id)
			}
			f.eachBlock(func(id string, _ *actor.PID) { f.deleteBlock(id) })
			assert.Equal(t, 0, f.blockCount(), "eachBlock lets fn delete what it is given")
		})
	}
}

func TestFileActorUnderMemoryPressureSealsABlockOfHalfABlockRatherThanWait(t *testing.T) {
	tests := []struct {
		name          string
		budget, other int64 // the memory budget, and what other blocks hold of it
		first         int   // bytes written before the write that needs the block to grow
		want          func(f *fileActor) []sentMsg
	}{
		{"over half the budget in use, half a block written: sealed, the write waits for the put pool", 10000, 6000, 2048,
			func(f *fileActor) []sentMsg {
				return []sentMsg{{"spawned1", &messages.Seal{Notify: pid("file")}}}
			}},
		{"the budget mostly free: the block grows", 100000, 0, 2048,
			func(f *fileActor) []sentMsg {
				return []sentMsg{{"spawned1", &messages.Append{Data: []byte("xxxxxxxx"), Capacity: 4096, Reply: nil}}}
			}},
		{"less than half a block, no room to grow: the write waits for memory", 4000, 2000, 1024,
			func(f *fileActor) []sentMsg {
				return []sentMsg{{"manager", &messages.AwaitMemory{File: pid("file"), Bytes: 4096}}}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ctx := newTestFile(4096)
			f.rt.Memory = NewMemory(tt.budget, 0)
			require.True(t, f.rt.Memory.Reserve(tt.other, false))
			f.onWrite(ctx, &messages.Write{Offset: 0, Data: bytes.Repeat([]byte("a"), tt.first), Reply: openReply()})
			ctx.take()
			f.onWrite(ctx, &messages.Write{Offset: int64(tt.first), Data: []byte("xxxxxxxx"), Reply: openReply()})
			got := ctx.take()
			for _, m := range got { // the Reply is the write's own
				if a, ok := m.msg.(*messages.Append); ok {
					a.Reply = nil
				}
			}
			assert.Equal(t, tt.want(f), got)
		})
	}
}

func TestFileActorUnderMemoryPressureDoesNotSealABlockOfDeadBytes(t *testing.T) {
	tests := []struct {
		name          string
		blockSize     int64
		budget, other int64 // the memory budget, and what other blocks hold of it
		setup         func(f *fileActor, ctx *fakeCtx)
		then          []byte // written at 0 after setup: the block must grow
	}{
		{"half a block written, but most of it overwritten since", 8192, 10000, 0, func(f *fileActor, ctx *fakeCtx) {
			for i := 0; i < 4; i++ { // 4 KiB written, 1 KiB of it named
				f.onWrite(ctx, &messages.Write{Offset: 0, Data: bytes.Repeat([]byte("a"), 1024), Reply: openReply()})
			}
		}, bytes.Repeat([]byte("b"), 1024)},
		{"half a block written, then truncated away", 4096, 10000, 6000, func(f *fileActor, ctx *fakeCtx) {
			f.onWrite(ctx, &messages.Write{Offset: 0, Data: bytes.Repeat([]byte("a"), 2048), Reply: openReply()})
			f.onTruncate(ctx, &messages.Truncate{Size: 0, Reply: openReply()})
		}, []byte("b")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ctx := newTestFile(tt.blockSize)
			f.rt.Memory = NewMemory(tt.budget, 0)
			require.True(t, f.rt.Memory.Reserve(tt.other, false))
			tt.setup(f, ctx)
			ctx.take()
			f.onWrite(ctx, &messages.Write{Offset: 0, Data: tt.then, Reply: openReply()})
			for _, m := range ctx.take() {
				_, sealed := m.msg.(*messages.Seal)
				assert.False(t, sealed, "a block the file names little of is not sealed and uploaded")
			}
		})
	}
}
