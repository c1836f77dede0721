package keep

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// RetryPolicy says how often and how patiently WithRetries tries again.
type RetryPolicy struct {
	// Attempts is the most calls made per operation, the first included;
	// ≤ 0 means DefaultRetryPolicy.Attempts.
	Attempts int
	// Initial is the backoff before the second attempt; ≤ 0 means
	// DefaultRetryPolicy.Initial. Each later backoff doubles, up to Max.
	Initial time.Duration
	// Max bounds every backoff; ≤ 0 means DefaultRetryPolicy.Max, and a Max
	// below Initial is raised to Initial.
	Max time.Duration
}

// DefaultRetryPolicy fills in the zero fields of a RetryPolicy.
var DefaultRetryPolicy = RetryPolicy{Attempts: 3, Initial: 100 * time.Millisecond, Max: 10 * time.Second}

// WithRetries returns a Store that calls s and, when a call fails with a
// temporary error (IsTemporary), calls it again after an exponential backoff
// with jitter: the n-th wait is drawn uniformly from [d/2, d] where
// d = min(Max, Initial·2^(n-1)). It gives up after policy.Attempts calls,
// returning the last error, or as soon as ctx ends, returning an error that
// wraps ctx's error (and not the temporary one, so outer retries stop too).
// Permanent errors are returned at once. The result also implements
// Refresher, retrying RefreshSignature the same way.
func WithRetries(s Store, policy RetryPolicy) Store {
	if policy.Attempts <= 0 {
		policy.Attempts = DefaultRetryPolicy.Attempts
	}
	if policy.Initial <= 0 {
		policy.Initial = DefaultRetryPolicy.Initial
	}
	if policy.Max <= 0 {
		policy.Max = DefaultRetryPolicy.Max
	}
	if policy.Max < policy.Initial {
		policy.Max = policy.Initial
	}
	return &retryStore{inner: s, policy: policy}
}

// retryStore is the Store returned by WithRetries.
type retryStore struct {
	inner  Store
	policy RetryPolicy
}

// Put calls the inner Put, with opts unchanged (PutOptions.MD5 included),
// until it succeeds, fails permanently, or the attempts or ctx run out.
func (r *retryStore) Put(ctx context.Context, data []byte, opts PutOptions) (string, error) {
	var locator string
	err := r.do(ctx, func() (err error) {
		locator, err = r.inner.Put(ctx, data, opts)
		return err
	})
	return locator, err
}

// Get calls the inner Get until it succeeds, fails permanently, or the
// attempts or ctx run out.
func (r *retryStore) Get(ctx context.Context, locator string) ([]byte, error) {
	var data []byte
	err := r.do(ctx, func() (err error) {
		data, err = r.inner.Get(ctx, locator)
		return err
	})
	return data, err
}

// RefreshSignature retries the inner RefreshSignature like Get.
func (r *retryStore) RefreshSignature(ctx context.Context, locator string) (string, error) {
	var refreshed string
	err := r.do(ctx, func() (err error) {
		refreshed, err = refreshVia(ctx, r.inner, locator)
		return err
	})
	return refreshed, err
}

// do runs call under the policy.
func (r *retryStore) do(ctx context.Context, call func() error) error {
	for attempt := 1; ; attempt++ {
		err := call()
		if err == nil || !IsTemporary(err) || attempt >= r.policy.Attempts {
			return err
		}
		if werr := waitLatency(ctx, jitter(r.policy.backoff(attempt))); werr != nil {
			return fmt.Errorf("keep: retry stopped after %d attempts (last error: %v): %w", attempt, err, werr)
		}
	}
}

// backoff returns the longest wait after the given failed attempt (from 1):
// min(Max, Initial·2^(attempt-1)).
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.Initial
	for i := 1; i < attempt && d < p.Max; i++ {
		if d > p.Max/2 {
			d = p.Max
		} else {
			d *= 2
		}
	}
	return min(d, p.Max)
}

// jitter returns a wait drawn uniformly from [d/2, d], so that clients that
// failed together do not retry together.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d-d/2+1)
}
