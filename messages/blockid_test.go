package messages

import (
	"strings"
	"sync"
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

func TestNewBlockIDsOfConcurrentCallersAreDistinct(t *testing.T) {
	const callers, each = 16, 5_000
	ids := make([][]string, callers)
	var wg sync.WaitGroup
	for c := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				ids[c] = append(ids[c], NewBlockID())
			}
		}()
	}
	wg.Wait()
	seen := make(map[string]bool, callers*each)
	for _, l := range ids {
		for _, id := range l {
			require.Len(t, id, len(BlockIDPrefix)+36, id)
			_, err := uuid.Parse(strings.TrimPrefix(id, BlockIDPrefix))
			require.NoError(t, err, id)
			require.False(t, seen[id], "repeated: %s", id)
			seen[id] = true
		}
	}
	assert.Len(t, seen, callers*each)
}
