//go:build unix

package main

import (
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// fileID identifies a directory, to stop at symbolic-link cycles.
type fileID struct{ dev, ino uint64 }

// idOf returns the device and inode of info, from os.Stat or lstatAt.
func idOf(info fs.FileInfo) (fileID, bool) {
	switch st := info.Sys().(type) {
	case *syscall.Stat_t:
		return fileID{uint64(st.Dev), uint64(st.Ino)}, true //nolint:unconvert // Dev is int32 on some systems
	case *unix.Stat_t:
		return fileID{uint64(st.Dev), uint64(st.Ino)}, true //nolint:unconvert // Dev is int32 on some systems
	}
	return fileID{}, false
}

// canRead checks that the file at path can be opened for reading, with the
// bare system calls: os.Open would also register the file with the runtime's
// poller, which costs five more calls per file on a tree of many files.
func canRead(path string) error {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return syscall.Close(fd)
}
