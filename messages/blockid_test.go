package messages

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewBlockIDsAreDistinctVersion4UUIDs(t *testing.T) {
	const n = 100_000
	seen := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		id := NewBlockID()
		require.True(t, IsBlockID(id), id)
		u, err := uuid.Parse(strings.TrimPrefix(id, BlockIDPrefix))
		require.NoError(t, err, id)
		assert.Equal(t, uuid.Version(4), u.Version(), id)
		assert.Equal(t, uuid.RFC4122, u.Variant(), id)
		require.False(t, seen[id], "repeated: %s", id)
		seen[id] = true
	}
}

func TestBlockIDsAreNotLocators(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{NewBlockID(), true},
		{PaddingBlockID, true},
		{"d41d8cd98f00b204e9800998ecf8427e+0", false},
		{"", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, IsBlockID(tt.s), tt.s)
	}
}
