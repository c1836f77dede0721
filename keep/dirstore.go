package keep

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// DirStore is the embedded, durable Store: blocks are files in a directory
// tree, one file per block at `<root>/<first 3 hex digits of the md5>/<md5>`.
// It is safe for concurrent use, by several goroutines and several processes.
//
// A Put goes: hash the data; if the block's file already exists with the
// same bytes, return at once; otherwise write the data to a new temporary
// file (`<md5>.tmp-*`) in the block's directory, fsync it, rename it to its
// final name and fsync the directory. The rename is atomic, so a Get sees
// either no block or the whole block: a full disk, a permission error or a
// crash before the rename leaves at most a temporary file, which Get never
// reads. Concurrent Puts of the same block each write their own temporary
// file; the last rename wins and both renames carry the same bytes.
//
// NewDirStore removes the temporary files a killed process left behind:
// those last modified more than StaleTempAge ago (a younger one may belong
// to a Put still running in another process). Listing every block directory
// costs a fraction of a second in a store of a few hundred thousand blocks,
// so it runs at most once per StaleTempAge: the file `.arvfile-swept` in the
// root records when it last ran.
//
// Files are created with mode 0666 and directories with 0777, less the
// process's umask (as os.Create and os.Mkdir do), so the directory's other
// users can read the blocks when the umask lets them.
//
// A Get parses the locator (only a validated md5 ever becomes a path), reads
// the file and verifies its size and md5: ErrNotFound when the file is
// missing, ErrCorrupt when its bytes do not match. Put returns unsigned
// `md5+size` locators; Get ignores hints.
type DirStore struct {
	root string
	// beforeRename, when set (by tests), runs after the temporary file is
	// written and synced and before it is renamed; an error aborts the Put.
	beforeRename func(tmpPath string) error
}

// StaleTempAge is how old a DirStore's temporary file must be for
// NewDirStore to remove it as left behind by a killed process.
const StaleTempAge = time.Hour

// NewDirStore returns a DirStore rooted at root, creating the directory (and
// its parents) if needed, and removes the stale temporary files under it
// (see DirStore; failures to remove one are ignored: it is tried again at
// the next open). It fails if root exists and is not a directory.
func NewDirStore(root string) (*DirStore, error) {
	if err := os.MkdirAll(root, 0o777); err != nil {
		return nil, fmt.Errorf("keep: dir store: %w", err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("keep: dir store: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("keep: dir store: %s is not a directory", root)
	}
	d := &DirStore{root: root}
	d.sweepTempsNow(time.Now())
	return d, nil
}

// sweptMarker is the file in a DirStore's root whose modification time says
// when NewDirStore last swept stale temporary files.
const sweptMarker = ".arvfile-swept"

// sweepTempsNow sweeps stale temporary files unless the last sweep was less
// than StaleTempAge before now, and records the sweep. A root the process
// cannot write is swept every time (nothing would be removed anyway).
func (d *DirStore) sweepTempsNow(now time.Time) {
	marker := filepath.Join(d.root, sweptMarker)
	if info, err := os.Stat(marker); err == nil && now.Sub(info.ModTime()) < StaleTempAge && !info.ModTime().After(now) {
		return
	}
	d.sweepTemps(now.Add(-StaleTempAge))
	if f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666); err == nil {
		f.Close()
		_ = os.Chtimes(marker, now, now)
	}
}

// sweepTemps removes the temporary files under the block directories last
// modified before cutoff. Only names a Put makes are considered, and only
// regular files are removed.
func (d *DirStore) sweepTemps(cutoff time.Time) {
	dirs, err := os.ReadDir(d.root)
	if err != nil {
		return
	}
	for _, de := range dirs {
		if !de.IsDir() || len(de.Name()) != 3 || !isLowerHex(de.Name()) {
			continue
		}
		d.sweepDir(filepath.Join(d.root, de.Name()), cutoff)
	}
}

// sweepDir is sweepTemps for one block directory.
func (d *DirStore) sweepDir(dir string, cutoff time.Time) {
	f, err := os.Open(dir)
	if err != nil {
		return
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	for _, name := range names {
		if !isTempName(name) {
			continue
		}
		path := filepath.Join(dir, name)
		info, err := os.Lstat(path)
		if err == nil && info.Mode().IsRegular() && info.ModTime().Before(cutoff) {
			_ = os.Remove(path)
		}
	}
}

// isTempName reports whether name is that of a Put's temporary file,
// `<md5>.tmp-<suffix>`.
func isTempName(name string) bool {
	const sep = ".tmp-"
	n := 2 * md5.Size
	return len(name) > n+len(sep) && dirStoreValidHash(name[:n]) && name[n:n+len(sep)] == sep
}

// Root returns the directory the store was opened on.
func (d *DirStore) Root() string { return d.root }

// Put stores data durably and returns `md5+size`, naming the block by
// opts.MD5 when given (else it hashes data). When it fails, no block named
// by that locator becomes visible unless it was already stored.
func (d *DirStore) Put(ctx context.Context, data []byte, opts PutOptions) (string, error) {
	if err := checkPutSize(data); err != nil {
		return "", err
	}
	if len(data) == 0 {
		return EmptyBlockLocator, nil
	}
	sum := sumOf(data, opts)
	hash := hex.EncodeToString(sum[:])
	locator := hash + "+" + strconv.Itoa(len(data))
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dir, final := d.paths(hash)
	if holds(final, data) {
		return locator, nil
	}
	if err := d.ensureDir(dir); err != nil {
		return "", fmt.Errorf("keep: put %s: %w", locator, err)
	}
	if err := d.writeBlock(dir, hash, final, data); err != nil {
		return "", fmt.Errorf("keep: put %s: %w", locator, err)
	}
	return locator, nil
}

// holds reports whether the file at path already holds exactly data. A
// block file damaged on disk (same size, other bytes) is rewritten by the
// Put that finds it, instead of being trusted because of its name.
func holds(path string, data []byte) bool {
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() || info.Size() != int64(len(data)) {
		return false
	}
	stored, err := os.ReadFile(path)
	return err == nil && bytes.Equal(stored, data)
}

// writeBlock writes data to a temporary file in dir, syncs it, renames it to
// final and syncs dir. On failure it removes the temporary file.
func (d *DirStore) writeBlock(dir, hash, final string, data []byte) (err error) {
	tmp, err := createTemp(dir, hash)
	if err != nil {
		return err
	}
	tmpPath := tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpPath)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if d.beforeRename != nil {
		if err = d.beforeRename(tmpPath); err != nil {
			return err
		}
	}
	if err = os.Rename(tmpPath, final); err != nil {
		return err
	}
	return syncDir(dir)
}

// createTemp creates a new temporary file `<hash>.tmp-<random>` in dir with
// mode 0666 less the umask (os.CreateTemp would make it 0600).
func createTemp(dir, hash string) (*os.File, error) {
	for try := 0; ; try++ {
		path := filepath.Join(dir, hash+".tmp-"+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) && try < 10 {
			continue
		}
		return f, err
	}
}

// ensureDir creates the block's directory if it is missing, and then syncs
// the root so the new directory survives a crash.
func (d *DirStore) ensureDir(dir string) error {
	err := os.Mkdir(dir, 0o777)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return syncDir(d.root)
}

// Get reads the block named by locator and verifies its size and md5.
func (d *DirStore) Get(ctx context.Context, locator string) ([]byte, error) {
	loc, empty, err := beginGet(ctx, locator)
	if err != nil {
		return nil, err
	}
	if empty {
		return []byte{}, nil
	}
	hash := loc.Hash()
	if !dirStoreValidHash(hash) {
		return nil, fmt.Errorf("%w: %q is not an md5", ErrInvalidLocator, hash)
	}
	_, final := d.paths(hash)
	data, err := readBlockFile(final, loc.Size())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, loc.Stripped())
	}
	if err != nil {
		return nil, fmt.Errorf("keep: get %s: %w", loc.Stripped(), err)
	}
	if err := VerifyBlock(loc, data); err != nil {
		return nil, err
	}
	return data, nil
}

// readBlockFile reads the file at path, expecting size bytes. A file of
// another size is returned as read (up to size+1 bytes) so that the caller's
// verification reports it.
func readBlockFile(path string, size int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() < size {
		size = info.Size() // a short file: allocate what is there
	}
	data := make([]byte, size+1)
	n, err := io.ReadFull(f, data)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return data[:n], err
}

// paths returns the directory and the file name of the block with md5 hash,
// which must already be validated.
func (d *DirStore) paths(hash string) (dir, file string) {
	dir = filepath.Join(d.root, hash[:3])
	return dir, filepath.Join(dir, hash)
}

// dirStoreValidHash reports whether hash is 32 lower-case hex digits, the
// only strings DirStore turns into paths.
func dirStoreValidHash(hash string) bool {
	return len(hash) == 2*md5.Size && isLowerHex(hash)
}

// syncDir fsyncs the directory at path so that entries created or renamed
// in it are durable.
func syncDir(path string) error {
	dir, err := os.Open(path)
	if err != nil {
		return err
	}
	err = dir.Sync()
	if cerr := dir.Close(); err == nil {
		err = cerr
	}
	return err
}
