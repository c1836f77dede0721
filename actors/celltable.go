package actors

import (
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/extensions"
)

// cellAddress is the address of every cell's PID. ProcessRegistry.Get
// hands a PID whose address is neither the system's nor protoactor's local
// one to the address resolvers registered on the system (the seam protoactor
// keeps for remote actors), and a cell table is one: cells are never added
// to protoactor's process registry.
const cellAddress = "arvfile.cells"

// cellTableID names an actor system's cell table among its Extensions.
var cellTableID = extensions.NextExtensionID()

// chunkSlots is the number of slots of a chunk of a cell table.
const chunkSlots = 64

// A cellTable is where an actor system's live cells are found by PID: a
// slot table, in chunks of 64 slots, that ProcessRegistry.Get consults
// (cellTable.resolve, an AddressResolver) for a PID under cellAddress.
//
// A cell's PID id is "<seq>.<index>": seq numbers the cells of the system
// (never reused), index is the cell's slot. A slot holds its cell from
// spawn until the cell stopped, then is reused, lowest chunk first, by the
// next cell spawned; a PID resolves to the cell in its slot only when that
// cell's seq is the PID's. A stale PID — a copy of a stopped cell's, or one
// read back from its id — thus resolves to the dead-letter process, never
// to a newer cell. (The PID a cell was spawned with names the cell for
// good: see primePID.)
//
// Spawning and stopping a cell cost a short critical section (a bit set or
// cleared, a pointer stored); resolving one takes no lock. The table
// follows what is open, not its history: once a quarter of it is empty
// chunks at its end, they are given back to the garbage collector (all but
// one, so that a cell spawned and stopped at a chunk boundary does not
// allocate a chunk each time); a cell living in a high slot keeps the
// chunks below it, 0.5 KiB each.
type cellTable struct {
	seq atomic.Uint64 // the last seq given

	mu        sync.Mutex
	chunks    atomic.Pointer[[]*cellChunk] // replaced, never changed, under mu; read without it
	firstFree int                          // no chunk below it has a free slot (mu)
	live      int                          // cells in the table (mu)
}

// cellChunk is 64 slots of a cell table.
type cellChunk struct {
	slots [chunkSlots]atomic.Pointer[cell]
	used  uint64 // a bit per slot taken (cellTable.mu)
	live  int    // bits set in used (cellTable.mu)
}

// ExtensionID names the table among its system's Extensions.
func (t *cellTable) ExtensionID() extensions.ExtensionID { return cellTableID }

// installCells gives sys a cell table and registers its resolver. It must
// run before sys is used from several goroutines: protoactor reads its
// Extensions and resolvers without locking.
func installCells(sys *actor.ActorSystem) {
	t := &cellTable{}
	chunks := []*cellChunk{new(cellChunk)}
	t.chunks.Store(&chunks)
	sys.Extensions.Register(t)
	sys.ProcessRegistry.RegisterAddressResolver(t.resolve)
}

// cellsOf returns sys's cell table (installCells gave it one).
func cellsOf(sys *actor.ActorSystem) *cellTable {
	return sys.Extensions.Get(cellTableID).(*cellTable)
}

// add gives c a slot, a seq and its PID.
func (t *cellTable) add(c *cell) {
	c.seq = t.seq.Add(1)
	t.mu.Lock()
	chunks := *t.chunks.Load()
	i := t.firstFree
	for i < len(chunks) && chunks[i].live == chunkSlots {
		i++
	}
	if i == len(chunks) {
		// In place when there is room: a reader of the slice stored before
		// reads below its length only, and a trimmed table is a new array.
		grown := append(chunks, new(cellChunk))
		t.chunks.Store(&grown)
		chunks = grown
	}
	t.firstFree = i
	ch := chunks[i]
	b := bits.TrailingZeros64(^ch.used)
	ch.used |= 1 << b
	ch.live++
	t.live++
	c.index = i*chunkSlots + b
	t.mu.Unlock()
	var buf [40]byte
	id := strconv.AppendUint(buf[:0], c.seq, 10)
	id = append(id, '.')
	id = strconv.AppendUint(id, uint64(c.index), 10)
	c.pid.Address, c.pid.Id = cellAddress, string(id)
	ch.slots[b].Store(c) // the slot is c's (its bit is set): resolvable from now
}

// remove frees c's slot (c stopped).
func (t *cellTable) remove(c *cell) {
	i, b := c.index/chunkSlots, c.index%chunkSlots
	t.mu.Lock()
	defer t.mu.Unlock()
	chunks := *t.chunks.Load()
	ch := chunks[i]
	ch.slots[b].Store(nil)
	ch.used &^= 1 << b
	ch.live--
	t.live--
	t.firstFree = min(t.firstFree, i)
	n := len(chunks)
	for n > 1 && chunks[n-1].live == 0 {
		n--
	}
	// Trim when a quarter of the table is empty at its end (so that a table
	// emptied from its end is copied a few times, not once per chunk), keeping
	// one empty chunk.
	if e := len(chunks) - n; e >= 2 && 4*e >= len(chunks) {
		kept := make([]*cellChunk, n+1)
		copy(kept, chunks)
		t.chunks.Store(&kept)
	}
}

// resolve returns the live cell pid names (an actor.AddressResolver).
func (t *cellTable) resolve(pid *actor.PID) (actor.Process, bool) {
	if c := t.lookup(pid); c != nil {
		return c, true
	}
	return nil, false
}

// lookup returns the live cell pid names, or nil.
func (t *cellTable) lookup(pid *actor.PID) *cell {
	if pid.Address != cellAddress {
		return nil
	}
	s, x, ok := strings.Cut(pid.Id, ".")
	if !ok {
		return nil
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return nil
	}
	index, err := strconv.ParseUint(x, 10, 32)
	if err != nil {
		return nil
	}
	chunks := *t.chunks.Load()
	if index/chunkSlots >= uint64(len(chunks)) {
		return nil
	}
	c := chunks[index/chunkSlots].slots[index%chunkSlots].Load()
	if c == nil || c.seq != seq {
		return nil
	}
	return c
}

// counts returns how many cells are live and how many chunks the table
// holds.
func (t *cellTable) counts() (live, chunks int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.live, len(*t.chunks.Load())
}
