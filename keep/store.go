package keep

import (
	"context"
	"errors"
)

// PutOptions says how a block is to be stored.
type PutOptions struct {
	// Copies is the number of replicas wanted; 0 means the store's default.
	Copies int
	// StorageClasses names the storage classes wanted; nil means the default.
	StorageClasses []string
}

// Store is where blocks live. Implementations are safe for concurrent use.
// CONTRACT: Put returns the (possibly signed) locator of data; Get returns the
// block's bytes after verifying their md5 against the locator. The caller must
// not modify a slice returned by Get.
type Store interface {
	Put(ctx context.Context, data []byte, opts PutOptions) (string, error)
	Get(ctx context.Context, locator string) ([]byte, error)
}

// ErrNotFound is returned by Get for a block the store does not have.
var ErrNotFound = errors.New("keep: block not found")

// ErrCorrupt is returned by Get when a block's bytes do not match its md5.
var ErrCorrupt = errors.New("keep: block corrupt")
