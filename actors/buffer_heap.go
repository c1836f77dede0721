//go:build !unix || race

package actors

// allocBuffer returns a zero-length buffer of capacity n on the Go heap.
// (Race-detector builds use the heap, so that the detector sees every access
// to block bytes; see buffer_mmap.go for the others.)
func allocBuffer(n int64) []byte { return make([]byte, 0, n) }

// freeBuffer leaves b to the garbage collector.
func freeBuffer([]byte) {}

// zeroBuffer returns n zero bytes that are never written (the padding
// block's; see buffer_mmap.go). On the heap, the runtime takes a large
// allocation's fresh pages from the system already zero and does not touch
// them, so they too stay unresident until read.
func zeroBuffer(n int64) []byte { return make([]byte, n) }

// growBuffer reports false: heap buffers grow by copying.
func growBuffer([]byte, int64) ([]byte, bool) { return nil, false }
