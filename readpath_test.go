package arvfile

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// blocksManifest stores blocks in st and returns a manifest of one file,
// "f", made of them in order, and the file's content.
func blocksManifest(t testing.TB, st keep.Store, blocks ...[]byte) (string, []byte) {
	t.Helper()
	var locs, content []byte
	for _, b := range blocks {
		l, err := st.Put(bg, b, keep.PutOptions{})
		require.NoError(t, err)
		locs = append(locs, " "+l...)
		content = append(content, b...)
	}
	return "." + string(locs) + " 0:" + itoa64(int64(len(content))) + ":f\n", content
}

func TestReadOnlyReadsComeFromSegmentsAndTheCache(t *testing.T) {
	st := newTestStore()
	e := newTestEngine(t, st, WithPrefetch(2))
	blocks := [][]byte{[]byte("0000000000"), []byte("1111111111"), []byte("2222222222"), []byte("3333333333"), []byte("4444444444")}
	text, content := blocksManifest(t, st, blocks...)
	text += "./pad " + keep.PaddingBlockLocator + " " + loc("0000000000") + " 67108860:6:p\n"
	c, err := e.LoadCollection(text, ReadOnly())
	require.NoError(t, err)
	f, err := c.Open("f")
	require.NoError(t, err)
	defer f.Close()

	b := make([]byte, 10)
	_, err = io.ReadFull(f, b)
	require.NoError(t, err)
	assert.Equal(t, "0000000000", string(b))
	require.Eventually(t, func() bool { return e.cache.Stats().Entries == 3 }, waitFor, tick,
		"the block read and the next two, prefetched")
	assert.Equal(t, int64(2), e.cache.Stats().Prefetches)

	got, err := io.ReadAll(f)
	require.NoError(t, err)
	assert.Equal(t, string(content[10:]), string(got))
	b = make([]byte, 13)
	n, err := f.ReadAt(b, 44)
	assert.Equal(t, 6, n)
	assert.Equal(t, io.EOF, err)
	assert.Equal(t, "444444", string(b[:n]))
	n, err = f.ReadAt(b, 50)
	assert.Equal(t, 0, n)
	assert.Equal(t, io.EOF, err)
	_, err = f.ReadAt(b, -1)
	assert.EqualError(t, err, "readat f: invalid argument: negative offset")
	assert.Equal(t, "\x00\x00\x00\x00"+"00", contents(t, c, "pad/p"), "the padding block is never fetched")
}

func TestReadOnlyReadsReportMissingAndCorruptBlocks(t *testing.T) {
	st := newTestStore()
	e := newTestEngine(t, st)
	c, err := e.LoadCollection(". "+loc("never stored")+" 0:12:f\n", ReadOnly())
	require.NoError(t, err)
	f, err := c.Open("f")
	require.NoError(t, err)
	_, err = io.ReadAll(f)
	assert.ErrorIs(t, err, keep.ErrNotFound)
	assert.Equal(t, "read f: keep: block not found: "+loc("never stored"), err.Error())
}

func TestReadOnlyHandlesReadConcurrently(t *testing.T) {
	st := newTestStore()
	e := newTestEngine(t, st)
	blocks := make([][]byte, 8)
	for i := range blocks {
		blocks[i] = bytes.Repeat([]byte{byte('a' + i)}, 1000)
	}
	text, content := blocksManifest(t, st, blocks...)
	c, err := e.LoadCollection(text, ReadOnly())
	require.NoError(t, err)
	f, err := c.Open("f")
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			b := make([]byte, 333)
			for off := int64(g * 7); off < int64(len(content)); off += 333 {
				n, err := f.ReadAt(b, off)
				if err != nil && err != io.EOF {
					t.Error(err)
					return
				}
				if !bytes.Equal(b[:n], content[off:off+int64(n)]) {
					t.Errorf("bytes at %d differ", off)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	require.NoError(t, f.Close())
}

// BenchmarkReadCached reads a 256 MiB file of a read-only collection whose
// blocks are all cached, 1 MiB at a time, and reports its throughput as a
// ratio to copying the same bytes from the cached blocks with copy().
func BenchmarkReadCached(b *testing.B) {
	const size, chunk = 256 << 20, 1 << 20
	st := keep.NewMemoryStore()
	e, err := New(WithStore(st), WithCacheBytes(2*size))
	require.NoError(b, err)
	defer e.Close()
	blocks := make([][]byte, size/keep.BlockSize)
	for i := range blocks {
		blocks[i] = bytes.Repeat([]byte{byte(i + 1)}, keep.BlockSize)
	}
	text, _ := blocksManifest(b, st, blocks...)
	c, err := e.LoadCollection(text, ReadOnly())
	require.NoError(b, err)
	f, err := c.Open("f")
	require.NoError(b, err)
	defer f.Close()
	buf := make([]byte, chunk)
	cached := make([][]byte, len(blocks))
	for i := range blocks { // warm the cache; keep its slices for the baseline
		_, err := f.ReadAt(buf, int64(i)*keep.BlockSize)
		require.NoError(b, err)
		data, ok := e.cache.Cached(strings.Fields(text)[1+i])
		require.True(b, ok)
		cached[i] = data
	}
	b.SetBytes(chunk)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		off := int64(i) * chunk % size
		if _, err := f.ReadAt(buf, off); err != nil {
			b.Fatal(err)
		}
	}
	read := time.Since(start)
	b.StopTimer()
	start = time.Now()
	for i := 0; i < b.N; i++ {
		off := int64(i) * chunk % size
		copy(buf, cached[off/keep.BlockSize][off%keep.BlockSize:])
	}
	memcpy := time.Since(start)
	b.ReportMetric(float64(memcpy)/float64(read), "x-memcpy")
}
