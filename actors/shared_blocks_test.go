package actors

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A child cell handed over to a sharedBlocks (detachChild) outlives its
// parent and leaves the set as it stops; one that runs on another strand,
// or is handed over once the set is closed, stays its parent's child and
// stops with it.
func TestADetachedChildOutlivesItsParentUntilItStops(t *testing.T) {
	for _, tt := range []struct {
		name        string
		ownStrand   bool // the child runs on a strand of its own
		closedFirst bool // the set is closed before the hand-over
		detached    bool // the child is handed over
	}{
		{name: "a child on its parent's strand is handed over", detached: true},
		{name: "a child on another strand stays", ownStrand: true},
		{name: "nothing is handed over once the set is closed", closedFirst: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sys, d := testSystem(t)
			log := &eventLog{}
			s := newSharedBlocks()
			if tt.closedFirst {
				assert.Empty(t, s.close())
			}
			strand := NewStrand(d)
			var child *actor.PID
			done := make(chan struct{}, 2)
			parent := spawnRootCell(sys, &recorder{name: "parent", log: log, onMsg: func(ctx *cellContext, msg any) {
				switch msg {
				case "spawn":
					cs := strand
					if tt.ownStrand {
						cs = NewStrand(d)
					}
					child = spawnCell(ctx, &recorder{name: "child", log: log}, cs)
				case "share":
					ctx.c.detachChild(child, s)
					assert.Len(t, ctx.Children(), map[bool]int{true: 0, false: 1}[tt.detached])
				}
				done <- struct{}{}
			}}, strand)
			sys.Root.Send(parent, "spawn")
			<-done
			sys.Root.Send(parent, "share")
			<-done
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
