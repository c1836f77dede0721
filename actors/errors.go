package actors

import (
	"fmt"
	"io/fs"
	"syscall"
)

// ErrFileTooLarge is the error of a write or truncation that would make a
// file larger than Runtime.MaxFileSize. It matches syscall.EFBIG with
// errors.Is.
var ErrFileTooLarge error = fileTooLargeError{}

type fileTooLargeError struct{}

func (fileTooLargeError) Error() string { return "file too large" }

// Is matches syscall.EFBIG.
func (fileTooLargeError) Is(target error) bool { return target == syscall.EFBIG }

// ErrReadOnly is the error of a change to a read-only collection. It
// matches both syscall.EROFS and fs.ErrPermission with errors.Is.
var ErrReadOnly error = readOnlyError{}

type readOnlyError struct{}

func (readOnlyError) Error() string { return "read-only file system" }

// Is matches syscall.EROFS and fs.ErrPermission.
func (readOnlyError) Is(target error) bool {
	return target == syscall.EROFS || target == fs.ErrPermission
}

// errReleased is the error of a request its file's or collection's actor
// holds, or receives, once its collection is released (or the engine
// closed): it matches fs.ErrClosed.
var errReleased = fmt.Errorf("arvfile: collection closed: %w", fs.ErrClosed)
