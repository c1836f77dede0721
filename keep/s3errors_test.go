package keep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// s3Answer is how a scripted S3 server answers object requests.
type s3Answer struct {
	status  int
	code    string // S3 error code in an XML body; "" for no body
	headToo bool   // HEAD of an object gets status too (else 404)
}

// scriptedS3 is an S3 server on 127.0.0.1 that accepts the bucket check and
// answers every GET and PUT of an object as *answer says, or never (hang)
// until the request is cancelled.
func scriptedS3(t *testing.T, answer *atomic.Pointer[s3Answer], hang bool) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead && strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 0 {
			return // HEAD bucket: it exists
		}
		if r.Method == http.MethodHead && !hang {
			// HEAD object: the answer's status, without a body (as
			// for any HEAD), or "not found" to let a Put go on.
			if a := answer.Load(); a.headToo {
				w.WriteHeader(a.status)
			} else {
				w.WriteHeader(http.StatusNotFound)
			}
			return
		}
		if hang {
			<-r.Context().Done()
			return
		}
		a := answer.Load()
		if a.code == "" {
			w.WriteHeader(a.status)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(a.status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>scripted %d</Message></Error>`, a.code, a.status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func scriptedConfig(endpoint string) S3Config {
	return S3Config{Endpoint: endpoint, Bucket: "bucket", Region: "us-east-1", UsePathStyle: true,
		AccessKeyID: "AKID", SecretAccessKey: "SECRET"}
}

func TestS3StoreTellsTemporaryFromPermanentAnswers(t *testing.T) {
	var answer atomic.Pointer[s3Answer]
	answer.Store(&s3Answer{status: http.StatusOK})
	st, err := NewS3Store(context.Background(), scriptedConfig(scriptedS3(t, &answer, false)))
	require.NoError(t, err)
	cases := []struct {
		name      string
		answer    s3Answer
		temporary bool
		getIs     error // the sentinel a Get's error wraps; nil: none
		putIs     error // the same for a Put
	}{
		{"503 SlowDown (throttling) is temporary", s3Answer{status: 503, code: "SlowDown"}, true, nil, nil},
		{"503 without a body is temporary", s3Answer{status: 503}, true, nil, nil},
		{"500 InternalError is temporary", s3Answer{status: 500, code: "InternalError"}, true, nil, nil},
		{"429 is temporary", s3Answer{status: 429, code: "TooManyRequests"}, true, nil, nil},
		{"400 RequestTimeout is temporary", s3Answer{status: 400, code: "RequestTimeout"}, true, nil, nil},
		{"400 BadDigest (bytes damaged on the way) is temporary", s3Answer{status: 400, code: "BadDigest"}, true, nil, nil},
		{"404 NoSuchKey is ErrNotFound for a Get", s3Answer{status: 404, code: "NoSuchKey"}, false, ErrNotFound, nil},
		{"404 NoSuchBucket is ErrS3NoSuchBucket", s3Answer{status: 404, code: "NoSuchBucket"}, false, ErrS3NoSuchBucket, ErrS3NoSuchBucket},
		{"403 AccessDenied is ErrS3AccessDenied", s3Answer{status: 403, code: "AccessDenied"}, false, ErrS3AccessDenied, ErrS3AccessDenied},
		{"403 SignatureDoesNotMatch is ErrS3AccessDenied", s3Answer{status: 403, code: "SignatureDoesNotMatch"}, false, ErrS3AccessDenied, ErrS3AccessDenied},
		{"400 ExpiredToken is ErrS3AccessDenied", s3Answer{status: 400, code: "ExpiredToken"}, false, ErrS3AccessDenied, ErrS3AccessDenied},
		{"400 InvalidArgument is permanent", s3Answer{status: 400, code: "InvalidArgument"}, false, nil, nil},
		{"301 PermanentRedirect (wrong region) is permanent", s3Answer{status: 301, code: "PermanentRedirect"}, false, nil, nil},
	}
	sentinels := []error{ErrNotFound, ErrS3NoSuchBucket, ErrS3AccessDenied}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answer.Store(&tc.answer)
			data, getErr := st.Get(context.Background(), helloLocator)
			assert.Nil(t, data)
			_, putErr := st.Put(context.Background(), []byte("hello"), PutOptions{})
			for op, c := range map[string]struct {
				err error
				is  error
			}{"get": {getErr, tc.getIs}, "put": {putErr, tc.putIs}} {
				require.Error(t, c.err, op)
				assert.Equal(t, tc.temporary, IsTemporary(c.err), "%s: %v", op, c.err)
				for _, sentinel := range sentinels {
					assert.Equal(t, sentinel == c.is, errors.Is(c.err, sentinel), "%s: errors.Is(%v): %v", op, sentinel, c.err)
				}
				if c.is == ErrNotFound {
					assert.EqualError(t, c.err, "keep: block not found: "+helloLocator)
					continue
				}
				var s3err *S3Error
				require.ErrorAs(t, c.err, &s3err, op)
				assert.Equal(t, S3Error{Op: op, Bucket: "bucket", Key: "5d41402abc4b2a76b9719d911017c592",
					StatusCode: tc.answer.status, Code: s3err.Code, Message: s3err.Message, kind: c.is}, *s3err)
				if tc.answer.code != "" {
					assert.Equal(t, tc.answer.code, s3err.Code)
					assert.Equal(t, fmt.Sprintf("scripted %d", tc.answer.status), s3err.Message)
				}
			}
		})
	}
}

func TestS3StoreTellsBodilessAnswersToHEADByTheirStatus(t *testing.T) {
	var answer atomic.Pointer[s3Answer]
	answer.Store(&s3Answer{status: http.StatusOK})
	st, err := NewS3Store(context.Background(), scriptedConfig(scriptedS3(t, &answer, false)))
	require.NoError(t, err)
	cases := []struct {
		status    int
		temporary bool
		is        error
		message   string
	}{
		{503, true, nil, "keep: temporary failure: keep: s3 head bucket/5d41402abc4b2a76b9719d911017c592: 503 ServiceUnavailable: Service Unavailable"},
		{500, true, nil, "keep: temporary failure: keep: s3 head bucket/5d41402abc4b2a76b9719d911017c592: 500 InternalServerError: Internal Server Error"},
		{403, false, ErrS3AccessDenied, "keep: s3 head bucket/5d41402abc4b2a76b9719d911017c592: 403 Forbidden: Forbidden"},
		{404, false, ErrNotFound, "keep: block not found: " + helloLocator},
		{400, false, nil, "keep: s3 head bucket/5d41402abc4b2a76b9719d911017c592: 400 BadRequest: Bad Request"},
	}
	for _, tc := range cases {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			answer.Store(&s3Answer{status: tc.status, headToo: true})
			_, err := st.RefreshSignature(context.Background(), helloLocator)
			assert.EqualError(t, err, tc.message)
			assert.Equal(t, tc.temporary, IsTemporary(err))
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
		})
	}
}

func TestS3StoreTimeoutsAndRefusedConnectionsAreTemporary(t *testing.T) {
	var answer atomic.Pointer[s3Answer]
	hanging := scriptedS3(t, &answer, true)

	t.Run("a request that outlives RequestTimeout is temporary", func(t *testing.T) {
		cfg := scriptedConfig(hanging)
		cfg.RequestTimeout = 200 * time.Millisecond
		st, err := NewS3Store(context.Background(), cfg)
		require.NoError(t, err)
		_, err = st.Get(context.Background(), helloLocator)
		assert.True(t, IsTemporary(err), "%v", err)
		assert.ErrorContains(t, err, "keep: s3 get bucket/5d41402abc4b2a76b9719d911017c592: no answer within 200ms")
		_, err = st.Put(context.Background(), []byte("hello"), PutOptions{})
		assert.True(t, IsTemporary(err), "%v", err)
	})

	t.Run("the caller's deadline is returned as it is, not temporary", func(t *testing.T) {
		st, err := NewS3Store(context.Background(), scriptedConfig(hanging))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err = st.Get(ctx, helloLocator)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, IsTemporary(err))
	})

	t.Run("a refused connection is temporary", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		closed := "http://" + l.Addr().String()
		require.NoError(t, l.Close())
		st, err := NewS3Store(context.Background(), scriptedConfig(closed))
		assert.Nil(t, st)
		assert.True(t, IsTemporary(err), "%v", err)
		assert.ErrorContains(t, err, "connection refused")
	})
}

// failingReader returns its bytes, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadObjectTellsAShortBodyFromALongOne(t *testing.T) {
	reset := errors.New("connection reset by peer")
	cases := []struct {
		name      string
		body      io.Reader
		want      []byte
		temporary bool
		err       string
	}{
		{"a body of the expected size comes back whole", strings.NewReader("hello"), []byte("hello"), false, ""},
		{"a longer body comes back with one byte more, for VerifyBlock to refuse", strings.NewReader("hello!!"), []byte("hello!"), false, ""},
		{"a body that ends early is a temporary failure", strings.NewReader("hel"), nil, true,
			"keep: temporary failure: body ended after 3 of 5 bytes"},
		{"an empty body is a temporary failure", strings.NewReader(""), nil, true,
			"keep: temporary failure: body ended after 0 of 5 bytes"},
		{"a read error is returned as it is", &failingReader{data: []byte("he"), err: reset}, nil, false,
			"connection reset by peer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readObject(tc.body, 5)
			assert.Equal(t, tc.want, got)
			if tc.err == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tc.err)
			assert.Equal(t, tc.temporary, IsTemporary(err))
		})
	}
}
