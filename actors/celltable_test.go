package actors

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAStalePIDNeverReachesANewerCellInTheSameSlot(t *testing.T) {
	sys, d := testSystem(t)
	dead := deadLetters(t, sys)
	oldLog, newLog := &eventLog{}, &eventLog{}
	old := spawnRootCell(sys, &recorder{name: "old", log: oldLog}, NewStrand(d))
	sys.Root.Stop(old)
	waitTerminated(t, sys, old)
	pid := spawnRootCell(sys, &recorder{name: "new", log: newLog}, NewStrand(d))
	require.Equal(t, slotOf(t, old), slotOf(t, pid), "the stopped cell's slot is reused")
	require.NotEqual(t, old.Id, pid.Id)

	// A copy of the old PID (as read back from its id) resolves to the
	// dead-letter process; the old PID itself still names the stopped cell,
	// which drops what it is sent.
	stale := actor.NewPID(old.Address, old.Id)
	proc, ok := sys.ProcessRegistry.Get(stale)
	assert.False(t, ok)
	assert.Same(t, sys.DeadLetter, proc)
	sys.Root.Send(stale, "to the copy")
	sys.Root.Send(old, "to the old PID")
	got := map[any]bool{}
	for len(got) < 2 {
		select {
		case m := <-dead:
			got[m] = true
		case <-time.After(waitFor):
			t.Fatalf("dead letters: %v", got)
		}
	}
	assert.Equal(t, map[any]bool{"to the copy": true, "to the old PID": true}, got)
	sys.Root.Send(pid, "hello")
	require.Eventually(t, func() bool { return len(newLog.all()) == 2 }, waitFor, tick)
	assert.Equal(t, []string{"new started", "new hello"}, newLog.all(), "nothing sent to the old cell reached the new one")
	assert.Equal(t, []string{"old started", "old stopping", "old stopped"}, oldLog.all())
}

// slotOf returns the slot index in a cell's PID id.
func slotOf(t *testing.T, pid *actor.PID) string {
	t.Helper()
	_, slot, ok := strings.Cut(pid.Id, ".")
	require.True(t, ok, pid.Id)
	return slot
}

func TestAPIDThatNamesNoLiveCellResolvesToDeadLetters(t *testing.T) {
	sys, d := testSystem(t)
	pid := spawnRootCell(sys, &recorder{name: "c", log: &eventLog{}}, NewStrand(d))
	seq, slot, _ := strings.Cut(pid.Id, ".")
	assert.Equal(t, cellAddress, pid.Address)
	assert.Contains(t, pid.String(), cellAddress, "a cell's PID prints with its address")
	tests := []struct {
		name string
		pid  *actor.PID
		live bool
	}{
		{"a copy of a live cell's PID", actor.NewPID(cellAddress, pid.Id), true},
		{"another seq in the cell's slot", actor.NewPID(cellAddress, seq+"0."+slot), false},
		{"the cell's seq in another slot", actor.NewPID(cellAddress, seq+".1"+slot), false},
		{"a slot past the table", actor.NewPID(cellAddress, seq+".4294967295"), false},
		{"a slot past 32 bits", actor.NewPID(cellAddress, seq+".99999999999"), false},
		{"no dot", actor.NewPID(cellAddress, seq), false},
		{"an empty id", actor.NewPID(cellAddress, ""), false},
		{"letters", actor.NewPID(cellAddress, "a.b"), false},
		{"a negative slot", actor.NewPID(cellAddress, seq+".-1"), false},
		{"the cell's id under the local address", actor.NewPID(sys.Address(), pid.Id), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc, ok := sys.ProcessRegistry.Get(tt.pid)
			assert.Equal(t, tt.live, ok)
			if tt.live {
				c, isCell := proc.(*cell)
				require.True(t, isCell)
				assert.Same(t, pid, c.self)
			} else {
				assert.Same(t, sys.DeadLetter, proc)
			}
		})
	}
}

func TestTheCellTableFollowsWhatIsOpenUnderConcurrentSpawnsAndStops(t *testing.T) {
	sys, d := testSystem(t)
	tab := cellsOf(sys)
	// Eight parent cells each spawn 250 children on strands of their own,
	// at once, while the children already spawned are being stopped from
	// other goroutines.
	const parents, kids = 8, 250
	var spawned sync.WaitGroup
	pids := make(chan *actor.PID, parents*kids)
	var ppids []*actor.PID
	for p := 0; p < parents; p++ {
		spawned.Add(1)
		ppids = append(ppids, spawnRootCell(sys, &recorder{name: fmt.Sprint("p", p), log: &eventLog{}, onMsg: func(ctx *cellContext, _ any) {
			for i := 0; i < kids; i++ {
				pids <- spawnCell(ctx, &recorder{name: "kid", log: &eventLog{}}, NewStrand(d))
			}
			spawned.Done()
		}}, NewStrand(d)))
	}
	for _, p := range ppids {
		sys.Root.Send(p, "spawn")
	}
	var stoppers sync.WaitGroup
	var mu sync.Mutex
	var all []*actor.PID
	for g := 0; g < 4; g++ {
		stoppers.Add(1)
		go func(g int) {
			defer stoppers.Done()
			n := 0
			for pid := range pids {
				mu.Lock()
				all = append(all, pid)
				mu.Unlock()
				if n++; n%2 == 0 { // half of them now, half with their parents
					sys.Root.Stop(pid)
				}
			}
		}(g)
	}
	spawned.Wait()
	close(pids)
	stoppers.Wait()
	require.Len(t, all, parents*kids)
	ids := map[string]bool{}
	for _, pid := range all {
		assert.False(t, ids[pid.Id], "a cell's id is its own: %s", pid.Id)
		ids[pid.Id] = true
	}
	live, chunks := tab.counts()
	assert.LessOrEqual(t, live, parents*kids+parents)
	assert.GreaterOrEqual(t, chunks*chunkSlots, live)
	for _, p := range ppids {
		sys.Root.Stop(p)
		waitTerminated(t, sys, p)
	}
	for _, pid := range all {
		assertGone(t, sys, pid)
	}
	live, chunks = tab.counts()
	assert.Equal(t, 0, live)
	assert.LessOrEqual(t, chunks, 2, "the table gave back its empty chunks")

	// Cells stopped from the end of the table: it shrinks as they go.
	var seqs []*actor.PID
	for i := 0; i < 10*chunkSlots; i++ {
		seqs = append(seqs, spawnRootCell(sys, &recorder{name: "row", log: &eventLog{}}, NewStrand(d)))
	}
	_, chunks = tab.counts()
	assert.Equal(t, 10, chunks, "640 cells fill 10 chunks")
	maxChunks := chunks
	for i := len(seqs) - 1; i >= 0; i-- {
		sys.Root.Stop(seqs[i])
		waitTerminated(t, sys, seqs[i])
		live, chunks = tab.counts()
		assert.LessOrEqual(t, chunks, maxChunks)
		used := max(1, (live+chunkSlots-1)/chunkSlots) // the chunks the live cells fill
		assert.LessOrEqual(t, chunks, max(used+1, 4*used/3+1), "%d cells live", live)
		maxChunks = chunks
	}
	assert.Equal(t, 1, chunks, "one empty chunk is kept")

	// A cell spawned and stopped over and over reuses the first slot.
	for i := 0; i < 3; i++ {
		pid := spawnRootCell(sys, &recorder{name: "again", log: &eventLog{}}, NewStrand(d))
		assert.Equal(t, "0", slotOf(t, pid))
		sys.Root.Stop(pid)
		waitTerminated(t, sys, pid)
	}
}

// watcher is a protoactor actor that watches a cell, sends it a message
// and poisons it, and reports the Terminated it is told.
type watcher struct {
	cell *actor.PID
	told chan *actor.PID
}

func (w *watcher) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		ctx.Watch(w.cell)
		ctx.Send(w.cell, "from a protoactor actor")
		ctx.Poison(w.cell)
	case *actor.Terminated:
		w.told <- m.Who
	}
}

func TestAProtoactorActorWatchesSendsToAndPoisonsACell(t *testing.T) {
	sys, d := testSystem(t)
	log := &eventLog{}
	pid := spawnRootCell(sys, &recorder{name: "c", log: log}, NewStrand(d))
	w := &watcher{cell: pid, told: make(chan *actor.PID, 1)}
	wpid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return w }))
	defer sys.Root.Stop(wpid)
	select {
	case who := <-w.told:
		assert.True(t, who.Equal(pid), "%v", who)
	case <-time.After(waitFor):
		t.Fatal("the watcher was not told")
	}
	assert.Equal(t, []string{"c started", "c from a protoactor actor", "c stopping", "c stopped"}, log.all())
	assertGone(t, sys, pid)
}

// droppingRecorder records what it is shown after it stopped.
type droppingRecorder struct{ recorder }

func (d *droppingRecorder) dropped(_ *cellContext, msg any) { d.log.add(fmt.Sprint("dropped ", msg)) }

func TestACellsPIDIsPrimed(t *testing.T) {
	require.GreaterOrEqual(t, pidProcessOffset, 0, "actor.PID caches its Process in p *actor.Process")
	sys, d := testSystem(t)
	log := &eventLog{}
	pid := spawnRootCell(sys, &droppingRecorder{recorder{name: "c", log: log}}, NewStrand(d))
	// Stopped without a send through its PID (which would have had
	// protoactor resolve and cache it).
	c := cellsOf(sys).lookup(actor.NewPID(pid.Address, pid.Id))
	require.NotNil(t, c)
	c.Stop(pid)
	waitTerminated(t, sys, pid)
	assertGone(t, sys, pid)
	// The PID it was spawned with still names it: the stopped cell shows
	// its behaviour what it drops.
	sys.Root.Send(pid, "late")
	require.Eventually(t, func() bool { return len(log.all()) == 4 }, waitFor, tick)
	assert.Equal(t, []string{"c started", "c stopping", "c stopped", "dropped late"}, log.all())
}

// newTestCellTable returns a cell table of no actor system.
func newTestCellTable() *cellTable {
	t := &cellTable{spare: -1}
	chunks := make([]atomic.Pointer[cellChunk], 0, 1)
	t.chunks.Store(&chunks)
	return t
}

func TestTheCellTableGivesBackEveryChunkThatEmptiesWhereverItIs(t *testing.T) {
	tab := newTestCellTable()
	cells := make([]*cell, 100_000)
	for i := range cells {
		cells[i] = &cell{}
		tab.add(cells[i])
	}
	_, held := tab.counts()
	require.Equal(t, 100_000/chunkSlots+1, held)
	for _, c := range cells[:len(cells)-1] { // all but the one in the highest slot
		tab.remove(c)
	}
	live, held := tab.counts()
	assert.Equal(t, 1, live)
	assert.Equal(t, 2, held, "the last cell's chunk and one kept empty, not the 1,563 below it")
	last := cells[len(cells)-1]
	assert.Same(t, last, tab.lookup(&last.pid))

	// Churn: a low slot freed, two cells spawned, one stopped, many times.
	// The lowest free chunk is taken first, and the count stays exact.
	var open []*cell
	for i := 0; i < 10_000; i++ {
		a, b := &cell{}, &cell{}
		tab.add(a)
		tab.add(b)
		open = append(open, a)
		tab.remove(b)
		if len(open) > 100 {
			tab.remove(open[0])
			open = open[1:]
		}
	}
	live, held = tab.counts()
	assert.Equal(t, 1+len(open), live)
	assert.LessOrEqual(t, held, 2+(len(open)+chunkSlots-1)/chunkSlots+1)
	for _, c := range open {
		assert.Same(t, c, tab.lookup(&c.pid))
		assert.Less(t, c.index, 4*chunkSlots, "cells gather in the lowest chunks")
	}
}

func TestACellIDWrittenOtherwiseResolvesToNoCell(t *testing.T) {
	tab := newTestCellTable()
	for i := 0; i < 3; i++ {
		tab.add(&cell{})
	}
	c := &cell{}
	tab.add(c) // seq 4, slot 3
	require.Equal(t, "4.3", c.pid.Id)
	for _, id := range []string{"4.3"} {
		assert.Same(t, c, tab.lookup(actor.NewPID(cellAddress, id)), id)
	}
	for _, id := range []string{"04.3", "4.03", "+4.3", "4.3 ", "4.+3", "3.3", "4.2"} {
		assert.Nil(t, tab.lookup(actor.NewPID(cellAddress, id)), id)
	}
}

// deadLetters returns the string messages sys's dead-letter process gets
// from now until the test ends.
func deadLetters(t *testing.T, sys *actor.ActorSystem) <-chan any {
	dead := make(chan any, 16)
	sub := sys.EventStream.Subscribe(func(ev any) {
		if dl, ok := ev.(*actor.DeadLetterEvent); ok {
			if m, ok := dl.Message.(string); ok {
				dead <- m
			}
		}
	})
	t.Cleanup(func() { sys.EventStream.Unsubscribe(sub) })
	return dead
}
