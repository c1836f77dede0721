package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Dispatcher runs actor mailboxes on worker goroutines that park between
// activations instead of exiting, so a busy actor system does not start a
// goroutine (and grow its stack again) for every mailbox that goes from idle
// to busy.
//
// Activations wait in a FIFO queue that the workers drain; those of urgent
// strands (NewUrgentStrand) in one of their own, drained first. A new one wakes a
// parked worker, or starts one while fewer than maxLive run (0: no limit);
// otherwise it waits for a running worker. A burst — a packed block
// answering ten thousand files at once — thus costs queue slots, not ten
// thousand goroutines. A limited dispatcher must only run activations that
// never wait on other activations (rule 1 of the design); those that may
// (uploads, subscribers) run on an unlimited one. At most maxParked workers
// park, the rest exit. Close makes every parked worker exit; running ones
// drain the queue first.
type Dispatcher struct {
	throughput int
	maxParked  int
	maxLive    int
	wake       chan struct{} // one token per parked worker told to look again

	mu     sync.Mutex // guards the fields below (scheduling only)
	queue  []task
	head   int
	urgent []task // urgent strands' activations, run before queue's (NewUrgentStrand)
	parked int    // workers parked (or about to), not yet handed a token
	live   int    // workers running or parked
	closed bool
}

var _ actor.Dispatcher = (*Dispatcher)(nil)

// NewDispatcher returns a Dispatcher that processes up to throughput
// messages per activation, runs at most maxLive workers (0: no limit) and
// keeps at most maxParked idle ones.
func NewDispatcher(throughput, maxParked, maxLive int) *Dispatcher {
	return &Dispatcher{
		throughput: throughput,
		maxParked:  maxParked,
		maxLive:    maxLive,
		wake:       make(chan struct{}, max(maxParked, 1)),
	}
}

// task is one activation: a protoactor mailbox's function, or a strand.
type task struct {
	fn func()
	s  *Strand
}

func (t task) run() {
	if t.s != nil {
		t.s.run()
		return
	}
	t.fn()
}

// Schedule queues fn and wakes or starts a worker for it when one is due.
// Once closed, fn runs on a goroutine of its own.
func (d *Dispatcher) Schedule(fn func()) { d.schedule(task{fn: fn}) }

// scheduleStrand queues a run of s (without the closure a method value
// would allocate).
func (d *Dispatcher) scheduleStrand(s *Strand) { d.schedule(task{s: s}) }

func (d *Dispatcher) schedule(t task) {
	d.mu.Lock()
	if d.closed {
		d.live++
		d.mu.Unlock()
		go d.runOne(t)
		return
	}
	if t.s != nil && t.s.urgent {
		d.urgent = append(d.urgent, t)
	} else {
		d.queue = append(d.queue, t)
	}
	switch {
	case d.parked > 0:
		d.parked--
		d.mu.Unlock()
		d.wake <- struct{}{}
	case d.maxLive == 0 || d.live < d.maxLive:
		d.live++
		d.mu.Unlock()
		go d.run()
	default:
		d.mu.Unlock()
	}
}

// Throughput is the number of messages a mailbox processes per activation.
func (d *Dispatcher) Throughput() int { return d.throughput }

// Live returns the number of worker goroutines, running or parked.
func (d *Dispatcher) Live() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live
}

// Parked returns the number of parked workers.
func (d *Dispatcher) Parked() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.parked
}

// Close makes parked workers exit, and running ones exit once the queue is
// empty.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	d.closed = true
	n := d.parked
	d.parked = 0
	d.mu.Unlock()
	for i := 0; i < n; i++ {
		d.wake <- struct{}{}
	}
}

// run runs queued activations, parking while there are none.
func (d *Dispatcher) run() {
	for {
		d.mu.Lock()
		if len(d.urgent) > 0 { // few and short: taken from the front, moved down
			t := d.urgent[0]
			n := copy(d.urgent, d.urgent[1:])
			d.urgent[n] = task{} // let what the moved slot held go
			d.urgent = d.urgent[:n]
			d.mu.Unlock()
			t.run()
			continue
		}
		if d.head < len(d.queue) {
			t := d.queue[d.head]
			d.queue[d.head] = task{}
			d.head++
			if d.head >= 1024 && 2*d.head >= len(d.queue) { // a queue that never empties
				d.queue = d.queue[:copy(d.queue, d.queue[d.head:])]
				d.head = 0
			}
			d.mu.Unlock()
			t.run()
			continue
		}
		d.queue, d.head = d.queue[:0], 0
		if d.closed || d.parked >= d.maxParked {
			d.live--
			d.mu.Unlock()
			return
		}
		d.parked++
		d.mu.Unlock()
		<-d.wake
	}
}

// runOne runs t on a worker of its own (after Close).
func (d *Dispatcher) runOne(t task) {
	t.run()
	d.mu.Lock()
	d.live--
	d.mu.Unlock()
}
