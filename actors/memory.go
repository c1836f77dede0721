package actors

import (
	"math/bits"
	"sync"
)

// Memory accounts for every block buffer of an engine — writable, queued
// and in flight — against a budget, and recycles freed buffers by capacity.
//
// A FileActor reserves a buffer's whole capacity before its block grows
// (Reserve); the block allocates it (Alloc) and frees the old buffer (Free),
// which releases the old capacity. Reserve fails rather than exceed the
// budget unless forced; recycled buffers count against the budget too and
// are dropped first when room is needed. Safe for concurrent use; it guards
// only its own counters and free lists, never file state.
type Memory struct {
	mu        sync.Mutex
	limit     int64
	live      int64 // capacity reserved by buffers in use or about to be
	pooled    int64 // capacity held in free lists
	maxPooled int64
	free      map[int64][][]byte
}

// NewMemory returns a budget of limit bytes that recycles up to maxPooled
// bytes of freed buffers.
func NewMemory(limit, maxPooled int64) *Memory {
	return &Memory{limit: limit, maxPooled: maxPooled, free: make(map[int64][][]byte)}
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
		return false
	}
	m.live += n
	m.trimLocked()
	return true
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
	return make([]byte, 0, n)
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
	if m.pooled+n <= m.maxPooled && m.live+m.pooled+n <= m.limit {
		m.free[n] = append(m.free[n], buf[:0])
		m.pooled += n
	}
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

// trimLocked drops recycled buffers until live plus pooled fits the budget.
func (m *Memory) trimLocked() {
	for size, l := range m.free {
		for len(l) > 0 && m.live+m.pooled > m.limit {
			l[len(l)-1] = nil
			l = l[:len(l)-1]
			m.pooled -= size
		}
		m.free[size] = l
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
