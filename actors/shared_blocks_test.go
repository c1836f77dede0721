package actors

import (
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A child cell handed over to a sharedBlocks (detachChild) outlives its
// parent and leaves the set as it stops, whether it runs on its parent's
// strand or on one of its own (a stream block); one handed over once the
// set is closed stays its parent's child and stops with it.
func TestADetachedChildOutlivesItsParentUntilItStops(t *testing.T) {
	for _, tt := range []struct {
		name        string
		ownStrand   bool // the child runs on a strand of its own
		closedFirst bool // the set is closed before the hand-over
		detached    bool // the child is handed over
	}{
		{name: "a child on its parent's strand is handed over", detached: true},
		{name: "a child on a strand of its own is handed over", ownStrand: true, detached: true},
		{name: "nothing is handed over once the set is closed", closedFirst: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sys, d := testSystem(t)
			log := &eventLog{}
			s := newSharedBlocks()
			if tt.closedFirst {
				assert.Empty(t, s.close())
			}
			strand, childStrand := NewStrand(d), (*Strand)(nil)
			if tt.ownStrand {
				childStrand = NewStrand(d)
			}
			parent, child, tell := spawnSharer(sys, strand, childStrand, log, s, func(children []*actor.PID) {
				assert.Len(t, children, map[bool]int{true: 0, false: 1}[tt.detached])
			})
			tell("spawn")
			tell("share")
			want := map[bool]int{true: 1, false: 0}[tt.detached]
			assert.Equal(t, want, s.count())
			sys.Root.Stop(parent)
			waitTerminated(t, sys, parent)
			assertGone(t, sys, parent)
			if !tt.detached {
				assertGone(t, sys, child)
				return
			}
			proc, ok := sys.ProcessRegistry.Get(actor.NewPID(child.Address, child.Id))
			require.True(t, ok, "the child outlived its parent")
			assert.NotSame(t, sys.DeadLetter, proc)
			held := s.close()
			require.Len(t, held, 1)
			assert.Equal(t, child.Id, held[0].pid.Id)
			sys.Root.Stop(child)
			waitTerminated(t, sys, child)
			assertGone(t, sys, child)
			assert.Equal(t, 0, s.count(), "the child left the set as it stopped")
			assert.Equal(t, []string{"parent started", "parent spawn", "child started", "parent share",
				"parent stopping", "parent stopped", "child stopping", "child stopped"}, log.all())
		})
	}
}

// spawnSharer spawns a parent cell on strand that, told "spawn", spawns a
// child cell on childStrand (on its own when nil) and, told "share", hands
// it over to s and calls shared with its children left. tell sends it a
// message and waits until it handled it; child is the child's PID once
// spawned.
func spawnSharer(sys *actor.ActorSystem, strand, childStrand *Strand, log *eventLog, s *sharedBlocks,
	shared func(children []*actor.PID)) (parent, child *actor.PID, tell func(msg string)) {
	if childStrand == nil {
		childStrand = strand
	}
	done := make(chan struct{}, 1)
	var c actor.PID
	parent = spawnRootCell(sys, &recorder{name: "parent", log: log, onMsg: func(ctx *cellContext, msg any) {
		switch msg {
		case "spawn":
			c = *spawnCell(ctx, &recorder{name: "child", log: log}, childStrand)
		case "share":
			ctx.c.detachChild(&c, s)
			shared(ctx.Children())
		}
		done <- struct{}{}
	}}, strand)
	return parent, &c, func(msg string) {
		sys.Root.Send(parent, msg)
		<-done
	}
}

// never is a Finisher that never finishes: RunUntil runs what is queued.
type never struct{}

func (never) Finished() bool { return false }

// A child on a strand of its own that stops before it hears that it was
// handed over (cellDetached) is let go of by the set all the same, and
// its parent, told of its end, goes on.
func TestAChildOnItsOwnStrandThatStopsBeforeItHearsItWasHandedOverLeavesTheSet(t *testing.T) {
	sys, d := testSystem(t)
	log := &eventLog{}
	s := newSharedBlocks()
	childStrand := NewStrand(d)
	parent, child, tell := spawnSharer(sys, NewStrand(d), childStrand, log, s, func(children []*actor.PID) {
		assert.Empty(t, children)
	})
	tell("spawn")
	require.True(t, childStrand.Claim(), "the child's strand is idle") // what is queued there waits
	tell("share")
	assert.Equal(t, 1, s.count())
	sys.Root.Stop(child)
	childStrand.RunUntil(never{}) // the stop goes first, then the hand-over
	waitTerminated(t, sys, child)
	assertGone(t, sys, child)
	assert.Equal(t, 0, s.count(), "the set let go of the child")
	tell("after")
	sys.Root.Stop(parent)
	waitTerminated(t, sys, parent)
	assertGone(t, sys, parent)
	assert.Equal(t, []string{"parent started", "parent spawn", "child started", "parent share",
		"child stopping", "child stopped", "parent after", "parent stopping", "parent stopped"}, log.all())
}

// What a stopping file actor or block never handles gives back what it
// lends or retains: a deferred PackOffer is refused (the BlockManager's
// buffer lent to it comes back), a clone for a copy is answered with
// errReleased (the copy gives back what other clones retained), the bytes a
// copied file was to adopt go back to the budget, and a Repack's split
// buffers, lent to the block, are given back — freed then, not at
// Engine.Close.
func TestWhatAStoppingFileOrBlockDropsGivesBackWhatItLends(t *testing.T) {
	for _, tt := range []struct {
		name string
		run  func(t *testing.T, rt *Runtime, f *fileActor, ctx *fakeCtx)
	}{
		{"a pack offer deferred behind a pack copy is refused", func(t *testing.T, rt *Runtime, f *fileActor, ctx *fakeCtx) {
			f.packing = true
			offer := &messages.PackOffer{Round: 7, ReplyTo: pid("manager")}
			f.handle(ctx, &messages.FromCollection{Msg: offer})
			require.Len(t, f.deferred, 1)
			f.failHeld(ctx)
			sent := ctx.take()
			require.Len(t, sent, 1)
			assert.Equal(t, "manager", sent[0].to)
			assert.Equal(t, &messages.PackAnswer{Round: 7, File: f.self}, sent[0].msg)
			assert.Empty(t, f.deferred)
		}},
		{"a clone deferred behind a pack copy is answered", func(t *testing.T, rt *Runtime, f *fileActor, ctx *fakeCtx) {
			f.packing = true
			r := messages.NewReply()
			f.handle(ctx, &messages.FromCollection{Msg: &messages.CloneFile{Out: &messages.CopyEntry{}, Reply: r}})
			f.failHeld(ctx)
			require.True(t, r.Finished(), "answered")
			assert.ErrorIs(t, r.Err(), errReleased)
			assert.Empty(t, ctx.take())
		}},
		{"a clone sent to a stopped file is answered", func(t *testing.T, rt *Runtime, f *fileActor, ctx *fakeCtx) {
			r := messages.NewReply()
			f.drop(ctx, &messages.FromCollection{Msg: &messages.CloneFile{Out: &messages.CopyEntry{}, Reply: r}})
			require.True(t, r.Finished(), "answered")
			assert.ErrorIs(t, r.Err(), errReleased)
		}},
		{"the bytes a stopped copy was to adopt are freed", func(t *testing.T, rt *Runtime, f *fileActor, ctx *fakeCtx) {
			require.True(t, rt.Memory.Reserve(64, false))
			data := rt.Memory.Alloc(64)[:10]
			require.Equal(t, int64(64), rt.Memory.Used())
			f.drop(ctx, &messages.FromCollection{Msg: &messages.AdoptBlock{ID: "dup", Data: data}})
			assert.Equal(t, int64(0), rt.Memory.Used())
		}},
		{"a split's buffers lent to a stopped block are given back", func(t *testing.T, rt *Runtime, f *fileActor, ctx *fakeCtx) {
			require.True(t, rt.Memory.Reserve(128, false))
			parts := []messages.SplitPart{{Buf: rt.Memory.Alloc(64)}, {Buf: rt.Memory.Alloc(64)}}
			for _, p := range parts {
				rt.Memory.Lend(p.Buf)
				rt.Memory.Retire(p.Buf) // the split blocks stopped with the file
			}
			require.Equal(t, 2, rt.Memory.Retired())
			newBlock(rt, "b", f.self).dropped(nil, &messages.Repack{Parts: parts})
			assert.Equal(t, 0, rt.Memory.Retired(), "freed once given back")
			assert.Equal(t, int64(0), rt.Memory.Used())
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rt := testRuntime(64)
			f := newFileActor(rt, &CollectionRuntime{ID: "c"}, "f", nil)
			f.self = pid("f")
			tt.run(t, rt, f, &fakeCtx{})
		})
	}
}
