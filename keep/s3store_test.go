package keep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/arvfile/arvfile/internal/testserver"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestS3StoreRoundTripsManyBlocksInKeepstoresLayout(t *testing.T) {
	f := newS3Fixture(t)
	sizes := []int{1, 5, 1000, 64 << 10, 1 << 20}
	cases := []struct {
		name   string
		prefix int
		blocks int
		key    func(hash string) string
	}{
		{"PrefixLength 0 puts each block at its md5", 0, 40, func(h string) string { return h }},
		{"PrefixLength 3 puts each block under its md5's first 3 digits", 3, 40, func(h string) string { return h[:3] + "/" + h }},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			bucket := f.bucket(fmt.Sprintf("roundtrip-%d", i))
			st := f.store(bucket, tc.prefix, nil)
			contents := make([][]byte, tc.blocks)
			for b := range contents {
				contents[b] = s3Block(uint64(100*i+b), sizes[b%len(sizes)])
			}
			if tc.prefix == 3 {
				contents = append(contents, s3Block(7, BlockSize)) // the largest block
			}
			locators := make([]string, len(contents))
			var wg sync.WaitGroup
			errs := make([]error, len(contents))
			for b := range contents {
				wg.Add(1)
				go func(b int) {
					defer wg.Done()
					buf := append([]byte(nil), contents[b]...)
					locators[b], errs[b] = st.Put(ctx, buf, PutOptions{})
					buf[0] ^= 0xff // the caller may reuse its buffer after Put
				}(b)
			}
			wg.Wait()

			var wantKeys []string
			for b, data := range contents {
				require.NoError(t, errs[b])
				assert.Equal(t, BlockLocatorOf(data), locators[b])
				key := tc.key(locators[b][:32])
				wantKeys = append(wantKeys, key, "recent/"+key)
			}
			sort.Strings(wantKeys)
			assert.Equal(t, wantKeys, f.keys(bucket), "the data objects and their recent/ markers, nothing else")
			key := tc.key(locators[0][:32])
			assert.Equal(t, contents[0], f.getRaw(bucket, key))
			assert.Equal(t, []byte{}, f.getRaw(bucket, "recent/"+key), "markers are empty")

			for b, locator := range locators {
				data, err := st.Get(ctx, locator+"+A0123456789abcdef0123456789abcdef01234567@65f3a1b0+Kzzzzz")
				require.NoError(t, err, "hints are ignored")
				assert.True(t, bytes.Equal(contents[b], data), "block %d", b)
			}
		})
	}
}

func TestS3StorePutUploadsABlockOnlyWhenTheBucketLacksIt(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	bucket := f.bucket("existing")
	var counter s3RequestCounter
	st := f.store(bucket, 0, &counter)
	data := s3Block(1, 3000)
	locator := BlockLocatorOf(data)
	hash := locator[:32]
	dataPath, markerPath := "/"+bucket+"/"+hash, "/"+bucket+"/recent/"+hash

	for round := 1; round <= 3; round++ {
		got, err := st.Put(ctx, data, PutOptions{})
		require.NoError(t, err)
		assert.Equal(t, locator, got)
	}
	assert.Equal(t, 1, counter.count("PUT", dataPath), "the data went up once")
	assert.Equal(t, 3, counter.count("HEAD", dataPath))
	assert.Equal(t, 3, counter.count("PUT", markerPath), "each Put touches the marker, as keepstore does")

	// Bytes of the same size but another md5 behind the store's back: the
	// next Put sees the ETag and uploads the block again.
	other := s3Block(2, len(data))
	f.putRaw(bucket, hash, other)
	_, err := st.Get(ctx, locator)
	assert.ErrorIs(t, err, ErrCorrupt)
	_, err = st.Put(ctx, data, PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, counter.count("PUT", dataPath))
	got, err := st.Get(ctx, locator)
	require.NoError(t, err)
	assert.Equal(t, data, got)

	// A block keepstore uploaded in parts has an ETag that is no md5: its
	// size decides, and it is not uploaded again.
	parted := s3Block(3, 5<<20+100)
	partedLocator := BlockLocatorOf(parted)
	partedHash := partedLocator[:32]
	mp, err := f.raw.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(partedHash)})
	require.NoError(t, err)
	var parts []types.CompletedPart
	for n, piece := range [][]byte{parted[:5<<20], parted[5<<20:]} {
		up, err := f.raw.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(partedHash),
			UploadId: mp.UploadId, PartNumber: aws.Int32(int32(n + 1)), Body: bytes.NewReader(piece)})
		require.NoError(t, err)
		parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: aws.Int32(int32(n + 1))})
	}
	done, err := f.raw.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket),
		Key: aws.String(partedHash), UploadId: mp.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	require.NoError(t, err)
	require.Contains(t, aws.ToString(done.ETag), "-2")
	got2, err := st.Put(ctx, parted, PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, partedLocator, got2)
	assert.Equal(t, 0, counter.count("PUT", "/"+bucket+"/"+partedHash))
	assert.Equal(t, 1, counter.count("PUT", "/"+bucket+"/recent/"+partedHash))
	back, err := st.Get(ctx, partedLocator)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(parted, back))
}

func TestS3StoreGetReturnsOnlyTheBlocksBytes(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	bucket := f.bucket("gets")
	st := f.store(bucket, 2, nil)
	data := s3Block(4, 10000)
	locator, err := st.Put(ctx, data, PutOptions{})
	require.NoError(t, err)
	hash := locator[:32]
	key := hash[:2] + "/" + hash

	flipped := append([]byte(nil), data...)
	flipped[5000] ^= 1
	cases := []struct {
		name    string
		object  []byte // stored under the block's key behind the store's back; nil: none
		locator string
		want    error
		message string
	}{
		{"a missing key is ErrNotFound", nil, "acbd18db4cc2f85cedef654fccc4a4d8+3", ErrNotFound,
			"keep: block not found: acbd18db4cc2f85cedef654fccc4a4d8+3"},
		{"one flipped bit is ErrCorrupt", flipped, locator, ErrCorrupt,
			fmt.Sprintf("keep: block corrupt: %s: content has md5 %s (s3 object %s)", locator, BlockLocatorOf(flipped)[:32], key)},
		{"a shorter object is ErrCorrupt", data[:9999], locator, ErrCorrupt,
			fmt.Sprintf("keep: block corrupt: %s: s3 object %s has 9999 bytes", locator, key)},
		{"a longer object is ErrCorrupt", append(append([]byte(nil), data...), 0), locator, ErrCorrupt,
			fmt.Sprintf("keep: block corrupt: %s: s3 object %s has 10001 bytes", locator, key)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.object != nil {
				f.putRaw(bucket, key, tc.object)
			}
			got, err := st.Get(ctx, tc.locator)
			assert.Nil(t, got, "no bytes come back with an error")
			assert.ErrorIs(t, err, tc.want)
			assert.EqualError(t, err, tc.message)
			assert.False(t, IsTemporary(err))
		})
	}

	t.Run("RefreshSignature answers the stripped locator of a block the bucket holds", func(t *testing.T) {
		f.putRaw(bucket, key, data)
		got, err := st.RefreshSignature(ctx, locator+"+Rzzzzz-abcdef0123456789")
		require.NoError(t, err)
		assert.Equal(t, locator, got)
		_, err = st.RefreshSignature(ctx, "acbd18db4cc2f85cedef654fccc4a4d8+3")
		assert.ErrorIs(t, err, ErrNotFound)
	})
}

func TestS3StoreHasAsksWithOneHeadAndReadsNothing(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	bucket := f.bucket("has")
	var counter s3RequestCounter
	st := f.store(bucket, 3, &counter)
	data := s3Block(5, 5000)
	locator, err := st.Put(ctx, data, PutOptions{})
	require.NoError(t, err)
	hash := locator[:32]
	cases := []struct {
		name    string
		locator string
		want    bool
		heads   int // HEAD requests sent
	}{
		{"a stored block, hints ignored", locator + "+Rzzzzz-abcdef0123456789", true, 1},
		{"a missing block", "acbd18db4cc2f85cedef654fccc4a4d8+3", false, 1},
		{"the stored hash with another size", hash + "+4999", false, 1},
		{"the empty block, without a request", EmptyBlockLocator, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := counter.total("HEAD ")
			got, err := st.Has(ctx, tc.locator)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.heads, counter.total("HEAD ")-before)
		})
	}
	assert.Equal(t, 0, counter.total("GET "), "no object was read")
	_, err = st.Has(ctx, "not a locator")
	assert.ErrorIs(t, err, ErrInvalidLocator)
}

func TestS3StoreRejectsBadRequestsBeforeAnyIO(t *testing.T) {
	f := newS3Fixture(t)
	var counter s3RequestCounter
	st := f.store(f.bucket("bad-requests"), 0, &counter)
	before := counter.total("")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // any I/O would fail with context.Canceled

	locator, err := st.Put(ctx, nil, PutOptions{})
	require.NoError(t, err)
	assert.Equal(t, EmptyBlockLocator, locator)
	data, err := st.Get(ctx, EmptyBlockLocator)
	require.NoError(t, err)
	assert.Equal(t, []byte{}, data)

	_, err = st.Put(ctx, make([]byte, BlockSize+1), PutOptions{})
	assert.ErrorIs(t, err, ErrBlockTooLarge)
	for _, bad := range []string{"", "hello", "../../../../etc/passwd+5", "5D41402ABC4B2A76B9719D911017C592+5", "5d41402abc4b2a76b9719d911017c592/+5"} {
		_, err = st.Get(ctx, bad)
		assert.ErrorIs(t, err, ErrInvalidLocator, "Get(%q)", bad)
	}
	_, err = st.Put(ctx, []byte("hello"), PutOptions{})
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, IsTemporary(err))
	_, err = st.Get(ctx, helloLocator)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, before, counter.total(""), "no request was sent")
}

func TestS3StoreNamesRefusedCredentialsAndMissingBuckets(t *testing.T) {
	f := newS3Fixture(t)
	ctx := context.Background()
	bucket := f.bucket("named-errors")
	cases := []struct {
		name   string
		change func(*S3Config)
		want   error
		code   string
	}{
		{"a wrong secret key", func(c *S3Config) { c.SecretAccessKey = "wrong-secret-0123456789" }, ErrS3AccessDenied, "Forbidden"},
		{"an unknown access key", func(c *S3Config) { c.AccessKeyID = "nobody" }, ErrS3AccessDenied, "Forbidden"},
		{"a missing bucket", func(c *S3Config) { c.Bucket = "no-such-bucket" }, ErrS3NoSuchBucket, "NotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name+" fails NewS3Store for good", func(t *testing.T) {
			cfg := f.config(bucket, 0)
			tc.change(&cfg)
			st, err := NewS3Store(ctx, cfg)
			assert.Nil(t, st)
			assert.ErrorIs(t, err, tc.want)
			assert.False(t, IsTemporary(err))
			var s3err *S3Error
			require.ErrorAs(t, err, &s3err)
			assert.Equal(t, "head bucket", s3err.Op)
			assert.Equal(t, tc.code, s3err.Code)
		})
	}

	t.Run("a bucket removed under a store fails Put and Get for good", func(t *testing.T) {
		gone := f.bucket("removed-later")
		st := f.store(gone, 0, nil)
		_, err := f.raw.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(gone)})
		require.NoError(t, err)
		_, err = st.Put(ctx, []byte("hello"), PutOptions{})
		assert.ErrorIs(t, err, ErrS3NoSuchBucket)
		assert.False(t, IsTemporary(err))
		assert.EqualError(t, err, "keep: s3 put removed-later/5d41402abc4b2a76b9719d911017c592: 404 NoSuchBucket: The specified bucket does not exist")
		_, err = st.Get(ctx, helloLocator)
		assert.ErrorIs(t, err, ErrS3NoSuchBucket)
		assert.False(t, errors.Is(err, ErrNotFound), "a missing bucket is not a missing block")
	})

}

func TestNewS3StoreFindsCredentialsInTheAWSChain(t *testing.T) {
	f := newS3Fixture(t)
	bucket := f.bucket("chain")
	dir := t.TempDir()
	sharedFile := filepath.Join(dir, "credentials")
	require.NoError(t, os.WriteFile(sharedFile, []byte(fmt.Sprintf(
		"[minio]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		testserver.MinIOAccessKey, testserver.MinIOSecretKey)), 0o600))
	cases := []struct {
		name string
		env  map[string]string
		want error // nil: the store works
	}{
		{"from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
			map[string]string{"AWS_ACCESS_KEY_ID": testserver.MinIOAccessKey, "AWS_SECRET_ACCESS_KEY": testserver.MinIOSecretKey}, nil},
		{"from a profile of the shared credentials file",
			map[string]string{"AWS_SHARED_CREDENTIALS_FILE": sharedFile, "AWS_PROFILE": "minio"}, nil},
		{"nowhere, which is ErrS3AccessDenied", nil, ErrS3AccessDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Only what the case sets, and never the EC2 metadata service
			// (which is not on 127.0.0.1).
			for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
				"AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
				"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
				t.Setenv(name, tc.env[name])
			}
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", firstSet(tc.env["AWS_SHARED_CREDENTIALS_FILE"], filepath.Join(dir, "none")))
			t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			cfg := f.config(bucket, 0)
			cfg.AccessKeyID, cfg.SecretAccessKey = "", ""
			st, err := NewS3Store(context.Background(), cfg)
			if tc.want != nil {
				assert.Nil(t, st)
				assert.ErrorIs(t, err, tc.want)
				assert.False(t, IsTemporary(err))
				assert.ErrorContains(t, err, "keep: s3 head bucket chain: operation error S3: HeadBucket, get identity: get credentials: keep: s3: access denied: no credentials: ")
				return
			}
			require.NoError(t, err)
			locator, err := st.Put(context.Background(), []byte("hello"), PutOptions{})
			require.NoError(t, err)
			assert.Equal(t, helloLocator, locator)
		})
	}
}
