package keep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ErrS3AccessDenied is wrapped by the errors of an S3Store whose credentials
// are missing or refused (InvalidAccessKeyId, SignatureDoesNotMatch, an
// expired token, …) or lack a permission (any 403 answer). It is permanent.
var ErrS3AccessDenied = errors.New("keep: s3: access denied")

// ErrS3NoSuchBucket is wrapped by the errors of an S3Store whose bucket does
// not exist. It is permanent.
var ErrS3NoSuchBucket = errors.New("keep: s3: no such bucket")

// S3Error is an error answer of an S3 server to an S3Store request. Get it
// with errors.As; errors.Is sees through it to ErrNotFound (a 404 to a GET or
// HEAD of an object), ErrS3NoSuchBucket or ErrS3AccessDenied when the answer
// means one of them.
// An S3Error for a 5xx, 429, 408 or a SlowDown, RequestTimeout or BadDigest
// code is wrapped in a *TemporaryError.
type S3Error struct {
	// Op is the request: "get", "put", "head" (of an object) or "head bucket".
	Op string
	// Bucket is the store's bucket.
	Bucket string
	// Key is the object's key, "" for a request about the bucket.
	Key string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is the S3 error code ("NoSuchKey", "SlowDown", …). An answer to
	// HEAD has no body, so its Code is the SDK's name for the status
	// ("NotFound", "Forbidden", …).
	Code string
	// Message is the server's message, if any.
	Message string

	// kind is the sentinel the answer means, or nil.
	kind error
}

// Error describes the request and the answer.
func (e *S3Error) Error() string {
	what := e.Bucket
	if e.Key != "" {
		what += "/" + e.Key
	}
	msg := fmt.Sprintf("keep: s3 %s %s: %d %s", e.Op, what, e.StatusCode, e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap returns ErrNotFound, ErrS3NoSuchBucket, ErrS3AccessDenied or nil.
func (e *S3Error) Unwrap() error { return e.kind }

// temporary reports whether the same request may succeed later.
func (e *S3Error) temporary() bool {
	switch e.Code {
	case "SlowDown", "RequestTimeout", "BadDigest":
		// BadDigest: the body did not match its Content-MD5 on arrival, so
		// it was damaged on the way; sending it again may well work.
		return true
	}
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests ||
		e.StatusCode == http.StatusRequestTimeout
}

// s3OpKind says whether a request was about an object or the bucket, which
// decides what a bodiless 404 means.
type s3OpKind int

const (
	objectOp s3OpKind = iota
	bucketOp
)

// s3AccessCodes are the error codes of refused credentials that do not come
// with a 403.
var s3AccessCodes = map[string]bool{
	"AccessDenied": true, "InvalidAccessKeyId": true, "SignatureDoesNotMatch": true,
	"ExpiredToken": true, "InvalidToken": true, "TokenRefreshRequired": true,
	"AuthorizationHeaderMalformed": true,
}

// meaning returns the sentinel an answer means.
func (e *S3Error) meaning(kind s3OpKind) error {
	switch {
	case e.StatusCode == http.StatusForbidden || s3AccessCodes[e.Code]:
		return ErrS3AccessDenied
	case e.Code == "NoSuchBucket" || (kind == bucketOp && e.StatusCode == http.StatusNotFound):
		return ErrS3NoSuchBucket
	case e.StatusCode == http.StatusNotFound && e.Op != "put":
		return ErrNotFound
	}
	return nil
}

// classify turns an error of a request made under rctx (derived from the
// caller's ctx with the store's request timeout) into the Store's error
// vocabulary: the caller's context error when ctx ended; an *S3Error (maybe
// temporary) for an answer of the server; a temporary error when there was
// no answer (connection refused or reset, request timeout); else the error,
// permanent.
func (s *S3Store) classify(ctx, rctx context.Context, op, key string, err error, kind s3OpKind) error {
	what := s.bucket
	if key != "" {
		what += "/" + key
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("keep: s3 %s %s: %w", op, what, cerr)
	}
	if errors.Is(err, ErrS3AccessDenied) {
		return fmt.Errorf("keep: s3 %s %s: %w", op, what, err)
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() != 0 {
		e := &S3Error{Op: op, Bucket: s.bucket, Key: key, StatusCode: status.HTTPStatusCode()}
		var api smithy.APIError
		if errors.As(err, &api) {
			e.Code, e.Message = api.ErrorCode(), api.ErrorMessage()
		}
		e.kind = e.meaning(kind)
		if e.temporary() {
			return Temporary(e)
		}
		return e
	}
	if rctx.Err() != nil {
		return Temporary(fmt.Errorf("keep: s3 %s %s: no answer within %v: %w", op, what, s.timeout, err))
	}
	if IsTemporary(err) {
		return fmt.Errorf("keep: s3 %s %s: %w", op, what, err)
	}
	var send *smithyhttp.RequestSendError
	var netErr net.Error
	if errors.As(err, &send) || errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Temporary(fmt.Errorf("keep: s3 %s %s: %w", op, what, err))
	}
	return fmt.Errorf("keep: s3 %s %s: %w", op, what, err)
}

// markedCredentials marks a failure to obtain credentials with
// ErrS3AccessDenied (unless the caller's context ended).
type markedCredentials struct {
	aws.CredentialsProvider
}

// Retrieve returns the wrapped provider's credentials.
func (m markedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := m.CredentialsProvider.Retrieve(ctx)
	if err != nil && ctx.Err() == nil {
		return c, fmt.Errorf("%w: no credentials: %w", ErrS3AccessDenied, err)
	}
	return c, err
}
