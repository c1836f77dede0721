package messages

import "github.com/asynkron/protoactor-go/actor"

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
}

// Upload hands a block to a put worker, which answers WorkerIdle to
// Coordinator when done. Sender: the put coordinator.
type Upload struct {
	Submit      *Submit
	Coordinator *actor.PID
}

// WorkerIdle tells the coordinator that Worker finished its upload and can
// take the next block. Sender: a put worker.
type WorkerIdle struct {
	Worker *actor.PID
}
