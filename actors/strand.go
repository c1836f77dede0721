package actors

import (
	"sync"

	"github.com/arvfile/arvfile/messages"
)

// Strand is the mailbox of a group of cells (a file actor and its buffer
// blocks, see cell.go): one FIFO queue whose entries run one at a time, in
// the order they were queued, on one worker of a parent dispatcher — or on
// the goroutine of a caller waiting for its own request (Claim, RunUntil).
// The Append a file actor sends its block thus runs right after it on the
// same goroutine, without waking another worker, and each cell still sees
// its messages in the order they were sent.
type Strand struct {
	parent *Dispatcher
	urgent bool // its activations go ahead of the others' (NewUrgentStrand)

	mu      sync.Mutex // guards queue, head and running (scheduling only)
	queue   []envelope // entries; those before head already ran
	head    int
	running bool
	inline  [2]envelope // the queue's first array: most strands never need more
}

// NewStrand returns a strand that runs on parent.
func NewStrand(parent *Dispatcher) *Strand {
	s := &Strand{parent: parent}
	s.queue = s.inline[:0]
	return s
}

// NewUrgentStrand returns a strand whose activations the parent runs ahead
// of every other strand's waiting activation: for a cell on the critical
// path of many others. A packed block is one: each piece that ten thousand
// small files copy into it extends the md5 stream that its Commit waits
// for, only once the block has handled that piece's PackData — behind the
// files' own activations in the queue, the stream starved while they ran.
// Only a cell whose messages are few and short should be urgent (it can
// delay the others by no more than its queue).
func NewUrgentStrand(parent *Dispatcher) *Strand {
	s := NewStrand(parent)
	s.urgent = true
	return s
}

// push queues e and starts the strand on the parent if it was idle.
func (s *Strand) push(e envelope) {
	s.mu.Lock()
	s.queue = append(s.queue, e)
	if s.running {
		s.mu.Unlock()
		return
	}
	s.running = true
	s.mu.Unlock()
	s.parent.scheduleStrand(s)
}

// Claim takes the strand if it is idle: what is queued on it then waits
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

// RunUntil runs the claimed strand's entries on the caller's goroutine
// until done.Finished() reports true — then what is left goes to a worker — or none is
// left. A caller thus does the work of its own request (and of those queued
// before it) without a goroutine handoff, and no more.
func (s *Strand) RunUntil(done messages.Finisher) {
	for {
		s.mu.Lock()
		if s.head == len(s.queue) {
			s.running = false
			s.queue, s.head = s.queue[:0], 0
			s.mu.Unlock()
			return
		}
		if done.Finished() {
			s.mu.Unlock()
			s.parent.scheduleStrand(s)
			return
		}
		e := s.take()
		s.mu.Unlock()
		e.run()
	}
}

// run runs queued entries until none is left, or until it ran the parent's
// Throughput of them: then it queues itself again behind the other
// activations, so that a strand that never empties (a busy collection)
// does not keep a worker from the others.
func (s *Strand) run() {
	for n := 0; ; n++ {
		s.mu.Lock()
		if s.head == len(s.queue) {
			s.running = false
			s.queue, s.head = s.queue[:0], 0
			s.mu.Unlock()
			return
		}
		if n >= s.parent.Throughput() {
			s.mu.Unlock()
			s.parent.scheduleStrand(s)
			return
		}
		e := s.take()
		s.mu.Unlock()
		e.run()
	}
}

// take removes the next entry (s.mu held).
func (s *Strand) take() envelope {
	e := s.queue[s.head]
	s.queue[s.head] = envelope{}
	s.head++
	if s.head >= 1024 && 2*s.head >= len(s.queue) { // a queue that never empties
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:]) // the moved entries' old slots: let what they hold go
		s.queue, s.head = s.queue[:n], 0
	}
	return e
}

// run runs one entry.
func (e envelope) run() { e.c.deliver(e) }
