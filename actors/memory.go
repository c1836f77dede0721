package actors

import (
	"math/bits"
	"sync"
	"unsafe"
)

// Memory accounts for every block buffer of an engine — writable, queued
// and in flight — against a budget, and recycles freed buffers by capacity.
//
// A FileActor reserves a buffer's whole capacity before its block grows
// (Reserve); the block allocates it (Alloc, which reuses a recycled buffer
// of that capacity when there is one) and frees the old buffer (Free), which
// releases the old capacity and keeps the buffer for reuse. Live and
// recycled buffers together stay within the budget: Reserve drops recycled
// buffers (other capacities first) to make room, and fails rather than
// exceed the budget unless forced. Recycling matters: buffers are large, and
// dropping them leaves garbage that the heap holds until a collection.
// Safe for concurrent use; it guards only its own counters and free lists,
// never file state.
type Memory struct {
	mu        sync.Mutex
	limit     int64
	live      int64 // capacity reserved by buffers in use or about to be
	pooled    int64 // capacity held in free lists
	maxPooled int64
	free      map[int64][][]byte
	lent      map[*byte]int    // buffers an upload or a pack copy reads, by first byte: how many
	retired   map[*byte][]byte // buffers of stopped actors that are lent: freed when given back
	closed    bool
	denied    int64 // Reserve calls refused: each made a write seal early or wait
	peak      int64 // the most live ever reached
}

// MinCapacity is the smallest buffer a block starts with. A block starts at
// the size of its first write rounded up to a power of two (at least this)
// and grows by ×4 within the budget, so a small file's block costs about
// its size: ten thousand 4 KiB files reserve 40 MiB, not a large buffer each.
const MinCapacity = 512

// largeBuffer is the capacity from which a block's buffer is an anonymous
// mapping (outside -race builds) that grows in place, without copying.
const largeBuffer = 1 << 20

// NewMemory returns a budget of limit bytes that recycles up to maxPooled
// bytes of freed buffers.
func NewMemory(limit, maxPooled int64) *Memory {
	return &Memory{limit: limit, maxPooled: maxPooled, free: make(map[int64][][]byte),
		lent: make(map[*byte]int), retired: make(map[*byte][]byte)}
}

// Limit returns the budget in bytes.
func (m *Memory) Limit() int64 { return m.limit }

// Reserve reserves n bytes of capacity. Unless force, it fails (and
// reserves nothing) when that would exceed the budget even after dropping
// every recycled buffer.
func (m *Memory) Reserve(n int64, force bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !force && m.live+n > m.limit {
		m.denied++
		return false
	}
	m.live += n
	m.peak = max(m.peak, m.live)
	m.trimLocked(n)
	return true
}

// Peak returns the most capacity live buffers ever reserved at once.
func (m *Memory) Peak() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peak
}

// Alloc returns a zero-length buffer of capacity n, recycled when one is
// free. Its capacity must have been reserved. Its bytes are not zeroed.
func (m *Memory) Alloc(n int64) []byte {
	m.mu.Lock()
	if l := m.free[n]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		m.free[n] = l[:len(l)-1]
		m.pooled -= n
		m.mu.Unlock()
		return b[:0]
	}
	m.mu.Unlock()
	return allocBuffer(n)
}

// Grow returns buf's bytes in a buffer of capacity n, reserved by the
// caller, and releases buf's capacity; buf must not be used after. A
// recycled buffer of capacity n is taken when one is free (its pages are
// resident, so copying into it is cheapest); else a mapped buffer grows in
// place (GrowInPlace); else the bytes are copied into a new buffer.
func (m *Memory) Grow(buf []byte, n int64) []byte {
	m.mu.Lock()
	recycled := len(m.free[n]) > 0
	m.mu.Unlock()
	if !recycled {
		if nb, ok := m.GrowInPlace(buf, n); ok {
			return nb
		}
	}
	nb := m.Alloc(n)[:len(buf)]
	copy(nb, buf)
	m.Free(buf)
	return nb
}

// GrowInPlace grows buf, a mapped buffer, to capacity n, reserved by the
// caller, at the same address: no byte moves, the pages past its old
// capacity are faulted in only when written (a block that grows from 1 MiB
// to 64 MiB costs no copy and zeroes no page twice), and whoever reads its
// first bytes meanwhile (a lane hashing them) may go on. It releases the
// old capacity. It reports false, leaving buf as it was, when buf cannot
// grow in place (a buffer on the heap).
func (m *Memory) GrowInPlace(buf []byte, n int64) ([]byte, bool) {
	nb, ok := growBuffer(buf, n)
	if !ok {
		return nil, false
	}
	m.mu.Lock()
	m.live -= int64(cap(buf))
	m.trimLocked(0) // Reserve left a recycled buffer of capacity n for Alloc, which did not take it
	m.mu.Unlock()
	return nb, true
}

// Free releases buf's capacity and recycles buf when there is room.
func (m *Memory) Free(buf []byte) {
	if buf == nil {
		return
	}
	n := int64(cap(buf))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.live -= n
	if m.lent[unsafe.SliceData(buf)] > 0 { // still read or written by a borrower: retire it
		m.retireLocked(buf)
		return
	}
	if m.closed || m.pooled+n > m.maxPooled {
		freeBuffer(buf)
		return
	}
	m.free[n] = append(m.free[n], buf[:0])
	m.pooled += n
}

// Lend records that an upload or a pack copy is about to read buf, until
// it gives it back (GiveBack): a block that stops meanwhile retires its
// buffer instead of freeing it. Called by the block before it hands buf on.
func (m *Memory) Lend(buf []byte) {
	if cap(buf) == 0 {
		return
	}
	m.LendN(buf, 1)
}

// LendN is n Lends at once.
func (m *Memory) LendN(buf []byte, n int) {
	if cap(buf) == 0 || n <= 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lent[unsafe.SliceData(buf)] += n
}

// GiveBack ends a Lend of buf: once no reader is left, a buffer retired
// meanwhile is freed (never recycled: it may be the padding block's
// read-only zeros). Called by the reader when it is done with buf.
func (m *Memory) GiveBack(buf []byte) {
	if cap(buf) == 0 {
		return
	}
	p := unsafe.SliceData(buf)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lent[p]--; m.lent[p] > 0 {
		return
	}
	delete(m.lent, p)
	if b, ok := m.retired[p]; ok {
		delete(m.retired, p)
		freeBuffer(b)
	}
}

// Retire releases buf's capacity for a stopping actor whose buffer an
// upload or a pack copy may still read (Lend): the buffer is freed when the
// last reader gives it back, at once if none is left.
func (m *Memory) Retire(buf []byte) {
	if buf == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.live -= int64(cap(buf))
	m.retireLocked(buf)
}

// Keep is Retire for a buffer the budget never counted: the padding block's
// zeros.
func (m *Memory) Keep(buf []byte) {
	if buf == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retireLocked(buf)
}

func (m *Memory) retireLocked(buf []byte) {
	p := unsafe.SliceData(buf)
	if m.lent[p] > 0 {
		m.retired[p] = buf
		return
	}
	freeBuffer(buf)
}

// Retired returns how many retired buffers wait for their readers.
func (m *Memory) Retired() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.retired)
}

// Close releases every recycled and retired buffer. Call it only once
// nothing uses the buffers any more (every actor stopped, put workers
// included: a retired buffer may still be lent to an upload that was queued
// and dropped); later Frees release buffers at once.
func (m *Memory) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for size, l := range m.free {
		for _, b := range l {
			freeBuffer(b)
		}
		delete(m.free, size)
	}
	for p, b := range m.retired {
		freeBuffer(b)
		delete(m.retired, p)
	}
	clear(m.lent)
	m.pooled, m.closed = 0, true
}

// Unreserve releases n bytes reserved but never allocated.
func (m *Memory) Unreserve(n int64) {
	m.mu.Lock()
	m.live -= n
	m.mu.Unlock()
}

// Used returns the capacity reserved by live buffers.
func (m *Memory) Used() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live
}

// Over reports whether live buffers exceed the budget.
func (m *Memory) Over() bool { return m.Used() > m.limit }

// trimLocked drops recycled buffers until live plus pooled fits the budget,
// counting one buffer of capacity keep as already live (Alloc will take it);
// buffers of other capacities go first.
func (m *Memory) trimLocked(keep int64) {
	over := m.live + m.pooled - m.limit
	if len(m.free[keep]) > 0 {
		over -= keep
	}
	for pass := 0; pass < 2 && over > 0; pass++ {
		for size, l := range m.free {
			if (size == keep) != (pass == 1) {
				continue
			}
			for len(l) > 0 && over > 0 {
				freeBuffer(l[len(l)-1])
				l[len(l)-1] = nil
				l = l[:len(l)-1]
				m.pooled -= size
				over -= size
			}
			m.free[size] = l
		}
	}
}

// capacityClass returns the capacity to give a buffer that must hold need
// bytes and has capacity have: at least double have, a power of two no
// smaller than minClass, never more than blockSize.
func capacityClass(need, have, minClass, blockSize int64) int64 {
	c := max(need, 2*have, minClass)
	if c < blockSize {
		c = int64(1) << bits.Len64(uint64(c-1))
	}
	return min(c, blockSize)
}

// Denied returns how many reservations the budget refused: each one made a
// write seal its block early or wait for memory.
func (m *Memory) Denied() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.denied
}

// Stats returns the capacity of live buffers and of recycled ones.
func (m *Memory) Stats() (live, pooled int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live, m.pooled
}
