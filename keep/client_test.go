package keep_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arvfile/arvfile/internal/testserver"
	"github.com/arvfile/arvfile/keep"
)

func TestClientWritesEachBlockToTheFirstTwoServersInRendezvousOrder(t *testing.T) {
	ks, services := startKeepstores(t, 4)
	c := newClient(t, services)
	ctx := context.Background()

	sizes := []int{1, 7, 100, 4096, 65536, 1 << 20}
	type stored struct {
		data    []byte
		locator string
	}
	var blocks []stored
	for n := 0; n < 40; n++ {
		data := testBlock(n, sizes[n%len(sizes)])
		locator, err := c.Put(ctx, data, keep.PutOptions{})
		require.NoError(t, err)
		blocks = append(blocks, stored{data, locator})
	}

	sets := indexes(t, ks)
	for n, b := range blocks {
		want := stripped(b.data)
		l, err := keep.ParseLocator(b.locator)
		require.NoError(t, err)
		assert.Equal(t, want, l.Stripped(), "block %d", n)
		assert.Equal(t, testserver.Sign(want, userToken, l.Expiry()), b.locator,
			"block %d: Put returns the locator the servers signed for this token", n)

		order := probeOrder(want[:32], ks.UUIDs)
		assert.Equal(t, sorted(order[:2]), holders(sets, want), "block %d sits on exactly the first two servers", n)

		got, err := c.Get(ctx, b.locator)
		require.NoError(t, err, "block %d", n)
		assert.Equal(t, b.data, got, "block %d", n)
	}
	total := 0
	for _, s := range sets {
		total += len(s)
	}
	assert.Equal(t, 2*len(blocks), total, "no server holds a block it should not")
}

func TestClientPutHonoursCopiesAndTheEmptyAndOversizedBlocks(t *testing.T) {
	ks, services := startKeepstores(t, 3)
	c := newClient(t, services, keep.WithReplicas(1))
	ctx := context.Background()

	one := testBlock(1, 1000)
	_, err := c.Put(ctx, one, keep.PutOptions{})
	require.NoError(t, err)
	three := testBlock(3, 1000)
	_, err = c.Put(ctx, three, keep.PutOptions{Copies: 3})
	require.NoError(t, err)

	sets := indexes(t, ks)
	assert.Equal(t, []int{probeOrder(stripped(one)[:32], ks.UUIDs)[0]}, holders(sets, stripped(one)), "WithReplicas(1)")
	assert.Equal(t, []int{0, 1, 2}, holders(sets, stripped(three)), "Copies: 3")

	locator, err := c.Put(ctx, nil, keep.PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, keep.EmptyBlockLocator, locator)
	got, err := c.Get(ctx, keep.EmptyBlockLocator)
	require.NoError(t, err)
	assert.Equal(t, []byte{}, got)

	_, err = c.Put(ctx, make([]byte, keep.BlockSize+1), keep.PutOptions{})
	assert.ErrorIs(t, err, keep.ErrBlockTooLarge)
	assert.Equal(t, "keep: block larger than 64 MiB: 67108865 bytes", err.Error())

	_, err = c.Get(ctx, "not-a-locator")
	assert.ErrorIs(t, err, keep.ErrInvalidLocator)
}

func TestClientStorageClasses(t *testing.T) {
	// The last of 3 servers alone has the class "archive".
	ks, services := startKeepstores(t, 3)
	c := newClient(t, services)
	ctx := context.Background()

	t.Run("a class that one server has is stored there", func(t *testing.T) {
		data := testBlock(10, 5000)
		locator, err := c.Put(ctx, data, keep.PutOptions{Copies: 1, StorageClasses: []string{"archive"}})
		require.NoError(t, err)
		assert.Equal(t, []int{2}, holders(indexes(t, ks), stripped(data)))
		got, err := c.Get(ctx, locator)
		require.NoError(t, err)
		assert.Equal(t, data, got)
	})

	t.Run("two replicas of a class that one server has are not enough", func(t *testing.T) {
		data := testBlock(11, 5000)
		_, err := c.Put(ctx, data, keep.PutOptions{Copies: 2, StorageClasses: []string{"archive"}})
		require.Error(t, err)
		assert.ErrorIs(t, err, keep.ErrReplicas)
		assert.False(t, keep.IsTemporary(err), "507 everywhere is permanent: %v", err)
		var pe *keep.PutError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, stripped(data), pe.Locator)
		assert.Equal(t, 2, pe.Wanted)
		assert.Equal(t, 1, pe.Stored)
		assert.Equal(t, []string{ks.UUIDs[2]}, pe.StoredOn)
		assert.Equal(t, map[string]int{"archive": 1, "default": 1}, pe.Confirmed)
		require.Len(t, pe.Failures, 2)
		for _, f := range pe.Failures {
			assert.Equal(t, 507, f.Status)
		}
		assert.Equal(t, []int{2}, holders(indexes(t, ks), stripped(data)))
	})

	t.Run("a class no server has is a clear error", func(t *testing.T) {
		data := testBlock(12, 5000)
		_, err := c.Put(ctx, data, keep.PutOptions{Copies: 1, StorageClasses: []string{"gold"}})
		require.Error(t, err)
		assert.ErrorIs(t, err, keep.ErrReplicas)
		assert.False(t, keep.IsTemporary(err))
		var pe *keep.PutError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, 0, pe.Stored)
		assert.Equal(t, []string{"gold"}, pe.Classes)
		require.Len(t, pe.Failures, 3)
		order := probeOrder(stripped(data)[:32], ks.UUIDs)
		var tried []string
		for _, f := range pe.Failures {
			assert.Equal(t, 507, f.Status)
			tried = append(tried, f.Service)
		}
		assert.ElementsMatch(t, []string{ks.UUIDs[order[0]], ks.UUIDs[order[1]], ks.UUIDs[order[2]]}, tried)
		assert.True(t, strings.HasPrefix(err.Error(),
			"keep: put "+stripped(data)+": wanted 1 replicas in storage classes gold (got gold=0), stored 0; failures: "), err.Error())
		assert.Empty(t, holders(indexes(t, ks), stripped(data)))
	})
}

func TestClientSignatures(t *testing.T) {
	_, services := startKeepstores(t, 3)
	c := newClient(t, services)
	ctx := context.Background()
	data := testBlock(20, 3000)
	locator, err := c.Put(ctx, data, keep.PutOptions{})
	require.NoError(t, err)
	l, err := keep.ParseLocator(locator)
	require.NoError(t, err)
	missing := stripped(testBlock(21, 3000))

	tests := []struct {
		name     string
		locator  string
		token    string
		want     error
		status   int
		contains string
	}{
		{"an expired signature", testserver.Sign(stripped(data), userToken, time.Now().Add(-time.Hour)), userToken,
			keep.ErrPermission, 401, "expired signature"},
		{"a tampered signature", tamper(locator), userToken,
			keep.ErrPermission, 400, "invalid signature"},
		{"another token's signature", locator, "v2/zzzzz-gj3su-000000000000001/someoneelse0123456789abcdefghij",
			keep.ErrPermission, 400, "invalid signature"},
		{"an unsigned locator", stripped(data), userToken, keep.ErrPermission, 400, ""},
		{"a block no server has", testserver.Sign(missing, userToken, l.Expiry()), userToken, keep.ErrNotFound, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := keep.NewClient(services, tt.token)
			require.NoError(t, err)
			defer cl.Close()
			_, err = cl.Get(ctx, tt.locator)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.False(t, keep.IsTemporary(err))
			var ge *keep.GetError
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, tt.locator, ge.Locator)
			require.Len(t, ge.Failures, 3, "every server is asked")
			for _, f := range ge.Failures {
				assert.Equal(t, tt.status, f.Status, f.String())
				assert.Contains(t, f.Err.Error(), tt.contains)
			}
			for _, other := range []error{keep.ErrNotFound, keep.ErrPermission, keep.ErrCorrupt} {
				if other != tt.want {
					assert.NotErrorIs(t, err, other)
				}
			}
		})
	}
}

func TestClientFailsOverWhenAServerIsKilledMidRun(t *testing.T) {
	ks, services := startKeepstores(t, 3)
	c := newClient(t, services, keep.WithTimeouts(2*time.Second, 30*time.Second))
	ctx := context.Background()

	const writers, perWriter = 8, 6
	type stored struct {
		data    []byte
		locator string
		after   bool // written after the kill
	}
	var mu sync.Mutex
	var blocks []stored
	write := func(first int, after bool) {
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; n < perWriter; n++ {
					data := testBlock(first+w*perWriter+n, 20000+n)
					locator, err := c.Put(ctx, data, keep.PutOptions{})
					if !assert.NoError(t, err) {
						return
					}
					mu.Lock()
					blocks = append(blocks, stored{data, locator, after})
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	write(1000, false)
	ks.Kill(0)
	write(2000, true)
	require.Len(t, blocks, 2*writers*perWriter)

	// Reads fail over from the dead server.
	for n, b := range blocks {
		got, err := c.Get(ctx, b.locator)
		require.NoError(t, err, "block %d", n)
		assert.Equal(t, b.data, got, "block %d", n)
	}

	require.NoError(t, ks.Start(0))
	sets := indexes(t, ks)
	movedOver := 0
	for n, b := range blocks {
		order := probeOrder(stripped(b.data)[:32], ks.UUIDs)
		want := order[:2]
		if b.after && (order[0] == 0 || order[1] == 0) {
			// Written while server 0 was down: the next live servers.
			want = nil
			for _, s := range order {
				if s != 0 {
					want = append(want, s)
				}
			}
			movedOver++
		}
		assert.Equal(t, sorted(want), holders(sets, stripped(b.data)), "block %d (after kill: %v)", n, b.after)
	}
	assert.Positive(t, movedOver, "some blocks written after the kill had server 0 among their first two")
}

func TestClientWithEveryServerDownFailsTemporarily(t *testing.T) {
	ks, services := startKeepstores(t, 2)
	c := newClient(t, services)
	ctx := context.Background()
	data := testBlock(30, 100)
	locator, err := c.Put(ctx, data, keep.PutOptions{})
	require.NoError(t, err)
	ks.Kill(0)
	ks.Kill(1)

	_, err = c.Get(ctx, locator)
	assert.True(t, keep.IsTemporary(err), "%v", err)
	assert.NotErrorIs(t, err, keep.ErrNotFound)
	var ge *keep.GetError
	require.ErrorAs(t, err, &ge)
	assert.Len(t, ge.Failures, 2)

	_, err = c.Put(ctx, testBlock(31, 100), keep.PutOptions{})
	assert.True(t, keep.IsTemporary(err), "%v", err)
	var pe *keep.PutError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 0, pe.Stored)
	assert.Len(t, pe.Failures, 2)
	assert.ErrorIs(t, err, keep.ErrReplicas)
}

func TestClientCallsHonourTheirContext(t *testing.T) {
	_, services := startKeepstores(t, 2)
	c := newClient(t, services)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Put(ctx, testBlock(40, 100), keep.PutOptions{})
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, keep.IsTemporary(err))
	_, err = c.Get(ctx, stripped(testBlock(40, 100)))
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, keep.IsTemporary(err))
}

func TestClientRefreshSignatureStoresTheBlockAgain(t *testing.T) {
	_, services := startKeepstores(t, 3)
	c := newClient(t, services, keep.WithReplicas(1))
	ctx := context.Background()
	data := testBlock(50, 700)
	locator, err := c.Put(ctx, data, keep.PutOptions{})
	require.NoError(t, err)
	refreshed, err := c.RefreshSignature(ctx, locator)
	require.NoError(t, err)
	l, err := keep.ParseLocator(refreshed)
	require.NoError(t, err)
	assert.Equal(t, testserver.Sign(stripped(data), userToken, l.Expiry()), refreshed)

	_, err = c.RefreshSignature(ctx, testserver.Sign(stripped(testBlock(51, 700)), userToken, l.Expiry()))
	assert.ErrorIs(t, err, keep.ErrNotFound)
}

// tamper changes the first digit of a signed locator's signature.
func tamper(locator string) string {
	i := strings.Index(locator, "+A") + 2
	digit := byte('0')
	if locator[i] == '0' {
		digit = '1'
	}
	return locator[:i] + string(digit) + locator[i+1:]
}
