package messages

import "github.com/asynkron/protoactor-go/actor"

// The BlockManager protocol: the registry of live buffer blocks, the memory
// budget's waiting writers, and small-block packing.

// BlockStatus reports a buffer block's state and buffer capacity each time
// either changes. Sender: the BlockActor itself (so reports arrive in order).
type BlockStatus struct {
	ID       string
	PID      *actor.PID
	Owner    *actor.PID
	State    BlockState
	Capacity int64
}

// Candidate offers a closed small file's current block for packing; Size is
// the bytes the file references in it. A later Candidate from the same file
// replaces the earlier one. Sender: the FileActor.
//
// With Withdraw, the file (removed) takes its offer back: the BlockManager
// forgets it and answers CandidateWithdrawn, after any PackOffer it sent.
type Candidate struct {
	Withdraw   bool
	Collection string
	File       *actor.PID
	BlockID    string
	Size       int64
}

// PackAnswer answers a PackOffer. Accepted: the file's block (Size live
// bytes) is being copied into the offer's target. Otherwise Keep says whether
// the file is still a candidate (its block grew past the slot offered).
// Sender: the FileActor.
type PackAnswer struct {
	Round    uint64
	File     *actor.PID
	Accepted bool
	Keep     bool
	Size     int64
}

// PackAll packs every candidate of Collection (force, as commit-all does)
// and finishes Reply once every offer is answered. Sender: the facade.
type PackAll struct {
	Collection string
	Reply      *Reply
}

// AwaitMemory asks for MemoryAvailable once Bytes more bytes of buffers fit
// the memory budget. The FileActor that sends it holds its write (and defers
// its other requests) until then. Sender: a FileActor.
type AwaitMemory struct {
	File  *actor.PID
	Bytes int64
}

// CancelMemory withdraws File's AwaitMemory: the write that waited was
// cancelled, or the file stopped. Sender: a FileActor.
type CancelMemory struct {
	File *actor.PID
}

// RetryErrors asks the BlockManager to retry the uploads of the blocks in
// ERROR, which hold memory that files wait for. Sender: the BlockManager
// itself, after a backoff.
type RetryErrors struct{}

// ForgetCollection tells the BlockManager that a collection was released:
// its packing candidates are dropped. Sender: the engine (Collection.Close).
type ForgetCollection struct {
	Collection string
}

// CandidateWithdrawn answers a Candidate with Withdraw: no PackOffer will
// follow. Sender: the BlockManager.
type CandidateWithdrawn struct{}
