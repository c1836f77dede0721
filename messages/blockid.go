package messages

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
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
//
// Ids are made blockIDBatch at a time, in one string that they are
// substrings of: an id costs no allocation of its own (a small file's
// block is one per file), and keeps its batch (about 2.8 KiB) in memory.
func NewBlockID() string {
	b := idBatches.Get().(*idBatch)
	if b.next == len(b.ids) {
		b.refill()
	}
	id := b.ids[b.next : b.next+blockIDLen]
	b.next += blockIDLen
	idBatches.Put(b)
	return id
}

// blockIDLen is the length of an id from NewBlockID; blockIDBatch is how
// many are made at once.
const (
	blockIDLen   = len(BlockIDPrefix) + 36
	blockIDBatch = 64
)

// idBatch is ids not handed out yet: ids[next:].
type idBatch struct {
	ids  string
	next int
}

// idBatches holds the batches between calls (a sync.Pool: one per P, so
// that concurrent callers do not contend).
var idBatches = sync.Pool{New: func() any { return new(idBatch) }}

// refill makes b a fresh batch of ids, numbered from a range of the
// sequence reserved at once.
func (b *idBatch) refill() {
	first := blockIDSeq.Add(blockIDBatch) - blockIDBatch + 1
	var sb strings.Builder
	sb.Grow(blockIDBatch * blockIDLen)
	for i := range uint64(blockIDBatch) {
		var id [blockIDLen]byte
		formatBlockID(&id, first+i)
		sb.Write(id[:])
	}
	b.ids, b.next = sb.String(), 0
}

// formatBlockID writes the id numbered seq into out.
func formatBlockID(out *[blockIDLen]byte, seq uint64) {
	var u [16]byte
	copy(u[:8], blockIDBase[:])
	binary.BigEndian.PutUint64(u[8:], seq)
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant 10
	n := copy(out[:], BlockIDPrefix)
	for i, part := range [][]byte{u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]} {
		if i > 0 {
			out[n] = '-'
			n++
		}
		n += hex.Encode(out[n:], part)
	}
}

// IsBlockID reports whether s is a buffer-block id rather than a locator.
func IsBlockID(s string) bool { return strings.HasPrefix(s, BlockIDPrefix) }
