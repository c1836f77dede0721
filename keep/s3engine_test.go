package keep_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"regexp"
	"sync"
	"testing"

	"github.com/arvfile/arvfile"
	"github.com/arvfile/arvfile/internal/testserver"
	"github.com/arvfile/arvfile/keep"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fileContent returns the bytes of writer w's file: sizes from a few bytes
// (packed with others into one block) to several blocks of 64 KiB.
func fileContent(w int) []byte {
	sizes := []int{7, 1000, 40 << 10, 64 << 10, 200<<10 + 13}
	b := make([]byte, sizes[w%len(sizes)]+w)
	rng := rand.NewChaCha8([32]byte{byte(w), 'e', 'n', 'g'})
	_, _ = rng.Read(b)
	return b
}

func TestS3StoreUnderTheEngine64WritersThenAFreshEngineReadsTheManifest(t *testing.T) {
	const writers, blockSize = 64, 64 << 10
	ctx := context.Background()
	m := testserver.StartMinIOTB(t)
	require.NoError(t, m.MakeBucket(ctx, "engine"))
	cfg := keep.S3Config{Endpoint: m.Endpoint, Region: testserver.MinIORegion, Bucket: "engine",
		AccessKeyID: testserver.MinIOAccessKey, SecretAccessKey: testserver.MinIOSecretKey,
		UsePathStyle: true, PrefixLength: 3}
	st, err := keep.NewS3Store(ctx, cfg)
	require.NoError(t, err)

	e, err := arvfile.New(arvfile.WithStore(st), arvfile.WithBlockSize(blockSize))
	require.NoError(t, err)
	c := e.NewCollection()
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			errs[w] = func() error {
				f, err := c.Create(fmt.Sprintf("dir%d/file%02d", w%4, w))
				if err != nil {
					return err
				}
				data := fileContent(w)
				for len(data) > 0 { // writes of 10,000 bytes, which straddle blocks
					n := min(len(data), 10000)
					if _, err := f.Write(data[:n]); err != nil {
						f.Close()
						return err
					}
					data = data[n:]
				}
				return f.Close()
			}()
		}(w)
	}
	wg.Wait()
	for w, err := range errs {
		require.NoError(t, err, "writer %d", w)
	}
	readAll := func(fsys fs.FS) {
		for w := 0; w < writers; w++ {
			got, err := fs.ReadFile(fsys, fmt.Sprintf("dir%d/file%02d", w%4, w))
			require.NoError(t, err)
			assert.Equal(t, fileContent(w), got, "file %d", w)
		}
	}
	readAll(c.FS())
	text, err := c.ManifestText(ctx, arvfile.ManifestOptions{})
	require.NoError(t, err)
	require.NoError(t, e.Close())

	// Every block the manifest names is in the bucket, in keepstore's
	// layout, with its recent/ marker.
	raw := m.S3Client()
	locators := regexp.MustCompile(`\b([0-9a-f]{32})\+([0-9]+)\b`).FindAllStringSubmatch(text, -1)
	require.NotEmpty(t, locators)
	for _, l := range locators {
		key := l[1][:3] + "/" + l[1]
		head, err := raw.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("engine"), Key: aws.String(key)})
		require.NoError(t, err, key)
		assert.Equal(t, l[2], fmt.Sprint(aws.ToInt64(head.ContentLength)), key)
		_, err = raw.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("engine"), Key: aws.String("recent/" + key)})
		assert.NoError(t, err, "recent/"+key)
	}

	// A fresh engine over a fresh store of the same bucket reads it all.
	st2, err := keep.NewS3Store(ctx, cfg)
	require.NoError(t, err)
	e2, err := arvfile.New(arvfile.WithStore(st2))
	require.NoError(t, err)
	defer e2.Close()
	ro, err := e2.LoadCollection(text, arvfile.ReadOnly())
	require.NoError(t, err)
	readAll(ro.FS())
	again, err := ro.ManifestText(ctx, arvfile.ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, text, again)
	f, err := ro.Open("dir1/file01")
	require.NoError(t, err)
	head := make([]byte, 5)
	_, err = io.ReadFull(f, head)
	require.NoError(t, err)
	assert.Equal(t, fileContent(1)[:5], head)
	require.NoError(t, f.Close())
}
