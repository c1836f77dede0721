package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/internal/testserver"
	"github.com/arvfile/arvfile/keep"
)

// Flags of BenchmarkKeepClient. The defaults are the CI smoke size; the
// full figure is
//
//	go test -run NONE -bench KeepClient -benchtime 1x ./bench -args -keep.bytes 1073741824 -keep.block 67108864 -keep.reps 3
var (
	keepBenchBytes   = flag.Int64("keep.bytes", 64<<20, "bytes BenchmarkKeepClient writes and reads")
	keepBenchBlock   = flag.Int("keep.block", 8<<20, "block size of BenchmarkKeepClient")
	keepBenchReps    = flag.Int("keep.reps", 1, "repetitions per iteration of BenchmarkKeepClient (medians are reported)")
	keepBenchWorkers = flag.Int("keep.workers", 2, "put workers, and raw requests in flight, of BenchmarkKeepClient")
)

// keepBenchToken is the token the benchmark's requests carry.
const keepBenchToken = "benchtoken0123456789abcdefghijklmnopqrstuvwxyz"

// BenchmarkKeepClient writes -keep.bytes through the engine into 3 real
// keepstores with 2 replicas (keep.Client, -keep.workers put workers,
// -keep.block blocks), then reads them back through a fresh engine, and
// compares both with the limit measured in the same run on other fresh
// keepstores: the same blocks PUT to the same first two servers in
// rendezvous order, and GET from the first, straight with net/http, with
// -keep.workers blocks in flight. It reports MB/s of data (not counting
// replicas), the ratio to the limit, and the benchmark process's peak RSS
// while the engine wrote and while it read (the keepstores' own memory is not
// counted). For reference it also measures the raw GETs followed by an md5 of
// each block (the check every read must make), and the read's ratio to that.
func BenchmarkKeepClient(b *testing.B) {
	total, bs, workers, reps := *keepBenchBytes, *keepBenchBlock, *keepBenchWorkers, *keepBenchReps
	if bs < 1 || bs > keep.BlockSize || total < int64(bs) || total%int64(bs) != 0 || workers < 1 || reps < 1 {
		b.Fatalf("bad flags: -keep.bytes %d must be a multiple of -keep.block %d (≤ 64 MiB); workers %d, reps %d ≥ 1",
			total, bs, workers, reps)
	}
	src := newStream(total)
	hashes := src.blockHashes(bs)
	for i := 0; i < b.N; i++ {
		var rawPut, rawGet, rawGetMD5, put, get []float64
		var rssW, rssR uint64
		for r := 0; r < reps; r++ {
			// Alternate which goes first, so that neither always runs
			// on a machine the other has just loaded.
			var raw rawRates
			var eng engineRates
			var err error
			runRaw := func() error { raw, err = rawRun(src, hashes, bs, workers); return err }
			runEngine := func() error { eng, err = engineRun(src, hashes, bs, workers); return err }
			first, second := runRaw, runEngine
			if r%2 == 1 {
				first, second = runEngine, runRaw
			}
			if err := first(); err != nil {
				b.Fatal(err)
			}
			if err := second(); err != nil {
				b.Fatal(err)
			}
			rawPut, rawGet, rawGetMD5 = append(rawPut, raw.put), append(rawGet, raw.get), append(rawGetMD5, raw.getMD5)
			put, get = append(put, eng.put), append(get, eng.get)
			rssW, rssR = max(rssW, eng.rssWrite), max(rssR, eng.rssRead)
		}
		mrp, _, _ := stats(rawPut)
		mrg, _, _ := stats(rawGet)
		mrgm, _, _ := stats(rawGetMD5)
		mw, _, _ := stats(put)
		mr, _, _ := stats(get)
		b.ReportMetric(mw, "write-MB/s")
		b.ReportMetric(mr, "read-MB/s")
		b.ReportMetric(mrp, "raw-put-MB/s")
		b.ReportMetric(mrg, "raw-get-MB/s")
		b.ReportMetric(mw/mrp, "write-x-limit")
		b.ReportMetric(mr/mrg, "read-x-limit")
		b.ReportMetric(mrgm, "raw-get-md5-MB/s")
		b.ReportMetric(mr/mrgm, "read-x-get-md5")
		b.ReportMetric(float64(rssW)/(1<<20), "write-peak-RSS-MiB")
		b.ReportMetric(float64(rssR)/(1<<20), "read-peak-RSS-MiB")
		b.Logf("%d MiB in %d MiB blocks, 2 replicas on 3 keepstores, %d workers, %d reps, MB/s: write %s (limit %s), read %s (limit %s; with md5 %s)",
			total>>20, bs>>20, workers, reps, fmtRuns(put), fmtRuns(rawPut), fmtRuns(get), fmtRuns(rawGet), fmtRuns(rawGetMD5))
	}
}

// fmtRuns formats rates for the log.
func fmtRuns(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(parts, "/")
}

// stream is total bytes made by repeating a source whose length does not
// divide any block size, so every block differs.
type stream struct {
	src   []byte
	total int64
}

func newStream(total int64) *stream {
	return &stream{src: pattern(8<<20+64<<10, 11), total: total}
}

// reader returns the bytes [off, off+n) of the stream. Its WriteTo writes
// straight from the source, without a copy.
func (s *stream) reader(off, n int64) *streamReader {
	return &streamReader{s: s, off: off, end: off + n}
}

type streamReader struct {
	s        *stream
	off, end int64
}

func (r *streamReader) next() []byte {
	i := r.off % int64(len(r.s.src))
	return r.s.src[i:min(int64(len(r.s.src)), i+r.end-r.off)]
}

func (r *streamReader) Read(p []byte) (int, error) {
	if r.off >= r.end {
		return 0, io.EOF
	}
	n := copy(p, r.next())
	r.off += int64(n)
	return n, nil
}

func (r *streamReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.off < r.end {
		n, err := w.Write(r.next())
		r.off += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// blockHashes returns the md5 hex of every block of the stream.
func (s *stream) blockHashes(bs int) []string {
	var hashes []string
	for off := int64(0); off < s.total; off += int64(bs) {
		h := md5.New()
		s.reader(off, int64(bs)).WriteTo(h)
		hashes = append(hashes, hex.EncodeToString(h.Sum(nil)))
	}
	return hashes
}

// startBenchKeepstores starts 3 keepstores in a fresh directory; stop
// stops them and deletes their blocks.
func startBenchKeepstores() (ks *testserver.Keepstores, services []keep.Service, stop func(), err error) {
	dir, err := os.MkdirTemp("", "arvfile-bench-keep-")
	if err != nil {
		return nil, nil, nil, err
	}
	ks, err = testserver.StartKeepstores(dir, testserver.KeepstoreOptions{N: 3})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	stop = func() { ks.Stop(); os.RemoveAll(dir) }
	services, err = keep.ParseServiceList(ks.ServicesJSON())
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	return ks, services, stop, nil
}

// rawRates are the limits of one run, in MB/s of data.
type rawRates struct{ put, get, getMD5 float64 }

// rawRun is the limit: the blocks PUT to their first two servers and read
// back from the first, with net/http, workers blocks at a time; then read
// back again, each block hashed after its GET.
func rawRun(src *stream, hashes []string, bs, workers int) (rawRates, error) {
	var rates rawRates
	ks, _, stop, err := startBenchKeepstores()
	if err != nil {
		return rates, err
	}
	defer stop()
	tr := &http.Transport{MaxIdleConnsPerHost: 2 * workers, DisableCompression: true,
		WriteBufferSize: 256 << 10, ReadBufferSize: 256 << 10}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	signed := make([]string, len(hashes))
	first := make([]int, len(hashes))

	start := time.Now()
	err = forBlocks(len(hashes), workers, func(k int) error {
		order := keep.RendezvousOrder(hashes[k], ks.UUIDs)
		first[k] = order[0]
		answers := make([]string, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for rep := 0; rep < 2; rep++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPut, ks.URLs[order[rep]]+"/"+hashes[k], src.reader(int64(k)*int64(bs), int64(bs)))
				req.ContentLength = int64(bs)
				req.Header.Set("Authorization", "Bearer "+keepBenchToken)
				answers[rep], errs[rep] = doRaw(hc, req, nil)
			}()
		}
		wg.Wait()
		signed[k] = strings.TrimSpace(answers[0])
		return errors.Join(errs...)
	})
	if err != nil {
		return rates, err
	}
	rates.put = float64(src.total) / time.Since(start).Seconds() / 1e6

	bufs := make(chan []byte, workers)
	for w := 0; w < workers; w++ {
		bufs <- make([]byte, bs)
	}
	get := func(hash bool) (float64, error) {
		start := time.Now()
		err := forBlocks(len(hashes), workers, func(k int) error {
			buf := <-bufs
			defer func() { bufs <- buf }()
			req, _ := http.NewRequest(http.MethodGet, ks.URLs[first[k]]+"/"+signed[k], nil)
			req.Header.Set("Authorization", "Bearer "+keepBenchToken)
			if _, err := doRaw(hc, req, buf); err != nil {
				return err
			}
			if sum := md5.Sum(buf); hash && hex.EncodeToString(sum[:]) != hashes[k] {
				return fmt.Errorf("raw GET of block %d: other bytes", k)
			}
			return nil
		})
		return float64(src.total) / time.Since(start).Seconds() / 1e6, err
	}
	if rates.get, err = get(false); err != nil {
		return rates, err
	}
	if rates.getMD5, err = get(true); err != nil {
		return rates, err
	}
	debug.FreeOSMemory()
	return rates, nil
}

// doRaw sends req and returns the answer's body, read into buf when given.
func doRaw(hc *http.Client, req *http.Request, buf []byte) (string, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("%s %s: %s %q", req.Method, req.URL.Path[:33], resp.Status, body)
	}
	if buf != nil {
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			return "", err
		}
		return "", nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 512))
	return string(body), err
}

// forBlocks calls fn for blocks 0…n-1 on workers goroutines.
func forBlocks(n, workers int, fn func(k int) error) error {
	next := make(chan int)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				if err := fn(k); err != nil && errs[w] == nil {
					errs[w] = err
				}
			}
		}()
	}
	for k := 0; k < n; k++ {
		next <- k
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// engineRun writes the stream as one file through an engine over
// keep.Client, then reads it back through a fresh engine loaded from the
// manifest. It checks that the manifest names exactly the limit's blocks.
func engineRun(src *stream, hashes []string, bs, workers int) (engineRates, error) {
	var r engineRates
	_, services, stop, err := startBenchKeepstores()
	if err != nil {
		return r, err
	}
	defer stop()
	client, err := keep.NewClient(services, keepBenchToken)
	if err != nil {
		return r, err
	}
	defer client.Close()
	ctx := context.Background()

	debug.FreeOSMemory()
	mem := startMemorySampler()
	start := time.Now()
	manifest, err := engineWrite(ctx, client, src, bs, workers)
	r.put = float64(src.total) / time.Since(start).Seconds() / 1e6
	_, r.rssWrite = mem.stop()
	if err != nil {
		return r, err
	}
	if err := sameBlocks(manifest, hashes, bs); err != nil {
		return r, err
	}

	debug.FreeOSMemory()
	mem = startMemorySampler()
	start = time.Now()
	n, err := engineRead(client, manifest)
	r.get = float64(src.total) / time.Since(start).Seconds() / 1e6
	_, r.rssRead = mem.stop()
	if err != nil {
		return r, err
	}
	if n != src.total {
		return r, fmt.Errorf("read %d bytes back, wrote %d", n, src.total)
	}
	return r, nil
}

// engineRates are the figures of one engine run: MB/s of data, peak RSS in
// bytes.
type engineRates struct {
	put, get          float64
	rssWrite, rssRead uint64
}

// engineWrite writes the stream in 1 MiB writes (one copy of each byte,
// from the stream into the write buffer, as an application's reads would make)
// and returns the manifest.
func engineWrite(ctx context.Context, st keep.Store, src *stream, bs, workers int) (string, error) {
	e, err := arvfile.New(arvfile.WithStore(st), arvfile.WithBlockSize(bs), arvfile.WithPutWorkers(workers))
	if err != nil {
		return "", err
	}
	defer e.Close()
	c := e.NewCollection()
	f, err := c.Create("big")
	if err != nil {
		return "", err
	}
	// Whole 1 MiB writes, so that blocks fill up exactly (a write that
	// does not fit in the current block starts the next one).
	buf := make([]byte, 1<<20)
	r := src.reader(0, src.total)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if _, werr := f.Write(buf[:n]); werr != nil {
				return "", werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return c.ManifestText(ctx, arvfile.ManifestOptions{})
}

// engineRead reads the file of manifest through a fresh engine in 1 MiB
// reads and returns how many bytes it read.
func engineRead(st keep.Store, manifest string) (int64, error) {
	e, err := arvfile.New(arvfile.WithStore(st))
	if err != nil {
		return 0, err
	}
	defer e.Close()
	c, err := e.LoadCollection(manifest, arvfile.ReadOnly())
	if err != nil {
		return 0, err
	}
	f, err := c.Open("big")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{f}, make([]byte, 1<<20))
}

// sameBlocks checks that manifest names, in order, the blocks of hashes.
func sameBlocks(manifest string, hashes []string, bs int) error {
	var got []string
	for _, tok := range strings.Fields(manifest) {
		if l, err := keep.ParseLocator(tok); err == nil {
			got = append(got, l.Stripped())
		}
	}
	var want []string
	for _, h := range hashes {
		want = append(want, h+"+"+strconv.Itoa(bs))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		return fmt.Errorf("the engine stored other blocks than the limit: %v, want %v", got, want)
	}
	return nil
}
