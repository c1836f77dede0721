package main

import (
	"context"
	"crypto/md5"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"time"

	md5simd "github.com/minio/md5-simd"
)

// The physical limit of writing is MD5 (every byte is hashed once) plus one
// memory copy. These functions measure it on the bytes a scenario writes, in
// the same run, so each figure can be given as a ratio to it.

// md5Rate returns the bytes per second at which g goroutines hash total
// bytes of data in chunks of len(block) (each goroutine hashes total/g).
func md5Rate(block []byte, total int64, g int) float64 {
	start := time.Now()
	var wg sync.WaitGroup
	per := total / int64(g)
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := int64(0); done < per; {
				n := min(int64(len(block)), per-done)
				h := md5.New()
				h.Write(block[:n])
				sink(h.Sum(nil))
				done += n
			}
		}()
	}
	wg.Wait()
	return float64(per*int64(g)) / time.Since(start).Seconds()
}

// simdStreams is the number of streams the multi-buffer MD5 limit hashes at
// once: one per lane of AVX-512. (8 streams, one per AVX2 lane, measured
// 1.9 GB/s here against 2.3-2.5 GB/s for 16; see bench/RESULTS.md.)
const simdStreams = 16

// md5SimdRate returns the bytes per second at which streams goroutines, each
// feeding its own hash of one multi-buffer MD5 server
// (github.com/minio/md5-simd: AVX-512 hashes 16 streams in one pass, AVX2
// 8), hash total bytes of data in chunks of len(block), a new sum per chunk
// as for crypto/md5 in md5Rate.
func md5SimdRate(block []byte, total int64, streams int) float64 {
	srv := md5simd.NewServer()
	defer srv.Close()
	start := time.Now()
	var wg sync.WaitGroup
	per := total / int64(streams)
	for i := 0; i < streams; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := srv.NewHash()
			defer h.Close()
			for done := int64(0); done < per; {
				n := min(int64(len(block)), per-done)
				h.Reset()
				h.Write(block[:n])
				sink(h.Sum(nil))
				done += n
			}
		}()
	}
	wg.Wait()
	return float64(per*int64(streams)) / time.Since(start).Seconds()
}

// copyRate returns the bytes per second of copying total bytes out of src in
// chunk-byte pieces into one chunk-sized buffer, as a reader does with its
// buffer. A src larger than the CPU caches makes this the memory-bound limit
// of reading blocks held in memory.
func copyRate(src []byte, total int64, chunk int) float64 {
	chunk = min(chunk, len(src))
	dst := make([]byte, chunk)
	start := time.Now()
	var off int
	for done := int64(0); done < total; {
		n := int(min(int64(chunk), total-done))
		if off+n > len(src) {
			off = 0
		}
		copy(dst[:n], src[off:off+n])
		off += n
		done += int64(n)
	}
	sink(dst[:1])
	return float64(total) / time.Since(start).Seconds()
}

var sinkMu sync.Mutex
var sinkByte byte

// sink keeps the compiler from discarding a result.
func sink(b []byte) {
	if len(b) > 0 {
		sinkMu.Lock()
		sinkByte ^= b[0]
		sinkMu.Unlock()
	}
}

// limits are the rates of a run, in bytes per second: crypto/md5 on one and
// two goroutines, the multi-buffer MD5 over simdStreams streams, and a
// memory copy.
type limits struct {
	md5One, md5Two, md5Simd, memcopy float64
}

// measureLimits measures MD5 on one and two goroutines, the multi-buffer
// MD5 and a memory copy over total bytes of data, taking the median of reps
// runs each (interleaved, so that noise from the other users of the machine
// falls on all of them alike).
func measureLimits(data []byte, total int64, chunk, reps int) limits {
	var one, two, simd, cp []float64
	// Labelled, with every goroutine it starts (the md5-simd server's
	// included, whose stack does not name the limit), so that a CPU profile
	// of a run tells the limits from the scenario (bench/profshares.py).
	pprof.Do(context.Background(), pprof.Labels("bench", "limits"), func(context.Context) {
		for i := 0; i < reps; i++ {
			one = append(one, md5Rate(data, total, 1))
			two = append(two, md5Rate(data, total, 2))
			simd = append(simd, md5SimdRate(data, total, simdStreams))
			cp = append(cp, copyRate(data, total, chunk))
		}
	})
	debug.FreeOSMemory() // what the limit allocated must not count in a scenario's peak RSS
	m1, _, _ := stats(one)
	m2, _, _ := stats(two)
	ms, _, _ := stats(simd)
	mc, _, _ := stats(cp)
	return limits{md5One: m1, md5Two: m2, md5Simd: ms, memcopy: mc}
}

// pattern returns n bytes of deterministic, incompressible-looking data.
func pattern(n int, seed uint64) []byte {
	b := make([]byte, n)
	x := seed*0x9E3779B97F4A7C15 + 1
	for i := 0; i+8 <= n; i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		for k := 0; k < 8; k++ {
			b[i+k] = byte(x >> (8 * k))
		}
	}
	return b
}
