//go:build linux

package actors

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestPrefaultMakesAFreshBuffersPagesResidentAndKeepsItsBytes(t *testing.T) {
	page := unix.Getpagesize()
	// Kernels before 5.14 refuse MADV_POPULATE_WRITE: prefault then does
	// nothing, and only the pages written are resident.
	probe, err := unix.Mmap(-1, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	require.NoError(t, err)
	populates := unix.Madvise(probe, unix.MADV_POPULATE_WRITE) == nil
	require.NoError(t, unix.Munmap(probe))
	tests := []struct {
		name    string
		written int // bytes written before prefault
		length  int // bytes prefaulted
	}{
		{"a fresh buffer", 0, 64 * page},
		{"a buffer partly written", 5*page + 17, 64 * page},
		{"one page", 0, page},
		{"nothing", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := unix.Mmap(-1, 0, 64*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
			require.NoError(t, err)
			defer unix.Munmap(b)
			for i := 0; i < tt.written; i++ {
				b[i] = byte(i%251 + 1)
			}
			prefault(b[:tt.length])
			vec := make([]byte, 64)
			require.NoError(t, mincore(b, vec))
			resident := 0
			for _, v := range vec {
				resident += int(v & 1)
			}
			want := (tt.written + page - 1) / page
			if populates {
				want = max(want, (tt.length+page-1)/page)
			}
			var kernel unix.Utsname
			require.NoError(t, unix.Uname(&kernel))
			assert.Equal(t, want, resident, "pages resident after prefault (kernel %s, populates %v)", unix.ByteSliceToString(kernel.Release[:]), populates)
			for i := 0; i < len(b); i++ {
				want := byte(0)
				if i < tt.written {
					want = byte(i%251 + 1)
				}
				if b[i] != want {
					t.Fatalf("byte %d is %d after prefault, want %d", i, b[i], want)
				}
			}
		})
	}
}

// mincore fills vec with one byte per page of b, bit 0 set for a page that
// is resident.
func mincore(b, vec []byte) error {
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), uintptr(unsafe.Pointer(unsafe.SliceData(vec))))
	if errno != 0 {
		return errno
	}
	return nil
}
