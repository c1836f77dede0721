package keep

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBlockBodiesStopReadingTheBlockOnceRevoked(t *testing.T) {
	block := bytes.Repeat([]byte("0123456789"), bodyChunk/5) // two chunks
	bodies := &blockBodies{data: block}

	var viaWriteTo bytes.Buffer
	n, err := bodies.open().WriteTo(&viaWriteTo)
	require.NoError(t, err)
	assert.Equal(t, int64(len(block)), n)
	assert.Equal(t, block, viaWriteTo.Bytes())

	viaRead, err := io.ReadAll(io.LimitReader(struct{ io.Reader }{bodies.open()}, int64(len(block))+1))
	require.NoError(t, err)
	assert.Equal(t, block, viaRead)

	half := bodies.open()
	buf := make([]byte, 10)
	_, err = io.ReadFull(half, buf)
	require.NoError(t, err)
	bodies.revoke()
	_, err = half.Read(buf)
	assert.ErrorIs(t, err, errRevoked)
	_, err = half.WriteTo(io.Discard)
	assert.ErrorIs(t, err, errRevoked)
	assert.Nil(t, bodies.open())
	assert.NoError(t, half.Close())
}
