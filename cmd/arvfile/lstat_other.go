//go:build !linux

package main

import (
	"io/fs"
	"os"
	"path/filepath"
)

// lstatAt describes the entry name of the open directory dir without
// following a symbolic link.
func lstatAt(_ *os.File, dirPath, name string) (fs.FileInfo, error) {
	return os.Lstat(filepath.Join(dirPath, name))
}
