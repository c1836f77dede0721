package actors

import (
	"reflect"
	"sync/atomic"
	"unsafe"

	"github.com/asynkron/protoactor-go/actor"
)

// pidProcessOffset is the offset in actor.PID of the Process it caches (its
// unexported field p, a *actor.Process), or -1 if the PID type has none.
//
// protoactor resolves a PID on its first send (PID.ref: ProcessRegistry.Get,
// then a new *Process stored in p) and uses p from then on, unless it is a
// dead *actor.ActorProcess. A cell fills in p when it is spawned (primePID)
// with a pointer to its own Process field: every send through the PID a
// cell was spawned with — which is every PID of it the engine holds — goes
// straight to the cell, without the resolver and without that allocation,
// and still does once the cell stopped (the stopped cell drops what it is
// sent, showing loans to its behaviour, see dropper), whether or not the
// PID was used before. A copy of the PID (actor.NewPID from its id) is
// resolved by the cell table. Should a protoactor version lay the PID out
// differently, the offset is -1 and every PID is resolved as a copy is
// (TestACellsPIDIsPrimed fails loudly).
var pidProcessOffset = func() int {
	f, ok := reflect.TypeOf(actor.PID{}).FieldByName("p")
	if !ok || f.Type != reflect.TypeOf((*actor.Process)(nil)) {
		return -1
	}
	return int(f.Offset)
}()

// primePID stores c's Process in its PID's cache (see pidProcessOffset).
func (c *cell) primePID() {
	c.proc = c
	if pidProcessOffset < 0 {
		return
	}
	p := (*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(&c.pid), pidProcessOffset))
	atomic.StorePointer(p, unsafe.Pointer(&c.proc))
}
