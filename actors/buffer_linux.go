//go:build linux && !race

package actors

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapFlags map a block buffer: private anonymous memory, whose address
// space is reserved without committing swap for it (MAP_NORESERVE; the
// part past the buffer's capacity is PROT_NONE too, which strict overcommit
// does not count either): a buffer reserves a whole block and uses what it
// was grown to.
const mapFlags = unix.MAP_ANON | unix.MAP_PRIVATE | unix.MAP_NORESERVE

// adviseHugePages asks Linux to back b with transparent huge pages: filling
// a fresh buffer then faults once per 2 MiB instead of once per 4 KiB. Only
// the whole 2 MiB pages within b are advised, so that a buffer's resident
// memory stays within its capacity.
func adviseHugePages(b []byte) {
	const huge = 2 << 20
	start := (uintptr(unsafe.Pointer(unsafe.SliceData(b))) + huge - 1) &^ (huge - 1)
	end := (uintptr(unsafe.Pointer(unsafe.SliceData(b))) + uintptr(len(b))) &^ (huge - 1)
	if len(b) == 0 || end <= start {
		return
	}
	off := int(start - uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	_ = unix.Madvise(b[off:off+int(end-start)], unix.MADV_HUGEPAGE)
}
