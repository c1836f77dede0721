//go:build linux && !race

package actors

import (
	"testing"

	"github.com/arvfile/arvfile/keep"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
