package actors

import (
	"errors"
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// packedTestFile returns a closed file of "abcdef" whose block was packed
// at offset 10 of the packed block packedID (PackCopied received).
func packedTestFile(t *testing.T, packedID string) (*fileActor, *fakeCtx) {
	t.Helper()
	f, ctx := newTestFile(16)
	r := openReply()
	f.onOpen(ctx, &messages.Open{Writer: true, Reply: r})
	f.onWrite(ctx, &messages.Write{Offset: 0, Data: []byte("abcdef"), Reply: r})
	f.onClose(ctx, &messages.Close{Writer: true, Reply: r})
	old := f.cur.id
	f.handle(ctx, &messages.PackOffer{Round: 1, BlockID: old, Target: pid("packed"), TargetID: packedID, Offset: 10, Room: 6,
		ReplyTo: pid("manager"), Buffer: make([]byte, 0, 16)})
	f.handle(ctx, &messages.PackCopied{OldID: old, NewID: packedID, NewPID: pid("packed"), Offset: 10})
	ctx.take()
	require.Equal(t, packedID, f.noticeFrom)
	require.Equal(t, []segments.Range{{Locator: packedID, RangeSize: 6, SegmentOffset: 10}}, f.segs.Ranges())
	return f, ctx
}

func TestAPackedFilesSyncWaitsForThePackedBlocksNoticeInsteadOfAsking(t *testing.T) {
	packed := messages.NewBlockID()
	other := messages.NewBlockID()
	failure := &messages.BlockFailure{BlockID: packed, Locator: "e80b5017098950fc58aad83c8c14978e+16", Err: errors.New("store down")}
	committed := []segments.Range{{Locator: "e80b5017098950fc58aad83c8c14978e+16", RangeSize: 6, SegmentOffset: 10}}
	tests := []struct {
		name         string
		before       *messages.BlockResult // a notice that arrives before the Sync
		after        *messages.BlockResult // one that arrives while the Sync waits
		wantPending  bool                  // the Sync still waits at the end
		wantSegments []segments.Range      // the Sync's answer (when it has one)
		wantFailures []messages.BlockFailure
		wantSent     []sentMsg // what the file sent once the notices arrived
		wantNotice   string    // noticeFrom at the end
	}{
		{
			name:         "the upload succeeds while the Sync waits",
			after:        &messages.BlockResult{BlockID: packed, Token: messages.PackedNotice, Locator: committed[0].Locator},
			wantSegments: committed,
			wantSent:     []sentMsg{{"packed", &messages.Release{}}},
		},
		{
			name:         "the upload succeeded before the Sync came: it is answered at once",
			before:       &messages.BlockResult{BlockID: packed, Token: messages.PackedNotice, Locator: committed[0].Locator},
			wantSegments: committed,
			wantSent:     []sentMsg{{"packed", &messages.Release{}}},
		},
		{
			name:         "the upload fails: the Sync reports it and the segments keep the block",
			after:        &messages.BlockResult{BlockID: packed, Token: messages.PackedNotice, Failure: failure},
			wantSegments: []segments.Range{{Locator: packed, RangeSize: 6, SegmentOffset: 10}},
			wantFailures: []messages.BlockFailure{*failure},
		},
		{
			name:        "a notice of another packed block changes nothing",
			after:       &messages.BlockResult{BlockID: other, Token: messages.PackedNotice, Locator: "x+1"},
			wantPending: true,
			wantNotice:  packed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ctx := packedTestFile(t, packed)
			var early []sentMsg
			if tt.before != nil {
				f.handle(ctx, tt.before)
				early = ctx.take()
			}
			var out messages.SyncResult
			sr := messages.NewReply()
			f.handle(ctx, &messages.Sync{Out: &out, Reply: sr})
			sent := ctx.take()
			for _, m := range sent {
				assert.NotEqual(t, "packed", m.to, "the packed block is not asked (%T)", m.msg)
			}
			if tt.after != nil {
				f.handle(ctx, tt.after)
			}
			if tt.wantPending {
				assert.Equal(t, int32(-1), pending(sr))
			} else {
				assert.Equal(t, int32(0), pending(sr))
				assert.Equal(t, tt.wantSegments, out.Segments)
				assert.Equal(t, tt.wantFailures, out.Failures)
			}
			sent = append(early, ctx.take()...)
			var toPacked []sentMsg
			for _, m := range sent {
				if m.to == "packed" {
					toPacked = append(toPacked, m)
				}
			}
			assert.Equal(t, tt.wantSent, toPacked)
			assert.Equal(t, tt.wantNotice, f.noticeFrom)
		})
	}
}

func TestAfterAFailedNoticeTheNextSyncAsksThePackedBlockWhichRetries(t *testing.T) {
	packed := messages.NewBlockID()
	f, ctx := packedTestFile(t, packed)
	fail := &messages.BlockFailure{BlockID: packed, Locator: "l+6", Err: errors.New("store down")}
	f.handle(ctx, &messages.BlockResult{BlockID: packed, Token: messages.PackedNotice, Failure: fail})
	assert.Empty(t, ctx.take(), "no Sync waited")
	var out messages.SyncResult
	sr := messages.NewReply()
	f.handle(ctx, &messages.Sync{Out: &out, Reply: sr})
	assert.Equal(t, []sentMsg{{"packed", &messages.AwaitCommit{ReplyTo: pid("file"), Token: 0}}}, ctx.take())
	f.handle(ctx, &messages.BlockResult{BlockID: packed, Token: 0, Locator: "l+6"})
	assert.Equal(t, int32(0), pending(sr))
	assert.Equal(t, []segments.Range{{Locator: "l+6", RangeSize: 6, SegmentOffset: 10}}, out.Segments)
	assert.Empty(t, out.Failures)
}

func TestAPackedBlockTellsEachOfItsFilesTheOutcomeOfItsUpload(t *testing.T) {
	tests := []struct {
		name     string
		uploaded *messages.Uploaded
		want     func(id string) *messages.BlockResult // what each file is told (BlockID, Token set per file)
	}{
		{
			name:     "stored",
			uploaded: &messages.Uploaded{Locator: "L+7"},
			want: func(id string) *messages.BlockResult {
				return &messages.BlockResult{BlockID: id, Token: messages.PackedNotice, Locator: "L+7"}
			},
		},
		{
			name:     "failed",
			uploaded: &messages.Uploaded{Err: errors.New("store down")},
			want: func(id string) *messages.BlockResult {
				return &messages.BlockResult{BlockID: id, Token: messages.PackedNotice, Failure: &messages.BlockFailure{
					BlockID: id, Locator: "7ac66c0f148de9519b8bd264312c4d64+7", Err: errors.New("store down")}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ctx := sealedTwoPiecePackedBlock()
			p.onUploaded(ctx, tt.uploaded)
			var told []sentMsg
			for _, m := range ctx.take() {
				if _, ok := m.msg.(*messages.BlockResult); ok {
					told = append(told, m)
				}
			}
			assert.Equal(t, []sentMsg{{"f1", tt.want("P")}, {"f2", tt.want("P")}}, told)
			assert.Empty(t, p.waiters, "told once: a later outcome goes to those who ask")
		})
	}
}

func TestAStoppedFileActorExpectsOnlyBlockResultsLate(t *testing.T) {
	f, _ := newTestFile(16)
	tests := []struct {
		name string
		msg  any
		want bool
	}{
		{"a packed block's notice", &messages.BlockResult{BlockID: "P", Token: messages.PackedNotice, Locator: "l+1"}, true},
		{"a shared block's answer to a Sync failed as the file stopped", &messages.BlockResult{BlockID: "P", Token: 0, Locator: "l+1"}, true},
		{"a pack offer (refused by dropped instead)", &messages.PackOffer{Round: 1}, false},
		{"a write", &messages.Write{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, f.expectedLate(tt.msg))
		})
	}
}

func TestAFileThatStopsBeforeItsPackCopiedLetsThePackedBlockGo(t *testing.T) {
	tests := []struct {
		name string
		msg  any
		want []sentMsg
		late bool // dropped without a dead letter once the actor stopped
	}{
		{"where its bytes were packed: the packed block is released", &messages.PackCopied{OldID: "X", NewID: "P", NewPID: pid("packed"), Offset: 8},
			[]sentMsg{{"packed", &messages.Release{}}}, true},
		{"a pack offer: refused, so the round goes on", &messages.PackOffer{Round: 3, ReplyTo: pid("manager")},
			[]sentMsg{{"manager", &messages.PackAnswer{Round: 3, File: pid("file")}}}, false},
		{"anything else: nothing", &messages.Sync{}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ctx := newTestFile(64)
			f.stopping = true
			f.drop(ctx, tt.msg)
			assert.Equal(t, tt.want, ctx.take())
			assert.Equal(t, tt.late, f.expectedLate(tt.msg))
		})
	}
}

// sealedTwoPiecePackedBlock returns a packed block that holds f1's "abc"
// and f2's "defg" and sealed itself (its messages so far taken).
func sealedTwoPiecePackedBlock() (*blockActor, *fakeCtx) {
	rt := testRuntime(64)
	p := newPackedBlock(rt, "P", rt.Memory.Alloc(16))
	p.self = pid("packed")
	ctx := &fakeCtx{}
	p.onPackData(ctx, packInto(p, "X1", "f1", 0, "abc"))
	p.onPackData(ctx, packInto(p, "X2", "f2", 3, "defg"))
	p.onPackSeal(ctx, &messages.PackSeal{Pieces: 2})
	ctx.take()
	return p, ctx
}
