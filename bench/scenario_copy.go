package main

import (
	"fmt"
	"io"
	"time"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/keep"
)

func init() {
	register(scenario{id: "i", title: "io.Copy into and out of a File beside a 1 MiB loop", run: runCopy})
}

// runCopy measures io.Copy into a File (its ReadFrom) and out of one (its
// WriteTo) against the loop a user would write with a 1 MiB buffer, on the
// same bytes in the same repetition, and against io.Copy through wrappers
// that hide ReadFrom and WriteTo (io.Copy's own 32 KiB buffer, what io.Copy
// did before File had them). The three run in rotated order in each
// repetition; the limit is the loop's median rate and the ratio the median
// of the repetitions' ratios of io.Copy to the loop. Copies into a File go
// to the write scenarios' store (the sink store with --store mem) and end
// with Sync; copies out read a committed file whose blocks are cached.
func runCopy(cfg config) ([]result, error) {
	size := int64(256 << 20)
	if cfg.quick {
		size = 64 << 20
	}
	data := pattern(8<<20+64<<10, 9) // not a divisor of the block size: every block differs
	buf := make([]byte, 1<<20)
	into := result{Scenario: "i1", Title: fmt.Sprintf("io.Copy of %d MiB into a File, Sync", size>>20),
		Unit: "MB/s", LimitName: "1 MiB loop"}
	intoFns := []func(f *arvfile.File, src io.Reader) error{
		func(f *arvfile.File, src io.Reader) error { return loopInto(f, src, buf) },
		func(f *arvfile.File, src io.Reader) error { _, err := io.Copy(f, src); return err },
		func(f *arvfile.File, src io.Reader) error { _, err := io.Copy(onlyWriter{f}, src); return err },
	}
	rep := 0
	into, err := repeat(cfg.reps, into, false, func() (sample, error) {
		rates, cpus, err := rotated(rep, len(intoFns), func(i int) (float64, float64, error) { return timeInto(cfg, size, intoFns[i], data) })
		rep++
		if err != nil {
			return sample{}, err
		}
		return copySample(rates, cpus, "ReadFrom"), nil
	})
	if err != nil {
		return nil, err
	}
	into.Limit = into.Extra["1 MiB loop MB/s"]
	into.Ratio = into.Extra["ratio of io.Copy to the loop"] // the median of the ratios of each repetition

	st := keep.NewMemoryStore()
	manifest, err := writeForReading(st, data, size)
	if err != nil {
		return nil, err
	}
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
	out := result{Scenario: "i2", Title: fmt.Sprintf("io.Copy of %d MiB out of a File, cached blocks", size>>20),
		Unit: "MB/s", LimitName: "1 MiB loop"}
	outFns := []func(f *arvfile.File, dst io.Writer) error{
		func(f *arvfile.File, dst io.Writer) error { return loopOut(f, dst, buf) },
		func(f *arvfile.File, dst io.Writer) error { _, err := io.Copy(dst, f); return err },
		func(f *arvfile.File, dst io.Writer) error { _, err := io.Copy(dst, onlyReader{f}); return err },
	}
	rep = 0
	out, err = repeat(cfg.reps, out, false, func() (sample, error) {
		rates, cpus, err := rotated(rep, len(outFns), func(i int) (float64, float64, error) { return timeOut(c, size, outFns[i]) })
		rep++
		if err != nil {
			return sample{}, err
		}
		return copySample(rates, cpus, "WriteTo"), nil
	})
	if err != nil {
		return nil, err
	}
	out.Limit = out.Extra["1 MiB loop MB/s"]
	out.Ratio = out.Extra["ratio of io.Copy to the loop"]
	return []result{into, out}, nil
}

// rotated runs fn(0..n-1), starting at rep%n so that no variant always runs
// first after a fresh engine, and returns the rates and CPU costs by index.
func rotated(rep, n int, fn func(i int) (rate, cpu float64, err error)) (rates, cpus []float64, err error) {
	rates, cpus = make([]float64, n), make([]float64, n)
	for k := 0; k < n; k++ {
		i := (rep + k) % n
		if rates[i], cpus[i], err = fn(i); err != nil {
			return nil, nil, err
		}
	}
	return rates, cpus, nil
}

// copySample is one repetition of a copy figure: the rate of io.Copy, and
// the rate and CPU time of each variant as a ratio to the loop's (CPU time
// is the steadier figure on a shared machine). hidden names the method the
// third variant hides.
func copySample(rates, cpus []float64, hidden string) sample {
	return sample{value: rates[1], extra: map[string]float64{
		"1 MiB loop MB/s":                                     rates[0],
		"1 MiB loop CPU ms/GiB":                               cpus[0],
		"ratio of io.Copy to the loop":                        rates[1] / rates[0],
		"CPU of io.Copy / loop":                               cpus[1] / cpus[0],
		"ratio of io.Copy without " + hidden + " to the loop": rates[2] / rates[0],
		"CPU of io.Copy without " + hidden + " / loop":        cpus[2] / cpus[0],
	}}
}

// loopInto writes src to f through buf, a full buffer per Write.
func loopInto(f *arvfile.File, src io.Reader, buf []byte) error {
	for {
		n, rerr := io.ReadFull(src, buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// loopOut writes f to dst through buf, one Read per Write.
func loopOut(f *arvfile.File, dst io.Writer, buf []byte) error {
	for {
		n, rerr := f.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// onlyWriter and onlyReader hide every method but Write and Read, as the
// writers and readers of other packages do.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// cycleReader yields n bytes cycling over data, with only a Read method.
type cycleReader struct {
	data []byte
	off  int
	n    int64
}

func (r *cycleReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	if r.off == len(r.data) {
		r.off = 0
	}
	k := copy(p[:min(int64(len(p)), r.n)], r.data[r.off:])
	r.off += k
	r.n -= int64(k)
	return k, nil
}

// timeInto copies size bytes of data into a new file of a fresh engine with
// fn, syncs it, and returns the rate in MB/s and the CPU time in ms/GiB.
func timeInto(cfg config, size int64, fn func(f *arvfile.File, src io.Reader) error, data []byte) (rate, cpu float64, err error) {
	e, _, done, err := newWriteEngine(cfg)
	if err != nil {
		return 0, 0, err
	}
	defer done()
	c := e.NewCollection()
	start, used := time.Now(), readUsage()
	f, err := c.Create("copy.dat")
	if err != nil {
		return 0, 0, err
	}
	if err := fn(f, &cycleReader{data: data, n: size}); err != nil {
		return 0, 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, 0, err
	}
	secs := time.Since(start).Seconds()
	cpuPerByte, _ := used.perUnit(int(size))
	if st, err := f.Stat(); err != nil || st.Size() != size {
		return 0, 0, fmt.Errorf("copied into a file of %v bytes (%v), want %d", st.Size(), err, size)
	}
	return float64(size) / secs / 1e6, cpuPerByte * (1 << 30) / 1e3, f.Close()
}

// countingWriter counts the bytes written to it and keeps none.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// timeOut copies read.dat of c out with fn and returns the rate in MB/s and
// the CPU time in ms/GiB.
func timeOut(c *arvfile.Collection, size int64, fn func(f *arvfile.File, dst io.Writer) error) (rate, cpu float64, err error) {
	start, used := time.Now(), readUsage()
	f, err := c.Open("read.dat")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var w countingWriter
	if err := fn(f, &w); err != nil {
		return 0, 0, err
	}
	secs := time.Since(start).Seconds()
	cpuPerByte, _ := used.perUnit(int(size))
	if w.n != size {
		return 0, 0, fmt.Errorf("copied %d bytes out, want %d", w.n, size)
	}
	return float64(size) / secs / 1e6, cpuPerByte * (1 << 30) / 1e3, nil
}
