package actors

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync/atomic"
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
func startTogether(h *Hasher, blocks [][]byte) []*HashStream {
	jobs := make([]*HashStream, len(blocks))
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, b := range blocks {
		jobs[i] = &HashStream{h: h, data: b, done: make(chan struct{}), ready: len(b), final: true}
		if h.startLocked(jobs[i]) {
			jobs[i].closeOut()
		}
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
		{"8 blocks sealed together: the oldest on a core, most of the others through one md5-simd server", 8, 1},
		{"40 blocks, more than the lanes of one server, queue for them", 40, 1},
		{"20 blocks over two servers", 20, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHasher(tc.servers)
			h.scalar = 2 // two cores, whatever this machine has
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
				if i == 0 {
					assert.Equal(t, scalarHash, j.method, "the oldest block has a core of its own")
				}
			}
			st := h.Stats()
			assert.Equal(t, int64(tc.blocks), st.Blocks)
			assert.Equal(t, total, st.SIMDBytes+st.ScalarBytes)
			if tc.blocks == 1 {
				assert.Equal(t, scalarHash, jobs[0].method)
				assert.Equal(t, HashStats{ScalarBytes: total, Blocks: 1, PeakStreams: 1}, st)
			} else {
				assert.LessOrEqual(t, st.PeakStreams, min(tc.blocks, h.maxLanes()))
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
	h.Close() // the lanes took at most 34 of the 48 blocks (2 servers' streams and 2 cores)
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
	assert.GreaterOrEqual(t, closed, len(jobs)-h.maxLanes(), "the blocks still queued were abandoned")
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
	h.scalar = 1 // one core: with 8 blocks, every block goes to the server
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

func TestChooseHashGivesEachCoreABlockAndTheServerTheRestWhenWorthIt(t *testing.T) {
	cases := []struct {
		name                                               string
		cores, scalarActive, busyServers, queued, caughtUp int
		want                                               hashMethod
	}{
		{"a sequential writer's block: a core of its own", 2, 0, 0, 1, 0, scalarHash},
		{"its next block, on the other core", 2, 1, 0, 1, 0, scalarHash},
		{"a third while both cores hash: it waits", 2, 2, 0, 1, 0, waitForLane},
		{"three waiting, both cores busy: still too few for a server", 2, 2, 0, 3, 0, waitForLane},
		{"four waiting, both cores busy: worth a server", 2, 2, 0, 4, 0, simdHash},
		{"6 sealed at once: the oldest on a core", 2, 0, 0, 6, 0, scalarHash},
		{"then the 5 others on the server", 2, 1, 0, 5, 0, simdHash},
		{"the server busy: more streams on it", 2, 1, 1, 1, 0, simdHash},
		{"the server busy and the core free: crypto/md5 there", 2, 0, 1, 1, 0, scalarHash},
		{"3 queued, one core hashing: too few for a server, the free core takes one", 2, 1, 0, 3, 0, scalarHash},
		{"5 with one core hashing: the server takes the other core", 2, 1, 0, 4, 0, simdHash},
		{"one core: a lone block", 1, 0, 0, 1, 0, scalarHash},
		{"one core: four blocks go to a server", 1, 0, 0, 4, 0, simdHash},
		{"8 cores, 4 queued: a core each", 8, 0, 0, 4, 0, scalarHash},
		{"8 cores, 7 busy, 10 queued: the last core runs a server", 8, 7, 0, 10, 0, simdHash},
		{"8 cores, 6 busy and a server, more: the last core", 8, 6, 1, 3, 0, scalarHash},
		{"8 cores all busy and a server: onto the server", 8, 7, 1, 3, 0, simdHash},
		{"20 sealed at once, none being written: the oldest on a core", 2, 0, 0, 20, 0, scalarHash},
		{"a new block beside 7 being written: a core is free, crypto/md5", 2, 0, 1, 1, 7, scalarHash},
		{"a new block beside 8 being written: the server, though a core is free", 2, 0, 1, 1, 8, simdHash},
		{"beside 12 being written, no server busy: the server", 2, 0, 0, 1, 12, simdHash},
		{"8 cores, beside 8 being written: the server", 8, 0, 0, 1, 8, simdHash},
		{"beside 8 being written, both cores on crypto/md5, no server busy: it waits", 2, 2, 0, 1, 8, waitForLane},
		{"beside 8 being written, both cores busy, one a server: the server", 2, 1, 1, 1, 8, simdHash},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, chooseHash(tc.cores, tc.scalarActive, tc.busyServers, tc.queued, tc.caughtUp))
		})
	}
}

func TestHashStreamHashesWhatIsReadyAndSumsTheWhole(t *testing.T) {
	data := hashData(7, 3<<20+5)
	cases := []struct {
		name    string
		extends []int // ready marks before the final one
		total   int
	}{
		{"the whole at once", nil, len(data)},
		{"in steps", []int{1, 100, 2 << 20, 2<<20 + 1}, len(data)},
		{"marks that go back change nothing", []int{2 << 20, 5, 1 << 20}, len(data)},
		{"a final mark below the buffer's end", []int{10, 64}, 1<<20 + 3},
		{"nothing but the final mark: empty", nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHasher(1)
			defer h.Close()
			released := 0
			s := h.Stream(data[:0], func() { released++ })
			for _, n := range tc.extends {
				s.Extend(n, false)
			}
			s.Extend(tc.total, true)
			s.Extend(len(data), false) // after the final mark: ignored
			sum, err := s.Wait(context.Background())
			require.NoError(t, err)
			assert.Equal(t, md5.Sum(data[:tc.total]), sum)
			assert.Equal(t, 1, released)
			again, err := s.Wait(context.Background())
			require.NoError(t, err, "a block submitted again waits for the same sum")
			assert.Equal(t, sum, again)
		})
	}
}

func TestHashStreamThatEndsEarlyGivesTheBufferBackOnce(t *testing.T) {
	data := hashData(8, 4<<20)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name string
		run  func(h *Hasher, s *HashStream) error
		want error
	}{
		{"abandoned before anything was ready", func(h *Hasher, s *HashStream) error {
			s.Abandon()
			s.Extend(len(data), true)
			_, err := s.Wait(context.Background())
			return err
		}, ErrHasherClosed},
		{"abandoned while hashing", func(h *Hasher, s *HashStream) error {
			s.Extend(len(data), false)
			s.Abandon()
			s.Extend(len(data), true)
			_, err := s.Wait(context.Background())
			return err
		}, ErrHasherClosed},
		{"a wait whose context ended", func(h *Hasher, s *HashStream) error {
			s.Extend(1<<20, false)
			var err error
			waited := make(chan struct{})
			go func() { _, err = s.Wait(cancelled); close(waited) }()
			select {
			case <-waited:
			case <-time.After(waitFor):
				t.Fatal("Wait with an ended context did not return")
			}
			return err
		}, context.Canceled},
		{"a final size below bytes already final: the caller's bug, loudly", func(h *Hasher, s *HashStream) error {
			s.Extend(800, false)
			s.Extend(500, true)
			requireEnds(t, s)
			_, err := s.Wait(context.Background())
			return err
		}, nil},
		{"bytes marked final past the buffer it knows: the caller's bug (a growth not told), loudly", func(h *Hasher, s *HashStream) error {
			s.Extend(cap(data)+1, true)
			requireEnds(t, s)
			_, err := s.Wait(context.Background())
			return err
		}, nil},
		{"the Hasher closed before the final mark", func(h *Hasher, s *HashStream) error {
			s.Extend(1<<20, false)
			h.Close()
			s.Extend(len(data), true)
			_, err := s.Wait(context.Background())
			return err
		}, ErrHasherClosed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHasher(1)
			defer h.Close()
			var released atomic.Int32
			s := h.Stream(data, func() { released.Add(1) })
			err := tc.run(h, s)
			if tc.want == nil {
				require.Error(t, err)
				assert.Contains(t, []string{
					"arvfile: block hash: final size 500 below the 800 bytes already final",
					fmt.Sprintf("arvfile: block hash: %d bytes marked final past the %d of its buffer", cap(data)+1, cap(data)),
				}, err.Error())
			} else {
				assert.ErrorIs(t, err, tc.want)
			}
			assert.Equal(t, int32(1), released.Load(), "released once, before Wait returned")
			s.Abandon()
			assert.Equal(t, int32(1), released.Load())
		})
	}
}

func TestAHasherWithNoLaneLeftHasEveryStreamBack(t *testing.T) {
	h := NewHasher(1)
	h.scalar = 1 // one core: every block of a batch goes to the server
	defer h.Close()
	blocks := make([][]byte, 8)
	for i := range blocks {
		blocks[i] = hashData(i, 64<<10)
	}
	for round := 0; round < 2000; round++ {
		for _, j := range startTogether(h, blocks) {
			_, err := j.Wait(context.Background())
			require.NoError(t, err)
		}
		for {
			h.mu.Lock()
			lanes, busy := h.lanes, h.busyServersLocked()
			s := h.srvs[0]
			idle, made := len(s.idle), s.made
			h.mu.Unlock()
			if lanes == 0 {
				require.Zero(t, busy, "round %d: no lane left, yet a server is busy", round)
				require.Equal(t, made, idle, "round %d: every stream is back", round)
				require.LessOrEqual(t, made, LanesPerServer)
				break
			}
			runtime.Gosched()
		}
	}
}

// requireEnds fails the test when s does not end (its sum whole, or
// abandoned, and its buffer given back) within waitFor.
func requireEnds(t *testing.T, s *HashStream) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(waitFor):
		t.Fatal("the stream never ended: its buffer is never given back")
	}
}

func TestAHashStreamAbandonedWhileItHashesItsLastReadyBytesEnds(t *testing.T) {
	h := NewHasher(1)
	defer h.Close()
	data := hashData(9, 1<<20)
	for i := 0; i < 200; i++ {
		var released atomic.Int32
		s := h.Stream(data[:0], func() { released.Add(1) })
		s.Extend(len(data), false) // not final: the goroutine waits for nothing once caught up
		time.Sleep(time.Duration(i%8) * 10 * time.Microsecond)
		s.Abandon()
		requireEnds(t, s)
		require.Equal(t, int32(1), released.Load(), "round %d", i)
	}
}

func TestManyStreamsHashedAsTheyGrowGetTheirSumsAndTheServer(t *testing.T) {
	const streams, size, step = 12, 3<<20 + 77, 256 << 10
	h := NewHasher(1)
	h.scalar = 2 // two cores, whatever this machine has
	defer h.Close()
	data := make([][]byte, streams)
	ss := make([]*HashStream, streams)
	var released atomic.Int32
	for i := range data {
		data[i] = hashData(100+i, size)
		ss[i] = h.Stream(data[i][:0:1<<20], func() { released.Add(1) })
	}
	// Every stream grows in steps, round robin, as sixteen writers' blocks
	// do; a stream whose buffer grew in place is told so (Grown).
	for off := 0; off < size; off += step {
		for i, s := range ss {
			end := min(off+step, size)
			if end > 1<<20 {
				s.Grown(data[i][:0:size])
			}
			s.Extend(end, end == size)
		}
	}
	for i, s := range ss {
		sum, err := s.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, md5.Sum(data[i]), sum, "stream %d", i)
	}
	assert.Equal(t, int32(streams), released.Load(), "each released once")
	st := h.Stats()
	assert.Equal(t, int64(streams), st.Blocks)
	assert.Equal(t, int64(streams*size), st.SIMDBytes+st.ScalarBytes)
	h.mu.Lock()
	defer h.mu.Unlock()
	assert.Empty(t, h.idle, "no stream is left waiting")
	assert.Empty(t, h.queue)
	for _, srv := range h.srvs {
		assert.Zero(t, srv.held, "every md5-simd stream went back to its server")
	}
}

func TestAHashStreamWaitsWithNoLaneUntilItsNextBytes(t *testing.T) {
	h := NewHasher(1)
	defer h.Close()
	data := hashData(11, 2<<20)
	s := h.Stream(data[:0], nil)
	s.Extend(1<<20, false)
	require.Eventually(t, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		_, idle := h.idle[s]
		return idle && h.lanes == 0 && s.hashed == 1<<20
	}, waitFor, tick, "caught up: idle, and no lane is left running for it")
	s.Extend(len(data), true)
	sum, err := s.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, md5.Sum(data), sum)
}

func TestAHashStreamWhoseBufferMovedFailsLoudly(t *testing.T) {
	h := NewHasher(1)
	defer h.Close()
	data := hashData(12, 1<<20)
	var released atomic.Int32
	s := h.Stream(data[:0:1000], func() { released.Add(1) })
	s.Extend(1000, false)
	s.Grown(append([]byte(nil), data...)) // another address: the caller's bug
	requireEnds(t, s)
	_, err := s.Wait(context.Background())
	assert.EqualError(t, err, "arvfile: block hash: the buffer moved while it was hashed")
	assert.Equal(t, int32(1), released.Load())
}

func TestHasherCloseEndsTheStreamsThatWaitForBytes(t *testing.T) {
	h := NewHasher(1)
	var released atomic.Int32
	data := hashData(13, 1<<20)
	idle := h.Stream(data[:0], func() { released.Add(1) })
	idle.Extend(1000, false)
	untouched := h.Stream(data[:0], func() { released.Add(1) })
	h.Close()
	for _, s := range []*HashStream{idle, untouched} {
		_, err := s.Wait(context.Background())
		assert.ErrorIs(t, err, ErrHasherClosed)
	}
	assert.Equal(t, int32(2), released.Load())
	late := h.Stream(data[:0], func() { released.Add(1) })
	_, err := late.Wait(context.Background())
	assert.ErrorIs(t, err, ErrHasherClosed, "a stream begun after Close fails at once")
	assert.Equal(t, int32(3), released.Load())
}
