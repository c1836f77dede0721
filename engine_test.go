package arvfile

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestEngine(t *testing.T, st *testStore, opts ...Option) *Engine {
	t.Helper()
	e, err := New(append([]Option{WithStore(st)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func TestWriteThenReadBack(t *testing.T) {
	st := newTestStore()
	e := newTestEngine(t, st, WithBlockSize(8))
	c := e.NewCollection()
	f, err := c.Create("dir/a.txt")
	require.NoError(t, err)
	n, err := f.WriteString("hello, world")
	require.NoError(t, err)
	assert.Equal(t, 12, n)
	buf := make([]byte, 20)
	n, err = f.ReadAt(buf, 0)
	assert.Equal(t, io.EOF, err)
	assert.Equal(t, "hello, world", string(buf[:n]))
	require.NoError(t, f.Sync())
	n, err = f.ReadAt(buf[:5], 7)
	require.NoError(t, err)
	assert.Equal(t, "world", string(buf[:n]))
	assert.Equal(t, map[string]int{
		"33b9ff6e06f2ef1fe15fcabb6fa0bee0+8": 1, // "hello, w"
		"7a9c5fa4bd6cb29f9a0e2e3d4bef6bc6+4": 1,
	}, st.putCounts())
	require.NoError(t, f.Close())
	_ = os.O_RDONLY
	_ = context.Background()
}
