//go:build !unix

package main

import "io/fs"

// fileID identifies a directory, to stop at symbolic-link cycles; without
// inode numbers, cycles end at the operating system's path-length limit.
type fileID struct{}

// idOf reports that no identity is known.
func idOf(fs.FileInfo) (fileID, bool) { return fileID{}, false }
