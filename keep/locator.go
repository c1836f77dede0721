package keep

import (
	"errors"
	"time"
)

// BlockSize is the largest Keep block, 64 MiB.
const BlockSize = 1 << 26

// EmptyBlockLocator names the empty block.
const EmptyBlockLocator = "d41d8cd98f00b204e9800998ecf8427e+0"

// PaddingBlockLocator names a block of BlockSize zero bytes.
const PaddingBlockLocator = "7f614da9329cd3aebf59b91aadc30bf0+67108864"

// ErrInvalidLocator is wrapped by every error about a malformed locator.
var ErrInvalidLocator = errors.New("invalid locator")

// Locator is a parsed Keep block locator. CONTRACT STUB: implemented by the foundation work.
type Locator struct {
	hash      string
	size      int64
	signature string
	expiry    time.Time
	hints     []string
}

// ParseLocator parses `<32 hex md5>+<size>[+hint]…`.
func ParseLocator(s string) (Locator, error) { panic("not yet") }

// String formats the locator; a permission hint comes right after the size.
func (l Locator) String() string { panic("not yet") }

// Stripped returns `md5+size`.
func (l Locator) Stripped() string { panic("not yet") }

// Hash returns the 32 lower-case hex digits of the md5.
func (l Locator) Hash() string { return l.hash }

// Size returns the block size in bytes.
func (l Locator) Size() int64 { return l.size }
