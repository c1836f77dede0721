//go:build !unix

package main

import (
	"io/fs"
	"os"
)

// fileID identifies a directory, to stop at symbolic-link cycles; without
// inode numbers, cycles end at the operating system's path-length limit.
type fileID struct{}

// idOf reports that no identity is known.
func idOf(fs.FileInfo) (fileID, bool) { return fileID{}, false }

// canRead checks that the file at path can be opened for reading.
func canRead(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}
