package main

import (
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lstatAt describes the entry name of the open directory dir without
// following a symbolic link, as os.Lstat does, but relative to the
// directory's descriptor: the kernel does not walk the whole path again for
// each of a large directory's entries.
func lstatAt(dir *os.File, dirPath, name string) (fs.FileInfo, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "lstat", Path: dirPath + string(os.PathSeparator) + name, Err: err}
		}
		return &statInfo{name: name, st: st}, nil
	}
}

// statInfo is the fs.FileInfo of a Stat_t.
type statInfo struct {
	name string
	st   unix.Stat_t
}

func (s *statInfo) Name() string       { return s.name }
func (s *statInfo) Size() int64        { return s.st.Size }
func (s *statInfo) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()) }
func (s *statInfo) IsDir() bool        { return s.Mode().IsDir() }
func (s *statInfo) Sys() any           { return &s.st }

func (s *statInfo) Mode() fs.FileMode {
	mode := fs.FileMode(s.st.Mode & 0o777)
	switch s.st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	default:
		mode |= fs.ModeIrregular
	}
	if s.st.Mode&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if s.st.Mode&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if s.st.Mode&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
