package keep

import "context"

// Verified returns a Store whose Get checks every block it returns against
// its locator's md5 and size (VerifyBlock) and fails with an error wrapping
// ErrCorrupt when they differ, so that a store that breaks the Store
// contract (a faulty disk, a proxy that mangles bytes, a FaultStore) can
// never hand out wrong bytes. Put and RefreshSignature pass through. When s
// is known to verify its own Gets (a DirStore or a MemoryStore, possibly
// under WithRetries, or a Cache) it is returned as it is, so no block is
// hashed twice.
func Verified(s Store) Store {
	if verifiesGets(s) {
		return s
	}
	return verifiedStore{s}
}

// verifiesGets reports whether every block s's Get returns is known to match
// its locator: DirStore, Client and S3Store check what they read, MemoryStore
// checks at Put, or at the first Get a block stored under a caller's sum, a retrying or verifying wrapper of any of
// them returns their bytes, and a Cache verifies what it fetches. The concrete types are
// matched exactly, so a type that embeds one of them and replaces its Get
// is not trusted.
func verifiesGets(s Store) bool {
	switch s := s.(type) {
	case *DirStore, *MemoryStore, *Client, *S3Store, *Cache, verifiedStore:
		return true
	case *retryStore:
		return verifiesGets(s.inner)
	}
	return false
}

// verifiedStore is the Store returned by Verified.
type verifiedStore struct{ inner Store }

// Put passes through.
func (v verifiedStore) Put(ctx context.Context, data []byte, opts PutOptions) (string, error) {
	return v.inner.Put(ctx, data, opts)
}

// Get returns the inner store's block once it matches the locator.
func (v verifiedStore) Get(ctx context.Context, locator string) ([]byte, error) {
	loc, empty, err := parseGetLocator(locator)
	if err != nil {
		return nil, err
	}
	if empty {
		return []byte{}, nil
	}
	data, err := v.inner.Get(ctx, locator)
	if err != nil {
		return nil, err
	}
	if err := VerifyBlock(loc, data); err != nil {
		return nil, err
	}
	return data, nil
}

// RefreshSignature forwards to the inner store if it is a Refresher.
func (v verifiedStore) RefreshSignature(ctx context.Context, locator string) (string, error) {
	return refreshVia(ctx, v.inner, locator)
}
