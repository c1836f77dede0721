package messages

import "fmt"

// BlockState is the state of a buffer block. The legal transitions are
// WRITABLE→PENDING, PENDING→COMMITTED, PENDING→ERROR, ERROR→PENDING and any
// state→DELETED; every other one is a *StateChangeError.
type BlockState int

const (
	// Writable blocks accept appends from their one owner file.
	Writable BlockState = iota
	// Pending blocks are sealed and queued for, or in, an upload.
	Pending
	// Committed blocks are stored in Keep and named by a locator.
	Committed
	// Error blocks failed to upload; they keep their bytes for a retry.
	Error
	// Deleted blocks hold nothing and accept nothing.
	Deleted
)

var blockStateNames = [...]string{"WRITABLE", "PENDING", "COMMITTED", "ERROR", "DELETED"}

// String returns the state's name in upper case, as the Python SDK spells it.
func (s BlockState) String() string {
	if s >= 0 && int(s) < len(blockStateNames) {
		return blockStateNames[s]
	}
	return fmt.Sprintf("BlockState(%d)", int(s))
}

// StateChangeError reports an illegal buffer-block state transition.
type StateChangeError struct {
	// BlockID names the block, when known.
	BlockID string
	// From is the state the block was in.
	From BlockState
	// To is the state that was asked for.
	To BlockState
}

// Error describes the transition.
func (e *StateChangeError) Error() string {
	if e.BlockID == "" {
		return fmt.Sprintf("arvfile: illegal block state change from %s to %s", e.From, e.To)
	}
	return fmt.Sprintf("arvfile: illegal state change of block %s from %s to %s", e.BlockID, e.From, e.To)
}
