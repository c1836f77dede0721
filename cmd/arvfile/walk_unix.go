//go:build unix

package main

import (
	"io/fs"
	"syscall"
)

// fileID identifies a directory, to stop at symbolic-link cycles.
type fileID struct{ dev, ino uint64 }

// idOf returns the device and inode of info.
func idOf(info fs.FileInfo) (fileID, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true //nolint:unconvert // Dev is int32 on some systems
}
