package keep

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quickRetries retries at once, so tests do not wait.
var quickRetries = RetryPolicy{Attempts: 5, Initial: time.Microsecond, Max: time.Microsecond}

func TestWithRetriesRetriesTemporaryFailuresUntilSuccess(t *testing.T) {
	ctx := context.Background()
	backend := NewMemoryStore()
	faults := NewFaultStore(backend)
	st := WithRetries(faults, quickRetries)
	var seen []int
	faults.SetFault(func(op, locator string, n int) error {
		seen = append(seen, n)
		if n <= 3 {
			return Temporary(io.ErrUnexpectedEOF)
		}
		return nil
	})

	locator, err := st.Put(ctx, []byte("hello"), PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, helloLocator, locator)
	assert.Equal(t, 4, faults.Puts(), "three failures, then success")
	data, err := st.Get(ctx, helloLocator)
	require.NoError(t, err)
	assert.Equal(t, []byte("hello"), data)
	assert.Equal(t, 4, faults.Gets())
	assert.Equal(t, []int{1, 2, 3, 4, 1, 2, 3, 4}, seen)
	assert.Equal(t, 1, backend.TotalPuts())
	assert.Equal(t, 1, backend.TotalGets())
}

func TestWithRetriesGivesUpAfterTheAttempts(t *testing.T) {
	faults := NewFaultStore(NewMemoryStore())
	faults.SetFault(func(op, locator string, n int) error {
		return Temporary(errors.New("busy " + op))
	})
	st := WithRetries(faults, RetryPolicy{Attempts: 3, Initial: time.Microsecond})

	_, err := st.Get(context.Background(), helloLocator)
	assert.EqualError(t, err, "keep: temporary failure: busy get")
	assert.True(t, IsTemporary(err))
	assert.Equal(t, 3, faults.Gets())
}

func TestWithRetriesDoesNotRetryPermanentFailures(t *testing.T) {
	faults := NewFaultStore(NewMemoryStore())
	st := WithRetries(faults, quickRetries)
	_, err := st.Get(context.Background(), helloLocator)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, 1, faults.Gets())

	faults.FailPut(1, io.ErrClosedPipe)
	_, err = st.Put(context.Background(), []byte("hello"), PutOptions{})
	assert.ErrorIs(t, err, io.ErrClosedPipe)
	assert.Equal(t, 1, faults.Puts())
}

func TestWithRetriesStopsBackingOffWhenTheContextEnds(t *testing.T) {
	faults := NewFaultStore(NewMemoryStore())
	failed := make(chan struct{}, 1)
	faults.SetFault(func(op, locator string, n int) error {
		failed <- struct{}{} // past the store's own look at ctx: the next one is the backoff's
		return Temporary(io.ErrUnexpectedEOF)
	})
	st := WithRetries(faults, RetryPolicy{Attempts: 10, Initial: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := st.Get(ctx, helloLocator)
		done <- err
	}()
	select {
	case <-failed:
	case <-time.After(eventually):
		t.Fatal("the first attempt never failed")
	}
	cancel()
	err := <-done
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, IsTemporary(err), "an outer retry must not go on")
	assert.EqualError(t, err, "keep: retry stopped after 1 attempts (last error: keep: temporary failure: unexpected EOF): context canceled")
	assert.Equal(t, 1, faults.Gets())
}

func TestWithRetriesFillsInThePolicy(t *testing.T) {
	cases := []struct {
		name   string
		policy RetryPolicy
		want   RetryPolicy
	}{
		{"zero means the defaults", RetryPolicy{}, DefaultRetryPolicy},
		{"given fields are kept", RetryPolicy{Attempts: 7, Initial: time.Second, Max: time.Minute},
			RetryPolicy{Attempts: 7, Initial: time.Second, Max: time.Minute}},
		{"a Max below Initial is raised", RetryPolicy{Attempts: 2, Initial: time.Minute, Max: time.Second},
			RetryPolicy{Attempts: 2, Initial: time.Minute, Max: time.Minute}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := WithRetries(NewMemoryStore(), tc.policy)
			assert.Equal(t, tc.want, st.(*retryStore).policy)
		})
	}
}

func TestRetryBackoffDoublesUpToMax(t *testing.T) {
	p := RetryPolicy{Attempts: 10, Initial: 100 * time.Millisecond, Max: time.Second}
	var got []time.Duration
	for attempt := 1; attempt <= 6; attempt++ {
		got = append(got, p.backoff(attempt))
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1000 * ms, 1000 * ms}, got)
	huge := RetryPolicy{Initial: time.Second, Max: time.Duration(1<<63 - 1)}
	assert.Equal(t, time.Duration(1<<63-1), huge.backoff(200), "no overflow")
}

func TestRetryJitterStaysBetweenHalfAndWhole(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 2, 3, time.Second} {
		for i := 0; i < 1000; i++ {
			j := jitter(d)
			require.GreaterOrEqual(t, j, d/2)
			require.LessOrEqual(t, j, d)
		}
	}
}

func TestWithRetriesRetriesRefreshSignature(t *testing.T) {
	ctx := context.Background()
	backend := NewMemoryStore()
	_, err := backend.Put(ctx, []byte("hello"), PutOptions{})
	require.NoError(t, err)
	faults := NewFaultStore(backend)
	faults.SetFault(func(op, locator string, n int) error {
		if op == OpRefresh && n == 1 {
			return Temporary(io.EOF)
		}
		return nil
	})
	got, err := WithRetries(faults, quickRetries).(Refresher).RefreshSignature(ctx, helloLocator+"+Rzzzzz-x")
	require.NoError(t, err)
	assert.Equal(t, helloLocator, got)

	dir, err := NewDirStore(t.TempDir())
	require.NoError(t, err)
	_, err = WithRetries(dir, quickRetries).(Refresher).RefreshSignature(ctx, helloLocator)
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}
