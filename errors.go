package arvfile

import (
	"errors"
	"io/fs"

	"github.com/arvfile/arvfile/actors"
	"github.com/arvfile/arvfile/messages"
)

// ErrNoStore is returned by New without WithStore.
var ErrNoStore = errors.New("arvfile: no store: pass WithStore")

// ErrReadOnly is wrapped (in a *fs.PathError) by every attempt to change a
// read-only collection. errors.Is matches it against both syscall.EROFS and
// fs.ErrPermission.
var ErrReadOnly = actors.ErrReadOnly

// ErrActorPanicked is wrapped by the error of a call whose handling
// panicked inside the engine (a bug, or a Store that panicked). The actor
// that panicked answers at once and keeps its state: no byte written before
// is lost, and later calls work.
var ErrActorPanicked = actors.ErrActorPanicked

// CloseError is returned by Engine.Close when actors were still running at
// its time limit (WithCloseTimeout); Abandoned names each.
type CloseError = actors.StopError

// errEngineClosed is returned by calls on a closed Engine; errors.Is
// matches fs.ErrClosed.
var errEngineClosed = &closedError{}

// errCollectionClosed is returned by calls on a released Collection (and
// its files); errors.Is matches fs.ErrClosed.
var errCollectionClosed = &closedError{what: "collection"}

type closedError struct{ what string }

func (e *closedError) Error() string {
	if e.what == "" {
		return "arvfile: engine closed"
	}
	return "arvfile: " + e.what + " closed"
}
func (*closedError) Is(target error) bool { return target == fs.ErrClosed }

// BlockState is the state of a buffer block: WRITABLE, PENDING, COMMITTED,
// ERROR or DELETED.
type BlockState = messages.BlockState

// The buffer block states.
const (
	Writable  = messages.Writable
	Pending   = messages.Pending
	Committed = messages.Committed
	Error     = messages.Error
	Deleted   = messages.Deleted
)

// StateChangeError reports an illegal buffer-block state transition, with
// both states.
type StateChangeError = messages.StateChangeError

// KeepWriteError lists every buffer block that could not be stored, each
// with its locator (md5+size) and the store's error. The blocks keep their
// bytes; a later Sync or Commit retries them.
type KeepWriteError = messages.KeepWriteError

// BlockFailure is one entry of a KeepWriteError.
type BlockFailure = messages.BlockFailure
