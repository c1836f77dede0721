package arvfile

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
		loc("hello, w"): 1,
		loc("orld"):     1,
	}, st.putCounts())
	require.NoError(t, f.Close())
}
