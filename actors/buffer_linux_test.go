//go:build linux && !race

package actors

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGrowBufferRemapsMappedBuffersOnly(t *testing.T) {
	tests := []struct {
		name   string
		buf    func() []byte
		wantOK bool
	}{
		{"a mapped buffer", func() []byte { return allocBuffer(2 << 20) }, true},
		{"a small buffer on the heap", func() []byte { return allocBuffer(4 << 10) }, false},
		{"a large buffer on the heap", func() []byte { return make([]byte, 0, 2<<20) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := append(tt.buf(), "hello"...)
			g, ok := growBuffer(b, 8<<20)
			require.Equal(t, tt.wantOK, ok)
			if !ok {
				assert.Equal(t, "hello", string(b), "left as it was")
				freeBuffer(b)
				return
			}
			assert.Equal(t, "hello", string(g))
			assert.Equal(t, 8<<20, cap(g))
			g = g[:cap(g)]
			g[len(g)-1] = 1 // the new pages are writable
			freeBuffer(g)
		})
	}
}
