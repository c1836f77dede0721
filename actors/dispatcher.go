package actors

import (
	"runtime"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// Dispatcher runs actor mailboxes on worker goroutines that park between
// activations instead of exiting, so a busy actor system does not start a
// goroutine (and grow its stack again) for every mailbox that goes from idle
// to busy. A worker that finds no work parks until handed some; at most
// maxParked workers park, the rest exit. Close makes every parked worker
// exit (it hands each a nil activation); workers still running exit when
// their activation ends.
type Dispatcher struct {
	throughput int
	maxParked  int32
	work       chan func()
	closed     atomic.Bool
	parked     atomic.Int32
	live       atomic.Int32
}

var _ actor.Dispatcher = (*Dispatcher)(nil)

// NewDispatcher returns a Dispatcher that processes up to throughput
// messages per activation and keeps at most maxParked idle workers.
func NewDispatcher(throughput, maxParked int) *Dispatcher {
	return &Dispatcher{
		throughput: throughput,
		maxParked:  int32(maxParked),
		work:       make(chan func()),
	}
}

// Schedule runs fn on a parked worker, or on a new one when none is parked.
func (d *Dispatcher) Schedule(fn func()) {
	select {
	case d.work <- fn:
		return
	default:
	}
	d.live.Add(1)
	go d.run(fn)
}

// Throughput is the number of messages a mailbox processes per activation.
func (d *Dispatcher) Throughput() int { return d.throughput }

// Live returns the number of worker goroutines, running or parked.
func (d *Dispatcher) Live() int { return int(d.live.Load()) }

// Close makes parked workers exit, and running ones exit when done.
func (d *Dispatcher) Close() {
	d.closed.Store(true)
	for {
		select {
		case d.work <- nil:
		default:
			if d.parked.Load() == 0 {
				return
			}
			runtime.Gosched() // a worker is between parking and receiving
		}
	}
}

func (d *Dispatcher) run(fn func()) {
	defer d.live.Add(-1)
	for fn != nil {
		fn()
		if d.closed.Load() {
			return
		}
		// Park, unless enough workers are parked or Close began: Close
		// sets closed before it counts the parked, so one of the two
		// sees the other.
		if d.parked.Add(1) > d.maxParked || d.closed.Load() {
			d.parked.Add(-1)
			return
		}
		fn = <-d.work
		d.parked.Add(-1)
	}
}
