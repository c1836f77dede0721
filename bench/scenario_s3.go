package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/internal/testserver"
	"github.com/arvfile/arvfile/keep"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
)

func init() {
	register(scenario{id: "s", title: "write then read 1 GiB through the engine into MinIO (keep.S3Store)", run: runS3})
}

// s3PutWorkers is the engine's put workers in scenario s, and the requests
// the limit keeps in flight.
const s3PutWorkers = 2

// runS3 starts a MinIO on 127.0.0.1 and, in each repetition, writes a file
// of distinct 64 MiB blocks through an engine over a keep.S3Store (s1), and
// reads it back through a fresh engine (s2). The limits, measured in the same
// repetition, are the same blocks PUT (with their md5 computed, as any Keep
// client must) and GET (md5 verified) directly with aws-sdk-go-v2, the
// S3Store's library, s3PutWorkers at a time. Every repetition uses buckets of
// its own, so nothing is already stored; peak heap and RSS are the bench
// process's during the engine's part only (MinIO runs in its own process).
func runS3(cfg config) ([]result, error) {
	size := int64(1 << 30)
	if cfg.quick {
		size = 128 << 20
	}
	blocks := int(size / keep.BlockSize)
	dir, err := os.MkdirTemp("", "arvfile-bench-minio-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	m, err := testserver.StartMinIO(dir, testserver.MinIOOptions{})
	if err != nil {
		return nil, err
	}
	defer m.Stop()
	raw := s3LimitClient(m)
	base := pattern(keep.BlockSize, 11)

	write := result{Scenario: "s1", Title: fmt.Sprintf("write %d MiB through the engine into MinIO", size>>20),
		Unit: "MB/s", LimitName: fmt.Sprintf("aws-sdk-go-v2 PUT, %d in flight", s3PutWorkers)}
	read := result{Scenario: "s2", Title: fmt.Sprintf("read %d MiB through a fresh engine from MinIO", size>>20),
		Unit: "MB/s", LimitName: fmt.Sprintf("aws-sdk-go-v2 GET, %d in flight", s3PutWorkers)}
	var putLimits, getLimits []float64
	ctx := context.Background()
	for rep := 0; rep < cfg.reps; rep++ {
		limitBucket, engineBucket := fmt.Sprintf("limit-%d", rep), fmt.Sprintf("engine-%d", rep)
		for _, b := range []string{limitBucket, engineBucket} {
			if err := m.MakeBucket(ctx, b); err != nil {
				return nil, err
			}
		}
		debug.FreeOSMemory()
		keys, secs, err := s3LimitPut(ctx, raw, limitBucket, base, rep, blocks)
		if err != nil {
			return nil, err
		}
		putLimits = append(putLimits, float64(size)/secs/1e6)

		st, err := keep.NewS3Store(ctx, keep.S3Config{Endpoint: m.Endpoint, Region: testserver.MinIORegion,
			Bucket: engineBucket, AccessKeyID: testserver.MinIOAccessKey, SecretAccessKey: testserver.MinIOSecretKey,
			UsePathStyle: true})
		if err != nil {
			return nil, err
		}
		var manifest string
		var puts atomic.Int64
		counted := &countingStore{Store: st, puts: &puts}
		write, err = repeat(1, write, false, func() (sample, error) {
			var secs float64
			var err error
			manifest, secs, err = s3EngineWrite(counted, base, rep, blocks)
			return sample{value: float64(size) / secs / 1e6, puts: puts.Load(), blocks: int64(blocks)}, err
		})
		if err != nil {
			return nil, err
		}
		read, err = repeat(1, read, false, func() (sample, error) {
			secs, err := s3EngineRead(st, manifest, rep, size)
			return sample{value: float64(size) / secs / 1e6, blocks: int64(blocks)}, err
		})
		if err != nil {
			return nil, err
		}

		debug.FreeOSMemory()
		secs, err = s3LimitGet(ctx, raw, limitBucket, keys, len(base))
		if err != nil {
			return nil, err
		}
		getLimits = append(getLimits, float64(size)/secs/1e6)
		for _, b := range []string{limitBucket, engineBucket} {
			if err := s3EmptyBucket(ctx, raw, b); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range []struct {
		res    *result
		limits []float64
	}{{&write, putLimits}, {&read, getLimits}} {
		var lo, hi float64
		p.res.Limit, lo, hi = stats(p.limits)
		p.res.Ratio = p.res.Median / p.res.Limit
		// The machine's load changes between repetitions: the ratio of each
		// repetition to its own limit is the steadier figure.
		pairs := make([]float64, len(p.limits))
		for i, l := range p.limits {
			pairs[i] = p.res.Runs[i] / l
		}
		pairMedian, _, _ := stats(pairs)
		p.res.Extra = map[string]float64{"limit_min": lo, "limit_max": hi, "median_ratio_per_repetition": pairMedian}
	}
	return []result{write, read}, nil
}

// s3LimitClient returns an S3 client of m configured as keep.S3Store
// configures its own: no retries, no CRC of bodies, unsigned payloads.
func s3LimitClient(m *testserver.MinIO) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint:               aws.String(m.Endpoint),
		Region:                     testserver.MinIORegion,
		Credentials:                credentials.NewStaticCredentialsProvider(testserver.MinIOAccessKey, testserver.MinIOSecretKey, ""),
		UsePathStyle:               true,
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		APIOptions:                 []func(*middleware.Stack) error{v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware},
	})
}

// stampBlock makes block i of repetition rep distinct from every other: its
// first 16 bytes are (rep, i).
func stampBlock(block []byte, rep, i int) {
	binary.LittleEndian.PutUint64(block[0:], uint64(rep))
	binary.LittleEndian.PutUint64(block[8:], uint64(i))
}

// s3Parallel calls fn(worker, i) for every block i on s3PutWorkers
// goroutines and returns the elapsed seconds and the first error.
func s3Parallel(blocks int, fn func(worker, i int) error) (float64, error) {
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for w := 0; w < s3PutWorkers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range next {
				if err := fn(w, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}(w)
	}
	for i := 0; i < blocks; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return time.Since(start).Seconds(), first
}

// s3LimitPut PUTs the blocks of repetition rep into bucket, each under its
// md5 with Content-MD5, and returns their keys and the seconds it took.
func s3LimitPut(ctx context.Context, c *s3.Client, bucket string, base []byte, rep, blocks int) ([]string, float64, error) {
	bufs := make([][]byte, s3PutWorkers)
	for w := range bufs {
		bufs[w] = append([]byte(nil), base...)
	}
	keys := make([]string, blocks)
	secs, err := s3Parallel(blocks, func(w, i int) error {
		block := bufs[w]
		stampBlock(block, rep, i)
		sum := md5.Sum(block)
		keys[i] = hex.EncodeToString(sum[:])
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys[i]),
			Body: bytes.NewReader(block), ContentLength: aws.Int64(int64(len(block))),
			ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:]))})
		return err
	})
	return keys, secs, err
}

// s3LimitGet GETs the blocks s3LimitPut stored under keys (each of size
// bytes), verifies their md5, and returns the seconds it took.
func s3LimitGet(ctx context.Context, c *s3.Client, bucket string, keys []string, size int) (float64, error) {
	bufs := make([][]byte, s3PutWorkers)
	for w := range bufs {
		bufs[w] = make([]byte, size)
	}
	return s3Parallel(len(keys), func(w, i int) error {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(keys[i])})
		if err != nil {
			return err
		}
		defer out.Body.Close()
		if _, err := io.ReadFull(out.Body, bufs[w]); err != nil {
			return err
		}
		if sum := md5.Sum(bufs[w]); hex.EncodeToString(sum[:]) != keys[i] {
			return fmt.Errorf("block %d: md5 mismatch", i)
		}
		return nil
	})
}

// s3EngineWrite writes the blocks of repetition rep as one file through an
// engine over st, in 1 MiB writes, and returns the manifest and the seconds
// from the file's creation until every block is committed.
func s3EngineWrite(st keep.Store, base []byte, rep, blocks int) (string, float64, error) {
	e, err := arvfile.New(arvfile.WithStore(st), arvfile.WithPutWorkers(s3PutWorkers))
	if err != nil {
		return "", 0, err
	}
	defer e.Close()
	buf := append([]byte(nil), base...)
	start := time.Now()
	c := e.NewCollection()
	f, err := c.Create("s3.dat")
	if err != nil {
		return "", 0, err
	}
	for i := 0; i < blocks; i++ {
		stampBlock(buf, rep, i)
		for off := 0; off < len(buf); off += 1 << 20 {
			if _, err := f.Write(buf[off : off+1<<20]); err != nil {
				f.Close()
				return "", 0, err
			}
		}
	}
	if err := f.Close(); err != nil {
		return "", 0, err
	}
	text, err := c.ManifestText(context.Background(), arvfile.ManifestOptions{})
	if err != nil {
		return "", 0, err
	}
	return text, time.Since(start).Seconds(), nil
}

// s3EngineRead reads the file s3EngineWrite wrote through a fresh engine
// over st, in 1 MiB reads, checks each block's stamp and the size, and
// returns the seconds it took.
func s3EngineRead(st keep.Store, manifest string, rep int, size int64) (float64, error) {
	e, err := arvfile.New(arvfile.WithStore(st), arvfile.WithPutWorkers(s3PutWorkers))
	if err != nil {
		return 0, err
	}
	defer e.Close()
	start := time.Now()
	c, err := e.LoadCollection(manifest, arvfile.ReadOnly())
	if err != nil {
		return 0, err
	}
	f, err := c.Open("s3.dat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := io.ReadFull(f, buf)
		if k > 0 && n%keep.BlockSize == 0 {
			want := make([]byte, 16)
			stampBlock(want, rep, int(n/keep.BlockSize))
			if !bytes.Equal(buf[:16], want) {
				return 0, fmt.Errorf("block %d does not start with its stamp", n/keep.BlockSize)
			}
		}
		n += int64(k)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
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

// s3EmptyBucket deletes every object of a bucket, so that the next
// repetition's data does not add to the disk MinIO uses.
func s3EmptyBucket(ctx context.Context, c *s3.Client, bucket string) error {
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, o := range page.Contents {
			if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
				return err
			}
		}
	}
	return nil
}
