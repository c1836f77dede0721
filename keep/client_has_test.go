package keep_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arvfile/arvfile/internal/testserver"
	"github.com/arvfile/arvfile/keep"
)

// Has answers from HEAD requests to real keepstores: true for a stored
// block (also when the first server in rendezvous order is down), false for
// one no server holds, ErrPermission for a refused signature.
func TestClientHasAsksWithHead(t *testing.T) {
	ks, services := startKeepstores(t, 3)
	c := newClient(t, services)
	ctx := context.Background()
	data := testBlock(7, 1000)
	signed, err := c.Put(ctx, data, keep.PutOptions{})
	require.NoError(t, err)
	loc, err := keep.ParseLocator(signed)
	require.NoError(t, err)

	missing := testBlock(8, 1000)
	missingSigned := testserver.Sign(stripped(missing), userToken, time.Now().Add(time.Hour))
	wrongToken := testserver.Sign(stripped(data), "another-token", loc.Expiry())
	tests := []struct {
		name    string
		locator string
		want    bool
		wantErr error
	}{
		{"a stored block", signed, true, nil},
		{"the empty block", "d41d8cd98f00b204e9800998ecf8427e+0", true, nil},
		{"a block no server holds", missingSigned, false, nil},
		{"a signature for another token", wrongToken, false, keep.ErrPermission},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Has(ctx, tt.locator)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, tt.want, got)
		})
	}

	first := keep.RendezvousOrder(loc.Hash(), ks.UUIDs)[0]
	ks.Kill(first)
	got, err := c.Has(ctx, signed)
	require.NoError(t, err, "the second replica answers")
	assert.True(t, got)

	_, err = c.Has(ctx, "not a locator")
	assert.True(t, errors.Is(err, keep.ErrInvalidLocator), "%v", err)
}
