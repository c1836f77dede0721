package actors

import (
	"io/fs"
	"os"
	"sort"
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestACloneRetainsSealedBlocksAndDuplicatesTheWritableOne(t *testing.T) {
	f, ctx := newTestFile(4)
	r := openReply()
	f.onWrite(ctx, &messages.Write{Offset: 0, Data: []byte("abcdef"), Reply: r}) // one sealed block, one writable
	acceptSeals(f, ctx)
	sealed, cur := f.segs.Ranges()[0].Locator, f.cur.id
	ctx.take()
	used := f.rt.Memory.Used()

	var out messages.CopyEntry
	cr := messages.NewReply()
	f.onCloneFile(ctx, &messages.CloneFile{Out: &out, Reply: cr})
	sent := ctx.take()
	require.Len(t, sent, 2)
	assert.Equal(t, sentMsg{"spawned1", &messages.Retain{}}, sent[0])
	rb, ok := sent[1].msg.(*messages.ReadBlock)
	require.True(t, ok)
	assert.Equal(t, "spawned2", sent[1].to)
	assert.Equal(t, int64(0), rb.Offset)
	assert.Len(t, rb.Dst, 2, "the writable block's two bytes")
	assert.Equal(t, []segments.Range{
		{Locator: sealed, RangeSize: 4},
		{Locator: cur, RangeStart: 4, RangeSize: 2},
	}, out.Segments)
	assert.Equal(t, map[string]*actor.PID{sealed: pid("spawned1")}, out.Blocks)
	require.NotNil(t, out.Dup)
	assert.Equal(t, cur, out.Dup.ID)
	assert.Equal(t, used+4, f.rt.Memory.Used(), "the duplicate is reserved against the budget")
	assert.Equal(t, int32(-1), pending(cr), "the reply waits for the block's copy")
	rb.Reply.Finish()
	assert.Equal(t, int32(0), pending(cr))
}

// newTestCollection returns a collection actor with files "d/a" (open, its
// actor "fa") and "d/b" (never opened).
func newTestCollection() (*collectionActor, *fakeCtx) {
	c := &collectionActor{rt: testRuntime(16), coll: &CollectionRuntime{ID: "c"}, root: newDirNode()}
	d := newDirNode()
	c.root.dirs["d"] = d
	d.files["a"] = &fileNode{pid: pid("fa")}
	d.files["b"] = &fileNode{segs: []segments.Range{{Locator: "x", RangeSize: 1}}}
	return c, &fakeCtx{}
}

func TestRenamingADirectoryTellsItsOpenFilesTheirNewPath(t *testing.T) {
	c, ctx := newTestCollection()
	r := messages.NewReply()
	c.onRename(ctx, &messages.Rename{Old: "d", New: "e", Reply: r})
	require.NoError(t, r.Err())
	assert.Equal(t, []sentMsg{{"fa", &messages.FromCollection{Msg: &messages.Reparent{Path: "e/a"}}}}, ctx.take())
	assert.Equal(t, uint64(1), c.coll.Changes.Load())
	assert.Nil(t, c.root.dirs["d"])
	assert.Equal(t, []string{"a", "b"}, sortedKeys(c.root.dirs["e"].files))
}

func TestCopyInSpawnsAFileForBufferedBytesAndHandsItTheDuplicate(t *testing.T) {
	c, ctx := newTestCollection()
	src := &messages.CopySource{Name: "a", Entries: []messages.CopyEntry{{
		Segments: []segments.Range{{Locator: "buffer:old", RangeSize: 2}},
		Dup:      &messages.DupBlock{ID: "buffer:old", Data: []byte("hi")},
	}}}
	r := messages.NewReply()
	c.onCopyIn(ctx, &messages.CopyIn{Path: "x", Into: true, Source: src, Reply: r})
	require.NoError(t, r.Err())
	sent := ctx.take()
	require.Len(t, sent, 1)
	adopt, ok := sent[0].msg.(*messages.FromCollection).Msg.(*messages.AdoptBlock)
	require.True(t, ok)
	assert.Equal(t, "spawned1", sent[0].to)
	assert.Equal(t, []byte("hi"), adopt.Data)
	assert.True(t, messages.IsBlockID(adopt.ID))
	assert.NotEqual(t, "buffer:old", adopt.ID, "the copy names its block with a new id")
	assert.Equal(t, pid("spawned1"), c.root.dirs["x"].files["a"].pid)
}

func TestARefusedCopyReleasesWhatTheCloneRetained(t *testing.T) {
	c, ctx := newTestCollection()
	rt := c.rt
	rt.Memory.Reserve(4, true)
	dup := rt.Memory.Alloc(4)[:2]
	src := &messages.CopySource{Name: "a", IsDir: true, Entries: []messages.CopyEntry{{
		Path:     "f",
		Segments: []segments.Range{{Locator: "buffer:s", RangeSize: 1}, {Locator: "buffer:w", RangeStart: 1, RangeSize: 2}},
		Blocks:   map[string]*actor.PID{"buffer:s": pid("sealed")},
		Dup:      &messages.DupBlock{ID: "buffer:w", Data: dup},
	}}}
	r := messages.NewReply()
	c.onCopyIn(ctx, &messages.CopyIn{Path: "d/b", Source: src, Reply: r})
	assert.EqualError(t, r.Err(), "copy d/b: file already exists")
	assert.ErrorIs(t, r.Err(), fs.ErrExist)
	assert.Equal(t, []sentMsg{{"sealed", &messages.Release{}}}, ctx.take())
	assert.Equal(t, int64(0), rt.Memory.Used(), "the duplicate's memory is given back")
	assert.Equal(t, uint64(0), c.coll.Changes.Load())
}

func TestOpeningAFileAsksItsActorOnlyWhenItExisted(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		flag     int
		wantFile string
		wantSent []sentMsg
	}{
		{name: "created: its actor starts open, the reply is at once", path: "d/new", flag: os.O_RDWR | os.O_CREATE, wantFile: "spawned1"},
		{name: "existing and open: Open goes to its actor", path: "d/a", flag: os.O_RDWR | os.O_CREATE, wantFile: "fa",
			wantSent: []sentMsg{{"fa", &messages.FromCollection{Msg: &messages.Open{Writer: true}}}}},
		{name: "existing, never opened: spawned, then Open", path: "d/b", flag: 0, wantFile: "spawned1",
			wantSent: []sentMsg{{"spawned1", &messages.FromCollection{Msg: &messages.Open{}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ctx := newTestCollection()
			var out messages.OpenResult
			r := messages.NewReply()
			c.onOpenFile(ctx, &messages.OpenFile{Name: tt.path, Flag: tt.flag, Out: &out, Reply: r})
			sent := ctx.take()
			for _, s := range sent {
				s.msg.(*messages.FromCollection).Msg.(*messages.Open).Reply = nil
			}
			assert.Equal(t, tt.wantSent, sent)
			require.NotNil(t, out.File)
			assert.Equal(t, tt.wantFile, out.File.Id)
			if tt.wantSent == nil {
				assert.Equal(t, int32(0), pending(r), "answered")
				require.NoError(t, r.Err())
			}
		})
	}
}

func TestASnapshotNamesEveryFileAndEmptyDirectoryByItsPath(t *testing.T) {
	c, ctx := newTestCollection()
	c.root.files["top"] = &fileNode{segs: []segments.Range{{Locator: "t", RangeSize: 2}}}
	sub := newDirNode()
	c.root.dirs["d"].dirs["sub"] = sub
	sub.files["deep"] = &fileNode{pid: pid("fdeep")}
	sub.files["deeper"] = &fileNode{segs: []segments.Range{{Locator: "y", RangeSize: 3}}}
	c.root.dirs["empty"] = newDirNode()
	want := []messages.SnapshotEntry{
		{Path: "d/a", File: pid("fa")},
		{Path: "d/b", Segments: []segments.Range{{Locator: "x", RangeSize: 1}}},
		{Path: "d/sub/deep", File: pid("fdeep")},
		{Path: "d/sub/deeper", Segments: []segments.Range{{Locator: "y", RangeSize: 3}}},
		{Path: "empty", Dir: true},
		{Path: "top", Segments: []segments.Range{{Locator: "t", RangeSize: 2}}},
	}
	for _, round := range []string{"first", "second (sized by the first)"} {
		var out []messages.SnapshotEntry
		var asked []string
		r := messages.NewReply()
		c.onSnapshot(ctx, &messages.Snapshot{Out: &out, Reply: r, Forward: func(i int, file *actor.PID, _ *messages.Reply) any {
			asked = append(asked, out[i].Path+" "+file.Id)
			return &messages.Stat{}
		}})
		sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
		assert.Equal(t, want, out, round)
		sort.Strings(asked)
		assert.Equal(t, []string{"d/a fa", "d/sub/deep fdeep"}, asked, round)
		assert.Equal(t, 6, c.snapshotHint, round)
		assert.Len(t, ctx.take(), 2, "%s: each open file is sent the forwarded message", round)
	}
}
