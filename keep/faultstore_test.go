package keep

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultStoreFailsTheNthCall(t *testing.T) {
	ctx := context.Background()
	backend := NewMemoryStore()
	f := NewFaultStore(backend)
	f.FailPut(2, Temporary(io.EOF))
	f.FailGet(1, io.ErrClosedPipe)
	f.FailGet(3, io.ErrNoProgress)
	f.FailGet(3, nil) // removed again

	var putErrs []error
	for i := 0; i < 3; i++ {
		_, err := f.Put(ctx, []byte("hello"), PutOptions{})
		putErrs = append(putErrs, err)
	}
	assert.Equal(t, []error{nil, &TemporaryError{Err: io.EOF}, nil}, putErrs)
	var getErrs []error
	for i := 0; i < 3; i++ {
		_, err := f.Get(ctx, helloLocator)
		getErrs = append(getErrs, err)
	}
	assert.Equal(t, []error{io.ErrClosedPipe, nil, nil}, getErrs)
	assert.Equal(t, 3, f.Puts())
	assert.Equal(t, 3, f.Gets())
	assert.Equal(t, 2, backend.TotalPuts(), "a failed call does not reach the wrapped store")
	assert.Equal(t, 2, backend.TotalGets())
}

func TestFaultStoreAsksItsFaultFunc(t *testing.T) {
	ctx := context.Background()
	f := NewFaultStore(NewMemoryStore())
	type call struct {
		op, locator string
		n           int
	}
	var calls []call
	f.SetFault(func(op, locator string, n int) error {
		calls = append(calls, call{op, locator, n})
		if op == OpGet && n == 2 {
			return ErrCorrupt
		}
		return nil
	})
	_, err := f.Put(ctx, []byte("hello"), PutOptions{})
	require.NoError(t, err)
	_, err = f.Put(ctx, []byte{}, PutOptions{})
	require.NoError(t, err)
	_, err = f.Get(ctx, helloLocator)
	require.NoError(t, err)
	_, err = f.Get(ctx, helloLocator+"+Kzzzzz")
	assert.ErrorIs(t, err, ErrCorrupt)
	_, err = f.Get(ctx, EmptyBlockLocator)
	require.NoError(t, err)

	assert.Equal(t, []call{
		{OpPut, helloLocator, 1},
		{OpGet, helloLocator, 1},
		{OpGet, helloLocator + "+Kzzzzz", 2},
	}, calls, "empty blocks pass through uncounted")
}

func TestFaultStoreCorruptsACopyOfTheBytes(t *testing.T) {
	ctx := context.Background()
	backend := NewMemoryStore()
	f := NewFaultStore(backend)
	_, err := f.Put(ctx, []byte("hello"), PutOptions{})
	require.NoError(t, err)
	f.SetCorrupt(func(locator string) bool { return locator == helloLocator })

	data, err := f.Get(ctx, helloLocator)
	require.NoError(t, err)
	assert.Equal(t, []byte("\x97ello"), data)
	loc, err := ParseLocator(helloLocator)
	require.NoError(t, err)
	assert.ErrorIs(t, VerifyBlock(loc, data), ErrCorrupt, "verification catches it")
	clean, err := backend.Get(ctx, helloLocator)
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), clean, "the wrapped store's bytes are untouched")

	f.SetCorrupt(nil)
	data, err = f.Get(ctx, helloLocator)
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), data)
}

func TestFaultStoreRecoversOnReset(t *testing.T) {
	ctx := context.Background()
	f := NewFaultStore(NewMemoryStore())
	down := errors.New("down")
	f.SetFault(func(string, string, int) error { return down })
	f.FailPut(2, down)
	f.SetCorrupt(func(string) bool { return true })
	f.SetLatency(time.Hour)
	expired, cancel := context.WithTimeout(ctx, -time.Second)
	defer cancel()
	_, err := f.Put(expired, []byte("hello"), PutOptions{})
	require.ErrorIs(t, err, context.DeadlineExceeded, "latency honours ctx")

	f.Reset()
	locator, err := f.Put(ctx, []byte("hello"), PutOptions{})
	require.NoError(t, err)
	data, err := f.Get(ctx, locator)
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), data)
	assert.Equal(t, 2, f.Puts(), "the counters go on")
}

func TestFaultStoreLatencyHonoursTheContext(t *testing.T) {
	f := NewFaultStore(NewMemoryStore())
	f.SetLatency(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := f.Get(ctx, helloLocator)
		done <- err
	}()
	require.Eventually(t, func() bool { return f.Gets() == 1 }, eventually, time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

func TestFaultStoreIsSafeToReconfigureWhileInUse(t *testing.T) {
	ctx := context.Background()
	f := NewFaultStore(NewMemoryStore())
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				switch (g + i) % 4 {
				case 0:
					f.FailGet(i, io.EOF)
				case 1:
					f.SetFault(func(string, string, int) error { return nil })
				case 2:
					f.Reset()
				}
				f.Put(ctx, []byte("hello"), PutOptions{})
				f.Get(ctx, helloLocator)
			}
		}(g)
	}
	wg.Wait()
	assert.Equal(t, 400, f.Puts())
	assert.Equal(t, 400, f.Gets())
}
