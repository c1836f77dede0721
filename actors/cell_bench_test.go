package actors

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

// counter is a cell behaviour that counts the user messages it handles,
// stops itself after the first, and signals done when it stopped.
type counter struct {
	n    int
	done chan struct{}
}

func (c *counter) receive(ctx *cellContext, msg any) {
	switch msg.(type) {
	case *actor.Started, *actor.Stopping:
	case *actor.Stopped:
		if c.done != nil {
			c.done <- struct{}{}
		}
	default:
		c.n++
		ctx.Stop(ctx.Self())
	}
}

// BenchmarkCellLife measures a cell's whole life: spawn, one message sent
// through protoactor's Root.Send, stop — as a small file's file actor and
// block actor each live it.
//
//   - root: a cell with no parent on a strand of its own, from a goroutine
//     outside the actor system (one strand activation per cell);
//   - child: a child of a parent cell on the parent's strand, run on the
//     caller's goroutine (a file's block, spawned by its file).
func BenchmarkCellLife(b *testing.B) {
	b.Run("root", func(b *testing.B) {
		sys := newActorSystem(actor.WithLoggerFactory(discardLoggerFactory))
		d := NewDispatcher(300, 4, 4)
		defer d.Close()
		done := make(chan struct{}, 1)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			pid := spawnRootCell(sys, &counter{done: done}, NewStrand(d))
			sys.Root.Send(pid, i)
			<-done
		}
	})
	b.Run("child", func(b *testing.B) {
		sys := newActorSystem(actor.WithLoggerFactory(discardLoggerFactory))
		d := NewDispatcher(300, 4, 4)
		defer d.Close()
		s := NewStrand(d)
		ppid := spawnRootCell(sys, &counter{}, s)
		proc, _ := sys.ProcessRegistry.Get(ppid)
		parent := proc.(*cell)
		kid := &counter{}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if !s.Claim() {
				b.Fatal("the parent's strand is busy")
			}
			pid := parent.spawnChild(kid, s)
			sys.Root.Send(pid, i)
			s.RunUntil(doneNever{})
		}
		b.StopTimer()
		if kid.n != b.N || len(parent.children) != 0 {
			b.Fatalf("%d messages handled, %d children left, want %d and 0", kid.n, len(parent.children), b.N)
		}
	})
}
