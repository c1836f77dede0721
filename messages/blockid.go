package messages

import (
	"strings"

	"github.com/google/uuid"
)

// BlockIDPrefix starts every buffer-block id. A segment whose Locator starts
// with it names a buffer block that is not yet replaced by a Keep locator
// (locators start with 32 hex digits, so the two never meet).
const BlockIDPrefix = "buffer:"

// PaddingBlockID names the engine's padding block: keep.BlockSize zero bytes,
// stored once and shared by every sparse file.
const PaddingBlockID = BlockIDPrefix + "padding"

// NewBlockID returns a fresh buffer-block id (a random UUID).
func NewBlockID() string { return BlockIDPrefix + uuid.NewString() }

// IsBlockID reports whether s is a buffer-block id rather than a locator.
func IsBlockID(s string) bool { return strings.HasPrefix(s, BlockIDPrefix) }
