package actors

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hashData returns n bytes that differ for every (seed, n).
func hashData(seed, n int) []byte {
	b := make([]byte, n+8)
	x := uint64(seed)*0x9e3779b97f4a7c15 + uint64(n)
	for i := 0; i < n; i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(b[i:], x)
	}
	return b[:n]
}

// startTogether queues every block before any lane can take one, as when
// many blocks are sealed at once.
func startTogether(h *Hasher, blocks [][]byte) []*hashJob {
	jobs := make([]*hashJob, len(blocks))
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, b := range blocks {
		jobs[i] = &hashJob{h: h, data: b, done: make(chan struct{})}
		h.startLocked(jobs[i])
	}
	return jobs
}

func TestHasherSumsEqualCryptoMD5(t *testing.T) {
	sizes := []int{HashOffActorsMin, 1, 63, 64, 65, 1<<20 + 3, 3<<20 - 1, 2 * hashChunk}
	cases := []struct {
		name    string
		blocks  int
		servers int
	}{
		{"one block alone is hashed by crypto/md5", 1, 1},
		{"8 blocks sealed together go through one md5-simd server", 8, 1},
		{"40 blocks, more than the lanes of one server, queue for them", 40, 1},
		{"20 blocks over two servers", 20, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHasher(tc.servers)
			defer h.Close()
			blocks := make([][]byte, tc.blocks)
			var total int64
			for i := range blocks {
				blocks[i] = hashData(i, sizes[i%len(sizes)])
				total += int64(len(blocks[i]))
			}
			jobs := startTogether(h, blocks)
			for i, j := range jobs {
				sum, err := j.Wait(context.Background())
				require.NoError(t, err)
				assert.Equal(t, md5.Sum(blocks[i]), sum, "block %d (%d bytes)", i, len(blocks[i]))
				if i < len(jobs)-1 {
					assert.True(t, j.simd, "block %d was taken while others waited: multi-buffer", i)
				}
			}
			st := h.Stats()
			assert.Equal(t, int64(tc.blocks), st.Blocks)
			assert.Equal(t, total, st.SIMDBytes+st.ScalarBytes)
			if tc.blocks == 1 {
				assert.False(t, jobs[0].simd)
				assert.Equal(t, HashStats{ScalarBytes: total, Blocks: 1, PeakStreams: 1}, st)
			} else {
				assert.LessOrEqual(t, st.PeakStreams, min(tc.blocks, tc.servers*LanesPerServer))
			}
		})
	}
}

func TestHasherStartedOneAfterAnotherAloneUsesCryptoMD5(t *testing.T) {
	h := NewHasher(1)
	defer h.Close()
	for i := 0; i < 3; i++ {
		data := hashData(i, 1<<20)
		sum, err := h.Start(data).Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, md5.Sum(data), sum)
	}
	assert.Equal(t, HashStats{ScalarBytes: 3 << 20, Blocks: 3, PeakStreams: 1}, h.Stats())
	h.mu.Lock()
	assert.Empty(t, h.srvs, "no md5-simd server was needed")
	h.mu.Unlock()
}

func TestHasherWaitWithAnEndedContextStopsTheHash(t *testing.T) {
	cases := []struct {
		name   string
		queued int // blocks ahead of the one waited for
	}{
		{"a block no lane took yet leaves the queue", 2 * LanesPerServer},
		{"a block being hashed stops at the next chunk", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHasher(1)
			defer h.Close()
			blocks := make([][]byte, tc.queued+1)
			for i := range blocks[:tc.queued] {
				blocks[i] = hashData(i, 1<<20)
			}
			blocks[tc.queued] = hashData(tc.queued, 16<<20)
			jobs := startTogether(h, blocks)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			last := jobs[len(jobs)-1]
			_, err := last.Wait(ctx)
			assert.ErrorIs(t, err, context.Canceled)
			select {
			case <-last.done:
			default:
				t.Fatal("Wait returned while a lane may still read the block")
			}
			for i, j := range jobs[:len(jobs)-1] {
				sum, err := j.Wait(context.Background())
				require.NoError(t, err)
				assert.Equal(t, md5.Sum(blocks[i]), sum)
			}
		})
	}
}

func TestHasherCloseStopsEveryLaneAndServer(t *testing.T) {
	var before int
	require.Eventually(t, func() bool { before = runtime.NumGoroutine(); return true }, 5*time.Second, 10*time.Millisecond)
	h := NewHasher(2)
	distinct := [][]byte{hashData(0, 8<<20), hashData(1, 8<<20)}
	blocks := make([][]byte, 3*LanesPerServer)
	for i := range blocks {
		blocks[i] = distinct[i%2] // the same bytes may be hashed by several lanes at once
	}
	jobs := startTogether(h, blocks)
	h.Close() // the lanes took at most 32 of the 48 blocks
	h.Close() // idempotent
	closed := 0
	for i, j := range jobs {
		sum, err := j.Wait(context.Background())
		if err == nil {
			assert.Equal(t, md5.Sum(blocks[i]), sum, "a sum that completed is right")
		} else {
			assert.ErrorIs(t, err, ErrHasherClosed)
			closed++
		}
	}
	assert.GreaterOrEqual(t, closed, len(jobs)-2*LanesPerServer, "the blocks still queued were abandoned")
	h.mu.Lock()
	assert.Nil(t, h.srvs, "the md5-simd servers were stopped")
	assert.Zero(t, h.lanes)
	h.mu.Unlock()
	_, err := h.Start(blocks[0]).Wait(context.Background())
	assert.ErrorIs(t, err, ErrHasherClosed, "a block started after Close fails")
	assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= before }, 5*time.Second, 10*time.Millisecond,
		"goroutines: before %d, now %d", before, runtime.NumGoroutine())
}

func TestHasherReusesTheStreamsOfItsServer(t *testing.T) {
	h := NewHasher(1)
	defer h.Close()
	blocks := make([][]byte, 8)
	for i := range blocks {
		blocks[i] = hashData(i, 256<<10)
	}
	for round := 0; round < 5; round++ {
		for i, j := range startTogether(h, blocks) {
			sum, err := j.Wait(context.Background())
			require.NoError(t, err)
			assert.Equal(t, md5.Sum(blocks[i]), sum)
		}
		require.Eventually(t, func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.lanes == 0
		}, 5*time.Second, time.Millisecond, "idle lanes exit")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.srvs, 1)
	s := h.srvs[0]
	assert.LessOrEqual(t, s.made, len(blocks), "5 rounds of 8 blocks made at most 8 streams")
	assert.Len(t, s.idle, s.made, "every stream is back, for the next lanes")
	assert.Zero(t, s.lanes)
}
