package messages

import (
	"sync"
	"sync/atomic"
)

// Reply is the completion of one facade request. The facade takes one from
// NewReply (pending count 1), puts it in a message and waits on Done; every
// party that is handed the request adds itself with Add before passing the
// message on and calls Finish exactly once when its part is complete. The
// party that brings the count to zero signals the facade. Parties may record
// an error with Fail (the first one wins) and write result fields that belong
// to them only (N, Offset, or the destination a message points at) before
// their Finish: the atomic count orders those writes before the facade's
// wake-up.
//
// A Reply is pooled: the facade calls Release after it received the signal,
// and never after a cancelled or timed-out wait (a late party may still touch
// it then).
type Reply struct {
	done    chan struct{}
	pending atomic.Int32
	failed  atomic.Bool
	err     error
	noReuse bool         // set by the facade (Cancelled): Release must not pool it
	claim   atomic.Int32 // claimOpen, claimTaken or claimWithdrawn (Take, Withdraw)

	// N is the number of bytes the request moved. Written by the one party
	// the protocol names (the FileActor for writes and reads).
	N int64
	// Offset is the file offset at which a write landed (append mode picks
	// it inside the FileActor). Written by the FileActor.
	Offset int64
}

var replyPool = sync.Pool{New: func() any { return &Reply{done: make(chan struct{}, 1)} }}

// NewReply returns a Reply with a pending count of one: the facade's request.
func NewReply() *Reply {
	r := replyPool.Get().(*Reply)
	r.pending.Store(1)
	return r
}

// Add counts n more parties that will each call Finish once.
func (r *Reply) Add(n int) { r.pending.Add(int32(n)) }

// Finish marks one party's part complete; the last one signals Done.
func (r *Reply) Finish() {
	switch n := r.pending.Add(-1); {
	case n == 0:
		r.done <- struct{}{}
	case n < 0:
		panic("messages: Reply finished more often than added")
	}
}

// Fail records err if it is the first error recorded, then calls Finish.
func (r *Reply) Fail(err error) {
	r.SetErr(err)
	r.Finish()
}

// SetErr records err if it is the first error recorded, without finishing.
func (r *Reply) SetErr(err error) {
	if err != nil && r.failed.CompareAndSwap(false, true) {
		r.err = err
	}
}

// Finished reports whether every party has finished (Done is signalled or
// about to be), without consuming the signal.
func (r *Reply) Finished() bool { return r.pending.Load() == 0 }

// Done is signalled once when every party has finished.
func (r *Reply) Done() <-chan struct{} { return r.done }

// Err is the first error recorded; read it only after Done was received.
func (r *Reply) Err() error { return r.err }

// Cancelled marks r as named by a Cancel message: Release then leaves it
// to the garbage collector, since the Cancel may reach its actor after r
// finished, and must not match a later request that reuses r. Called by the
// facade before it sends the Cancel.
func (r *Reply) Cancelled() { r.noReuse = true }

const (
	claimOpen int32 = iota
	claimTaken
	claimWithdrawn
)

// Take claims the request carrying r for the actor about to apply it, and
// reports whether it may: false means the facade withdrew it (Withdraw) and
// the actor must drop the message without touching r or anything the
// message points at. Called by the actor that makes the request's change
// (the collection's actor for namespace changes, the file's actor for the
// Open of an existing file), once, before the change.
func (r *Reply) Take() bool {
	return r.claim.CompareAndSwap(claimOpen, claimTaken) || r.claim.Load() == claimTaken
}

// Withdraw is the facade's side of Take: after its wait timed out, it
// reports whether the request is withdrawn (true: no actor applied it nor
// ever will, and r must not be released, since the message may still be
// queued) or already taken (false: an actor applies it, and r finishes
// soon).
func (r *Reply) Withdraw() bool {
	if r.claim.CompareAndSwap(claimOpen, claimWithdrawn) {
		r.noReuse = true
		return true
	}
	return false
}

// Release returns r to the pool, and reports whether it did: false after
// Cancelled or Withdraw, when an actor may still hold the request — and so
// may still read the message that carried r, which its sender then must not
// reuse either. Call it only after Done was received.
func (r *Reply) Release() bool {
	if r.noReuse {
		return false
	}
	r.failed.Store(false)
	r.err = nil
	r.N = 0
	r.Offset = 0
	r.pending.Store(0)
	r.claim.Store(claimOpen)
	replyPool.Put(r)
	return true
}
