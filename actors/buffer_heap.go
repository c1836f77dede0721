//go:build !unix || race

package actors

// allocBuffer returns a zero-length buffer of capacity n on the Go heap.
// (Race-detector builds use the heap, so that the detector sees every access
// to block bytes; see buffer_mmap.go for the others.)
func allocBuffer(n int64) []byte { return make([]byte, 0, n) }

// freeBuffer leaves b to the garbage collector.
func freeBuffer([]byte) {}
