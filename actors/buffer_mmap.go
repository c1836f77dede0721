//go:build unix && !race

package actors

import "golang.org/x/sys/unix"

// mmapThreshold is the smallest buffer allocated outside the Go heap.
const mmapThreshold = 1 << 20

// allocBuffer returns a zero-length buffer of capacity n. Large buffers are
// anonymous memory mappings, outside the Go heap: freeing one gives its
// memory back at once instead of leaving garbage that the heap keeps until a
// collection, which is what keeps the engine's memory within its budget.
// Their pages are zero and become resident only when written.
func allocBuffer(n int64) []byte {
	if n < mmapThreshold {
		return make([]byte, 0, n)
	}
	b, err := unix.Mmap(-1, 0, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return make([]byte, 0, n)
	}
	adviseHugePages(b)
	return b[:0]
}

// freeBuffer releases a buffer from allocBuffer. Nothing may use it after.
func freeBuffer(b []byte) {
	if cap(b) < mmapThreshold {
		return
	}
	// A buffer that allocBuffer had to make on the heap fails here
	// (EINVAL: not a mapping) and is left to the garbage collector.
	_ = unix.Munmap(b[:cap(b)])
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
	return b
}
