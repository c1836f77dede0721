package actors

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a cell behaviour that records what it receives.
type recorder struct {
	name string
	log  *eventLog
	// onMsg, when set, runs for each user message (spawning, stopping…).
	onMsg func(ctx *cellContext, msg any)
}

type eventLog struct {
	mu  sync.Mutex
	got []string
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	l.got = append(l.got, s)
	l.mu.Unlock()
}

func (l *eventLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

func (r *recorder) receive(ctx *cellContext, msg any) {
	switch m := msg.(type) {
	case *actor.Started:
		r.log.add(r.name + " started")
	case *actor.Stopping:
		r.log.add(r.name + " stopping")
	case *actor.Stopped:
		r.log.add(r.name + " stopped")
	case string:
		r.log.add(r.name + " " + m)
		if r.onMsg != nil {
			r.onMsg(ctx, msg)
		}
	}
}

// testSystem is an actor system on a parked-worker dispatcher.
func testSystem(t *testing.T) (*actor.ActorSystem, *Dispatcher) {
	t.Helper()
	sys := newActorSystem(actor.WithLoggerFactory(discardLoggerFactory))
	d := NewDispatcher(300, 4, 4)
	t.Cleanup(d.Close)
	return sys, d
}

// waitTerminated watches pid with a future and waits for its end.
func waitTerminated(t *testing.T, sys *actor.ActorSystem, pid *actor.PID) {
	t.Helper()
	f := actor.NewFuture(sys, waitFor)
	proc, _ := sys.ProcessRegistry.Get(pid)
	proc.SendSystemMessage(pid, &actor.Watch{Watcher: f.PID()})
	require.NoError(t, f.Wait(), "terminated")
}

// assertGone checks that pid's cell left its table: a copy of its PID
// resolves to the dead-letter process.
func assertGone(t *testing.T, sys *actor.ActorSystem, pid *actor.PID) {
	t.Helper()
	proc, ok := sys.ProcessRegistry.Get(actor.NewPID(pid.Address, pid.Id))
	assert.False(t, ok, "%s is still resolved", pid.Id)
	assert.Same(t, sys.DeadLetter, proc, pid.Id)
}

func TestACellSeesStartedFirstAndEachSendersMessagesInOrder(t *testing.T) {
	sys, d := testSystem(t)
	log := &eventLog{}
	pid := spawnRootCell(sys, &recorder{name: "c", log: log}, NewStrand(d))
	var wg sync.WaitGroup
	for s := 0; s < 4; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				sys.Root.Send(pid, fmt.Sprintf("%d.%03d", s, i))
			}
		}(s)
	}
	wg.Wait()
	sys.Root.Stop(pid)
	waitTerminated(t, sys, pid)
	got := log.all()
	require.Equal(t, "c started", got[0])
	require.Equal(t, []string{"c stopping", "c stopped"}, got[len(got)-2:])
	next := make([]int, 4)
	delivered := 0
	for _, g := range got[1 : len(got)-2] {
		var s, i int
		_, err := fmt.Sscanf(g, "c %d.%d", &s, &i)
		require.NoError(t, err, g)
		// Stop jumps the queue: a sender's messages may be cut short, never reordered.
		require.Equal(t, next[s], i, "sender %d out of order", s)
		next[s]++
		delivered++
	}
	assertGone(t, sys, pid)
	assert.LessOrEqual(t, delivered, 400)
}

func TestStopJumpsTheQueueAndLaterMessagesGoToDeadLetters(t *testing.T) {
	sys, d := testSystem(t)
	log := &eventLog{}
	dead := deadLetters(t, sys)
	s := NewStrand(d)
	// Hold the strand so that everything queues, then let it run.
	require.True(t, s.Claim())
	pid := spawnRootCell(sys, &recorder{name: "c", log: log}, s)
	sys.Root.Send(pid, "one")
	sys.Root.Send(pid, "two")
	sys.Root.Stop(pid)
	s.RunUntil(doneNever{})
	waitTerminated(t, sys, pid)
	assert.Equal(t, []string{"c started", "c stopping", "c stopped"}, log.all(),
		"the queued messages are not handled: Stop came first")
	sys.Root.Send(pid, "three")
	got := map[string]bool{}
	for len(got) < 3 {
		select {
		case m := <-dead:
			got[fmt.Sprint(m)] = true
		case <-time.After(waitFor):
			t.Fatalf("dead letters: %v", got)
		}
	}
	assert.Equal(t, map[string]bool{"one": true, "two": true, "three": true}, got)
}

// doneNever never reports done: RunUntil runs until the strand is empty.
type doneNever struct{}

func (doneNever) Finished() bool { return false }

func TestACellStopsItsChildrenAndEndsAfterThem(t *testing.T) {
	sys, d := testSystem(t)
	log := &eventLog{}
	var kids []*actor.PID
	spawned := make(chan struct{})
	parent := &recorder{name: "parent", log: log, onMsg: func(ctx *cellContext, msg any) {
		for i := 0; i < 3; i++ {
			kids = append(kids, spawnCell(ctx, &recorder{name: fmt.Sprintf("kid%d", i), log: log}, NewStrand(d)))
		}
		close(spawned)
	}}
	pid := spawnRootCell(sys, parent, NewStrand(d))
	sys.Root.Send(pid, "spawn")
	<-spawned
	sys.Root.Stop(pid)
	waitTerminated(t, sys, pid)
	got := log.all()
	assert.Equal(t, "parent stopped", got[len(got)-1], "the parent ends last: %v", got)
	for i := range kids {
		assert.Contains(t, got, fmt.Sprintf("kid%d stopped", i))
		assertGone(t, sys, kids[i])
	}
	stopping := indexOf(got, "parent stopping")
	for i := range kids {
		assert.Less(t, stopping, indexOf(got, fmt.Sprintf("kid%d stopping", i)), "children are stopped once the parent is stopping")
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// parentActor is a protoactor actor that spawns cells as children.
type parentActor struct {
	d        *Dispatcher
	log      *eventLog
	children chan []*actor.PID
	ended    chan *actor.PID
}

func (p *parentActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case string:
		if m == "spawn" {
			spawnCell(ctx, &recorder{name: "a", log: p.log}, NewStrand(p.d))
			spawnCell(ctx, &recorder{name: "b", log: p.log}, NewStrand(p.d))
		}
		p.children <- append([]*actor.PID(nil), ctx.Children()...) // protoactor shares its slice
	case *actor.Terminated:
		p.ended <- m.Who
	}
}

func TestAProtoactorParentSeesCellsAsChildrenAndStopsThem(t *testing.T) {
	sys, d := testSystem(t)
	log := &eventLog{}
	p := &parentActor{d: d, log: log, children: make(chan []*actor.PID, 4), ended: make(chan *actor.PID, 4)}
	pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return p }))
	sys.Root.Send(pid, "spawn")
	kids := <-p.children
	require.Len(t, kids, 2)

	// One child stops on its own: the parent is told and forgets it.
	sys.Root.Stop(kids[0])
	select {
	case who := <-p.ended:
		assert.Equal(t, kids[0].Id, who.Id)
	case <-time.After(waitFor):
		t.Fatal("the parent was not told")
	}
	sys.Root.Send(pid, "children?")
	left := <-p.children
	require.Len(t, left, 1)
	assert.Equal(t, kids[1].Id, left[0].Id, "the child left is the other one")

	// Stopping the parent stops the other, and the parent ends after it.
	require.NoError(t, sys.Root.StopFuture(pid).Wait())
	assert.Contains(t, log.all(), "b stopped")
	assertGone(t, sys, kids[1])
}

func TestASuspendedCellHoldsItsMessagesUntilResumed(t *testing.T) {
	sys, d := testSystem(t)
	log := &eventLog{}
	pid := spawnRootCell(sys, &recorder{name: "c", log: log}, NewStrand(d))
	proc, _ := sys.ProcessRegistry.Get(pid)
	proc.SendSystemMessage(pid, &actor.SuspendMailbox{})
	sys.Root.Send(pid, "one")
	sys.Root.Send(pid, "two")
	// A message sent after the suspension, through another cell on the
	// same kind of strand, is handled: the dispatcher is not blocked.
	other := &eventLog{}
	opid := spawnRootCell(sys, &recorder{name: "o", log: other}, NewStrand(d))
	sys.Root.Send(opid, "x")
	require.Eventually(t, func() bool { return len(other.all()) == 2 }, waitFor, tick)
	assert.Equal(t, []string{"c started"}, log.all(), "held while suspended")
	proc.SendSystemMessage(pid, &actor.ResumeMailbox{})
	sys.Root.Send(pid, "three")
	require.Eventually(t, func() bool { return len(log.all()) == 4 }, waitFor, tick)
	assert.Equal(t, []string{"c started", "c one", "c two", "c three"}, log.all())
}

func TestWatchingAStoppedCellAnswersAtOnce(t *testing.T) {
	sys, d := testSystem(t)
	pid := spawnRootCell(sys, &recorder{name: "c", log: &eventLog{}}, NewStrand(d))
	sys.Root.Stop(pid)
	waitTerminated(t, sys, pid)
	waitTerminated(t, sys, pid) // the dead-letter process answers the second Watch
}

func TestAParentCellForgetsEachChildThatEnds(t *testing.T) {
	sys, d := testSystem(t)
	log := &eventLog{}
	kids := make(chan []*actor.PID, 1)
	left := make(chan []*actor.PID, 1)
	parent := &recorder{name: "p", log: log, onMsg: func(ctx *cellContext, msg any) {
		switch msg {
		case "spawn":
			var pids []*actor.PID
			for i := 0; i < 100; i++ {
				pids = append(pids, spawnCell(ctx, &recorder{name: fmt.Sprint(i), log: &eventLog{}}, NewStrand(d)))
			}
			kids <- pids
		case "children?":
			left <- ctx.Children()
		}
	}}
	pid := spawnRootCell(sys, parent, NewStrand(d))
	sys.Root.Send(pid, "spawn")
	pids := <-kids
	stopped := map[string]bool{}
	for _, i := range []int{99, 0, 50, 1, 98, 51, 2, 3, 97, 49} { // the last, the first, the middle…
		sys.Root.Stop(pids[i])
		waitTerminated(t, sys, pids[i])
		stopped[pids[i].Id] = true
	}
	require.Eventually(t, func() bool {
		sys.Root.Send(pid, "children?")
		return len(<-left) == 90
	}, waitFor, tick)
	sys.Root.Send(pid, "children?")
	var got []string
	for _, c := range <-left {
		got = append(got, c.Id)
	}
	var want []string
	for _, p := range pids {
		if !stopped[p.Id] {
			want = append(want, p.Id)
		}
	}
	assert.ElementsMatch(t, want, got)
	sys.Root.Stop(pid)
	waitTerminated(t, sys, pid)
	for _, p := range pids {
		assertGone(t, sys, p)
	}
}

func TestAPoisonPillStopsACellInItsTurn(t *testing.T) {
	sys, d := testSystem(t)
	log := &eventLog{}
	pid := spawnRootCell(sys, &recorder{name: "c", log: log}, NewStrand(d))
	sys.Root.Send(pid, "one")
	require.NoError(t, sys.Root.PoisonFuture(pid).Wait())
	assert.Equal(t, []string{"c started", "c one", "c stopping", "c stopped"}, log.all())
}

// stopOnChildEnd is a behaviour that stops itself when told that a child
// ended (as a released collection does when its last file stopped).
type stopOnChildEnd struct {
	recorder
	kid chan *actor.PID
}

func (s *stopOnChildEnd) wantsTerminated() bool { return true }

func (s *stopOnChildEnd) receive(ctx *cellContext, msg any) {
	switch msg.(type) {
	case *actor.Terminated:
		s.log.add("told")
		ctx.Stop(ctx.Self())
	case string:
		s.kid <- spawnCell(ctx, &recorder{name: "kid", log: s.log}, ctx.c.strand) // the same strand
	default:
		s.recorder.receive(ctx, msg)
	}
}

func TestAParentThatStopsWhenItsChildOnTheSameStrandEndsDoesStop(t *testing.T) {
	sys, d := testSystem(t)
	log := &eventLog{}
	p := &stopOnChildEnd{recorder: recorder{name: "p", log: log}, kid: make(chan *actor.PID, 1)}
	pid := spawnRootCell(sys, p, NewStrand(d))
	sys.Root.Send(pid, "spawn")
	kid := <-p.kid
	sys.Root.Stop(kid)
	waitTerminated(t, sys, pid)
	assert.Equal(t, []string{"p started", "kid started", "kid stopping", "kid stopped", "told", "p stopping", "p stopped"}, log.all())
}

func TestABusyStrandLetsOtherWorkRun(t *testing.T) {
	sys, _ := testSystem(t)
	d := NewDispatcher(10, 1, 1) // one worker, ten entries per turn
	t.Cleanup(d.Close)
	log := &eventLog{}
	gate := make(chan struct{})
	d.Schedule(func() { <-gate }) // hold the one worker until both strands are queued
	s := NewStrand(d)
	require.True(t, s.Claim())
	bpid := spawnRootCell(sys, &recorder{name: "b", log: log}, s)
	for i := 0; i < 25; i++ {
		sys.Root.Send(bpid, "x")
	}
	opid := spawnRootCell(sys, &recorder{name: "o", log: log}, NewStrand(d))
	s.RunUntil(doneAfter(0)) // the busy strand goes to the dispatcher first
	sys.Root.Send(opid, "y") // then the other
	close(gate)
	require.Eventually(t, func() bool { return len(log.all()) == 28 }, waitFor, tick)
	got := log.all()
	assert.Equal(t, []string{"b started", "o started"}, got[:2])
	assert.Equal(t, "o y", got[12], "after ten of b's messages, b waits its turn behind o: %v", got)
}

// doneAfter reports done at once: RunUntil hands the strand to a worker.
type doneAfter int

func (doneAfter) Finished() bool { return true }

// lateRecorder is a recorder that expects "late" after it stopped.
type lateRecorder struct{ recorder }

func (l *lateRecorder) expectedLate(msg any) bool { return msg == "late" }

func TestAStoppedCellDropsWhatItsBehaviourExpectsLateWithoutADeadLetter(t *testing.T) {
	sys, d := testSystem(t)
	dead := deadLetters(t, sys)
	log := &eventLog{}
	pid := spawnRootCell(sys, &lateRecorder{recorder{name: "l", log: log}}, NewStrand(d))
	sys.Root.Stop(pid)
	waitTerminated(t, sys, pid)
	sys.Root.Send(pid, "late")
	sys.Root.Send(pid, "unexpected")
	select {
	case m := <-dead:
		assert.Equal(t, "unexpected", m, "only the message not expected late is a dead letter")
	case <-time.After(waitFor):
		t.Fatal("no dead letter")
	}
	select {
	case m := <-dead:
		t.Fatalf("a second dead letter: %v", m)
	case <-time.After(20 * time.Millisecond):
	}
	assert.Equal(t, []string{"l started", "l stopping", "l stopped"}, log.all())
}

// A cell whose watcher stopped first tells nobody that it ended: no
// Terminated goes to the dead letters (which log it to the user).
func TestACellWhoseWatcherStoppedFirstSendsNoDeadLetter(t *testing.T) {
	sys, d := testSystem(t)
	dead := make(chan any, 4)
	sub := sys.EventStream.Subscribe(func(ev any) {
		// (waitTerminated's own Watch of a cell that stopped already is
		// one, answered by the dead-letter process: not counted.)
		if dl, ok := ev.(*actor.DeadLetterEvent); ok {
			if _, ok := dl.Message.(*actor.Terminated); ok {
				dead <- dl.Message
			}
		}
	})
	t.Cleanup(func() { sys.EventStream.Unsubscribe(sub) })
	log := &eventLog{}
	watched := spawnRootCell(sys, &recorder{name: "watched", log: log}, NewStrand(d))
	done := make(chan struct{}, 1)
	watcher := spawnRootCell(sys, &recorder{name: "watcher", log: log, onMsg: func(ctx *cellContext, msg any) {
		ctx.Watch(watched)
		done <- struct{}{}
	}}, NewStrand(d))
	sys.Root.Send(watcher, "watch")
	<-done
	sys.Root.Stop(watcher)
	waitTerminated(t, sys, watcher)
	sys.Root.Stop(watched)
	waitTerminated(t, sys, watched)
	select {
	case m := <-dead:
		t.Fatalf("a dead letter: %#v", m)
	case <-time.After(20 * time.Millisecond):
	}
	assert.Equal(t, []string{"watched started", "watcher started", "watcher watch",
		"watcher stopping", "watcher stopped", "watched stopping", "watched stopped"}, log.all())
}

func TestAnUrgentStrandRunsAheadOfTheStrandsQueuedBeforeIt(t *testing.T) {
	tests := []struct {
		name   string
		urgent bool
		want   []string // the order the first messages ran in
	}{
		{"an urgent strand goes first", true, []string{"u x", "a x", "b x"}},
		{"an ordinary strand waits its turn", false, []string{"a x", "b x", "u x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sys, _ := testSystem(t)
			d := NewDispatcher(10, 1, 1) // one worker
			t.Cleanup(d.Close)
			log := &eventLog{}
			spawn := func(name string, s *Strand) *actor.PID {
				pid := spawnRootCell(sys, &recorder{name: name, log: log}, s)
				require.Eventually(t, func() bool { return slices.Contains(log.all(), name+" started") }, waitFor, tick)
				return pid
			}
			a, b := spawn("a", NewStrand(d)), spawn("b", NewStrand(d))
			us := NewStrand(d)
			if tt.urgent {
				us = NewUrgentStrand(d)
			}
			u := spawn("u", us)
			gate := make(chan struct{})
			d.Schedule(func() { <-gate }) // hold the one worker while the three queue
			sys.Root.Send(a, "x")
			sys.Root.Send(b, "x")
			sys.Root.Send(u, "x")
			close(gate)
			require.Eventually(t, func() bool { return len(log.all()) == 6 }, waitFor, tick)
			assert.Equal(t, tt.want, log.all()[3:])
		})
	}
}
