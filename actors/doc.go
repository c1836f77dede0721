// Package actors holds arvfile's actors: the file, buffer-block,
// block-manager, collection and keep-put actors.
//
// # The files
//
// Each actor lives whole in files named for it: the file actor in file.go
// (state, Receive, lifecycle), file_write.go, file_read.go, file_sync.go,
// file_pack.go and file_copy.go; the buffer block in block.go, and the
// holder of the blocks copies share, once their maker let them go, in
// shared_blocks.go; the
// collection actor in collection.go and collection_namespace.go; the
// BlockManager in manager.go with its small-block packer in packer.go; the
// put coordinator and workers in putpool.go; the scheduling in
// dispatcher.go and strand.go; how the file, block, collection and
// BlockManager actors live in the actor system in cell.go.
//
// # The write pipeline, from call to stored block
//
// File.Write (the facade, in the root package) takes a messages.Reply from
// its pool, puts it in a messages.Write with the caller's slice — the
// handle's own Write, reused once the last one's Reply went back to the
// pool, so that a write allocates no message — and sends it to the file's
// actor. When the file's strand is idle the caller claims
// it and runs the activations itself (Strand.Claim, Strand.RunUntil) until
// the Reply is finished, so an uncontended write takes no goroutine
// handoff; otherwise a worker of the engine's Dispatcher runs them.
//
// The file actor (fileActor.onWrite) pads past EOF with the padding block,
// cuts the data into pieces of at most a block and, for each piece
// (writePiece), makes the current buffer block fit it: grown within the
// memory budget, repacked when that frees enough room, else sealed — the
// writer then waits for SealAccepted from the put pool — and a new block
// started. Over budget, the write waits (AwaitMemory to the BlockManager,
// every later message for the file deferred) until MemoryAvailable. The
// file's segments are updated with ReplaceRange and an Append (the first
// piece's inside the Write: Write.FirstPiece) is sent to the block actor,
// which runs next on the same strand (a run's stream block, below, on its
// own), copies the bytes into its buffer and finishes its part of the
// Reply; the facade's wait ends and the caller may reuse its slice.
//
// A file written by several writers at once, each in file order over its
// own range, gets one open block per range (file_streams.go): a piece goes
// to the open block whose last piece it continues; else to the file's home
// block, which takes every piece out of order, and a run of pieces in file
// order that the home block took interleaved with other pieces gets a block
// of its own once it holds 8 pieces and 1/256 of a block (or goes on in a
// block its writer left: a downloader's next chunk). So each range's block
// is written in file order, as a file of its own would be, on a strand of
// its own (its copies run on every core, not one at a time with the
// file's turns); random writes,
// and a single writer's runs (never interleaved), keep one block. Sync, a
// copy and SealBlock treat every open block as the current one. A write to
// one open block passes writes to others that wait for memory, and waits
// for memory on its own: each range waits as a file of its own would.
//
// A block written in file order (each piece continues the last: a
// sequential writer's) is hashed while it is written once it holds more
// than half a block (a smaller one may yet be packed with other small
// files, and hashed there), or from 1 MiB when over half the memory budget
// is in use (its writer is about to wait for memory, and the waiting
// blocks are hashed meanwhile, many at once by an md5-simd server): it
// opens a HashStream on the Hasher and hands it each new end of its bytes
// (Extend), and a lane hashes them off the actors, its buffer growing in
// place beneath it (Memory.GrowInPlace). A piece out of file order
// (Append.Scattered) or a repack drops the stream: such a block is hashed
// once sealed.
//
// A sealed block turns PENDING and sends Submit to the put coordinator
// with the stream, if it has one, as its pending sum; else the coordinator
// starts its md5 on the Hasher (off the actors: every block the
// coordinator holds is hashed at once — one per core with crypto/md5, the
// rest by one md5-simd server once enough wait to fill it, chooseHash) and
// hands it to an idle put worker
// or queues it (writers are told SealAccepted only then: that is the
// back-pressure). The worker waits for the sum, calls the store's Put with
// it (keep.PutOptions.MD5) on the Blocking dispatcher, gives the buffer back
// to the Memory accounting, and answers the block with Uploaded; the block becomes
// COMMITTED (or ERROR, kept for a retry), frees its buffer, answers every
// AwaitCommit, and reports its state to the BlockManager.
//
// # The commit pipeline
//
// Collection.Commit sends PackAll to the BlockManager: its packer lays the
// closed small files' blocks out in a packed block whose buffer it
// allocates and faults in (prefault: one madvise a few MiB at a time, just
// ahead of the offers whose slots lie there, rather than ten thousand
// copies faulting the same huge pages at once), offers each file its slot
// with the buffer (PackOffer); an accepting file's block copies its bytes
// into its slot on the file's own strand and stops, unreported (PackCopy,
// PackData; the manager forgets it when its file accepts), so the copies
// run in parallel; the packed block, on an urgent strand (NewUrgentStrand:
// the dispatcher's workers run it ahead of the ten thousand file
// activations queued before it), hands each new end of the run of arrived pieces to a
// HashStream, whose goroutine hashes them off the actors meanwhile (the
// sum it gives the put pool, Submit.Pending, is ready soon after the last
// piece); it closes the gaps refused slots left, tells each file where
// its bytes landed (PackSeal, PackCopied) — and that it will tell them how
// its upload ends, unasked (a BlockResult with Token PackedNotice) — and
// seals itself; then the BlockManager answers. The facade then
// sends the collection actor a Snapshot whose Forward makes one Sync per
// file actor, all under one Reply. Each file actor (startSync) seals its
// open blocks (one, unless several writers wrote runs: see above) — a
// large one whose bytes are out of file order is first split, in file order, into one block per put worker (splitCurrent), so
// that the parts are hashed and stored at once — sends AwaitCommit to every buffer block its segments name
// but the packed block whose notice it expects (noticeFrom: no ten thousand
// round trips at a Commit of ten thousand small files)
// and, as each BlockResult arrives, replaces the block id by its locator
// (replaceBlock); finishSync answers a SyncResult with the segments and any
// BlockFailure. Once every file answered, the facade builds the manifest
// tree (buildTree) and formats it; a failure makes a KeepWriteError, and the
// blocks in ERROR keep their bytes for the next Commit.
//
// # Why our own dispatcher, strands and reply latches
//
// protoactor's defaults were measured on this kind of machine (2 vCPU; see
// shared/PROTOACTOR-NOTES.md, medians):
//
//   - RequestFuture(pid, msg, t).Result() costs 3.4 µs with 1 caller and
//     2.6 µs with 16, 11 allocations, p99 19–86 µs; a reply latch carried in
//     the message (messages.Reply, pooled) costs 0.41 / 0.36 µs and 1–2
//     allocations, p99 1.2 µs. RequestFuture also has no context support,
//     wakes only one of several waiters and races when the reply arrives
//     after the timeout. A Reply counts several parties (a write touching
//     three blocks, a commit of ten thousand files) and is waited on with
//     select beside ctx.Done.
//   - The default dispatcher starts a goroutine each time a mailbox goes
//     from idle to busy and grows its stack anew: most of the CPU of
//     actor-to-actor traffic. Dispatcher parks its workers instead, which cut
//     an actor-to-actor round trip from 3.1 µs to 0.5 µs (about 6×), and
//     bounds how many run, so a burst costs queue slots, not goroutines.
//   - A Strand runs a file actor and its blocks one after another on one
//     worker, or on the waiting caller's goroutine: the Append a file sends
//     its block costs no handoff, and message order is unchanged.
//   - File, block, collection and BlockManager actors are cells (cell.go): a
//     protoactor Process of our own, under a PID like any actor, whose
//     mailbox is its strand. Its PID is resolved by a slot table of the
//     engine's own (celltable.go, behind protoactor's AddressResolver seam)
//     and comes with its Process cached: spawning and stopping a cell no
//     longer adds to and removes from the registry's sharded map, and the
//     first send no longer resolves it (BenchmarkCellLife: a block's life,
//     spawn, one message, stop, from ≈ 1.1 µs and 5 allocations to ≈ 0.4 µs
//     and 2; scenario b from 52.4 to 48.4 allocations and from ≈ 35 to
//     ≈ 31 µs of CPU per file, medians of 5 interleaved runs). Any actor
//     sends to, stops and watches a cell as it would any actor, and a
//     protoactor parent has its cells among its children; what a cell
//     skips is protoactor's per-actor context, mailbox queues and a
//     scheduling closure per message. Scenario b
//     (10,000 small files: a file actor and a block actor each) spent about
//     a fifth of its CPU spawning and stopping protoactor actors and another
//     fifth in their mailboxes: about 29 of its 109 allocations per file
//     were SpawnNamed's. As cells, with the other changes of issue 12, b
//     went from ≈ 47 to ≈ 30 µs of CPU and from 109 to 52 allocations per
//     file (bench/RESULTS.md).
//   - Router pools route round robin regardless of load, so one slow upload
//     stalls what is queued behind it; the put coordinator keeps a FIFO and
//     lets K workers pull from it. Bounded mailboxes spin a blocked sender,
//     so back-pressure is done by answering writers late instead.
package actors
