package arvfile

// The fault matrix of issue 11 for input and reads: blocks that come back
// wrong or flaky, crafted manifests, offsets far past the end, names that
// are not UTF-8. Each test fails on the engine before the fix it names.

import (
	"errors"
	"io"
	"testing"

	"github.com/arvfile/arvfile/keep"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readPaths are the ways a committed block reaches a reader.
var readPaths = []struct {
	name string
	opts []Option
	load []CollectionOption
}{
	{"a writable collection through its file actor and the cache", nil, nil},
	{"a read-only collection through the fast path and the cache", nil, []CollectionOption{ReadOnly()}},
	{"a writable collection without a cache", []Option{WithCacheBytes(0)}, nil},
	{"a read-only collection without a cache", []Option{WithCacheBytes(0)}, []CollectionOption{ReadOnly()}},
}

// Item 2: a block whose bytes do not match its md5 is an error, is never
// served and never cached: once the store is healthy the right bytes come.
func TestACorruptBlockIsNeitherServedNorCached(t *testing.T) {
	for _, p := range readPaths {
		t.Run(p.name, func(t *testing.T) {
			st := newTestStore()
			e := newTestEngine(t, st, append([]Option{WithPrefetch(0)}, p.opts...)...)
			text, content := blocksManifest(t, st, []byte("the right bytes"))
			c, err := e.LoadCollection(text, p.load...)
			require.NoError(t, err)
			st.SetCorrupt(func(string) bool { return true })

			f, err := c.Open("f")
			require.NoError(t, err)
			defer f.Close()
			buf := make([]byte, 64)
			n, err := f.ReadAt(buf, 0)
			assert.Equal(t, 0, n)
			assert.ErrorIs(t, err, keep.ErrCorrupt)
			if e.cache != nil {
				assert.Equal(t, 0, e.cache.Stats().Entries, "nothing cached")
			}

			st.SetCorrupt(nil)
			n, err = f.ReadAt(buf, 0)
			assert.Equal(t, io.EOF, err)
			assert.Equal(t, string(content), string(buf[:n]))
		})
	}
}

// Item 2: a block prefetched while the store corrupts it is not cached, so a
// later read fetches it again.
func TestACorruptPrefetchedBlockIsNotCached(t *testing.T) {
	for _, p := range readPaths[:2] {
		t.Run(p.name, func(t *testing.T) {
			st := newTestStore()
			e := newTestEngine(t, st, WithPrefetch(1))
			text, _ := blocksManifest(t, st, []byte("first block"), []byte("second block"))
			c, err := e.LoadCollection(text, p.load...)
			require.NoError(t, err)
			st.SetCorrupt(func(l string) bool { return l == loc("second block") })

			f, err := c.Open("f")
			require.NoError(t, err)
			defer f.Close()
			buf := make([]byte, len("first block"))
			_, err = io.ReadFull(f, buf)
			require.NoError(t, err)
			require.Eventually(t, func() bool { return st.Gets() == 2 }, waitFor, tick, "the second block was prefetched")
			require.Eventually(t, func() bool { return e.cache.Stats().Prefetches == 1 }, waitFor, tick)

			st.SetCorrupt(nil)
			rest, err := io.ReadAll(f)
			require.NoError(t, err)
			assert.Equal(t, "second block", string(rest))
			assert.Equal(t, 3, st.Gets(), "the corrupt prefetch was fetched again")
		})
	}
}

// Item 2: a temporary Get failure is retried with the store retry policy; a
// permanent one is not.
func TestTemporaryGetFailuresAreRetried(t *testing.T) {
	flaky := errors.New("flaky disk")
	tests := []struct {
		name     string
		fail     []error // the errors of the first Gets
		wantErr  error
		wantGets int
	}{
		{"one temporary failure", []error{keep.Temporary(flaky)}, nil, 2},
		{"two temporary failures", []error{keep.Temporary(flaky), keep.Temporary(flaky)}, nil, 3},
		{"more temporary failures than retries", []error{keep.Temporary(flaky), keep.Temporary(flaky), keep.Temporary(flaky)}, flaky, 3},
		{"a permanent failure", []error{flaky}, flaky, 1},
	}
	for _, p := range readPaths {
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				st := newTestStore()
				e := newTestEngine(t, st, append([]Option{WithPrefetch(0), WithRetries(2)}, p.opts...)...)
				text, content := blocksManifest(t, st, []byte("flaky block"))
				c, err := e.LoadCollection(text, p.load...)
				require.NoError(t, err)
				for i, err := range tt.fail {
					st.FailGet(i+1, err)
				}
				f, err := c.Open("f")
				require.NoError(t, err)
				defer f.Close()
				buf := make([]byte, 64)
				n, err := f.ReadAt(buf, 0)
				if tt.wantErr != nil {
					assert.ErrorIs(t, err, tt.wantErr)
					assert.Equal(t, 0, n)
				} else {
					assert.Equal(t, io.EOF, err)
					assert.Equal(t, string(content), string(buf[:n]))
				}
				assert.Equal(t, tt.wantGets, st.Gets())
			})
		}
	}
}
