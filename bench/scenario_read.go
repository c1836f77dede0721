package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
)

func init() {
	register(scenario{id: "g", title: "sequential 1 MiB reads of a committed file", run: runRead})
}

// runRead writes a file into a MemoryStore, then reads it back in 1 MiB
// reads through a read-only collection loaded from its manifest: once with
// every block cached (limit: a memory copy of the same bytes), and once cold
// with 5 ms added to every store call, where prefetch has to hide latency.
func runRead(cfg config) ([]result, error) {
	size := int64(1 << 30)
	if cfg.quick {
		size = 128 << 20
	}
	const chunk = 1 << 20
	data := pattern(8<<20+64<<10, 7) // not a divisor of the block size: every block differs
	st := keep.NewMemoryStore()
	manifest, err := writeForReading(st, data, size)
	if err != nil {
		return nil, err
	}
	// The limit copies out of a source larger than the CPU caches, as the
	// reads copy out of blocks held in memory.
	lim := measureLimits(pattern(int(min(size, 256<<20)), 8), size, chunk, 3)
	buf := make([]byte, chunk)

	cached := result{Scenario: "g1", Title: fmt.Sprintf("read %d MiB, cached blocks", size>>20),
		Unit: "MB/s", LimitName: "memcopy", Limit: lim.memcopy / 1e6}
	e, err := arvfile.New(arvfile.WithStore(st), arvfile.WithCacheBytes(size+(64<<20)))
	if err != nil {
		return nil, err
	}
	defer e.Close()
	c, err := e.LoadCollection(manifest, arvfile.ReadOnly())
	if err != nil {
		return nil, err
	}
	if _, err := readAll(c, buf, size); err != nil { // warm the cache
		return nil, err
	}
	cached, err = repeat(cfg.reps, cached, false, func() (sample, error) {
		secs, err := readAll(c, buf, size)
		return sample{value: float64(size) / secs / 1e6}, err
	})
	if err != nil {
		return nil, err
	}

	slow := result{Scenario: "g2", Title: fmt.Sprintf("read %d MiB, cold, 5 ms store latency", size>>20),
		Unit: "MB/s", LimitName: "g1", Limit: cached.Median}
	slow, err = repeat(cfg.reps, slow, false, func() (sample, error) {
		st.SetLatency(5 * time.Millisecond)
		defer st.SetLatency(0)
		e, err := arvfile.New(arvfile.WithStore(st))
		if err != nil {
			return sample{}, err
		}
		defer e.Close()
		c, err := e.LoadCollection(manifest, arvfile.ReadOnly())
		if err != nil {
			return sample{}, err
		}
		secs, err := readAll(c, buf, size)
		return sample{value: float64(size) / secs / 1e6}, err
	})
	if err != nil {
		return nil, err
	}
	return []result{cached, slow}, nil
}

// writeForReading stores a file of size bytes and returns the manifest.
func writeForReading(st keep.Store, data []byte, size int64) (string, error) {
	e, err := arvfile.New(arvfile.WithStore(st))
	if err != nil {
		return "", err
	}
	defer e.Close()
	c := e.NewCollection()
	f, err := c.Create("read.dat")
	if err != nil {
		return "", err
	}
	if err := writeSequential(f, data, size, 64<<10); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return c.ManifestText(context.Background(), arvfile.ManifestOptions{})
}

// readAll reads read.dat to its end in len(buf) reads and returns the time.
func readAll(c *arvfile.Collection, buf []byte, size int64) (float64, error) {
	start := time.Now()
	f, err := c.Open("read.dat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	for {
		k, err := f.Read(buf)
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if n != size {
		return 0, fmt.Errorf("read %d bytes, want %d", n, size)
	}
	return time.Since(start).Seconds(), nil
}
