package keep

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// errorRecorder is a Store that passes calls on and keeps every error the
// wrapped store returned.
type errorRecorder struct {
	Store
	mu   sync.Mutex
	errs []error
}

func (r *errorRecorder) Put(ctx context.Context, data []byte, opts PutOptions) (string, error) {
	locator, err := r.Store.Put(ctx, data, opts)
	r.record(err)
	return locator, err
}

func (r *errorRecorder) Get(ctx context.Context, locator string) ([]byte, error) {
	data, err := r.Store.Get(ctx, locator)
	r.record(err)
	return data, err
}

func (r *errorRecorder) record(err error) {
	if err != nil {
		r.mu.Lock()
		r.errs = append(r.errs, err)
		r.mu.Unlock()
	}
}

// take returns the errors recorded since the last take.
func (r *errorRecorder) take() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := r.errs
	r.errs = nil
	return errs
}

func (r *errorRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs)
}

func TestS3StoreLosesNothingWhenMinIORestartsMidRun(t *testing.T) {
	f := newS3Fixture(t)
	bucket := f.bucket("restart")
	rec := &errorRecorder{Store: f.store(bucket, 3, nil)}
	st := WithRetries(rec, RetryPolicy{Attempts: 200, Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond})
	const blocks, workers, killAfter = 48, 4, 8
	contents := make([][]byte, blocks)
	for i := range contents {
		contents[i] = s3Block(uint64(1000+i), 100<<10+i)
	}

	// run calls op(i) for every block on workers goroutines; after
	// killAfter calls have succeeded, one of them kills MinIO, and the test
	// starts it again once the store has failed a few times.
	run := func(name string, op func(ctx context.Context, i int) error) {
		var done atomic.Int32
		killed := make(chan struct{})
		next := atomic.Int32{}
		errs := make(chan error, blocks)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)) - 1; i < blocks; i = int(next.Add(1)) - 1 {
					if err := op(context.Background(), i); err != nil {
						errs <- fmt.Errorf("%s %d: %w", name, i, err)
						continue
					}
					if done.Add(1) == killAfter {
						f.minio.Kill()
						close(killed)
					}
				}
			}()
		}
		<-killed
		require.Eventually(t, func() bool { return rec.count() >= 3 }, 30*time.Second, 5*time.Millisecond,
			"the store fails while MinIO is down")
		require.NoError(t, f.minio.Start())
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err)
		}
		assert.Equal(t, int32(blocks), done.Load())
		failures := rec.take()
		assert.GreaterOrEqual(t, len(failures), 3)
		for _, err := range failures {
			assert.True(t, IsTemporary(err), "%s failed for good while MinIO restarted: %v", name, err)
		}
	}

	locators := make([]string, blocks)
	run("put", func(ctx context.Context, i int) (err error) {
		locators[i], err = st.Put(ctx, contents[i], PutOptions{})
		return err
	})
	var wantKeys []string
	for i, locator := range locators {
		require.Equal(t, BlockLocatorOf(contents[i]), locator)
		key := locator[:3] + "/" + locator[:32]
		wantKeys = append(wantKeys, key, "recent/"+key)
	}
	sort.Strings(wantKeys)
	assert.Equal(t, wantKeys, f.keys(bucket), "every block and its marker are in the bucket, nothing else")

	run("get", func(ctx context.Context, i int) error {
		data, err := st.Get(ctx, locators[i])
		if err == nil && !bytes.Equal(data, contents[i]) {
			err = fmt.Errorf("wrong bytes")
		}
		return err
	})
}
