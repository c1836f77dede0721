package keep_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arvfile/arvfile/keep"
)

func TestClientPutsUnderTheSumGivenAndTheServersStillVerify(t *testing.T) {
	ks, services := startKeepstores(t, 2)
	c := newClient(t, services, keep.WithReplicas(1))
	ctx := context.Background()
	data := testBlock(3, 1<<20)
	right := md5.Sum(data)
	wrong := md5.Sum([]byte("some other block"))

	cases := []struct {
		name string
		sum  *[md5.Size]byte
	}{
		{"without a sum the client hashes", nil},
		{"with the right sum the block is stored under it", &right},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := c.Put(ctx, data, keep.PutOptions{MD5: tc.sum})
			require.NoError(t, err)
			l, err := keep.ParseLocator(loc)
			require.NoError(t, err)
			assert.Equal(t, stripped(data), l.Stripped())
			got, err := c.Get(ctx, loc)
			require.NoError(t, err)
			assert.Equal(t, data, got)
		})
	}

	t.Run("a wrong sum is sent as given and every server refuses it", func(t *testing.T) {
		other := testBlock(4, 1<<20)
		loc, err := c.Put(ctx, other, keep.PutOptions{MD5: &wrong})
		assert.Empty(t, loc)
		var pe *keep.PutError
		require.True(t, errors.As(err, &pe), "%v", err)
		assert.Equal(t, hex.EncodeToString(wrong[:])+"+1048576", pe.Locator)
		assert.Equal(t, 0, pe.Stored)
		require.Len(t, pe.Failures, 2, "tried on every server")
		for _, f := range pe.Failures {
			assert.Equal(t, 400, f.Status)
			assert.Contains(t, f.Err.Error(), "did not match")
		}
		assert.False(t, keep.IsTemporary(err))
		sets := indexes(t, ks)
		assert.Empty(t, holders(sets, stripped(other)), "nothing stored under the real md5")
		assert.Empty(t, holders(sets, hex.EncodeToString(wrong[:])+"+1048576"), "nor under the wrong one")
	})
}
