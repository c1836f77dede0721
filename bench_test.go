package arvfile_test

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
)

// The engine's own benchmarks. Each reports, besides its time, the ratio of
// the time two goroutines take to MD5 the same bytes (the physical limit of
// writing: every byte is hashed once, by one of two put workers) to the
// engine's time, measured in the same iteration. Run them one at a time
// with -benchtime=1x -count=5 and quote medians, e.g.
//
//	go test -run NONE -bench 'SequentialWrite' -benchtime=1x -count=5 .

// sink hashes every block as Keep would and keeps nothing, so that the
// figures are the engine's (and its peak RSS is not the store's copy).
type sink struct{}

func (sink) Put(_ context.Context, data []byte, _ keep.PutOptions) (string, error) {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:]) + "+" + strconv.Itoa(len(data)), nil
}

func (sink) Get(_ context.Context, loc string) ([]byte, error) {
	return nil, fmt.Errorf("%w: sink keeps nothing", keep.ErrNotFound)
}

// source is 64 MiB of random bytes that writers cycle through, made on
// first use (not for every test run).
var source []byte

var sourceOnce sync.Once

func initSource() {
	sourceOnce.Do(func() {
		source = make([]byte, keep.BlockSize)
		rand.New(rand.NewSource(1)).Read(source)
	})
}

// md5Time returns how long two goroutines take to MD5 total bytes of
// source in whole blocks, as two put workers would.
func md5Time(total int64) time.Duration {
	initSource()
	blocks := int(total / keep.BlockSize)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < blocks; i += 2 {
				md5.Sum(source)
			}
		}(w)
	}
	wg.Wait()
	return time.Since(start)
}

// resetPeakRSS resets the kernel's record of the peak RSS (VmHWM).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS returns VmHWM in bytes, or 0 when unknown.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func newBenchEngine(b *testing.B) *arvfile.Engine {
	initSource()
	e, err := arvfile.New(arvfile.WithStore(sink{}), arvfile.WithTimeout(benchTimeout))
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// writeFile writes total bytes of source to f in chunk-sized writes.
func writeFile(b *testing.B, f *arvfile.File, total int64, chunk int) {
	for off := int64(0); off < total; off += int64(chunk) {
		p := off % keep.BlockSize
		if _, err := f.Write(source[p : p+int64(chunk)]); err != nil {
			b.Fatal(err)
		}
	}
}

func report(b *testing.B, total int64, engine, limit time.Duration) {
	b.ReportMetric(float64(total)/engine.Seconds()/1e6, "MB/s")
	b.ReportMetric(limit.Seconds()/engine.Seconds(), "ratio-to-md5")
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	}
}

// BenchmarkSequentialWrite: one file, 1 GiB in 64 KiB writes, then Sync.
func BenchmarkSequentialWrite(b *testing.B) {
	const total = 1 << 30
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		limit := md5Time(total)
		e := newBenchEngine(b)
		f, err := e.NewCollection().Create("big")
		if err != nil {
			b.Fatal(err)
		}
		resetPeakRSS()
		b.StartTimer()
		start := time.Now()
		writeFile(b, f, total, 64<<10)
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.StopTimer()
		report(b, total, took, limit)
		_ = e.Close()
	}
}

// BenchmarkSixteenWriters: 16 goroutines write their own 64 MiB files in
// 64 KiB writes and close them (which stores them).
func BenchmarkSixteenWriters(b *testing.B) {
	const writers, each = 16, 64 << 20
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		limit := md5Time(writers * each)
		e := newBenchEngine(b)
		c := e.NewCollection()
		resetPeakRSS()
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				f, err := c.Create(fmt.Sprintf("f%d", w))
				if err != nil {
					b.Error(err)
					return
				}
				writeFile(b, f, each, 64<<10)
				if err := f.Close(); err != nil {
					b.Error(err)
				}
			}(w)
		}
		wg.Wait()
		took := time.Since(start)
		b.StopTimer()
		report(b, writers*each, took, limit)
		_ = e.Close()
	}
}

// BenchmarkRandomWrites: random 4 KiB writes (4 KiB aligned) into a
// committed 256 MiB file, then Sync; ops/s counts the writes alone and
// ops/s-with-sync includes storing them.
func BenchmarkRandomWrites(b *testing.B) {
	for _, ops := range []int{4096, 16384, 65536} {
		b.Run(strconv.Itoa(ops), func(b *testing.B) {
			const size = 256 << 20
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				e := newBenchEngine(b)
				f, err := e.NewCollection().Create("f")
				if err != nil {
					b.Fatal(err)
				}
				writeFile(b, f, size, 1<<20)
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				rng := rand.New(rand.NewSource(int64(ops)))
				offs := make([]int64, ops)
				for k := range offs {
					offs[k] = rng.Int63n(size/4096) * 4096
				}
				b.StartTimer()
				start := time.Now()
				for k, off := range offs {
					p := (k * 4096) % keep.BlockSize
					if _, err := f.WriteAt(source[p:p+4096], off); err != nil {
						b.Fatal(err)
					}
				}
				writes := time.Since(start)
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				all := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(ops)/writes.Seconds(), "ops/s")
				b.ReportMetric(float64(ops)/all.Seconds(), "ops/s-with-sync")
				_ = e.Close()
			}
		})
	}
}

// BenchmarkWriteAt4KiB: the cost of one 4 KiB WriteAt at a random offset of
// a committed 16 MiB file. Its block fills with overwrites and is repacked
// (never sealed): nothing is uploaded while timed.
func BenchmarkWriteAt4KiB(b *testing.B) {
	e := newBenchEngine(b)
	defer e.Close()
	f, err := e.NewCollection().Create("f")
	if err != nil {
		b.Fatal(err)
	}
	writeFile(b, f, 16<<20, 1<<20)
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	b.SetBytes(4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.WriteAt(source[:4096], rng.Int63n(4096)*4096); err != nil {
			b.Fatal(err)
		}
	}
}

var benchTimeout = 10 * time.Minute

// BenchmarkSmallFiles: 16 goroutines create 10,000 files of 4 KiB (Create,
// one Write, Close each), then Commit packs them into one block.
func BenchmarkSmallFiles(b *testing.B) {
	const files, size, workers = 10_000, 4096, 16
	initSource()
	data := source[:size]
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newBenchEngine(b)
		c := e.NewCollection()
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for j := w; j < files; j += workers {
					f, err := c.Create(fmt.Sprintf("d%02d/f%06d", j%64, j))
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := f.Write(data); err != nil {
						b.Error(err)
					}
					if err := f.Close(); err != nil {
						b.Error(err)
					}
				}
			}(w)
		}
		wg.Wait()
		if err := c.Commit(context.Background()); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(files)/took.Seconds(), "files/s")
		_ = e.Close()
	}
}
