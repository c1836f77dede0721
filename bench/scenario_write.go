package main

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
)

func init() {
	register(scenario{id: "a", title: "one file, sequential 64 KiB writes, Sync", run: runSequential})
	register(scenario{id: "b", title: "small files by 16 goroutines, Commit", run: runSmallFiles})
	register(scenario{id: "c", title: "random 4 KiB writes into a committed file, Sync", run: runRandom})
	register(scenario{id: "d", title: "16 goroutines, own 64 MiB files", run: runOwnFiles})
	register(scenario{id: "e", title: "16 goroutines, disjoint ranges of one file", run: runSharedFile})
	register(scenario{id: "h", title: "facade latency, 4 KiB writes", run: runLatency})
}

// sinkStore keeps only the locator of every block, so that the peak RSS of
// a write scenario is the engine's own and not the store's copy of
// everything written. It stands for a Keep server on another machine: a
// block handed over with its md5 (PutOptions.MD5, which the engine always
// gives) is named by it, and the hashing the server would do on its own
// machine to verify the body is only counted (serverBytes); a block without
// one is hashed here. Reads are not served.
type sinkStore struct {
	puts        atomic.Int64
	serverBytes atomic.Int64 // bytes a Keep server would hash, on its machine, to verify them
	hashedBytes atomic.Int64 // bytes hashed here, for want of a sum
	latency     time.Duration
}

func (s *sinkStore) Put(ctx context.Context, data []byte, opts keep.PutOptions) (string, error) {
	if s.latency > 0 {
		select {
		case <-time.After(s.latency):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	s.puts.Add(1)
	if opts.MD5 == nil || len(data) == 0 {
		s.hashedBytes.Add(int64(len(data)))
		return keep.BlockLocatorOf(data), nil
	}
	s.serverBytes.Add(int64(len(data)))
	return hex.EncodeToString(opts.MD5[:]) + "+" + strconv.Itoa(len(data)), nil
}

func (s *sinkStore) Get(ctx context.Context, locator string) ([]byte, error) {
	return nil, fmt.Errorf("%w: the benchmark's sink store keeps no data (%s)", keep.ErrNotFound, locator)
}

// newWriteEngine starts an engine over the configured store for a write
// scenario; with --store mem it is a sink store (see sinkStore).
func newWriteEngine(cfg config, opts ...arvfile.Option) (*arvfile.Engine, *sinkStore, func(), error) {
	sink := &sinkStore{latency: cfg.latency}
	var st keep.Store = sink
	cleanup := func() {}
	if cfg.store == "dir" {
		dir := cfg.dir
		if dir == "" {
			d, err := os.MkdirTemp("", "arvfile-bench-")
			if err != nil {
				return nil, nil, nil, err
			}
			dir = d
			cleanup = func() { os.RemoveAll(d) }
		}
		ds, err := keep.NewDirStore(dir)
		if err != nil {
			return nil, nil, nil, err
		}
		st = &countingStore{Store: ds, puts: &sink.puts}
	}
	e, err := arvfile.New(append([]arvfile.Option{arvfile.WithStore(st)}, opts...)...)
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	return e, sink, func() { e.Close(); cleanup() }, nil
}

// repeatOnEngine is repeat with a fresh engine and collection for each
// repetition, closed after it.
func repeatOnEngine(cfg config, res result, lowerIsBetter bool, fn func(c *arvfile.Collection, sink *sinkStore) (sample, error)) (result, error) {
	return repeat(cfg.reps, res, lowerIsBetter, func() (sample, error) {
		e, sink, done, err := newWriteEngine(cfg)
		if err != nil {
			return sample{}, err
		}
		defer done()
		return fn(e.NewCollection(), sink)
	})
}

// countingStore counts the puts that reach a real store.
type countingStore struct {
	keep.Store
	puts *atomic.Int64
}

func (c *countingStore) Put(ctx context.Context, data []byte, o keep.PutOptions) (string, error) {
	c.puts.Add(1)
	return c.Store.Put(ctx, data, o)
}

// syncAndCount syncs f and notes the elapsed time since start, then closes
// f and counts the blocks and manifest tokens of its collection.
func syncAndCount(c *arvfile.Collection, f *arvfile.File, start time.Time) (secs float64, blocks, tokens int, err error) {
	if err := f.Sync(); err != nil {
		return 0, 0, 0, err
	}
	secs = time.Since(start).Seconds()
	if err := f.Close(); err != nil {
		return 0, 0, 0, err
	}
	text, err := c.ManifestText(context.Background(), arvfile.ManifestOptions{})
	if err != nil {
		return 0, 0, 0, err
	}
	blocks, tokens = manifestBlocks(text)
	return secs, blocks, tokens, nil
}

// writeSequential writes n bytes to f in chunk-byte writes, cycling over data.
func writeSequential(f *arvfile.File, data []byte, n int64, chunk int) error {
	for off := int64(0); off < n; off += int64(chunk) {
		if _, err := f.Write(data[off%int64(len(data)):][:chunk]); err != nil {
			return err
		}
	}
	return nil
}

// cpuFigures returns the extra figures of a write scenario that do not
// depend on how busy the machine is: the process CPU seconds per GiB
// written since used was read, and the share of them that MD5 alone needs
// (md5CPU: CPU seconds per GiB of crypto/md5 on these bytes). On 2 cores
// that share bounds the ratio to MD5×2 whatever the scheduling.
func cpuFigures(used usage, total int64, md5CPU float64) map[string]float64 {
	micros, _ := used.perUnit(int(total >> 20))
	perGiB := micros * 1024 / 1e6
	return map[string]float64{"CPU s/GiB": perGiB, "MD5 share of CPU": md5CPU / perGiB}
}

// md5CPUPerGiB returns the CPU seconds crypto/md5 takes per GiB of data,
// hashing total bytes in chunks of len(data) on one goroutine.
func md5CPUPerGiB(data []byte, total int64) float64 {
	used := readUsage()
	md5Rate(data, total, 1)
	micros, _ := used.perUnit(int(total >> 20))
	return micros * 1024 / 1e6
}

// manifestBlocks counts the distinct blocks and the tokens of a manifest.
func manifestBlocks(text string) (blocks, tokens int) {
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fields := strings.Fields(line)
		tokens += len(fields)
		for _, f := range fields[1:] {
			if strings.Count(f, ":") == 0 && !seen[f] {
				seen[f] = true
			}
		}
	}
	return len(seen), tokens
}

func runSequential(cfg config) ([]result, error) {
	total := int64(1 << 30)
	if cfg.quick {
		total = 128 << 20
	}
	const chunk = 64 << 10
	data := pattern(8<<20+chunk, 1) // not a divisor of the block size: every block differs
	lim := measureLimits(data, total, chunk, 3)
	md5CPU := md5CPUPerGiB(data, total)
	res := result{Scenario: "a", Title: fmt.Sprintf("one file, %d MiB in 64 KiB writes", total>>20),
		Unit: "MB/s", LimitName: "MD5×2", Limit: lim.md5Two / 1e6}
	r, err := repeatOnEngine(cfg, res, false, func(c *arvfile.Collection, sink *sinkStore) (sample, error) {
		start, used := time.Now(), readUsage()
		f, err := c.Create("big.dat")
		if err != nil {
			return sample{}, err
		}
		if err := writeSequential(f, data, total, chunk); err != nil {
			return sample{}, err
		}
		secs, blocks, _, err := syncAndCount(c, f, start)
		if err != nil {
			return sample{}, err
		}
		puts := sink.puts.Load()
		extra := cpuFigures(used, total, md5CPU)
		extra["ratio to MD5×1"] = float64(total) / secs / lim.md5One
		extra["ratio to MD5-SIMD×16"] = float64(total) / secs / lim.md5Simd
		// The same again on the same engine, whose buffers are now
		// recycled instead of fresh pages the kernel must zero: what a
		// long-lived engine (a server's) sustains.
		start, used = time.Now(), readUsage()
		g, err := c.Create("warm.dat")
		if err != nil {
			return sample{}, err
		}
		if err := writeSequential(g, data, total, chunk); err != nil {
			return sample{}, err
		}
		if err := g.Sync(); err != nil {
			return sample{}, err
		}
		warm := time.Since(start).Seconds()
		if err := g.Close(); err != nil {
			return sample{}, err
		}
		extra["warm engine: ratio to MD5×2"] = float64(total) / warm / lim.md5Two
		extra["warm engine: MD5 share of CPU"] = cpuFigures(used, total, md5CPU)["MD5 share of CPU"]
		return sample{value: float64(total) / secs / 1e6, puts: puts, blocks: int64(blocks), extra: extra}, nil
	})
	return []result{r}, err
}

func runSmallFiles(cfg config) ([]result, error) {
	files, size, workers := 10_000, 4096, 16
	if cfg.quick {
		files = 2_000
	}
	data := pattern(size, 2)
	lim := measureLimits(pattern(1<<20, 2), int64(files*size), size, 3)
	res := result{Scenario: "b", Title: fmt.Sprintf("%d files × 4 KiB, 16 goroutines", files),
		Unit: "files/s", LimitName: "MD5×2", Limit: lim.md5Two / float64(size)}
	// batch writes the files into c and commits: the rate, and the writers'
	// and the Commit's CPU and allocations per file.
	batch := func(c *arvfile.Collection) (rate float64, extra map[string]float64, err error) {
		start, used := time.Now(), readUsage()
		err = parallel(workers, func(w int) error {
			for i := w; i < files; i += workers {
				f, err := c.Create(fmt.Sprintf("d%02d/f%06d", i%64, i))
				if err != nil {
					return err
				}
				if _, err := f.Write(data); err != nil {
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, nil, err
		}
		// The two phases apart: the writers' (Create, Write, Close on 16
		// goroutines) and the Commit's (packing, hashing, the put, every
		// file told), whose work fans out from fewer strands.
		written, writtenUsage := time.Since(start).Seconds(), readUsage()
		if err := c.Commit(context.Background()); err != nil {
			return 0, nil, err
		}
		secs := time.Since(start).Seconds()
		cpu, allocs := used.perUnit(files)
		writeCPU, writeAllocs := used.perUnitUntil(writtenUsage, files)
		return float64(files) / secs, map[string]float64{"CPU µs/file": cpu, "allocs/file": allocs,
			"writers: CPU µs/file": writeCPU, "writers: allocs/file": writeAllocs, "writers: ms": written * 1e3,
			"Commit: CPU µs/file": cpu - writeCPU, "Commit: allocs/file": allocs - writeAllocs, "Commit: ms": (secs - written) * 1e3,
		}, nil
	}
	r, err := repeat(cfg.reps, res, false, func() (sample, error) {
		e, sink, done, err := newWriteEngine(cfg)
		if err != nil {
			return sample{}, err
		}
		defer done()
		c := e.NewCollection()
		rate, extra, err := batch(c)
		if err != nil {
			return sample{}, err
		}
		text, err := c.ManifestText(context.Background(), arvfile.ManifestOptions{})
		if err != nil {
			return sample{}, err
		}
		blocks, _ := manifestBlocks(text)
		puts := sink.puts.Load()
		extra["ratio to MD5-SIMD×16"] = rate / (lim.md5Simd / float64(size))
		// The same batch again, into a new collection of the same engine:
		// a long-running server's case, whose engine recycles the buffers
		// the first batch freed (the small blocks', the packed block's)
		// instead of faulting in fresh memory.
		if err := c.Close(); err != nil {
			return sample{}, err
		}
		warmRate, warm, err := batch(e.NewCollection())
		if err != nil {
			return sample{}, err
		}
		extra["warm engine: files/s"] = warmRate
		extra["warm engine: CPU µs/file"] = warm["CPU µs/file"]
		extra["warm engine: allocs/file"] = warm["allocs/file"]
		return sample{value: rate, puts: puts, blocks: int64(blocks), extra: extra}, nil
	})
	return []result{r}, err
}

func runRandom(cfg config) ([]result, error) {
	size := int64(256 << 20)
	counts := []int{4096, 16384, 65536}
	if cfg.quick {
		size = 32 << 20
		counts = []int{1024, 4096, 8192}
	}
	const chunk = 4096
	data := pattern(1<<20, 3)
	lim := measureLimits(data, 64<<20, chunk, 3)
	var out []result
	for _, ops := range counts {
		res := result{Scenario: fmt.Sprintf("c/%d", ops), Title: fmt.Sprintf("%d random 4 KiB writes into %d MiB", ops, size>>20),
			Unit: "ops/s", LimitName: "MD5×2", Limit: lim.md5Two / chunk}
		r, err := repeatOnEngine(cfg, res, false, func(c *arvfile.Collection, sink *sinkStore) (sample, error) {
			f, err := c.Create("random.dat")
			if err != nil {
				return sample{}, err
			}
			for off := int64(0); off < size; off += 1 << 20 {
				if _, err := f.Write(data); err != nil {
					return sample{}, err
				}
			}
			if err := f.Sync(); err != nil {
				return sample{}, err
			}
			rng := rand.New(rand.NewSource(int64(ops)))
			start := time.Now()
			for i := 0; i < ops; i++ {
				off := rng.Int63n(size/chunk) * chunk
				if _, err := f.WriteAt(data[(i%256)*chunk:][:chunk], off); err != nil {
					return sample{}, err
				}
			}
			writes := time.Since(start).Seconds()
			secs, blocks, tokens, err := syncAndCount(c, f, start)
			if err != nil {
				return sample{}, err
			}
			return sample{value: float64(ops) / secs, puts: sink.puts.Load(), blocks: int64(blocks),
				extra: map[string]float64{"manifest tokens": float64(tokens),
					"writes ms": writes * 1e3, "Sync ms": (secs - writes) * 1e3}}, nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func runOwnFiles(cfg config) ([]result, error) {
	per, workers := int64(64<<20), 16
	if cfg.quick {
		per = 8 << 20
	}
	const chunk = 64 << 10
	data := pattern(8<<20+chunk, 4) // not a divisor of the block size: every block differs
	total := per * int64(workers)
	lim := measureLimits(data, total, chunk, 3)
	md5CPU := md5CPUPerGiB(data, total)
	res := result{Scenario: "d", Title: fmt.Sprintf("16 goroutines × own %d MiB file", per>>20),
		Unit: "MB/s", LimitName: "MD5×2", Limit: lim.md5Two / 1e6}
	r, err := repeatOnEngine(cfg, res, false, func(c *arvfile.Collection, sink *sinkStore) (sample, error) {
		start, used := time.Now(), readUsage()
		err := parallel(workers, func(w int) error {
			f, err := c.Create(fmt.Sprintf("own%02d.dat", w))
			if err != nil {
				return err
			}
			if err := writeSequential(f, data, per, chunk); err != nil {
				return err
			}
			if err := f.Sync(); err != nil {
				return err
			}
			return f.Close()
		})
		if err != nil {
			return sample{}, err
		}
		secs := time.Since(start).Seconds()
		puts := sink.puts.Load()
		extra := cpuFigures(used, total, md5CPU)
		extra["blocks/file"] = float64(puts) / float64(workers)
		extra["ratio to MD5-SIMD×16"] = float64(total) / secs / lim.md5Simd
		extra["MD5-SIMD×16 MB/s"] = lim.md5Simd / 1e6
		extra["MiB the server would hash"] = float64(sink.serverBytes.Load()) / (1 << 20)
		extra["MiB the sink hashed (no sum given)"] = float64(sink.hashedBytes.Load()) / (1 << 20)
		return sample{value: float64(total) / secs / 1e6, puts: puts, blocks: puts, extra: extra}, nil
	})
	return []result{r}, err
}

func runSharedFile(cfg config) ([]result, error) {
	total, workers := int64(1<<30), 16
	if cfg.quick {
		total = 128 << 20
	}
	const chunk = 64 << 10
	data := pattern(8<<20+chunk, 5) // not a divisor of the block size: every block differs
	lim := measureLimits(data, total, chunk, 3)
	md5CPU := md5CPUPerGiB(data, total)
	per := total / int64(workers)
	res := result{Scenario: "e", Title: fmt.Sprintf("16 goroutines, disjoint ranges of one %d MiB file", total>>20),
		Unit: "MB/s", LimitName: "MD5×2", Limit: lim.md5Two / 1e6}
	r, err := repeatOnEngine(cfg, res, false, func(c *arvfile.Collection, sink *sinkStore) (sample, error) {
		start, used := time.Now(), readUsage()
		f, err := c.Create("shared.dat")
		if err != nil {
			return sample{}, err
		}
		err = parallel(workers, func(w int) error {
			base := int64(w) * per
			// Each write starts with its file offset, so that no two blocks
			// are alike whatever their bounds (the blocks counted are the
			// distinct locators of the manifest).
			buf := append([]byte(nil), data[int64(w)*chunk:][:chunk]...)
			for off := int64(0); off < per; off += chunk {
				binary.LittleEndian.PutUint64(buf, uint64(base+off))
				if _, err := f.WriteAt(buf, base+off); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return sample{}, err
		}
		secs, blocks, _, err := syncAndCount(c, f, start)
		if err != nil {
			return sample{}, err
		}
		extra := cpuFigures(used, total, md5CPU)
		extra["ratio to MD5-SIMD×16"] = float64(total) / secs / lim.md5Simd
		return sample{value: float64(total) / secs / 1e6, puts: sink.puts.Load(), blocks: int64(blocks), extra: extra}, nil
	})
	return []result{r}, err
}

func runLatency(cfg config) ([]result, error) {
	const chunk = 4096
	writes := 20_000
	if cfg.quick {
		writes = 4_000
	}
	data := pattern(chunk, 6)
	var out []result
	for _, callers := range cfg.concurrency {
		var p99, p999 []float64
		res := result{Scenario: fmt.Sprintf("h/%d", callers), Title: fmt.Sprintf("4 KiB write p50, %d callers", callers),
			Unit: "µs", Concurrency: callers}
		r, err := repeatOnEngine(cfg, res, true, func(c *arvfile.Collection, sink *sinkStore) (sample, error) {
			per := max(writes/callers, 16)
			lat := make([][]time.Duration, callers)
			start := time.Now()
			err := parallel(callers, func(w int) error {
				f, err := c.Create(fmt.Sprintf("lat%03d.dat", w))
				if err != nil {
					return err
				}
				ds := make([]time.Duration, 0, per)
				for i := 0; i < per; i++ {
					t := time.Now()
					if _, err := f.Write(data); err != nil {
						return err
					}
					ds = append(ds, time.Since(t))
				}
				lat[w] = ds
				return f.Close()
			})
			if err != nil {
				return sample{}, err
			}
			secs := time.Since(start).Seconds()
			var all []time.Duration
			for _, ds := range lat {
				all = append(all, ds...)
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			q := func(f float64) float64 { return float64(all[int(f*float64(len(all)-1))]) / 1e3 }
			p99 = append(p99, q(0.99))
			p999 = append(p999, q(0.999))
			return sample{value: q(0.5), puts: sink.puts.Load(),
				extra: map[string]float64{"writes/s": float64(len(all)) / secs}}, nil
		})
		if err != nil {
			return nil, err
		}
		m99, _, _ := stats(p99)
		m999, _, _ := stats(p999)
		r.Extra["p99 µs"] = m99
		r.Extra["p99.9 µs"] = m999
		out = append(out, r)
	}
	return out, nil
}

// parallel runs fn(0..n-1) on n goroutines and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
