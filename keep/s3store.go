package keep

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3Config says which bucket an S3Store uses and how to reach it.
type S3Config struct {
	// Endpoint is the server's base URL, "http(s)://host[:port]", e.g.
	// "http://127.0.0.1:9000" for a MinIO; "" means Amazon S3 in Region (or
	// the endpoint the AWS environment names, AWS_ENDPOINT_URL_S3 or
	// AWS_ENDPOINT_URL).
	Endpoint string
	// Region is the region requests are signed for; "" means the AWS
	// environment's (AWS_REGION, AWS_DEFAULT_REGION, the shared config file),
	// else "us-east-1".
	Region string
	// Bucket is the bucket's name; it must exist.
	Bucket string
	// AccessKeyID and SecretAccessKey (and SessionToken for temporary
	// credentials) are explicit credentials. When AccessKeyID is "", the
	// standard AWS chain is used: the environment (AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE), the shared
	// credentials and config files, then the other sources the AWS SDK knows.
	AccessKeyID string
	// SecretAccessKey goes with AccessKeyID.
	SecretAccessKey string
	// SessionToken goes with temporary credentials; "" for long-term keys.
	SessionToken string
	// UsePathStyle addresses the bucket as a path (endpoint/bucket/key), as
	// MinIO and most S3-compatible servers want, instead of as a host name
	// (bucket.endpoint/key).
	UsePathStyle bool
	// PrefixLength p > 0 stores a block under md5[:p] + "/" + md5 instead of
	// md5, as keepstore's S3 volumes do with the same DriverParameter; 0 ≤ p ≤ 30.
	PrefixLength int
	// RequestTimeout bounds each request to the server, body included; a
	// request that runs out of it fails with a temporary error. ≤ 0 means
	// DefaultS3RequestTimeout.
	RequestTimeout time.Duration
	// HTTPClient sends the requests; nil means the AWS SDK's default client.
	HTTPClient *http.Client
}

// DefaultS3RequestTimeout is the RequestTimeout of an S3Config that sets
// none: long enough for a 64 MiB block over a slow link.
const DefaultS3RequestTimeout = 5 * time.Minute

// maxS3PrefixLength is the longest PrefixLength keepstore applies: it uses a
// prefix only when it is shorter than the md5 minus one.
const maxS3PrefixLength = 2*md5.Size - 2

// s3RecentPrefix starts the key of the marker written after each block.
const s3RecentPrefix = "recent/"

// S3Store is a Store whose blocks are objects in an S3 bucket, laid out as
// Arvados keepstore's S3 volumes lay them out, so a keepstore configured with
// the same bucket and PrefixLength serves what an S3Store wrote and the other
// way round. It is safe for concurrent use.
//
// A block with md5 H is the object H, or md5[:p]/H with PrefixLength p. A
// Put goes: hash the data; HEAD the object; if it exists with the block's
// size (and an ETag that is not another md5), skip the upload; else PUT it in
// one request (never multipart, so no half-written object is ever visible)
// with Content-MD5, so the server refuses bytes damaged on the way; then PUT
// the empty marker recent/<key>, as keepstore does after every write and
// touch, so keepstore's trash and balance logic treat the block as fresh.
// Put returns unsigned `md5+size` locators; PutOptions are ignored (the
// bucket's own redundancy and storage class apply).
//
// A Get fetches the object (hints in the locator are ignored), reads at most
// the locator's size plus one byte and verifies size and md5: ErrNotFound
// when the object is missing, ErrCorrupt when its bytes do not match.
//
// Errors: 5xx answers, throttling (503 SlowDown, 429), timeouts and failed
// connections are temporary (IsTemporary); refused credentials and a
// missing bucket are permanent and wrap ErrS3AccessDenied and
// ErrS3NoSuchBucket; every error that comes from an answer of the server
// carries an *S3Error. The SDK's own retries are off: retry with WithRetries.
type S3Store struct {
	client  *s3.Client
	bucket  string
	prefix  int
	timeout time.Duration
}

// NewS3Store checks cfg, resolves credentials and region as S3Config says,
// and checks with a HEAD request that the bucket exists and is accessible
// (which needs s3:ListBucket, as keepstore does). It fails with an error
// wrapping ErrS3NoSuchBucket or ErrS3AccessDenied when that request says
// so, and with a temporary error when the server cannot be reached.
func NewS3Store(ctx context.Context, cfg S3Config) (*S3Store, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("keep: s3: %w", err)
	}
	opts := []func(*config.LoadOptions) error{
		// The SDK's retries are off: WithRetries decides, and a temporary
		// error must reach it.
		config.WithRetryMaxAttempts(1),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("keep: s3: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	if awsCfg.Credentials != nil {
		awsCfg.Credentials = markedCredentials{awsCfg.Credentials}
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.UsePathStyle
		if cfg.HTTPClient != nil {
			// Here rather than in LoadDefaultConfig, which refuses a plain
			// *http.Client when AWS_CA_BUNDLE is set.
			o.HTTPClient = cfg.HTTPClient
		}
		o.RetryMaxAttempts = 1
		// Blocks are checked by their md5 (Content-MD5 on the way in,
		// VerifyBlock on the way out): no CRC of the body each way, and no
		// SHA-256 of it for the signature (UNSIGNED-PAYLOAD, as keepstore).
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	})
	timeout := cfg.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultS3RequestTimeout
	}
	s := &S3Store{client: client, bucket: cfg.Bucket, prefix: cfg.PrefixLength, timeout: timeout}
	if err := s.checkBucket(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// check reports the first problem of cfg, before any I/O.
func (cfg S3Config) check() error {
	if cfg.Bucket == "" {
		return errors.New("no bucket given")
	}
	if cfg.PrefixLength < 0 || cfg.PrefixLength > maxS3PrefixLength {
		return fmt.Errorf("PrefixLength %d is not in [0, %d]", cfg.PrefixLength, maxS3PrefixLength)
	}
	if cfg.Endpoint != "" {
		u, err := url.Parse(cfg.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("endpoint %q is not an http(s)://host[:port] URL", cfg.Endpoint)
		}
	}
	if cfg.AccessKeyID != "" && cfg.SecretAccessKey == "" {
		return errors.New("an access key id without a secret access key")
	}
	if cfg.AccessKeyID == "" && cfg.SecretAccessKey != "" {
		return errors.New("a secret access key without an access key id")
	}
	return nil
}

// Bucket returns the name of the store's bucket.
func (s *S3Store) Bucket() string { return s.bucket }

// Key returns the object key of the block with the given md5 hex, as
// keepstore names it: the md5, or md5[:p]/md5 with PrefixLength p (applied,
// as keepstore applies it, only to a hash longer than p+1).
func (s *S3Store) Key(hash string) string {
	if s.prefix > 0 && s.prefix < len(hash)-1 {
		return hash[:s.prefix] + "/" + hash
	}
	return hash
}

// checkBucket sends HEAD to the bucket.
func (s *S3Store) checkBucket(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.client.HeadBucket(rctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)})
	if err != nil {
		return s.classify(ctx, rctx, "head bucket", "", err, bucketOp)
	}
	return nil
}

// Put stores data as the block's object, unless an object of the same size
// is already there, then writes the recent/ marker. It returns `md5+size`.
// When it fails, no object with other bytes than data became visible under
// the block's key. With opts.MD5 it does not hash data: the key and the
// Content-MD5 are made from the sum given, and the S3 server refuses a body
// that does not match it.
func (s *S3Store) Put(ctx context.Context, data []byte, opts PutOptions) (string, error) {
	if err := checkPutSize(data); err != nil {
		return "", err
	}
	if len(data) == 0 {
		return EmptyBlockLocator, nil
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	sum := sumOf(data, opts)
	hash := hex.EncodeToString(sum[:])
	locator := hash + "+" + strconv.Itoa(len(data))
	key := s.Key(hash)
	stored, err := s.holds(ctx, key, hash, int64(len(data)))
	if err != nil {
		return "", err
	}
	if !stored {
		if err := s.putObject(ctx, key, data, base64.StdEncoding.EncodeToString(sum[:])); err != nil {
			return "", err
		}
	}
	if err := s.putObject(ctx, s3RecentPrefix+key, nil, ""); err != nil {
		return "", err
	}
	return locator, nil
}

// holds reports whether the object key exists with the given size and an
// ETag that does not name another md5. (The ETag of an object uploaded in
// one piece is its md5; one uploaded in parts, as keepstore does, has an
// ETag of another form, and then the size alone decides.)
func (s *S3Store) holds(ctx context.Context, key, hash string, size int64) (bool, error) {
	head, err := s.headObject(ctx, key)
	if head == nil || err != nil {
		return false, err
	}
	if aws.ToInt64(head.ContentLength) != size {
		return false, nil
	}
	etag := strings.Trim(aws.ToString(head.ETag), `"`)
	if _, err := hex.DecodeString(etag); err == nil && len(etag) == 2*md5.Size && !strings.EqualFold(etag, hash) {
		return false, nil
	}
	return true, nil
}

// headObject sends HEAD for key: its answer, or nil and no error when the
// bucket has no such object.
func (s *S3Store) headObject(ctx context.Context, key string) (*s3.HeadObjectOutput, error) {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	head, err := s.client.HeadObject(rctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		err = s.classify(ctx, rctx, "head", key, err, objectOp)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return head, nil
}

// Has reports whether the bucket holds an object for the block named by
// locator (hints are ignored) of the locator's size, with one HEAD request
// and without reading it: a cheap check that the block is there, not that
// its bytes are intact (Get does that), as DirStore.Has. The empty block is
// always there.
func (s *S3Store) Has(ctx context.Context, locator string) (bool, error) {
	loc, empty, err := beginGet(ctx, locator)
	if err != nil || empty {
		return empty, err
	}
	head, err := s.headObject(ctx, s.Key(loc.Hash()))
	if head == nil || err != nil {
		return false, err
	}
	return aws.ToInt64(head.ContentLength) == loc.Size(), nil
}

// putObject uploads data (nil for an empty object) to key in one request,
// with Content-MD5 md5Base64 unless it is "".
func (s *S3Store) putObject(ctx context.Context, key string, data []byte, md5Base64 string) error {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	body := newDetachableReader(data)
	// net/http may still read a request body after RoundTrip returned (for
	// example when the server answered before reading it all); the caller may
	// reuse data as soon as Put returns, so the body lets go of it first.
	defer body.detach()
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          body,
		ContentLength: aws.Int64(int64(len(data))),
	}
	if md5Base64 != "" {
		in.ContentMD5 = aws.String(md5Base64)
	}
	if _, err := s.client.PutObject(rctx, in); err != nil {
		return s.classify(ctx, rctx, "put", key, err, objectOp)
	}
	return nil
}

// Get fetches the block named by locator and verifies its size and md5.
func (s *S3Store) Get(ctx context.Context, locator string) ([]byte, error) {
	loc, empty, err := beginGet(ctx, locator)
	if err != nil {
		return nil, err
	}
	if empty {
		return []byte{}, nil
	}
	key := s.Key(loc.Hash())
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	out, err := s.client.GetObject(rctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		err = s.classify(ctx, rctx, "get", key, err, objectOp)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, loc.Stripped())
		}
		return nil, err
	}
	defer out.Body.Close()
	if out.ContentLength != nil && *out.ContentLength != loc.Size() {
		return nil, fmt.Errorf("%w: %s: s3 object %s has %d bytes", ErrCorrupt, loc.Stripped(), key, *out.ContentLength)
	}
	data, err := readObject(out.Body, loc.Size())
	if err != nil {
		return nil, s.classify(ctx, rctx, "get", key, err, objectOp)
	}
	if err := VerifyBlock(loc, data); err != nil {
		return nil, fmt.Errorf("%w (s3 object %s)", err, key)
	}
	return data, nil
}

// readObject reads an object's body whose Content-Length said size bytes
// (at most BlockSize, from a parsed locator). A body that ends early means
// the connection failed (a temporary error); one with more bytes comes back
// as size+1 bytes, so that VerifyBlock reports it.
func readObject(body io.Reader, size int64) ([]byte, error) {
	data := make([]byte, size)
	n, err := io.ReadFull(body, data)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return nil, Temporary(fmt.Errorf("body ended after %d of %d bytes", n, size))
	}
	if err != nil {
		return nil, err
	}
	var extra [1]byte
	m, err := io.ReadFull(body, extra[:])
	if m > 0 {
		return append(data, extra[0]), nil
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	return data, nil
}

// RefreshSignature returns the stripped locator of a block the bucket holds,
// whatever hints locator carries (+R… included): an S3Store stands for the
// local cluster and does not sign. It fails with ErrNotFound otherwise.
func (s *S3Store) RefreshSignature(ctx context.Context, locator string) (string, error) {
	loc, err := ParseLocator(locator)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	stripped := loc.Stripped()
	if stripped == EmptyBlockLocator {
		return stripped, nil
	}
	key := s.Key(loc.Hash())
	head, err := s.headObject(ctx, key)
	if err != nil {
		return "", err
	}
	if head == nil {
		return "", fmt.Errorf("%w: %s", ErrNotFound, stripped)
	}
	if aws.ToInt64(head.ContentLength) != loc.Size() {
		return "", fmt.Errorf("%w: %s: s3 object %s has %d bytes", ErrCorrupt, stripped, key, aws.ToInt64(head.ContentLength))
	}
	return stripped, nil
}

// detachableReader is a request body over a byte slice that can be cut off
// from the slice: after detach, Read fails and the slice is never touched
// again, even by a transport goroutine that outlives the request.
type detachableReader struct {
	mu   sync.Mutex
	data []byte // nil once detached
	off  int64
	gone bool
}

func newDetachableReader(data []byte) *detachableReader {
	return &detachableReader{data: data}
}

// Read copies from the slice, or fails once detached.
func (r *detachableReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone {
		return 0, errDetached
	}
	if r.off >= int64(len(r.data)) {
		return 0, io.EOF
	}
	n := copy(p, r.data[r.off:])
	r.off += int64(n)
	return n, nil
}

// Seek moves the read offset, as bytes.Reader does.
func (r *detachableReader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone {
		return 0, errDetached
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = int64(len(r.data)) + offset
	default:
		return 0, errors.New("keep: s3 body: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("keep: s3 body: negative position")
	}
	r.off = abs
	return abs, nil
}

// detach lets go of the slice, waiting for a Read in progress to end.
func (r *detachableReader) detach() {
	r.mu.Lock()
	r.data, r.gone = nil, true
	r.mu.Unlock()
}

// errDetached is what a request body returns once its Put has returned.
var errDetached = errors.New("keep: s3 request body read after its Put returned")

var (
	_ io.ReadSeeker = (*detachableReader)(nil)
	_ Store         = (*S3Store)(nil)
	_ Refresher     = (*S3Store)(nil)
)
