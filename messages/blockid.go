package messages

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync/atomic"
)

// BlockIDPrefix starts every buffer-block id. A segment whose Locator starts
// with it names a buffer block that is not yet replaced by a Keep locator
// (locators start with 32 hex digits, so the two never meet).
const BlockIDPrefix = "buffer:"

// PaddingBlockID names the engine's padding block: keep.BlockSize zero bytes,
// stored once and shared by every sparse file.
const PaddingBlockID = BlockIDPrefix + "padding"

// blockIDBase is the random half of this process's buffer-block ids;
// blockIDSeq numbers them.
var (
	blockIDBase [8]byte
	blockIDSeq  atomic.Uint64
)

func init() {
	// Should the system's random source fail (crypto/rand.Read only
	// reports errors before Go 1.24), ids stay distinct within the
	// process: the sequence alone tells them apart.
	_, _ = rand.Read(blockIDBase[:])
	var seq [8]byte
	_, _ = rand.Read(seq[:])
	blockIDSeq.Store(binary.BigEndian.Uint64(seq[:]) >> 1)
}

// NewBlockID returns a fresh buffer-block id: a version-4-shaped UUID made
// of 64 random bits drawn once per process and a 64-bit sequence number
// started at a random point, so ids never repeat within a process and
// almost surely not across processes, without reading the system's
// random source (a system call) for every small file's block.
func NewBlockID() string {
	var u [16]byte
	copy(u[:8], blockIDBase[:])
	binary.BigEndian.PutUint64(u[8:], blockIDSeq.Add(1))
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant 10
	var out [len(BlockIDPrefix) + 36]byte
	n := copy(out[:], BlockIDPrefix)
	for i, part := range [][]byte{u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]} {
		if i > 0 {
			out[n] = '-'
			n++
		}
		n += hex.Encode(out[n:], part)
	}
	return string(out[:n])
}

// IsBlockID reports whether s is a buffer-block id rather than a locator.
func IsBlockID(s string) bool { return strings.HasPrefix(s, BlockIDPrefix) }
