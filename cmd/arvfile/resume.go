package main

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/segments"
)

// The resume cache lets a put that is run again (after an interruption, or
// on a tree that barely changed) reuse the blocks already stored instead of
// reading and hashing every file again.
//
// It maps a file's absolute path to the size and modification time it had
// when it was stored and to its segments (locators as the store returned
// them, offsets and lengths). A file whose size and mtime are unchanged is
// not read: its segments go into the new collection as they are, once every
// block they name is confirmed to be in the store (blockChecker: a keep
// directory stats the block file, an S3 bucket answers a HEAD; other stores
// read the block) and no permission signature
// among them has expired. put writes the cache at every checkpoint (every
// --checkpoint bytes read), when interrupted by a signal, and at the end, so
// a killed put loses at most the files since the last checkpoint.
//
// There is one cache file per store, at
// $XDG_CACHE_HOME/arvfile/resume-<md5 of the store's id>.gob (a gob, since
// paths need not be UTF-8); --no-resume ignores it and leaves it alone.
type resumeCache struct {
	path    string
	entries map[string]cacheEntry
	dirty   bool
}

// cacheEntry is what the cache knows of one file.
type cacheEntry struct {
	Size  int64
	MTime int64 // nanoseconds since 1970
	Segs  []segments.Range
}

// openResumeCache reads the cache of the store id; a missing or unreadable
// cache is empty (with a warning in the second case).
func openResumeCache(getenv func(string) string, id string, warn func(string)) (*resumeCache, error) {
	dir, err := cacheDir(getenv)
	if err != nil {
		return nil, err
	}
	sum := md5.Sum([]byte(id))
	rc := &resumeCache{path: filepath.Join(dir, "resume-"+hex.EncodeToString(sum[:])+".gob"), entries: map[string]cacheEntry{}}
	f, err := os.Open(rc.path)
	if errors.Is(err, fs.ErrNotExist) {
		return rc, nil
	}
	if err != nil {
		warn(fmt.Sprintf("resume cache: %v (starting afresh)", err))
		return rc, nil
	}
	defer f.Close()
	if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&rc.entries); err != nil {
		warn(fmt.Sprintf("resume cache %s: %v (starting afresh)", rc.path, err))
		rc.entries = map[string]cacheEntry{}
	}
	return rc, nil
}

// lookup returns the entry for f when its size and mtime still match.
func (rc *resumeCache) lookup(f putFile) (cacheEntry, bool) {
	if rc == nil || f.abs == "" {
		return cacheEntry{}, false
	}
	e, ok := rc.entries[f.abs]
	return e, ok && e.Size == f.size && e.MTime == f.mtime
}

// record remembers f's segments.
func (rc *resumeCache) record(f putFile, segs []segments.Range) {
	if rc == nil || f.abs == "" {
		return
	}
	rc.entries[f.abs] = cacheEntry{Size: f.size, MTime: f.mtime, Segs: segs}
	rc.dirty = true
}

// save writes the cache (to a temporary file renamed into place) when it
// changed.
func (rc *resumeCache) save() error {
	if rc == nil || !rc.dirty {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(rc.path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(rc.path), filepath.Base(rc.path)+".tmp-*")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(tmp)
	err = gob.NewEncoder(w).Encode(rc.entries)
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), rc.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("resume cache: %w", err)
	}
	rc.dirty = false
	return nil
}

// blockChecker is a store that can tell cheaply whether it has a block
// (keep.DirStore stats the file, keep.S3Store and keep.Client send HEAD).
// Any other store is asked with a Get, which reads the block.
type blockChecker interface {
	Has(ctx context.Context, locator string) (bool, error)
}

var (
	_ blockChecker = (*keep.DirStore)(nil)
	_ blockChecker = (*keep.S3Store)(nil)
	_ blockChecker = (*keep.Client)(nil)
)

// blockValidator confirms that blocks named in the cache are still stored,
// each block once.
type blockValidator struct {
	ctx  context.Context
	st   keep.Store
	now  time.Time
	seen map[string]bool
}

// valid reports whether every block of segs can be used in a new collection.
func (v *blockValidator) valid(segs []segments.Range) (bool, error) {
	for _, s := range segs {
		ok, known := v.seen[s.Locator]
		if !known {
			var err error
			ok, err = v.check(s.Locator)
			if err != nil {
				return false, err
			}
			v.seen[s.Locator] = ok
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func (v *blockValidator) check(locator string) (bool, error) {
	l, err := keep.ParseLocator(locator)
	if err != nil || l.PermissionExpired(v.now.Add(time.Hour)) || l.IsRemote() {
		return false, nil
	}
	if bc, ok := v.st.(blockChecker); ok {
		return bc.Has(v.ctx, locator)
	}
	_, err = v.st.Get(v.ctx, locator)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, keep.ErrNotFound), errors.Is(err, keep.ErrCorrupt):
		return false, nil
	}
	return false, err
}
