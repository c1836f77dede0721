package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"testing"

	"github.com/arvfile/arvfile/keep"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSinkStoreTakesTheSumItIsGivenAndCountsWhatAServerWouldHash(t *testing.T) {
	data := []byte("hello")
	other := md5.Sum([]byte("not hello"))
	cases := []struct {
		name           string
		sum            *[md5.Size]byte
		locator        string
		server, hashed int64
	}{
		{"without a sum the sink hashes", nil, "5d41402abc4b2a76b9719d911017c592+5", 0, 5},
		{"with one it names the block by it, unhashed, and counts the server's bytes", &other, hex.EncodeToString(other[:]) + "+5", 5, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &sinkStore{}
			loc, err := s.Put(context.Background(), data, keep.PutOptions{MD5: tc.sum})
			require.NoError(t, err)
			assert.Equal(t, tc.locator, loc)
			assert.Equal(t, int64(1), s.puts.Load())
			assert.Equal(t, tc.server, s.serverBytes.Load())
			assert.Equal(t, tc.hashed, s.hashedBytes.Load())
		})
	}
}
