package keep

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidService is wrapped by every error about a bad Keep service
// description or service list.
var ErrInvalidService = errors.New("keep: invalid Keep service")

// ErrPermission is wrapped by the error of a call that a Keep server refused
// for want of permission: a bad, expired or missing signature, or a token the
// server does not accept (HTTP 400, 401 or 403 on a read; 401 or 403 on a
// write). It is permanent: trying again with the same locator and token
// cannot succeed.
var ErrPermission = errors.New("keep: permission denied")

// ErrReplicas is wrapped by the error of a Put that could not store the
// wanted replicas in every wanted storage class (see PutError).
var ErrReplicas = errors.New("keep: not enough replicas stored")

// ServerFailure is what one server answered to one request that failed.
type ServerFailure struct {
	// Service is the service's UUID; URL its base URL.
	Service, URL string
	// Status is the HTTP status, 0 when no answer came (connection error,
	// timeout).
	Status int
	// Err says what went wrong. It wraps ErrNotFound (404), ErrPermission,
	// ErrCorrupt (the bytes did not match the md5), or is a
	// *TemporaryError (5xx, connection errors, timeouts).
	Err error
}

// String describes the failure in one line.
func (f ServerFailure) String() string { return f.Service + ": " + f.Err.Error() }

// GetError reports a Get that no server answered with the block. It wraps
// exactly one of ErrNotFound (every server answered 404), ErrPermission (a
// server refused the signature or token), ErrCorrupt (no server had a good
// copy and at least one returned other bytes), or nothing; when a server
// failed temporarily and none refused permission, the GetError is itself
// wrapped in a *TemporaryError, for the block may be there.
type GetError struct {
	// Locator is the locator given to Get.
	Locator string
	// Failures lists every server tried, in rendezvous order.
	Failures []ServerFailure
	kind     error
}

// Error names the locator and what every server answered.
func (e *GetError) Error() string {
	what := "not read"
	if e.kind != nil {
		what = strings.TrimPrefix(e.kind.Error(), "keep: ")
	}
	return fmt.Sprintf("keep: get %s: %s (%s)", e.Locator, what, joinFailures(e.Failures))
}

// Unwrap returns ErrNotFound, ErrPermission, ErrCorrupt or nil.
func (e *GetError) Unwrap() error { return e.kind }

// PutError reports a Put that did not reach the wanted replicas in every
// wanted storage class. It wraps ErrReplicas (and ErrPermission when a
// server refused the token). When a server failed
// temporarily it is itself wrapped in a *TemporaryError, for a later attempt
// may reach the replicas; otherwise (every server refused, e.g. 507 for a
// storage class no server has, or permission) it is permanent.
type PutError struct {
	// Locator is the block's `md5+size`.
	Locator string
	// Wanted is the replicas wanted in each class; Classes the wanted
	// classes (none: the servers' default).
	Wanted  int
	Classes []string
	// Stored is how many replicas the servers confirmed, and StoredOn the
	// UUIDs of the services that confirmed them.
	Stored   int
	StoredOn []string
	// Confirmed is the replicas confirmed per storage class.
	Confirmed map[string]int
	// Failures lists every server that failed, in the order they answered.
	Failures []ServerFailure
}

// Error says how many replicas were wanted and got, where, and why not more.
func (e *PutError) Error() string {
	classes := ""
	if len(e.Classes) > 0 {
		classes = " in storage classes " + strings.Join(e.Classes, ",")
		var got []string
		for _, c := range e.Classes {
			got = append(got, fmt.Sprintf("%s=%d", c, e.Confirmed[c]))
		}
		classes += " (got " + strings.Join(got, ", ") + ")"
	}
	on := ""
	if len(e.StoredOn) > 0 {
		on = " on " + strings.Join(e.StoredOn, ", ")
	}
	return fmt.Sprintf("keep: put %s: wanted %d replicas%s, stored %d%s; failures: %s",
		e.Locator, e.Wanted, classes, e.Stored, on, joinFailures(e.Failures))
}

// Unwrap returns ErrReplicas, and ErrPermission too when a server refused
// the token.
func (e *PutError) Unwrap() []error {
	for _, f := range e.Failures {
		if errors.Is(f.Err, ErrPermission) {
			return []error{ErrReplicas, ErrPermission}
		}
	}
	return []error{ErrReplicas}
}

// joinFailures lists failures for an error message.
func joinFailures(fs []ServerFailure) string {
	if len(fs) == 0 {
		return "no server tried"
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.String()
	}
	return strings.Join(parts, "; ")
}
