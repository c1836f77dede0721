package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Strand is a dispatcher that runs the mailboxes of a group of actors one
// at a time, in the order they became busy, on one worker of a parent
// dispatcher. A FileActor and its buffer blocks share a strand: the block
// work a FileActor asks for (Append, ReadBlock) then runs on the same
// goroutine right after it, instead of waking another worker — one goroutine
// handoff less per write. Message order is unchanged: each mailbox is still
// FIFO; the strand only decides which goroutine runs it.
type Strand struct {
	parent actor.Dispatcher
	runFn  func() // s.run, made once: a method value allocates each time it is taken

	mu      sync.Mutex // guards queue, head and running (scheduling only)
	queue   []func()   // activations; those before head already ran
	head    int
	running bool
}

var _ actor.Dispatcher = (*Strand)(nil)

// NewStrand returns a strand that runs on parent.
func NewStrand(parent actor.Dispatcher) *Strand {
	s := &Strand{parent: parent}
	s.runFn = s.run
	return s
}

// Schedule queues fn and starts the strand on the parent if it was idle.
func (s *Strand) Schedule(fn func()) {
	s.mu.Lock()
	s.queue = append(s.queue, fn)
	if s.running {
		s.mu.Unlock()
		return
	}
	s.running = true
	s.mu.Unlock()
	s.parent.Schedule(s.runFn)
}

// Throughput is the parent's.
func (s *Strand) Throughput() int { return s.parent.Throughput() }

// Claim takes the strand if it is idle: what is scheduled on it then waits
// for the claimer's RunUntil, which must follow.
func (s *Strand) Claim() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return false
	}
	s.running = true
	return true
}

// RunUntil runs the claimed strand's activations on the caller's goroutine
// until done reports true — then what is left goes to a worker — or none is
// left. A caller thus does the work of its own request (and of those queued
// before it) without a goroutine handoff, and no more.
func (s *Strand) RunUntil(done func() bool) {
	for {
		s.mu.Lock()
		if s.head == len(s.queue) {
			s.running = false
			s.queue, s.head = s.queue[:0], 0
			s.mu.Unlock()
			return
		}
		if done() {
			s.mu.Unlock()
			s.parent.Schedule(s.runFn)
			return
		}
		fn := s.queue[s.head]
		s.queue[s.head] = nil
		s.head++
		s.mu.Unlock()
		fn()
	}
}

// run runs queued activations until none is left.
func (s *Strand) run() {
	for {
		s.mu.Lock()
		if s.head == len(s.queue) {
			s.running = false
			s.queue, s.head = s.queue[:0], 0
			s.mu.Unlock()
			return
		}
		fn := s.queue[s.head]
		s.queue[s.head] = nil
		s.head++
		s.mu.Unlock()
		fn()
	}
}
