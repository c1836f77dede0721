package keep

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/arvfile/arvfile/internal/testserver"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/require"
)

// s3Fixture is a MinIO started for one test, with a client of its own to
// look at and change buckets behind a store's back.
type s3Fixture struct {
	t     *testing.T
	minio *testserver.MinIO
	raw   *s3.Client
}

// newS3Fixture starts a MinIO that is stopped at the test's cleanup.
func newS3Fixture(t *testing.T) *s3Fixture {
	t.Helper()
	m := testserver.StartMinIOTB(t)
	return &s3Fixture{t: t, minio: m, raw: m.S3Client()}
}

// bucket creates the bucket name and returns name.
func (f *s3Fixture) bucket(name string) string {
	f.t.Helper()
	require.NoError(f.t, f.minio.MakeBucket(context.Background(), name))
	return name
}

// config returns the S3Config of a bucket of the fixture's MinIO.
func (f *s3Fixture) config(bucket string, prefix int) S3Config {
	return S3Config{
		Endpoint:        f.minio.Endpoint,
		Region:          testserver.MinIORegion,
		Bucket:          bucket,
		AccessKeyID:     testserver.MinIOAccessKey,
		SecretAccessKey: testserver.MinIOSecretKey,
		UsePathStyle:    true,
		PrefixLength:    prefix,
	}
}

// store returns an S3Store over a bucket, counting its requests in counter
// when it is not nil.
func (f *s3Fixture) store(bucket string, prefix int, counter *s3RequestCounter) *S3Store {
	f.t.Helper()
	cfg := f.config(bucket, prefix)
	if counter != nil {
		cfg.HTTPClient = &http.Client{Transport: counter}
	}
	st, err := NewS3Store(context.Background(), cfg)
	require.NoError(f.t, err)
	return st
}

// keys returns every key of a bucket, sorted.
func (f *s3Fixture) keys(bucket string) []string {
	f.t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(f.raw, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		require.NoError(f.t, err)
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	sort.Strings(keys)
	return keys
}

// putRaw stores data under key, bypassing any store.
func (f *s3Fixture) putRaw(bucket, key string, data []byte) {
	f.t.Helper()
	_, err := f.raw.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	require.NoError(f.t, err)
}

// getRaw returns the object key, bypassing any store.
func (f *s3Fixture) getRaw(bucket, key string) []byte {
	f.t.Helper()
	out, err := f.raw.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	require.NoError(f.t, err)
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	require.NoError(f.t, err)
	return data
}

// s3Block returns size pseudo-random bytes, the same for the same seed.
func s3Block(seed uint64, size int) []byte {
	b := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), 's', '3'})
	_, _ = rng.Read(b)
	return b
}

// s3RequestCounter is an http.RoundTripper that counts the requests it
// sends by method and path ("PUT /bucket/key").
type s3RequestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

// RoundTrip counts req and sends it with the default transport.
func (c *s3RequestCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.counts == nil {
		c.counts = make(map[string]int)
	}
	c.counts[req.Method+" "+req.URL.Path]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// count returns how many requests had the method and path.
func (c *s3RequestCounter) count(method, path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[method+" "+path]
}

// total returns how many requests were sent whose "METHOD /path" starts
// with prefix.
func (c *s3RequestCounter) total(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.counts {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}
