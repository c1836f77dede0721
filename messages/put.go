package messages

import (
	"context"
	"crypto/md5"

	"github.com/asynkron/protoactor-go/actor"
)

// The keep-put protocol: sealed blocks go to the put coordinator, which keeps
// a FIFO queue of bounded depth and hands each block to the next idle put
// worker; a worker stores it and answers Uploaded to the block.

// Submit offers a sealed block for upload. Data is the block's buffer,
// shared: the block keeps it untouched until Uploaded. Notify (may be nil)
// is sent SealAccepted when the block is taken by a worker or enters the
// queue.
// Sender: the BlockActor.
type Submit struct {
	BlockID string
	Block   *actor.PID
	Data    []byte
	Notify  *actor.PID
	// Sum, when not nil, is Data's md5, computed by the block itself (a
	// packed block hashes its pieces as they arrive): the coordinator
	// hands it on instead of hashing Data again.
	Sum *[md5.Size]byte
	// Pending, when not nil, is Data's md5 being computed off the actors
	// for the block itself (a large packed block's pieces are hashed as
	// they arrive): the coordinator hands it on.
	Pending PendingSum
}

// Upload hands a block to a put worker, which answers WorkerIdle to
// Coordinator when done. Sum, when not nil, is the block's md5 being
// computed off the actors since the coordinator got the block; the worker
// waits for it and hands it to the store (keep.PutOptions.MD5). Sender: the
// put coordinator.
type Upload struct {
	Submit      *Submit
	Coordinator *actor.PID
	Sum         PendingSum
}

// PendingSum is the md5 of a block being computed by the engine's hasher.
type PendingSum interface {
	// Wait returns the sum once computed. When ctx ends first, or the
	// hasher closed, it returns an error. In every case it returns only once
	// nothing reads the block's bytes for the sum any more.
	Wait(ctx context.Context) ([md5.Size]byte, error)
}

// WorkerIdle tells the coordinator that Worker finished its upload and can
// take the next block. Sender: a put worker.
type WorkerIdle struct {
	Worker *actor.PID
}
