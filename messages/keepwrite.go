package messages

import (
	"fmt"
	"strings"
)

// BlockFailure names one buffer block that could not be stored.
type BlockFailure struct {
	// BlockID is the buffer block's id.
	BlockID string
	// Locator is md5+size of the block's bytes (what Keep would have
	// returned, without hints).
	Locator string
	// Err is the store's last error for the block.
	Err error
}

// KeepWriteError reports every buffer block that a flush or commit could not
// store. The blocks keep their bytes (state ERROR); a later Sync or Commit
// retries them.
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
