//go:build linux && !race

package actors

import "golang.org/x/sys/unix"

// adviseHugePages asks Linux to back b with transparent huge pages: filling
// a fresh buffer then faults once per 2 MiB instead of once per 4 KiB.
func adviseHugePages(b []byte) { _ = unix.Madvise(b, unix.MADV_HUGEPAGE) }

// growBuffer remaps b, a buffer from allocBuffer, to capacity n: the kernel
// moves its pages instead of copying its bytes, and only the pages written
// later are faulted in. It reports false, leaving b as it was, when b is
// not such a mapping (a small buffer, on the heap) or the kernel refuses.
// Nothing may use b after a success.
func growBuffer(b []byte, n int64) ([]byte, bool) {
	if cap(b) < mmapThreshold {
		return nil, false
	}
	nb, err := unix.Mremap(b[:cap(b)], int(n), unix.MREMAP_MAYMOVE)
	if err != nil {
		return nil, false
	}
	return nb[:len(b)], true
}
