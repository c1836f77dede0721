package actors

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"unsafe"

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

// packInto writes piece at off of the packed block's buffer, as a small
// block's PackCopy does, and returns the PackData it then sends.
func packInto(p *blockActor, from, file string, off int64, piece string) *messages.PackData {
	copy(p.buf[:cap(p.buf)][off:], piece)
	return &messages.PackData{FromID: from, File: pid(file), Offset: off, Size: int64(len(piece))}
}

func TestPackedBlockSealsOnceEveryPieceArrived(t *testing.T) {
	rt := testRuntime(64)
	p := newPackedBlock(rt, "P", rt.Memory.Alloc(16))
	p.self = pid("packed")
	ctx := &fakeCtx{}
	p.onPackData(ctx, packInto(p, "X2", "f2", 3, "defg"))
	p.onPackSeal(ctx, &messages.PackSeal{Pieces: 2})
	assert.Empty(t, ctx.take(), "waits for the second piece")
	p.onPackData(ctx, packInto(p, "X1", "f1", 0, "abc"))
	assert.Equal(t, "abcdefg", string(p.buf))
	sent := ctx.take()
	require.Len(t, sent, 4)
	assert.Equal(t, []sentMsg{
		{"f1", &messages.PackCopied{OldID: "X1", NewID: "P", NewPID: pid("packed"), Offset: 0}},
		{"f2", &messages.PackCopied{OldID: "X2", NewID: "P", NewPID: pid("packed"), Offset: 3}},
	}, sent[:2])
	assert.Equal(t, "puts", sent[3].to, "sealed and submitted")
	sum := md5.Sum([]byte("abcdefg"))
	assert.Equal(t, &sum, sent[3].msg.(*messages.Submit).Sum, "hashed as the pieces arrived")
	assert.Equal(t, 2, p.owners)
}

func TestPackedBlockClosesTheGapsOfRefusedSlots(t *testing.T) {
	rt := testRuntime(64)
	p := newPackedBlock(rt, "P", rt.Memory.Alloc(16))
	p.self = pid("packed")
	ctx := &fakeCtx{}
	p.onStarted(ctx, pid("packed"))
	assert.Equal(t, 16, cap(p.buf), "the buffer the BlockManager laid out")
	// Slots: f1 [0,3), a refused one [3,7), f2 [7,9) of which it used 1, f3 [9,12).
	p.onPackData(ctx, packInto(p, "X3", "f3", 9, "xyz"))
	p.onPackData(ctx, packInto(p, "X1", "f1", 0, "abc"))
	p.onPackData(ctx, packInto(p, "X2", "f2", 7, "q"))
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
	sum := md5.Sum([]byte("abcqxyz"))
	for _, m := range sent {
		if s, ok := m.msg.(*messages.Submit); ok {
			assert.Equal(t, &sum, s.Sum, "the md5 of the bytes after the gaps closed")
		}
	}
}

func TestAPackedBlockHashesItsPiecesInAnyOrder(t *testing.T) {
	tests := []struct {
		name   string
		slots  []int64 // each piece's offset; its size is the gap to the next (the last: 3)
		sizes  []int64 // bytes each piece used of its slot
		order  []int   // the order the pieces arrive in
		refuse int     // a slot refused (-1: none)
	}{
		{"in order", []int64{0, 3, 6, 9}, []int64{3, 3, 3, 3}, []int{0, 1, 2, 3}, -1},
		{"reversed", []int64{0, 3, 6, 9}, []int64{3, 3, 3, 3}, []int{3, 2, 1, 0}, -1},
		{"shuffled", []int64{0, 3, 6, 9}, []int64{3, 3, 3, 3}, []int{2, 0, 3, 1}, -1},
		{"a refused slot", []int64{0, 3, 6, 9}, []int64{3, 3, 3, 3}, []int{0, 3, 1}, 2},
		{"the first slot refused", []int64{0, 3, 6, 9}, []int64{3, 3, 3, 3}, []int{1, 2, 3}, 0},
		{"pieces shorter than their slots", []int64{0, 4, 8, 12}, []int64{3, 1, 4, 2}, []int{1, 0, 3, 2}, -1},
	}
	for _, tt := range tests {
		for _, offActors := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, hashed off the actors %v", tt.name, offActors), func(t *testing.T) {
				hashPackedPieces(t, offActors, tt.slots, tt.sizes, tt.order, tt.refuse)
			})
		}
	}
}

// hashPackedPieces copies pieces into a packed block's slots in the order
// given and checks the bytes it seals and their md5: computed on its strand
// (a small buffer, or no Hasher), or by a HashStream off the actors.
func hashPackedPieces(t *testing.T, offActors bool, slots, sizes []int64, order []int, refuse int) {
	{
		{
			rt := testRuntime(1 << 20)
			capacity := int64(32)
			if offActors {
				rt.Hasher = NewHasher(1)
				defer rt.Hasher.Close()
				capacity = HashOffActorsMin
			}
			tt := struct {
				slots, sizes []int64
				order        []int
				refuse       int
			}{slots, sizes, order, refuse}
			p := newPackedBlock(rt, "P", rt.Memory.Alloc(capacity))
			p.self = pid("packed")
			ctx := &fakeCtx{}
			var want []byte
			for i := range tt.slots {
				if i != tt.refuse {
					want = append(want, []byte(strings.Repeat(string(rune('a'+i)), int(tt.sizes[i])))...)
				}
			}
			for _, i := range tt.order {
				piece := strings.Repeat(string(rune('a'+i)), int(tt.sizes[i]))
				p.onPackData(ctx, packInto(p, fmt.Sprint("X", i), fmt.Sprint("f", i), tt.slots[i], piece))
			}
			p.onPackSeal(ctx, &messages.PackSeal{Pieces: len(tt.order)})
			require.Equal(t, string(want), string(p.buf))
			var submit *messages.Submit
			for _, m := range ctx.take() {
				if s, ok := m.msg.(*messages.Submit); ok {
					submit = s
				}
			}
			require.NotNil(t, submit)
			sum := md5.Sum(want)
			if !offActors {
				assert.Equal(t, &sum, submit.Sum)
				assert.Nil(t, submit.Pending)
				return
			}
			assert.Nil(t, submit.Sum)
			require.NotNil(t, submit.Pending)
			got, err := submit.Pending.Wait(context.Background())
			require.NoError(t, err)
			assert.Equal(t, sum, got)
			rt.Memory.mu.Lock()
			assert.Equal(t, 1, rt.Memory.lent[unsafe.SliceData(p.buf)], "the stream gave back its loan (the upload's is left)")
			rt.Memory.mu.Unlock()
		}
	}
}

func TestAPackedBlockThatStopsBeforeItSealedAbandonsItsHashAndGivesTheBufferBack(t *testing.T) {
	rt := testRuntime(1 << 20)
	rt.Hasher = NewHasher(1)
	defer rt.Hasher.Close()
	require.True(t, rt.Memory.Reserve(1<<20, false))
	p := newPackedBlock(rt, "P", rt.Memory.Alloc(1<<20))
	p.self = pid("packed")
	ctx := &fakeCtx{}
	p.onPackData(ctx, packInto(p, "X0", "f0", 0, strings.Repeat("a", 512<<10)))
	require.NotNil(t, p.stream, "hashing the first piece off the actors")
	stream := p.stream
	p.stop(ctx)
	requireEnds(t, stream)
	_, err := stream.Wait(context.Background())
	if err != nil { // the stream may have been whole already; if not, it was abandoned
		assert.ErrorIs(t, err, ErrHasherClosed)
	}
	assert.Equal(t, 0, rt.Memory.Retired(), "no reader left: the buffer is freed, not kept until Close")
	live, _ := rt.Memory.Stats()
	assert.Zero(t, live)
}

func TestASmallBlockCopiesItselfIntoItsSlotAndStops(t *testing.T) {
	tests := []struct {
		name   string
		offset int64
		data   string
		want   string // the packed buffer's first 8 bytes afterwards
		copied bool
	}{
		{"at the start", 0, "abc", "abc\x00\x00\x00\x00\x00", true},
		{"in the middle", 3, "defg", "\x00\x00\x00defg\x00", true},
		{"filling the end", 5, "xyz", "\x00\x00\x00\x00\x00xyz", true},
		{"past the end: a bug, nothing written", 6, "xyz", "\x00\x00\x00\x00\x00\x00\x00\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ctx := newTestBlock(64)
			b.onAppend(ctx, &messages.Append{Data: []byte(tt.data), Reply: openReply()})
			ctx.take()
			pack := b.rt.Memory.Alloc(8)[:8]
			clear(pack)
			b.rt.Memory.Lend(pack)
			b.onPackCopy(ctx, &messages.PackCopy{Target: pid("packed"), Offset: tt.offset, File: pid("file"), Buffer: pack})
			assert.Equal(t, tt.want, string(pack))
			sent := ctx.take()
			if !tt.copied {
				assert.Empty(t, sent)
				assert.Equal(t, messages.Writable, b.sm.state, "kept, bytes and all")
				return
			}
			assert.Equal(t, []sentMsg{{"packed", &messages.PackData{FromID: "B", File: pid("file"), Offset: tt.offset, Size: int64(len(tt.data))}}}, sent,
				"the piece, and no report of its stop to the manager, which forgot it when its file accepted")
			assert.Equal(t, messages.Deleted, b.sm.state, "its bytes live in the packed block now")
			assert.Nil(t, b.buf)
			assert.Equal(t, 0, b.rt.Memory.Retired())
		})
	}
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

func TestAPackedBlockDoesNotWaitForLostPieces(t *testing.T) {
	tests := []struct {
		name     string
		lost     []int // of the three pieces at 0, 3, 6
		want     string
		stopped  bool
		copiedTo []string
	}{
		{"the middle one", []int{1}, "aaaccc", false, []string{"f0", "f2"}},
		{"the first one", []int{0}, "bbbccc", false, []string{"f1", "f2"}},
		{"all of them", []int{0, 1, 2}, "", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := testRuntime(64)
			p := newPackedBlock(rt, "P", rt.Memory.Alloc(16))
			p.self = pid("packed")
			ctx := &fakeCtx{}
			p.onPackSeal(ctx, &messages.PackSeal{Pieces: 3})
			for i := 0; i < 3; i++ {
				lost := false
				for _, l := range tt.lost {
					lost = lost || l == i
				}
				if lost {
					p.onPackData(ctx, &messages.PackData{FromID: fmt.Sprint("X", i), File: pid(fmt.Sprint("f", i)), Offset: int64(3 * i), Lost: true})
				} else {
					p.onPackData(ctx, packInto(p, fmt.Sprint("X", i), fmt.Sprint("f", i), int64(3*i), strings.Repeat(string(rune('a'+i)), 3)))
				}
			}
			var copied []string
			var submit *messages.Submit
			for _, m := range ctx.take() {
				switch msg := m.msg.(type) {
				case *messages.PackCopied:
					copied = append(copied, m.to)
				case *messages.Submit:
					submit = msg
				}
			}
			assert.Equal(t, tt.copiedTo, copied)
			if tt.stopped {
				assert.Nil(t, submit)
				assert.Equal(t, messages.Deleted, p.sm.state)
				return
			}
			require.NotNil(t, submit)
			assert.Equal(t, tt.want, string(submit.Data))
			sum := md5.Sum([]byte(tt.want))
			assert.Equal(t, &sum, submit.Sum)
		})
	}
}

func TestRotateRightWithMatchesAPlainRotation(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	for _, n := range []int{1, 2, 3, 7, 64, 1000, 64<<10 - 1, 64 << 10, 200<<10 + 3} {
		ks := []int{0, 1, n - 1, n / 2, n / 3, rng.Intn(n)}
		for _, k := range ks {
			b := make([]byte, n)
			rng.Read(b)
			want := append(append([]byte(nil), b[n-k:]...), b[:n-k]...)
			scratch := make([]byte, []int{64 << 10, 1000, 1}[k%3]) // swaps of many scratch-fulls too
			rotateRightWith(b, int64(k), scratch)
			require.Equal(t, want, b, "n %d, k %d, scratch %d", n, k, len(scratch))
		}
	}
}

func TestRepackInPlaceOfManyInterleavedPiecesMatchesGathering(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	for round := 0; round < 120; round++ {
		// Pieces of 1 B to 100 KiB (or 1 B to 4 KiB, more of them) laid out
		// in a random order, or as 16 writers interleave theirs, and named
		// in another, with gaps between some.
		var extents []messages.Extent
		var off int64
		count, most := 2+rng.Intn(60), 100<<10
		if round%2 == 1 {
			count, most = 2+rng.Intn(400), 4<<10
		}
		for i := 0; i < count; i++ {
			size := int64(1 + rng.Intn(most))
			extents = append(extents, messages.Extent{Offset: off, Size: size})
			off += size + int64(rng.Intn(3)) // a gap now and then
		}
		if round%3 == 0 { // file order: writer w's pieces, which lie every 16th in the buffer
			var byWriter []messages.Extent
			for w := 0; w < 16; w++ {
				for i := w; i < len(extents); i += 16 {
					byWriter = append(byWriter, extents[i])
				}
			}
			extents = byWriter
		} else {
			rng.Shuffle(len(extents), func(i, j int) { extents[i], extents[j] = extents[j], extents[i] })
		}
		buf := make([]byte, off)
		rng.Read(buf)
		var want []byte
		for _, e := range extents {
			want = append(want, buf[e.Offset:e.Offset+e.Size]...)
		}
		got := repackInPlace(buf, extents)
		require.Equal(t, want, got, "round %d", round)
	}
}

func TestALargeBlockWrittenInFileOrderIsHashedWhileWritten(t *testing.T) {
	const mib = 1 << 20
	data := hashData(3, 5*mib+123)
	tests := []struct {
		name string
		// appends, each the size of a piece; scattered marks the pieces
		// that do not continue the one before in file order
		pieces    []int
		scattered int // index of the scattered piece, -1 for none
		repack    bool
		wantHash  bool // sealed with the sum being computed off the actors
		pressure  bool // other blocks hold over half the memory budget
	}{
		{"written in file order, growing from a small buffer", []int{1000, mib, 2 * mib, 2*mib - 1000 + 123}, -1, false, true, false},
		{"a piece out of file order: hashed once sealed", []int{mib, mib, 3*mib + 123}, 1, false, false, false},
		{"repacked: hashed once sealed", []int{2 * mib, 3*mib + 123}, -1, true, false, false},
		{"never reaching a large buffer: hashed once sealed", []int{1000}, -1, false, false, false},
		{"at most half a block, which may yet be packed: hashed once sealed", []int{mib, 3 * mib}, -1, false, false, false},
		{"at most half a block, but over half the memory budget used: hashed while written", []int{mib, 3 * mib}, -1, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := testRuntime(8 * mib)
			rt.Hasher = NewHasher(1)
			defer rt.Hasher.Close()
			if tt.pressure {
				rt.Memory = NewMemory(12*mib, 0)
				require.True(t, rt.Memory.Reserve(6*mib, false)) // other writers' blocks
			}
			b := newBlock(rt, "B", pid("file"))
			b.self = pid("block")
			ctx := &fakeCtx{}
			var written []byte
			var streams []*HashStream
			for i, n := range tt.pieces {
				piece := data[len(written) : len(written)+n]
				need := int64(len(written) + n)
				var c int64
				if need > int64(cap(b.buf)) {
					c = capacityClass(need, int64(cap(b.buf)), rt.MinCapacity, rt.BlockSize)
					require.True(t, rt.Memory.Reserve(c, false))
				}
				b.onAppend(ctx, &messages.Append{Data: piece, Capacity: c, Reply: openReply(), Scattered: i == tt.scattered})
				written = append(written, piece...)
				if b.stream != nil && (len(streams) == 0 || streams[len(streams)-1] != b.stream) {
					streams = append(streams, b.stream)
				}
			}
			if tt.repack {
				b.onRepack(ctx, &messages.Repack{Extents: []messages.Extent{{Offset: 0, Size: int64(len(written))}}})
				assert.Nil(t, b.stream, "a repack drops the stream: the bytes may move")
			}
			b.onSeal(ctx, &messages.Seal{})
			var submit *messages.Submit
			for _, m := range ctx.take() {
				if s, ok := m.msg.(*messages.Submit); ok {
					submit = s
				}
			}
			require.NotNil(t, submit)
			require.Equal(t, string(written), string(submit.Data))
			if !tt.wantHash {
				assert.Nil(t, submit.Pending)
				for _, s := range streams { // every stream begun was abandoned and let go of the buffer
					requireEnds(t, s)
				}
				return
			}
			require.NotNil(t, submit.Pending)
			sum, err := submit.Pending.Wait(context.Background())
			require.NoError(t, err)
			assert.Equal(t, md5.Sum(written), sum)
			rt.Memory.mu.Lock()
			assert.Equal(t, 1, rt.Memory.lent[unsafe.SliceData(b.buf)], "the stream gave back its loan (the upload's is left)")
			rt.Memory.mu.Unlock()
		})
	}
}

func TestABlockHashedWhileWrittenHasItsBytesHashedAgainWhenItsUploadFailed(t *testing.T) {
	const mib = 1 << 20
	rt := testRuntime(4 * mib)
	rt.Hasher = NewHasher(1)
	defer rt.Hasher.Close()
	b := newBlock(rt, "B", pid("file"))
	b.self = pid("block")
	ctx := &fakeCtx{}
	data := hashData(5, 3*mib)
	require.True(t, rt.Memory.Reserve(4*mib, false))
	b.onAppend(ctx, &messages.Append{Data: data, Capacity: 4 * mib, Reply: openReply()})
	require.NotNil(t, b.stream)
	b.onSeal(ctx, &messages.Seal{})
	submit := func() *messages.Submit {
		for _, m := range ctx.take() {
			if s, ok := m.msg.(*messages.Submit); ok {
				return s
			}
		}
		return nil
	}
	first := submit()
	require.NotNil(t, first)
	require.NotNil(t, first.Pending, "sealed with the sum computed while written")
	b.onUploaded(ctx, &messages.Uploaded{Err: errors.New("down")})
	b.onAwaitCommit(ctx, &messages.AwaitCommit{ReplyTo: pid("file"), Token: 1})
	retry := submit()
	require.NotNil(t, retry, "an awaited ERROR block is retried")
	assert.Nil(t, retry.Pending, "a pending sum that may be what failed is not waited for again: the put pool hashes the bytes")
	assert.Equal(t, string(data), string(retry.Data))
}
