package keep

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// This file holds the DirStore's maintenance calls, used by `arvfile fsck`
// and `arvfile gc`: list the blocks, check one exists, remove one, and find
// and remove the temporary files that an interrupted Put leaves behind.

// DirBlock is one block file of a DirStore, as Blocks lists it.
type DirBlock struct {
	// Locator is the block's unsigned `md5+size`, its size taken from the
	// file (a damaged file may be of another size than the block it stood for).
	Locator string
	// ModTime is the file's modification time.
	ModTime time.Time
}

// TempFile is a temporary file left in a DirStore by a Put that did not
// finish (a crash, a kill).
type TempFile struct {
	// Path is the file's path.
	Path string
	// Size is its size in bytes.
	Size int64
	// ModTime is its modification time.
	ModTime time.Time
}

// Blocks lists every block file of the store, sorted by locator. Only files
// named `<root>/<3 hex>/<32 hex md5>` whose md5 starts with their directory's
// name count; anything else in the tree (temporary files, other files) is
// left out.
func (d *DirStore) Blocks(ctx context.Context) ([]DirBlock, error) {
	var out []DirBlock
	err := d.scan(ctx, func(dir, name string, info fs.FileInfo) {
		if dirStoreValidHash(name) && strings.HasPrefix(name, dir) && info.Mode().IsRegular() {
			out = append(out, DirBlock{Locator: fmt.Sprintf("%s+%d", name, info.Size()), ModTime: info.ModTime()})
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Locator < out[j].Locator })
	return out, err
}

// TempFiles lists the temporary files of the store (`<md5>.tmp-*` in a block
// directory, as Put names them) last modified before olderThan, sorted by
// path. A Put still running has a recent one: pass a time far enough in the
// past.
func (d *DirStore) TempFiles(ctx context.Context, olderThan time.Time) ([]TempFile, error) {
	var out []TempFile
	err := d.scan(ctx, func(dir, name string, info fs.FileInfo) {
		if isTempIn(dir, name) && info.Mode().IsRegular() && info.ModTime().Before(olderThan) {
			out = append(out, TempFile{Path: filepath.Join(d.root, dir, name), Size: info.Size(), ModTime: info.ModTime()})
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// isTempIn reports whether name, in the block directory dir, is a temporary
// file of Put (isTempName) whose block belongs in that directory.
func isTempIn(dir, name string) bool {
	return isTempName(name) && strings.HasPrefix(name, dir)
}

// scan calls fn for every entry of every block directory (`<root>/<3 hex>`).
func (d *DirStore) scan(ctx context.Context, fn func(dir, name string, info fs.FileInfo)) error {
	dirs, err := os.ReadDir(d.root)
	if err != nil {
		return fmt.Errorf("keep: dir store: %w", err)
	}
	for _, de := range dirs {
		if !de.IsDir() || len(de.Name()) != 3 || !isLowerHex(de.Name()) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := os.ReadDir(filepath.Join(d.root, de.Name()))
		if err != nil {
			return fmt.Errorf("keep: dir store: %w", err)
		}
		for _, e := range entries {
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since the listing
			}
			if err != nil {
				return fmt.Errorf("keep: dir store: %w", err)
			}
			fn(de.Name(), e.Name(), info)
		}
	}
	return nil
}

// Has reports whether the store holds a file for the block named by locator
// (hints are ignored) of the locator's size, without reading it: a cheap
// check that the block is there, not that its bytes are intact (Get does
// that). The empty block is always there.
func (d *DirStore) Has(ctx context.Context, locator string) (bool, error) {
	loc, empty, err := parseGetLocator(locator)
	if err != nil {
		return false, err
	}
	if empty {
		return true, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if !dirStoreValidHash(loc.Hash()) {
		return false, fmt.Errorf("%w: %q is not an md5", ErrInvalidLocator, loc.Hash())
	}
	_, final := d.paths(loc.Hash())
	info, err := os.Stat(final)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("keep: stat %s: %w", loc.Stripped(), err)
	}
	return info.Mode().IsRegular() && info.Size() == loc.Size(), nil
}

// RemoveBlock deletes the file of the block named by locator (hints are
// ignored). A block that is not there is ErrNotFound.
func (d *DirStore) RemoveBlock(locator string) error {
	loc, empty, err := parseGetLocator(locator)
	if err != nil {
		return err
	}
	if empty || !dirStoreValidHash(loc.Hash()) {
		return fmt.Errorf("%w: %s has no block file", ErrInvalidLocator, locator)
	}
	_, final := d.paths(loc.Hash())
	err = os.Remove(final)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, loc.Stripped())
	}
	if err != nil {
		return fmt.Errorf("keep: remove %s: %w", loc.Stripped(), err)
	}
	return nil
}

// RemoveTempFile deletes a temporary file that TempFiles listed. It refuses
// (fs.ErrInvalid) any path that is not a temporary file's name in one of the
// store's block directories.
func (d *DirStore) RemoveTempFile(path string) error {
	dir, name := filepath.Split(path)
	dir = filepath.Clean(dir)
	if filepath.Dir(dir) != filepath.Clean(d.root) || !isTempIn(filepath.Base(dir), name) {
		return &fs.PathError{Op: "remove", Path: path, Err: fs.ErrInvalid}
	}
	return os.Remove(path)
}
