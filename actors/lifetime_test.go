package actors

import (
	"errors"
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/stretchr/testify/assert"
)

// A parent cell keeps no child reachable once it ended (a collection's
// file actors, a file's blocks, the manager's packed blocks): neither its
// children's array nor its first child's room (child0) still points at an
// ended child. (Checked on the parent's strand, where those fields live.)
func TestAnEndedChildIsNotKeptReachableByItsParent(t *testing.T) {
	sys, d := testSystem(t)
	type left struct{ children, stale int }
	report := make(chan left, 1)
	parent := &recorder{name: "p", log: &eventLog{}, onMsg: func(ctx *cellContext, msg any) {
		switch msg {
		case "spawn":
			for i := 0; i < 2; i++ { // two at once: the children outgrow child0
				kid := &recorder{name: "kid", log: &eventLog{}, onMsg: func(ctx *cellContext, msg any) {
					if msg == "stop" {
						ctx.Stop(ctx.Self())
					}
				}}
				ctx.Send(spawnCell(ctx, kid, NewStrand(d)), "stop")
			}
		case "left?":
			c := ctx.c
			stale := 0
			for _, k := range append(c.child0[:], c.children[:cap(c.children)]...) {
				if k != nil {
					stale++
				}
			}
			report <- left{len(ctx.Children()), stale}
		}
	}}
	pid := spawnRootCell(sys, parent, NewStrand(d))
	sys.Root.Send(pid, "spawn")
	var got left
	for got.children = -1; got.children != 0; got = <-report {
		sys.Root.Send(pid, "left?")
	}
	assert.Zero(t, got.stale, "both children ended, yet the parent still points at one")
	sys.Root.Stop(pid)
	waitTerminated(t, sys, pid)
}

// Once a packed block told its files (PackedNotice), it keeps no pointer to
// them: a block in ERROR lives while one file names it, and must not keep
// the others' actors (cells, segments) reachable after they stopped.
func TestAPackedBlockInErrorKeepsNoStaleWaiters(t *testing.T) {
	p, ctx := sealedTwoPiecePackedBlock()
	p.onUploaded(ctx, &messages.Uploaded{Err: errors.New("store down")})
	ctx.take()
	assert.Empty(t, p.waiters)
	for i, w := range p.waiters[:cap(p.waiters)] {
		assert.Nil(t, w.pid, "waiters[%d] past the length still names a file", i)
	}
}
