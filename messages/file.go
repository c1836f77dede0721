package messages

import (
	"time"

	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
)

// The FileActor protocol. A FileActor owns one file's segments, writers,
// committed flag and current buffer block. The facade sends it the requests
// below for one handle (read-your-writes follows from that single path) and
// waits on the Reply each carries; the CollectionActor forwards Open.

// Open registers a handle. Sender: the CollectionActor, forwarding the
// facade's OpenFile of an existing file. The FileActor counts a writer (when Writer), applies
// Truncate, and finishes Reply; the facade sends nothing before that.
type Open struct {
	Writer   bool
	Truncate bool
	Reply    *Reply
}

// Write writes Data at Offset (at the end of file when Append). Sender: the
// facade. The FileActor pads past EOF, splits Data into pieces that fit
// blocks, updates the segments and forwards Append to the buffer block, which
// copies the bytes and finishes Reply; Reply.N is len(Data) and Reply.Offset
// where the bytes landed. Data must not change until Reply is done.
type Write struct {
	Offset int64
	Data   []byte
	Append bool
	Reply  *Reply

	// FirstPiece is where the FileActor puts the Append of the write's
	// first piece, so that a write of one piece sends its block no message
	// of its own allocation. The sender leaves it zero, and reuses the
	// Write only once Reply is done (the block's Finish is its last look).
	FirstPiece Append
}

// Read reads into Buf from Offset. Sender: the facade. The FileActor zero
// fills padding, forwards ReadBlock to buffer blocks (which copy into Buf),
// and lists in Out the pieces that live in Keep for the facade to fetch.
// Reply.N is the number of bytes the file holds for the request (short only
// at EOF).
type Read struct {
	Offset int64
	Buf    []byte
	Out    *ReadResult
	Reply  *Reply
}

// ReadResult is what a Read leaves for the facade: Fetch slots (each filled
// by the FileActor or by one BlockActor; a slot with an empty Locator needs
// nothing) and the locators worth prefetching.
type ReadResult struct {
	Fetch    []Fetch
	Prefetch []string
}

// Fetch asks the facade to copy bytes [BlockOffset, BlockOffset+len(Dst)) of
// the Keep block Locator into Dst.
type Fetch struct {
	Locator     string
	BlockOffset int64
	Dst         []byte
}

// Truncate sets the file's size: shrinking cuts segments, growing appends
// padding. Sender: the facade. Replied through Reply.
type Truncate struct {
	Size  int64
	Reply *Reply
}

// Sync flushes the file: repacks and seals its current block, waits until
// every buffer block its segments name is committed (retrying blocks in
// ERROR), and replaces their ids by locators. Out gets the failures and the
// segments as they were when the Sync started, ids replaced. Sender: the
// facade (File.Sync, Collection.Commit). Replied through Reply.
type Sync struct {
	Out   *SyncResult
	Reply *Reply
}

// SyncResult is the outcome of a Sync.
type SyncResult struct {
	Failures []BlockFailure
	Segments []segments.Range
}

// Close unregisters a handle. A writer's close flushes a file larger than
// half a block (and waits, as Sync), or offers a smaller one's block for
// packing once no writer remains. Sender: the facade. Replied through Reply;
// a flush leaves its failures in Out.
type Close struct {
	Writer bool
	Out    *SyncResult
	Reply  *Reply
}

// Stat asks for the file's size and modification time. Sender: the facade.
type Stat struct {
	Out   *FileInfo
	Reply *Reply
}

// FileInfo is the answer to Stat.
type FileInfo struct {
	Size    int64
	ModTime time.Time
}

// GetSegments copies the file's segments into Out. With OnlyCommitted,
// segments still on a buffer block are left out (the Python SDK's
// only_committed). Sender: the facade (ManifestText).
type GetSegments struct {
	OnlyCommitted bool
	Out           *[]segments.Range
	Reply         *Reply
}

// BlockResult tells a FileActor that a block it awaits (AwaitCommit) is
// committed (Locator set) or failed (Failure set) — or, with Token
// PackedNotice, that the packed block holding the file's piece ended its
// first upload, which the file was told to expect instead of asking (see
// PackCopied). Sender: the BlockActor.
type BlockResult struct {
	BlockID string
	Token   uint64
	Locator string
	Failure *BlockFailure
}

// PackedNotice is the Token of the BlockResult a packed block sends unasked
// to each file whose piece it holds. No AwaitCommit carries it: a file
// numbers its Syncs from 0 and never reaches it.
const PackedNotice = ^uint64(0)

// PackOffer proposes that the file's current block be packed into the
// shared block Target at Offset (where the packed block may move it down to
// close gaps: PackCopied says where it landed), if its live bytes fit in
// Room, the slot laid out for it. The FileActor
// answers PackAnswer to ReplyTo; when it accepts it repacks its block, asks
// it to copy itself into Target (PackCopy) and defers every other message
// until PackCopied.
//
// Buffer is the packed block's buffer, lent to this offer (Memory.Lend):
// the small block writes its slot of it directly, so that the pieces are
// copied in parallel on their files' strands rather than one after another
// by the packed block. An accepted offer gives it back once copied, a
// refused one is given back by the BlockManager. Sender: the BlockManager.
type PackOffer struct {
	Round    uint64
	BlockID  string
	Target   *actor.PID
	TargetID string
	Offset   int64
	Room     int64
	ReplyTo  *actor.PID
	Buffer   []byte

	// Answer and Copy are room for the FileActor's PackAnswer and PackCopy,
	// which it fills and sends once each, so that they cost no allocation
	// of their own (the BlockManager allocates a round's offers at once).
	// The BlockManager leaves them zero.
	Answer PackAnswer
	Copy   PackCopy
}

// PackCopied tells a FileActor that its block OldID now lives at Offset of
// block NewID: its segments are remapped and deferred messages replayed.
// The packed block will also tell the file, unasked, how its first upload
// ended (a BlockResult with Token PackedNotice): until then the file's
// Syncs wait for that notice rather than each asking the packed block
// (AwaitCommit) — at a Commit of ten thousand small files, ten thousand
// messages fewer. Sender: the packed BlockActor.
type PackCopied struct {
	OldID  string
	NewID  string
	NewPID *actor.PID
	Offset int64
}

// SealBlock asks the owner of a WRITABLE block to seal it now (the memory
// budget is exceeded and it is the largest). Ignored when the block is no
// longer the file's current block. Sender: the BlockManager.
type SealBlock struct {
	BlockID string
}

// MemoryAvailable answers AwaitMemory: the file may reserve its buffer now
// (within the budget; if another took the room first, it asks again).
// Sender: the BlockManager.
type MemoryAvailable struct{}

// Cancel withdraws the facade request that carries Reply: its caller gave
// up (deadline passed, context cancelled). A request the FileActor still
// holds — deferred behind a busy file, or a write waiting for room before it
// changed anything — is dropped and Reply failed with Err; a write that had
// applied some of its pieces is failed with Reply.N set to their bytes. A
// request already handed on finishes by itself, at once (blocks never
// wait). The facade waits for Reply after sending Cancel, so no actor touches
// the caller's buffer once the call returned. Sender: the facade.
type Cancel struct {
	Reply *Reply
	Err   error
}
