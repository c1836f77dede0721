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
// cell's seq is the PID's. A copy of a stopped cell's PID, or one read back
// from its id, thus never reaches a newer cell: it resolves to the
// dead-letter process (or, if it was used while the cell lived, protoactor
// cached the stopped cell in it, which drops what it is sent). The PID a
// cell was spawned with names the cell for good: see primePID.
//
// Spawning and stopping a cell cost a short critical section (a bit set or
// cleared, a pointer stored, a chunk taken from or put back on a heap of
// the chunks with a free slot); resolving one takes no lock. The table
// follows what is open, not its history: a chunk that empties is given
// back to the garbage collector at once (but one, kept empty, so that cells
// spawned and stopped at a chunk boundary do not allocate one each time),
// wherever it is; what is left of a chunk given back is its entry in the
// table, 8 bytes, and the table's list of entries shrinks once a quarter
// of it is unused at its end.
type cellTable struct {
	seq atomic.Uint64 // the last seq given

	mu sync.Mutex
	// The chunks by index, nil where given back. The slice is replaced
	// (under mu) when it grows or shrinks; its entries change under mu and
	// are read without it.
	chunks atomic.Pointer[[]atomic.Pointer[cellChunk]]
	free   []int32 // a min-heap of the chunks with a free slot, given back ones included (mu)
	listed []bool  // by chunk: on free (mu)
	spare  int     // a chunk kept empty rather than given back, or -1 (mu)
	live   int     // cells in the table (mu)
	held   int     // chunks allocated (mu)
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
	t := &cellTable{spare: -1}
	chunks := make([]atomic.Pointer[cellChunk], 0, 1)
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
	if len(t.free) == 0 { // every chunk is full: one more
		t.resizeLocked(len(*t.chunks.Load()) + 1)
		t.pushLocked(len(t.listed) - 1)
	}
	i := int(t.free[0])
	chunks := *t.chunks.Load()
	ch := chunks[i].Load()
	if ch == nil {
		ch = new(cellChunk)
		chunks[i].Store(ch)
		t.held++
	}
	if t.spare == i {
		t.spare = -1
	}
	b := bits.TrailingZeros64(^ch.used)
	ch.used |= 1 << b
	ch.live++
	t.live++
	if ch.live == chunkSlots {
		t.popLocked()
	}
	c.index = i*chunkSlots + b
	t.mu.Unlock()
	var buf [40]byte
	id := strconv.AppendUint(buf[:0], c.seq, 10)
	id = append(id, '.')
	id = strconv.AppendUint(id, uint64(c.index), 10)
	// Its own allocation, not a view of bytes in the cell: ids are map
	// keys (the BlockManager's candidates and offers), and small strings
	// allocated one after another hash from cache, while a cell's bytes
	// are wherever its actor is (measured: a view cost the Commit
	// ≈ 1.5 µs per small file).
	c.pid.Address, c.pid.Id = cellAddress, string(id)
	ch.slots[b].Store(c) // the slot is c's (its bit is set): resolvable from now
}

// remove frees c's slot (c stopped).
func (t *cellTable) remove(c *cell) {
	i, b := c.index/chunkSlots, c.index%chunkSlots
	t.mu.Lock()
	defer t.mu.Unlock()
	chunks := *t.chunks.Load()
	ch := chunks[i].Load()
	ch.slots[b].Store(nil)
	ch.used &^= 1 << b
	ch.live--
	t.live--
	if !t.listed[i] {
		t.pushLocked(i)
	}
	if ch.live > 0 {
		return
	}
	switch {
	case t.spare < 0:
		t.spare = i
	case t.spare < i: // keep the lower one: cells gather at the table's start
		chunks[i].Store(nil)
		t.held--
	default:
		chunks[t.spare].Store(nil)
		t.held--
		t.spare = i
	}
	// The entries at the end whose chunks are gone (or the spare): once
	// they are a quarter of the table, it shrinks (a table emptied from
	// its end is copied a few times, not once per chunk).
	n := len(chunks)
	for n > 1 && (chunks[n-1].Load() == nil || n-1 == t.spare) {
		n--
	}
	if e := len(chunks) - n; e >= 2 && 4*e >= len(chunks) {
		t.resizeLocked(n)
	}
}

// resizeLocked makes the table n chunks long, dropping what lies beyond
// from the free heap (a spare among it is given back).
func (t *cellTable) resizeLocked(n int) {
	old := *t.chunks.Load()
	var chunks []atomic.Pointer[cellChunk]
	if n > len(old) && n <= cap(old) {
		// In place: a reader of the slice stored before reads below its
		// length only.
		chunks = old[:n]
	} else {
		// A new array: to grow, with room to grow again in place; to
		// shrink, so that the old one is given back.
		c := n
		if n > len(old) {
			c = max(n, 2*len(old))
		}
		chunks = make([]atomic.Pointer[cellChunk], n, c)
		for i := range min(n, len(old)) {
			chunks[i].Store(old[i].Load())
		}
	}
	for i := n; i < len(old); i++ {
		if old[i].Load() != nil {
			t.held--
		}
	}
	if t.spare >= n {
		t.spare = -1
	}
	if n < len(old) {
		kept := t.free[:0]
		for _, x := range t.free {
			if int(x) < n {
				kept = append(kept, x)
			}
		}
		t.free = kept
		heapify(t.free)
		t.listed = t.listed[:n:n]
	} else {
		t.listed = append(t.listed, make([]bool, n-len(t.listed))...)
	}
	t.chunks.Store(&chunks)
}

// pushLocked puts chunk i on the free heap.
func (t *cellTable) pushLocked(i int) {
	t.listed[i] = true
	t.free = append(t.free, int32(i))
	for k := len(t.free) - 1; k > 0; {
		p := (k - 1) / 2
		if t.free[p] <= t.free[k] {
			break
		}
		t.free[p], t.free[k] = t.free[k], t.free[p]
		k = p
	}
}

// popLocked takes the lowest chunk off the free heap.
func (t *cellTable) popLocked() {
	t.listed[t.free[0]] = false
	last := len(t.free) - 1
	t.free[0] = t.free[last]
	t.free = t.free[:last]
	siftDown(t.free, 0)
}

// heapify orders h as a min-heap.
func heapify(h []int32) {
	for k := len(h)/2 - 1; k >= 0; k-- {
		siftDown(h, k)
	}
}

func siftDown(h []int32, k int) {
	for {
		l := 2*k + 1
		if l >= len(h) {
			return
		}
		if r := l + 1; r < len(h) && h[r] < h[l] {
			l = r
		}
		if h[k] <= h[l] {
			return
		}
		h[k], h[l] = h[l], h[k]
		k = l
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
	ch := chunks[index/chunkSlots].Load()
	if ch == nil {
		return nil
	}
	c := ch.slots[index%chunkSlots].Load()
	if c == nil || c.seq != seq || x != strconv.FormatUint(index, 10) || s != strconv.FormatUint(seq, 10) {
		return nil // not this cell, or its id written otherwise ("01.0")
	}
	return c
}

// counts returns how many cells are live and how many chunks the table
// holds (allocated, not given back).
func (t *cellTable) counts() (live, chunks int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.live, t.held
}
