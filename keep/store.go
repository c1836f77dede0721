package keep

import (
	"context"
	"crypto/md5"
	"errors"
)

// PutOptions says how a block is to be stored.
type PutOptions struct {
	// Copies is the number of replicas wanted; 0 means the store's default.
	Copies int
	// StorageClasses names the storage classes wanted; nil means the default.
	StorageClasses []string
	// MD5, when not nil, is the md5 of the data being stored, computed by
	// the caller from exactly these bytes. Stores in this package name the
	// block by it instead of hashing the data again, so that a Client's PUT
	// starts at once; a store that must verify what it receives still does
	// (a Keep server hashes the body it is sent and refuses a mismatch, an
	// S3 server checks the Content-MD5 made from it). A wrong sum given to
	// a store that trusts it (DirStore, MemoryStore) names the block wrongly:
	// a later Get reports it as ErrCorrupt. nil means the store hashes.
	MD5 *[md5.Size]byte
}

// sumOf returns the md5 of data: the one opts carries, or else md5.Sum.
func sumOf(data []byte, opts PutOptions) [md5.Size]byte {
	if opts.MD5 != nil {
		return *opts.MD5
	}
	return md5.Sum(data)
}

// Store is where blocks live. Implementations must be safe for concurrent
// use. Put returns the (possibly signed) locator of data; Get returns the
// block's bytes after verifying their md5 against the locator. The caller must
// not modify a slice returned by Get.
//
// Put must not retain data, nor any slice of it, once it returns (as with
// io.Writer): the engine recycles block buffers, and releases large ones to
// the operating system, as soon as their upload ends. A store that uploads
// asynchronously must copy.
//
// Every implementation in this package also promises:
//   - Put of zero bytes returns EmptyBlockLocator and Get of a locator naming
//     the empty block returns an empty, non-nil slice, both without any I/O.
//   - Put of more than BlockSize bytes fails with ErrBlockTooLarge.
//   - Get of a malformed locator fails with an error wrapping ErrInvalidLocator;
//     hints (signatures, +R…) are accepted and passed on to the backend.
//   - Errors that may go away on retry are marked with *TemporaryError (test
//     with IsTemporary); everything else is permanent. Context errors are
//     returned as they are and are never temporary.
type Store interface {
	Put(ctx context.Context, data []byte, opts PutOptions) (string, error)
	Get(ctx context.Context, locator string) ([]byte, error)
}

// Refresher is an optional capability of a Store: the engine type-asserts it
// when it must copy a remote block (a locator with a +R hint) to the local
// cluster, as the Python SDK's copy_remote_blocks does.
//
// RefreshSignature makes the block named by locator available locally and
// returns the local locator, signed if the store signs. It fails with an error
// wrapping ErrNotFound when the block cannot be found. Wrappers in this
// package (Cache, FaultStore, WithRetries) implement Refresher by forwarding;
// when the wrapped store does not, they fail with an error wrapping
// errors.ErrUnsupported.
type Refresher interface {
	RefreshSignature(ctx context.Context, locator string) (string, error)
}

// ErrNotFound is returned by Get for a block the store does not have.
var ErrNotFound = errors.New("keep: block not found")

// ErrCorrupt is returned by Get when a block's bytes do not match its md5.
var ErrCorrupt = errors.New("keep: block corrupt")
