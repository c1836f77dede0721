package arvfile

import (
	"errors"
	"io"
	"io/fs"
	"syscall"
	"unicode/utf8"
)

// FS returns the collection as an fs.FS, for fs.WalkDir, fs.Glob,
// http.FileServerFS, template.ParseFS and the like. It implements
// fs.ReadDirFS, fs.StatFS and fs.ReadFileFS; Open returns a *File for a
// file (open for reading) and a directory handle implementing
// fs.ReadDirFile for a directory. The FS is as safe for concurrent use as
// the collection and sees its changes.
//
// io/fs requires paths to be valid UTF-8 (fs.ValidPath), while a
// collection's names may hold any byte but "/" and NUL. Through the FS,
// names that are not fs.ValidPath are fs.ErrInvalid, and ReadDir leaves out
// the entries whose names are not valid UTF-8, so that what it lists can be
// opened and fs.WalkDir visits everything else. The Collection's own
// methods (Open, Stat, ReadDir, Rename, Remove, Copy…) reach every name.
func (c *Collection) FS() fs.FS { return collectionFS{c} }

type collectionFS struct{ c *Collection }

func invalid(op, name string) error { return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid} }

// Open opens the file or directory name.
func (s collectionFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, invalid("open", name)
	}
	if name != "." {
		f, err := s.c.Open(name)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EISDIR) {
			return nil, err
		}
	}
	info, err := s.c.Stat(name)
	if err != nil {
		return nil, err
	}
	return &dirFile{c: s.c, name: name, info: info}, nil
}

// Stat describes name.
func (s collectionFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, invalid("stat", name)
	}
	return s.c.Stat(name)
}

// ReadDir lists the directory name, sorted by name, without the entries
// whose names are not valid UTF-8.
func (s collectionFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, invalid("readdir", name)
	}
	list, err := s.c.ReadDir(name)
	return validEntries(list), err
}

// validEntries drops, in place, the entries of list whose names io/fs
// refuses (not valid UTF-8).
func validEntries(list []fs.DirEntry) []fs.DirEntry {
	kept := list[:0]
	for _, d := range list {
		if utf8.ValidString(d.Name()) {
			kept = append(kept, d)
		}
	}
	return kept
}

// ReadFile returns the content of the file name. It does not trust the
// size the manifest declares: its buffer grows with the bytes actually read
// (from readFileChunk on, doubling), so a crafted manifest that declares a
// huge file over a missing block costs a failed read, not the declared size.
func (s collectionFS) ReadFile(name string) ([]byte, error) {
	if !fs.ValidPath(name) {
		return nil, invalid("readfile", name)
	}
	f, err := s.c.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	data := make([]byte, 0, min(size, readFileChunk))
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := f.ReadAt(data[len(data):cap(data)], int64(len(data)))
		data = data[:len(data)+n]
		if err == io.EOF || err == nil && int64(len(data)) >= size {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readFileChunk is the first buffer of ReadFile for a file at least that
// large.
const readFileChunk = 1 << 20

// dirFile is an open directory of an FS.
type dirFile struct {
	c      *Collection
	name   string
	info   fs.FileInfo
	list   []fs.DirEntry // read at the first ReadDir
	read   bool
	closed bool
}

func (d *dirFile) Stat() (fs.FileInfo, error) {
	if d.closed {
		return nil, &fs.PathError{Op: "stat", Path: d.name, Err: fs.ErrClosed}
	}
	return d.info, nil
}

func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: syscall.EISDIR}
}

func (d *dirFile) Close() error {
	if d.closed {
		return &fs.PathError{Op: "close", Path: d.name, Err: fs.ErrClosed}
	}
	d.closed = true
	return nil
}

// ReadDir returns the next n entries (all the rest when n ≤ 0), as
// fs.ReadDirFile specifies.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.closed {
		return nil, &fs.PathError{Op: "readdir", Path: d.name, Err: fs.ErrClosed}
	}
	if !d.read {
		list, err := d.c.ReadDir(d.name)
		if err != nil {
			return nil, err
		}
		d.list, d.read = validEntries(list), true
	}
	if n <= 0 {
		list := d.list
		d.list = nil
		return list, nil
	}
	if len(d.list) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.list))
	list := d.list[:n:n]
	d.list = d.list[n:]
	return list, nil
}
