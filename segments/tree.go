package segments

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"

	"github.com/arvfile/arvfile/keep"
)

// Reasons a name is refused as a path component or a tree change is refused.
// They are package-level values so the parser's checks cost no allocation.
var (
	errEmptyComponent = errors.New("empty path component")
	errDotComponent   = errors.New(`path component "." or ".."`)
	errNULComponent   = errors.New("path component with a NUL byte")
	errFileIsDir      = errors.New("a file and a directory with the same name")
)

// NewDir returns an empty directory, ready for MkdirAll and AddFile.
func NewDir() *Dir {
	return &Dir{Dirs: map[string]*Dir{}, Files: map[string]*File{}}
}

// MkdirAll returns the directory at the slash-separated path below d,
// creating every missing directory on the way (like os.MkdirAll). The path
// is relative to d; "" and "." name d itself. Errors are *fs.PathError
// wrapping fs.ErrInvalid for an empty, "." or ".." component or one with a
// NUL byte, or
// syscall.ENOTDIR when a component names an existing file; d is unchanged
// up to the failing component.
func (d *Dir) MkdirAll(path string) (*Dir, error) {
	if path == "" || path == "." {
		return d, nil
	}
	dir, err := d.walk(path)
	if err != nil {
		return nil, treeError("mkdir", path, err)
	}
	return dir, nil
}

// AddFile creates the file at the slash-separated path below d with the
// given segments, creating missing parent directories. The segments must
// be contiguous from RangeStart 0, none empty, each inside its block, whose
// locator must be valid; nil or empty segs make an empty file. AddFile keeps
// segs: the caller must not modify it afterwards. Errors are *fs.PathError
// wrapping fs.ErrExist when the name is taken (by a file or a directory),
// fs.ErrInvalid for a bad path or bad segments, or syscall.ENOTDIR when a
// parent component names a file. On error d gains no file.
func (d *Dir) AddFile(path string, segs []Range) error {
	if err := checkSegments(segs); err != nil {
		return &fs.PathError{Op: "addfile", Path: path, Err: err}
	}
	parent, base := d, path
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		var err error
		if err = checkComponent(path[i+1:]); err != nil {
			return treeError("addfile", path, err)
		}
		if parent, err = d.walk(path[:i]); err != nil {
			return treeError("addfile", path, err)
		}
		base = path[i+1:]
	}
	if err := checkComponent(base); err != nil {
		return treeError("addfile", path, err)
	}
	if parent.Dirs[base] != nil || parent.Files[base] != nil {
		return &fs.PathError{Op: "addfile", Path: path, Err: fs.ErrExist}
	}
	if parent.Files == nil {
		parent.Files = map[string]*File{}
	}
	parent.Files[base] = &File{Segments: segs}
	return nil
}

// treeError maps an internal tree error to the fs vocabulary.
func treeError(op, path string, err error) error {
	switch err {
	case errFileIsDir:
		return &fs.PathError{Op: op, Path: path, Err: syscall.ENOTDIR}
	default:
		return &fs.PathError{Op: op, Path: path, Err: fmt.Errorf("%w: %v", fs.ErrInvalid, err)}
	}
}

// checkSegments checks that segs describe a well-formed file.
func checkSegments(segs []Range) error {
	var end int64
	for i, s := range segs {
		switch {
		case s.RangeStart != end:
			return fmt.Errorf("%w: segment %d starts at %d, want %d", fs.ErrInvalid, i, s.RangeStart, end)
		case s.RangeSize <= 0:
			return fmt.Errorf("%w: segment %d has size %d", fs.ErrInvalid, i, s.RangeSize)
		case s.SegmentOffset < 0:
			return fmt.Errorf("%w: segment %d has offset %d", fs.ErrInvalid, i, s.SegmentOffset)
		}
		l, err := keep.ParseLocator(s.Locator)
		if err != nil {
			return fmt.Errorf("%w: segment %d: %w", fs.ErrInvalid, i, err)
		}
		size := l.Size()
		if s.SegmentOffset > size || s.RangeSize > size-s.SegmentOffset {
			return fmt.Errorf("%w: segment %d: bytes [%d, %d) are past the end of its %d-byte block",
				fs.ErrInvalid, i, s.SegmentOffset, s.SegmentOffset+s.RangeSize, size)
		}
		if end += s.RangeSize; end < 0 {
			return fmt.Errorf("%w: segment %d: file size overflows", fs.ErrInvalid, i)
		}
	}
	return nil
}

// checkComponent refuses names that cannot be one path component: "", ".",
// ".." and names holding a NUL byte (any other byte may be in a name, UTF-8
// or not). It does not look for "/": callers split paths on it first.
func checkComponent(name string) error {
	switch name {
	case "":
		return errEmptyComponent
	case ".", "..":
		return errDotComponent
	}
	if strings.IndexByte(name, 0) >= 0 {
		return errNULComponent
	}
	return nil
}

// walk returns the directory at the slash-separated relative path below d,
// creating missing directories.
func (d *Dir) walk(path string) (*Dir, error) {
	for {
		name, rest, more := strings.Cut(path, "/")
		var err error
		if d, err = d.subdir(name); err != nil {
			return nil, err
		}
		if !more {
			return d, nil
		}
		path = rest
	}
}

// subdir returns d's subdirectory called name, creating it when missing.
func (d *Dir) subdir(name string) (*Dir, error) {
	if sub := d.Dirs[name]; sub != nil {
		return sub, nil
	}
	if err := checkComponent(name); err != nil {
		return nil, err
	}
	if _, ok := d.Files[name]; ok {
		return nil, errFileIsDir
	}
	sub := NewDir()
	if d.Dirs == nil {
		d.Dirs = map[string]*Dir{}
	}
	d.Dirs[name] = sub
	return sub, nil
}
