package keep

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ErrBlockTooLarge is returned by Put for data longer than BlockSize.
var ErrBlockTooLarge = errors.New("keep: block larger than 64 MiB")

// TemporaryError marks a failure that may go away if the same call is tried
// again later (a timeout talking to a server, a busy disk, a 503). Retry
// wrappers retry these and nothing else. Test with IsTemporary or errors.As.
type TemporaryError struct {
	// Err is the underlying failure; it may be nil.
	Err error
}

// Error describes the failure as temporary.
func (e *TemporaryError) Error() string {
	if e.Err == nil {
		return "keep: temporary failure"
	}
	return "keep: temporary failure: " + e.Err.Error()
}

// Unwrap returns the underlying failure, so errors.Is sees through the mark.
func (e *TemporaryError) Unwrap() error { return e.Err }

// Temporary marks err as temporary; it returns nil for a nil err.
func Temporary(err error) error {
	if err == nil {
		return nil
	}
	return &TemporaryError{Err: err}
}

// IsTemporary reports whether err is, or wraps, a *TemporaryError.
// context.Canceled and context.DeadlineExceeded are not temporary by
// themselves: a caller's expired context ends its call for good.
func IsTemporary(err error) bool {
	var t *TemporaryError
	return errors.As(err, &t)
}

// VerifyBlock checks data against the locator's size and md5. It returns nil
// when they match and otherwise an error wrapping ErrCorrupt that names the
// locator and what differs.
func VerifyBlock(loc Locator, data []byte) error {
	if int64(len(data)) != loc.Size() {
		return fmt.Errorf("%w: %s: got %d bytes", ErrCorrupt, loc.Stripped(), len(data))
	}
	sum := md5.Sum(data)
	var got [2 * md5.Size]byte
	hex.Encode(got[:], sum[:])
	if string(got[:]) != loc.Hash() {
		return fmt.Errorf("%w: %s: content has md5 %s", ErrCorrupt, loc.Stripped(), got[:])
	}
	return nil
}

// checkPutSize returns ErrBlockTooLarge (wrapped, with the size) for data
// longer than BlockSize.
func checkPutSize(data []byte) error {
	if len(data) > BlockSize {
		return fmt.Errorf("%w: %d bytes", ErrBlockTooLarge, len(data))
	}
	return nil
}

// parseGetLocator parses a locator given to Get and reports whether it names
// the empty block, which needs no I/O.
func parseGetLocator(locator string) (loc Locator, empty bool, err error) {
	loc, err = ParseLocator(locator)
	if err != nil {
		return Locator{}, false, err
	}
	return loc, loc.Stripped() == EmptyBlockLocator, nil
}

// beginGet starts a read of locator: parseGetLocator, then, unless the
// block is the empty one (always there), ctx's error if it is done.
func beginGet(ctx context.Context, locator string) (loc Locator, empty bool, err error) {
	loc, empty, err = parseGetLocator(locator)
	if err != nil || empty {
		return loc, empty, err
	}
	return loc, false, ctx.Err()
}

// waitLatency waits d, or until ctx is done, whichever comes first; it
// returns ctx's error in the second case.
func waitLatency(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refreshVia calls RefreshSignature on s if s is a Refresher, and otherwise
// fails with an error wrapping errors.ErrUnsupported.
func refreshVia(ctx context.Context, s Store, locator string) (string, error) {
	r, ok := s.(Refresher)
	if !ok {
		return "", fmt.Errorf("keep: refresh signature of %s: %T: %w", locator, s, errors.ErrUnsupported)
	}
	return r.RefreshSignature(ctx, locator)
}
