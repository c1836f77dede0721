//go:build unix && !race

package actors

import (
	"sync"
	"unsafe"

	"github.com/arvfile/arvfile/keep"
	"golang.org/x/sys/unix"
)

// mmapThreshold is the smallest buffer allocated outside the Go heap.
const mmapThreshold = 1 << 20

// mappings are the buffers allocBuffer mapped, by first byte: the bytes of
// address space each one reserves. Only these are grown in place and
// unmapped; a buffer allocBuffer had to make on the heap is not here.
var mappings = struct {
	sync.Mutex
	size map[*byte]int
}{size: make(map[*byte]int)}

// allocBuffer returns a zero-length buffer of capacity n. Large buffers are
// anonymous memory mappings, outside the Go heap: freeing one gives its
// memory back at once instead of leaving garbage that the heap keeps until a
// collection, which is what keeps the engine's memory within its budget.
// Each reserves the address space of a whole block (keep.BlockSize, or n
// when larger), so that it grows in place (growBuffer): its address never
// changes while it is written, and a lane may hash its first bytes
// meanwhile. Only its capacity is readable and writable (the rest of the
// reservation is PROT_NONE): the kernel neither commits memory for the rest
// nor backs it with huge pages, so what is resident stays within the
// capacity. Its pages are zero and become resident only when written.
func allocBuffer(n int64) []byte {
	if n < mmapThreshold {
		return make([]byte, 0, n)
	}
	size := max(int(n), keep.BlockSize)
	b, err := unix.Mmap(-1, 0, size, unix.PROT_NONE, mapFlags)
	if err != nil {
		return make([]byte, 0, n)
	}
	if err := unix.Mprotect(b[:pageUp(int(n), len(b))], unix.PROT_READ|unix.PROT_WRITE); err != nil {
		_ = unix.Munmap(b)
		return make([]byte, 0, n)
	}
	adviseHugePages(b[:n])
	mappings.Lock()
	mappings.size[unsafe.SliceData(b)] = size
	mappings.Unlock()
	return b[:0:n]
}

// growBuffer grows b, a buffer from allocBuffer, to capacity n in place:
// the same bytes at the same address, the new pages faulted in only when
// written. It reports false, leaving b as it was, when b is not such a
// mapping (a small buffer, on the heap) or n is past what it reserved.
func growBuffer(b []byte, n int64) ([]byte, bool) {
	if cap(b) < mmapThreshold {
		return nil, false
	}
	mappings.Lock()
	size := mappings.size[unsafe.SliceData(b)]
	mappings.Unlock()
	if int64(size) < n {
		return nil, false
	}
	g := unsafe.Slice(unsafe.SliceData(b), size)
	from := cap(b) &^ (unix.Getpagesize() - 1)
	if err := unix.Mprotect(g[from:pageUp(int(n), size)], unix.PROT_READ|unix.PROT_WRITE); err != nil {
		return nil, false
	}
	adviseHugePages(g[cap(b):n])
	return g[:len(b):n], true
}

// pageUp rounds n up to a whole page, at most limit.
func pageUp(n, limit int) int {
	p := unix.Getpagesize()
	return min((n+p-1)&^(p-1), limit)
}

// freeBuffer releases a buffer from allocBuffer (or zeroBuffer). Nothing
// may use it after.
func freeBuffer(b []byte) {
	if cap(b) < mmapThreshold {
		return
	}
	p := unsafe.SliceData(b)
	mappings.Lock()
	size, ok := mappings.size[p]
	delete(mappings.size, p)
	mappings.Unlock()
	if ok { // else on the heap: left to the garbage collector
		_ = unix.Munmap(unsafe.Slice(p, size))
	}
}

// zeroBuffer returns n zero bytes that are never written: a read-only
// anonymous mapping, whose pages all map the kernel's one shared zero page,
// so they cost address space but no memory (the padding block's bytes, not
// counted in the budget). Release it with freeBuffer.
func zeroBuffer(n int64) []byte {
	b, err := unix.Mmap(-1, 0, int(n), unix.PROT_READ, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n)
	}
	mappings.Lock()
	mappings.size[unsafe.SliceData(b)] = int(n)
	mappings.Unlock()
	return b
}
