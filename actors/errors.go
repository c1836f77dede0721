package actors

import (
	"io/fs"
	"syscall"
)

// ErrReadOnly is the error of a change to a read-only collection. It
// matches both syscall.EROFS and fs.ErrPermission with errors.Is.
var ErrReadOnly error = readOnlyError{}

type readOnlyError struct{}

func (readOnlyError) Error() string { return "read-only file system" }

// Is matches syscall.EROFS and fs.ErrPermission.
func (readOnlyError) Is(target error) bool {
	return target == syscall.EROFS || target == fs.ErrPermission
}
