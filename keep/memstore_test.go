package keep

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fooLocator = "acbd18db4cc2f85cedef654fccc4a4d8+3"

func TestMemoryStoreCountsPutsAndGetsPerLocator(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	for _, data := range []string{"hello", "hello", "foo", ""} {
		_, err := m.Put(ctx, []byte(data), PutOptions{})
		require.NoError(t, err)
	}
	for _, locator := range []string{helloLocator, helloLocator + "+Kzzzzz", fooLocator, EmptyBlockLocator} {
		_, err := m.Get(ctx, locator)
		require.NoError(t, err)
	}
	_, err := m.Get(ctx, "93b885adfe0da089cdf634904fd59f71+1")
	require.ErrorIs(t, err, ErrNotFound)

	assert.Equal(t, 2, m.Puts(helloLocator), "duplicates are counted")
	assert.Equal(t, 1, m.Puts(fooLocator))
	assert.Equal(t, 0, m.Puts(EmptyBlockLocator), "the empty block needs no I/O")
	assert.Equal(t, 2, m.Gets(helloLocator+"+Kother"), "hints are ignored")
	assert.Equal(t, 1, m.Gets(fooLocator))
	assert.Equal(t, 1, m.Gets("93b885adfe0da089cdf634904fd59f71+1"), "misses are counted")
	assert.Equal(t, 0, m.Gets("not a locator"))
	assert.Equal(t, 3, m.TotalPuts())
	assert.Equal(t, 4, m.TotalGets())
	assert.Equal(t, int64(8), m.BytesStored(), "each distinct block once")
	assert.Equal(t, []string{helloLocator, fooLocator}, m.Locators())
}

func TestMemoryStoreDelete(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	_, err := m.Put(ctx, []byte("hello"), PutOptions{})
	require.NoError(t, err)
	before, err := m.Get(ctx, helloLocator)
	require.NoError(t, err)

	assert.True(t, m.Delete(helloLocator+"+Kx"))
	assert.False(t, m.Delete(helloLocator), "already gone")
	_, err = m.Get(ctx, helloLocator)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, []byte("hello"), before, "slices already returned stay valid")
	assert.Equal(t, int64(0), m.BytesStored())
	assert.Equal(t, []string{}, m.Locators())
}

func TestMemoryStoreLatencyHonoursTheContext(t *testing.T) {
	m := NewMemoryStore()
	_, err := m.Put(context.Background(), []byte("hello"), PutOptions{})
	require.NoError(t, err)
	m.SetLatency(time.Hour)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := m.Get(ctx, helloLocator)
		done <- err
	}()
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	_, err = m.Put(ctx, []byte("foo"), PutOptions{})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 0, m.TotalGets(), "a call given up during its latency is not counted")
	assert.Equal(t, 1, m.TotalPuts())

	m.SetLatency(0)
	data, err := m.Get(context.Background(), helloLocator)
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), data)
}

func TestMemoryStoreRefreshSignature(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryStore()
	_, err := m.Put(ctx, []byte("hello"), PutOptions{})
	require.NoError(t, err)

	cases := []struct {
		name    string
		locator string
		want    string
		wantErr error
	}{
		{"a remote block it has comes back stripped", helloLocator + "+Rzzzzz-0123456789abcdef0123456789abcdef01234567@65f3a1b0", helloLocator, nil},
		{"a local block comes back stripped", helloLocator, helloLocator, nil},
		{"the empty block needs nothing", EmptyBlockLocator + "+Rzzzzz-x", EmptyBlockLocator, nil},
		{"a block it lacks is not found", fooLocator + "+Rzzzzz-x", "", ErrNotFound},
		{"a malformed locator is invalid", "foo", "", ErrInvalidLocator},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.RefreshSignature(ctx, tc.locator)
			assert.ErrorIs(t, err, tc.wantErr)
			assert.Equal(t, tc.want, got)
		})
	}
}

func ExampleMemoryStore() {
	ctx := context.Background()
	m := NewMemoryStore()
	locator, _ := m.Put(ctx, []byte("hello"), PutOptions{})
	data, _ := m.Get(ctx, locator)
	fmt.Println(locator, string(data), m.Puts(locator), m.Gets(locator))
	// Output: 5d41402abc4b2a76b9719d911017c592+5 hello 1 1
}
