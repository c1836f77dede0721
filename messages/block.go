package messages

import "github.com/asynkron/protoactor-go/actor"

// The BlockActor protocol. A BlockActor owns one buffer block's bytes and
// state. While WRITABLE it has exactly one owner file, whose FileActor alone
// sends it Append, ReadBlock, Repack and Seal; a block made by small-file
// packing has several owners and receives PackData instead.

// Append copies Data at the block's write pointer, which the owner mirrors.
// Capacity, when larger than the block's buffer, is the new capacity the
// owner reserved against the memory budget. The block finishes Reply once the
// bytes are copied.
type Append struct {
	Data     []byte
	Capacity int64
	Reply    *Reply
	// Scattered says the piece does not continue the block's previous one
	// in file order: the block will be repacked in file order when sealed,
	// so its md5 is not computed while it is written.
	Scattered bool
}

// ReadBlock copies bytes [Offset, Offset+len(Dst)) of the block into Dst, or,
// when the block no longer holds its bytes (COMMITTED), fills Fetch for the
// facade to read the locator. Finishes Reply.
type ReadBlock struct {
	Offset int64
	Dst    []byte
	Fetch  *Fetch
	Reply  *Reply
}

// Extent is a byte range of a block.
type Extent struct {
	Offset int64
	Size   int64
}

// Repack rewrites a WRITABLE block to hold only Extents, in the order given
// (the owner's segments over the block, in file order). The owner rewrites
// its segments' offsets itself: extent i moves to the sum of the sizes before
// it. Parts, when present, split the block at a Sync: before it repacks,
// the block copies each part's extents, in order, to the start of the
// part's buffer and sends the part's block SplitFilled.
type Repack struct {
	Extents []Extent
	Parts   []SplitPart
}

// SplitPart is a piece of a block split at a Sync: Extents of the block go,
// in order, to the start of Buf, the buffer of the new block Block (made
// filling). The owner lent Buf (Memory.Lend) to the block being split,
// which gives it back once it copied.
type SplitPart struct {
	Extents []Extent
	Buf     []byte
	Block   *actor.PID
}

// SplitFilled tells a block made for a split that its first Size bytes are
// in place, or that they could not be copied (Err: the block then fails its
// waiters). Sender: the block that was split.
type SplitFilled struct {
	Size int64
	Err  error
}

// Seal makes a WRITABLE block PENDING and submits it for upload. Notify
// (may be nil) is sent SealAccepted once the put pool has accepted the block
// into its queue: a write that had to seal waits for that before it changes
// anything — the writers' back-pressure.
type Seal struct {
	Notify *actor.PID
}

// SealAccepted tells the FileActor that sealed block BlockID (Seal.Notify)
// that the put pool accepted it (or that it was no longer WRITABLE). Sender:
// the put coordinator, or the block.
type SealAccepted struct {
	BlockID string
}

// AwaitCommit asks for a BlockResult (to ReplyTo, with Token) once the block
// is COMMITTED or in ERROR. A block in ERROR is retried first (ERROR→PENDING);
// a WRITABLE block is sealed.
type AwaitCommit struct {
	ReplyTo *actor.PID
	Token   uint64
}

// Uploaded is a put worker's result for the block: the locator Keep
// returned, or the error after retries.
type Uploaded struct {
	Locator string
	Err     error
}

// PackCopy asks the (repacked) WRITABLE block of a file that accepted a
// PackOffer to copy its bytes to Offset of Buffer, the packed block
// Target's buffer (see PackOffer), give Buffer back (Memory.GiveBack), tell
// Target (PackData) and stop: its bytes now live in the packed block.
// Sender: the owner FileActor.
type PackCopy struct {
	Target *actor.PID
	Offset int64
	File   *actor.PID
	Buffer []byte
	// Data is room for the PackData the small block then sends, so that
	// it costs no allocation of its own.
	Data PackData
}

// PackData tells a packed block that a small block's Size bytes are in its
// buffer at Offset; once every piece arrived (PackSeal) it closes the gaps
// between them and answers PackCopied, with where the bytes landed, to each
// File. Lost says instead that the piece will never come (the small block
// stopped before it copied: its file is gone): it counts as arrived, and
// its slot is a gap. Sender: the small block, after copying.
type PackData struct {
	FromID string
	File   *actor.PID
	Offset int64
	Size   int64
	Lost   bool
}

// PackSeal tells a packed block how many PackData to expect; it seals itself
// once it has them all. Sender: the BlockManager.
type PackSeal struct {
	Pieces int
}

// Release tells a block that one owner no longer names it in its segments.
// A COMMITTED block that every owner released stops. Sender: an owner
// FileActor.
type Release struct{}
