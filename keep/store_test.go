package keep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helloLocator is the locator of the 5 bytes "hello".
const helloLocator = "5d41402abc4b2a76b9719d911017c592+5"

// everyStore returns, by name, a fresh instance of every Store in the
// package, each over a fresh backend.
func everyStore(t *testing.T) map[string]Store {
	t.Helper()
	dir, err := NewDirStore(t.TempDir())
	require.NoError(t, err)
	cacheOverDir, err := NewDirStore(t.TempDir())
	require.NoError(t, err)
	memCache := NewCache(NewMemoryStore(), 1<<20, 2)
	dirCache := NewCache(cacheOverDir, 1<<20, 2)
	t.Cleanup(memCache.Close)
	t.Cleanup(dirCache.Close)
	faultCache := NewCache(NewFaultStore(NewMemoryStore()), 1<<20, 2)
	t.Cleanup(faultCache.Close)
	return map[string]Store{
		"MemoryStore":                  NewMemoryStore(),
		"DirStore":                     dir,
		"Cache over MemoryStore":       memCache,
		"Cache over DirStore":          dirCache,
		"WithRetries over MemoryStore": WithRetries(NewMemoryStore(), RetryPolicy{}),
		"FaultStore over MemoryStore":  NewFaultStore(NewMemoryStore()),
		"Verified FaultStore":          Verified(NewFaultStore(NewMemoryStore())),
		"Cache over a FaultStore":      faultCache,
	}
}

func TestEveryStoreRoundTripsBlocks(t *testing.T) {
	block := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	const blockLocator = "ea2e4a9d8add947abc90705d59d34a74+65536"
	for name, st := range everyStore(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			cases := []struct {
				name    string
				data    []byte
				locator string
			}{
				{"five bytes come back under their md5 and size", []byte("hello"), helloLocator},
				{"a 64 KiB block comes back whole", block, blockLocator},
				{"one byte comes back", []byte{0}, "93b885adfe0da089cdf634904fd59f71+1"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					buf := append([]byte(nil), tc.data...)
					got, err := st.Put(ctx, buf, PutOptions{Copies: 2})
					require.NoError(t, err)
					assert.Equal(t, tc.locator, got)
					buf[0] ^= 0xff // the caller may reuse its buffer after Put
					data, err := st.Get(ctx, got)
					require.NoError(t, err)
					assert.Equal(t, tc.data, data)
					signed := tc.locator + "+A" + "0123456789abcdef0123456789abcdef01234567@65f3a1b0+Kzzzzz"
					data, err = st.Get(ctx, signed)
					require.NoError(t, err, "hints are accepted")
					assert.Equal(t, tc.data, data)
				})
			}
		})
	}
}

func TestEveryStoreAnswersTheEmptyBlockWithoutIO(t *testing.T) {
	for name, st := range everyStore(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // any I/O would fail with context.Canceled
			locator, err := st.Put(ctx, nil, PutOptions{})
			require.NoError(t, err)
			assert.Equal(t, EmptyBlockLocator, locator)
			data, err := st.Get(ctx, EmptyBlockLocator)
			require.NoError(t, err)
			assert.Equal(t, []byte{}, data)
		})
	}
}

func TestEveryStoreRejectsBadRequests(t *testing.T) {
	for name, st := range everyStore(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			_, err := st.Put(ctx, make([]byte, BlockSize+1), PutOptions{})
			assert.ErrorIs(t, err, ErrBlockTooLarge)
			assert.EqualError(t, err, "keep: block larger than 64 MiB: 67108865 bytes")

			for _, bad := range []string{"", "hello", "../../../../etc/passwd+5", "5D41402ABC4B2A76B9719D911017C592+5", "5d41402abc4b2a76b9719d911017c592/+5"} {
				_, err = st.Get(ctx, bad)
				assert.ErrorIs(t, err, ErrInvalidLocator, "Get(%q)", bad)
			}

			_, err = st.Get(ctx, "acbd18db4cc2f85cedef654fccc4a4d8+3")
			assert.ErrorIs(t, err, ErrNotFound)
			assert.EqualError(t, err, "keep: block not found: acbd18db4cc2f85cedef654fccc4a4d8+3")
			assert.False(t, IsTemporary(err))
		})
	}
}

func TestEveryStoreSurvives64GoroutinesOnOverlappingBlocks(t *testing.T) {
	const goroutines, blocks, rounds = 64, 8, 20
	contents := make([][]byte, blocks)
	locators := make([]string, blocks)
	for i := range contents {
		contents[i] = bytes.Repeat([]byte(fmt.Sprintf("block %d;", i)), 1000+i)
		locators[i] = BlockLocatorOf(contents[i])
	}
	for name, st := range everyStore(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var wg sync.WaitGroup
			errs := make(chan error, goroutines*rounds)
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for r := 0; r < rounds; r++ {
						i := (g + r) % blocks
						locator, err := st.Put(ctx, contents[i], PutOptions{})
						if err != nil || locator != locators[i] {
							errs <- fmt.Errorf("put %d: %q %v", i, locator, err)
							continue
						}
						j := (g*7 + r) % blocks
						data, err := st.Get(ctx, locators[j])
						if err == nil && !bytes.Equal(data, contents[j]) {
							err = fmt.Errorf("wrong bytes")
						}
						if err != nil && !errors.Is(err, ErrNotFound) {
							errs <- fmt.Errorf("get %d: %v", j, err)
						}
					}
				}(g)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				assert.NoError(t, err)
			}
			for i, locator := range locators {
				data, err := st.Get(ctx, locator)
				require.NoError(t, err)
				assert.Equal(t, contents[i], data)
			}
		})
	}
}
