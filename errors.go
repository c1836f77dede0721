package arvfile

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

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
// ERROR or DELETED. The legal transitions are WRITABLE→PENDING,
// PENDING→COMMITTED, PENDING→ERROR, ERROR→PENDING and any state→DELETED;
// every other one is a *StateChangeError.
type BlockState int

// The buffer block states (the same numbers as the engine's own).
const (
	// Writable blocks accept appends from their one owner file.
	Writable = BlockState(messages.Writable)
	// Pending blocks are sealed and queued for, or in, an upload.
	Pending = BlockState(messages.Pending)
	// Committed blocks are stored in Keep and named by a locator.
	Committed = BlockState(messages.Committed)
	// Error blocks failed to upload; they keep their bytes for a retry.
	Error = BlockState(messages.Error)
	// Deleted blocks hold nothing and accept nothing.
	Deleted = BlockState(messages.Deleted)
)

// String returns the state's name in upper case, as the Python SDK spells
// it ("WRITABLE"), or "BlockState(n)" for a number that is no state.
func (s BlockState) String() string { return messages.BlockState(s).String() }

// StateChangeError reports an illegal buffer-block state transition, with
// both states.
type StateChangeError struct {
	// BlockID names the block, when known.
	BlockID string
	// From is the state the block was in.
	From BlockState
	// To is the state that was asked for.
	To BlockState
}

// Error describes the transition, naming both states.
func (e *StateChangeError) Error() string {
	return (&messages.StateChangeError{BlockID: e.BlockID, From: messages.BlockState(e.From), To: messages.BlockState(e.To)}).Error()
}

// KeepWriteError lists every buffer block that could not be stored, each
// with its locator (md5+size) and the store's error. The blocks keep their
// bytes (state ERROR); a later Sync or Commit retries them. A block that
// stopped before it was stored (its collection or the engine closed while
// a call waited for it) is listed with an error wrapping fs.ErrClosed.
type KeepWriteError struct {
	// Failed lists the blocks, in a stable order (by block id).
	Failed []BlockFailure
}

// Error lists the failed blocks and their causes.
func (e *KeepWriteError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "arvfile: failed to write %d block(s) to keep", len(e.Failed))
	for i, f := range e.Failed {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s (%s): %v", f.BlockID, f.Locator, f.Err)
	}
	return b.String()
}

// Unwrap returns the causes, so errors.Is and errors.As see the store's
// errors.
func (e *KeepWriteError) Unwrap() []error {
	errs := make([]error, 0, len(e.Failed))
	for _, f := range e.Failed {
		errs = append(errs, f.Err)
	}
	return errs
}

// BlockFailure is one entry of a KeepWriteError: a buffer block that could
// not be stored.
type BlockFailure struct {
	// BlockID is the buffer block's id.
	BlockID string
	// Locator is md5+size of the block's bytes (what Keep would have
	// returned, without hints).
	Locator string
	// Err is the store's last error for the block.
	Err error
}

// newKeepWriteError converts the engine's failures (already sorted and
// deduplicated by the caller) into a *KeepWriteError; nil when none.
func newKeepWriteError(failed []messages.BlockFailure) *KeepWriteError {
	if len(failed) == 0 {
		return nil
	}
	out := make([]BlockFailure, len(failed))
	for i, f := range failed {
		out[i] = BlockFailure(f)
	}
	return &KeepWriteError{Failed: out}
}
