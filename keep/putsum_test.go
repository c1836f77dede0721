package keep

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sumPtr returns a pointer to the md5 of data.
func sumPtr(data []byte) *[md5.Size]byte {
	s := md5.Sum(data)
	return &s
}

func TestEveryStoreNamesABlockByTheSumItIsGiven(t *testing.T) {
	other := md5.Sum([]byte("not hello"))
	wrongLocator := hex.EncodeToString(other[:]) + "+5"
	for name, st := range everyStore(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			cases := []struct {
				name    string
				sum     *[md5.Size]byte
				locator string
				getErr  error
			}{
				{"without a sum the store hashes the bytes", nil, helloLocator, nil},
				{"the right sum names the block as hashing would", sumPtr([]byte("hello")), helloLocator, nil},
				{"a wrong sum is taken as it is (the store did not hash) and the block never reads back", &other, wrongLocator, ErrCorrupt},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					got, err := st.Put(ctx, []byte("hello"), PutOptions{MD5: tc.sum})
					require.NoError(t, err)
					assert.Equal(t, tc.locator, got)
					data, err := st.Get(ctx, got)
					if tc.getErr != nil {
						assert.ErrorIs(t, err, tc.getErr)
						assert.Nil(t, data)
						return
					}
					require.NoError(t, err)
					assert.Equal(t, []byte("hello"), data)
				})
			}
		})
	}
}

func TestMemoryStoreChecksACallersSumOnlyAtTheFirstGet(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	data := []byte("hello")
	loc, err := m.Put(ctx, data, PutOptions{MD5: sumPtr(data)})
	require.NoError(t, err)
	require.Equal(t, helloLocator, loc)
	m.mu.Lock()
	assert.True(t, m.unchecked[helloLocator], "stored under the caller's sum: not checked yet")
	m.mu.Unlock()
	for i := 0; i < 2; i++ {
		got, err := m.Get(ctx, loc)
		require.NoError(t, err)
		assert.Equal(t, data, got)
		m.mu.Lock()
		assert.False(t, m.unchecked[helloLocator], "checked by the first Get")
		m.mu.Unlock()
	}
	assert.True(t, m.Delete(loc))
	m.mu.Lock()
	assert.Empty(t, m.unchecked)
	m.mu.Unlock()
}

func TestFaultStoreNamesAPutByTheSumGiven(t *testing.T) {
	other := md5.Sum([]byte("not hello"))
	cases := []struct {
		name string
		sum  *[md5.Size]byte
		want string
	}{
		{"without a sum the fault function sees the data's locator", nil, helloLocator},
		{"with a sum it sees the locator of that sum", &other, hex.EncodeToString(other[:]) + "+5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFaultStore(NewMemoryStore())
			var seen []string
			f.SetFault(func(op, locator string, n int) error {
				seen = append(seen, op+" "+locator+" "+strconv.Itoa(n))
				return nil
			})
			got, err := f.Put(context.Background(), []byte("hello"), PutOptions{MD5: tc.sum})
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, []string{"put " + tc.want + " 1"}, seen)
		})
	}
}

func TestS3StoreTakesTheSumGivenForKeyAndContentMD5(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	bucket := f.bucket("given-sum")
	var counter s3RequestCounter
	st := f.store(bucket, 0, &counter)
	data := s3Block(7, 5000)
	right := md5.Sum(data)
	hash := hex.EncodeToString(right[:])

	got, err := st.Put(ctx, data, PutOptions{MD5: &right})
	require.NoError(t, err)
	assert.Equal(t, hash+"+5000", got)
	assert.Equal(t, 1, counter.count("PUT", "/"+bucket+"/"+hash))
	assert.Equal(t, []string{hash, "recent/" + hash}, f.keys(bucket))
	back, err := st.Get(ctx, got)
	require.NoError(t, err)
	assert.Equal(t, data, back)

	// A wrong sum names another key; its Content-MD5 does not match the
	// body, so the server refuses it: no locator, no object, no marker.
	wrong := md5.Sum([]byte("other bytes"))
	wrongHash := hex.EncodeToString(wrong[:])
	other := s3Block(8, 5000)
	got, err = st.Put(ctx, other, PutOptions{MD5: &wrong})
	require.Error(t, err)
	assert.Empty(t, got)
	assert.Contains(t, err.Error(), wrongHash)
	assert.Equal(t, 1, counter.count("PUT", "/"+bucket+"/"+wrongHash), "the upload went to the key of the sum given")
	assert.Equal(t, []string{hash, "recent/" + hash}, f.keys(bucket))
	assert.Contains(t, err.Error(), "400 BadDigest")
	assert.True(t, IsTemporary(err), "a body that does not match its Content-MD5 is taken for a transfer error")
}
