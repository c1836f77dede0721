//go:build linux && !race

package actors

import (
	"testing"
	"unsafe"

	"github.com/arvfile/arvfile/keep"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestGrowBufferGrowsMappedBuffersInPlaceOnly(t *testing.T) {
	tests := []struct {
		name   string
		buf    func() []byte
		to     int64
		wantOK bool
	}{
		{"a mapped buffer", func() []byte { return allocBuffer(2 << 20) }, 8 << 20, true},
		{"a mapped buffer to a whole block", func() []byte { return allocBuffer(1 << 20) }, keep.BlockSize, true},
		{"a small buffer on the heap", func() []byte { return allocBuffer(4 << 10) }, 8 << 20, false},
		{"a large buffer on the heap", func() []byte { return make([]byte, 0, 2<<20) }, 8 << 20, false},
		{"past what the mapping reserved", func() []byte { return allocBuffer(2 << 20) }, keep.BlockSize + 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := append(tt.buf(), "hello"...)
			g, ok := growBuffer(b, tt.to)
			require.Equal(t, tt.wantOK, ok)
			if !ok {
				assert.Equal(t, "hello", string(b), "left as it was")
				freeBuffer(b)
				return
			}
			assert.Equal(t, "hello", string(g))
			assert.Equal(t, int(tt.to), cap(g))
			assert.Same(t, &b[0], &g[0], "grown in place")
			g = g[:cap(g)]
			g[len(g)-1] = 1 // the new pages are writable
			freeBuffer(g)
		})
	}
}

// residentPages counts the pages of [p, p+n) that are resident.
func residentPages(t *testing.T, p *byte, n int) int {
	vec := make([]byte, n/unix.Getpagesize())
	_, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(p)), uintptr(n), uintptr(unsafe.Pointer(&vec[0])))
	require.Zero(t, e)
	c := 0
	for _, v := range vec {
		c += int(v & 1)
	}
	return c
}

func TestAMappedBuffersResidentMemoryStaysWithinItsCapacity(t *testing.T) {
	// With transparent huge pages on for everything (THP "always", which
	// advising the whole reservation imitates), a 1 MiB buffer in a block's
	// reservation would be backed by a 2 MiB page at its first write; only
	// its capacity is mapped readable and writable, so it is not.
	b := allocBuffer(1 << 20)
	defer func() { freeBuffer(b) }()
	p := unsafe.SliceData(b)
	require.NoError(t, unix.Madvise(unsafe.Slice(p, 4<<20), unix.MADV_HUGEPAGE))
	b = append(b, 1)
	assert.LessOrEqual(t, residentPages(t, p, 4<<20)*unix.Getpagesize(), cap(b))
	g, ok := growBuffer(b, 3<<20)
	require.True(t, ok)
	b = g[:cap(g)]
	b[len(b)-1] = 1 // the grown part is writable
	assert.LessOrEqual(t, residentPages(t, p, 4<<20)*unix.Getpagesize(), cap(b))
}
