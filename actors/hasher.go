package actors

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	md5simd "github.com/minio/md5-simd"
)

// Hasher computes the md5 of blocks off the actors, so that a put worker
// hands the store a block with its sum (keep.PutOptions.MD5) and the store
// need not hash it again.
//
// Each block's md5 is a HashStream. A sealed block's is started whole
// (Start) by the put coordinator as soon as the block is submitted. A
// block that grows from its start — a large block written in file order,
// a packed block whose pieces arrive — has its stream from its first bytes
// (Stream), and hands it each new end of its final bytes (Extend): its md5
// is computed while it is written, and is ready soon after it is sealed.
//
// Streams with bytes to hash are taken in order by lanes, goroutines
// started on demand that exit when nothing is left for them; a stream that
// caught up with its block waits, with no lane and no core, for its next
// bytes. A stream is hashed one way from its first byte to its last: with
// crypto/md5, the fastest per stream, on a core of its own, or as one
// stream of a multi-buffer md5-simd server, whose one goroutine hashes up
// to 16 streams at once on one core (AVX-512; 8 with AVX2; crypto/md5
// without either) and hashes more bytes per CPU-second the more streams it
// has. Each core takes a stream with crypto/md5 until enough streams wait
// to be worth a server (simdMin); then the server takes a core and every
// stream the cores do not (chooseHash). A sequential writer's blocks are
// hashed on both cores; sixteen writers' blocks mostly through the server,
// which then has its sixteen streams. A server is started when first
// needed, filled before another is started, and stopped by Close; there is
// at most one per core.
//
// Bytes a stream was told are final do not change until its Wait
// returned, so lanes read them in place. Wait returns only once no lane
// reads them any more, and a stream's release function is called then (or
// once it was abandoned), so the block may give its buffer back. Close
// abandons what is left and returns once every lane stopped; call it
// before the block buffers are released (Memory.Close). Safe for
// concurrent use.
type Hasher struct {
	servers int // md5-simd servers at most
	scalar  int // the cores: streams hashed with crypto/md5 and busy servers at most

	mu    sync.Mutex
	queue []*HashStream // with bytes to hash, waiting for a lane, in order
	// Streams that caught up with their block: no lane, no core, until
	// their next bytes (Close ends them).
	idle         map[*HashStream]struct{}
	active       int           // streams being hashed by a lane
	scalarActive int           // of which with crypto/md5, a core each
	lanes        int           // lane goroutines running
	srvs         []*simdServer // started on demand, stopped by Close
	closed       bool          // set by Close: nothing is queued after it
	wg           sync.WaitGroup

	stopping atomic.Bool // set by Close: lanes stop at the next chunk

	// Counters, for tests and benchmarks.
	simdBytes, scalarBytes atomic.Int64
	blocks                 atomic.Int64
	peak                   int // the most streams being hashed at once (under mu)
}

// simdServer is one md5-simd server and the streams made on it. A stream
// is held by one HashStream from its first byte to its sum, then goes back
// to be reused: the server of md5-simd v1.1.2 never forgets a closed
// stream (it deletes the wrong key), and would scan every one it ever had
// on each round. Streams are closed with the server.
type simdServer struct {
	srv   md5simd.Server
	lanes int              // lanes feeding it now: it is busy, a core's worth
	held  int              // streams HashStreams hold (at most LanesPerServer)
	idle  []md5simd.Hasher // streams made on it that no HashStream holds
	made  int              // streams made on it
}

// LanesPerServer is the most streams one md5-simd server hashes: the 16
// lanes of AVX-512.
const LanesPerServer = md5simd.Lanes

// HashOffActorsMin is the smallest sealed block whose md5 the Hasher
// computes: a put worker hashes a smaller one itself, where handing it over
// would cost more than hashing it.
const HashOffActorsMin = 64 << 10

// HashWhileWrittenMin is the smallest buffer a block written in file order
// is hashed in while it is written (Stream): below it, the block is hashed
// once sealed, if at all (HashOffActorsMin).
const HashWhileWrittenMin = 1 << 20

// hashChunk is how much a lane hashes between two looks at whether its
// stream was abandoned or has more bytes.
const hashChunk = 256 << 10

// ErrHasherClosed is what Wait returns for a block whose hash the closing
// engine abandoned.
var ErrHasherClosed = errors.New("arvfile: block hasher closed")

// NewHasher returns a Hasher that runs up to servers md5-simd servers
// (at least one, at most one per core).
func NewHasher(servers int) *Hasher {
	return &Hasher{servers: min(max(servers, 1), runtime.NumCPU()), scalar: max(1, runtime.GOMAXPROCS(0)),
		idle: make(map[*HashStream]struct{})}
}

// DefaultHashServers is one md5-simd server per two cores (at least one):
// one server keeps one core busy, and the others copy the bytes written.
func DefaultHashServers() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// maxLanes is the most lane goroutines: one per stream a server can hold,
// and one per core for crypto/md5.
func (h *Hasher) maxLanes() int { return h.servers*LanesPerServer + h.scalar }

// HashStats are a Hasher's counters.
type HashStats struct {
	// SIMDBytes were hashed by md5-simd servers, ScalarBytes by crypto/md5,
	// counted for the sums completed (a stream abandoned counts nothing).
	SIMDBytes, ScalarBytes int64
	// Blocks counts the sums completed; PeakStreams is the most blocks that
	// were being hashed at once.
	Blocks      int64
	PeakStreams int
}

// Stats returns the Hasher's counters so far.
func (h *Hasher) Stats() HashStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return HashStats{SIMDBytes: h.simdBytes.Load(), ScalarBytes: h.scalarBytes.Load(), Blocks: h.blocks.Load(), PeakStreams: h.peak}
}

// HashStream is the md5 of a buffer whose final bytes are known from its
// start on, in one or more steps (Extend); a messages.PendingSum: Wait
// returns the sum once the final bytes are hashed.
//
// Bytes below the ready mark must not change until Wait returned (or the
// stream was abandoned); bytes above it may be written meanwhile. release
// is called once no lane reads the buffer any more (the sum is whole, or
// it was abandoned).
type HashStream struct {
	h       *Hasher
	data    []byte // the buffer at its capacity (under h.mu: Grown extends it)
	release func()
	done    chan struct{} // closed once finished

	abandoned atomic.Bool

	// Under h.mu.
	state  streamState
	ready  int  // bytes from the start that are final
	final  bool // ready is the whole
	hashed int  // bytes hashed so far
	method hashMethod
	// The hash so far: crypto/md5's (scalarHash) or a stream of an
	// md5-simd server (simdHash), used by the stream's lane only.
	digest hash.Hash
	srv    *simdServer
	simd   md5simd.Hasher
	fresh  bool // simd is to be made (nil) or reset by the lane before its first byte
	sum    [md5.Size]byte
	ok     bool
	err    error // why the sum failed, when not ErrHasherClosed
}

// streamState is where a HashStream is.
type streamState int

const (
	streamIdle     streamState = iota // nothing to hash now: no lane, no core
	streamQueued                      // bytes to hash: waiting for a lane
	streamRunning                     // a lane hashes it
	streamFinished                    // its sum is whole, or it was abandoned
)

// Start begins hashing data, which must not change until the sum's Wait
// returned, and returns the pending sum. After Close it returns a sum that
// fails with ErrHasherClosed.
func (h *Hasher) Start(data []byte) *HashStream {
	return h.begin(&HashStream{h: h, data: data, done: make(chan struct{}), ready: len(data), final: true})
}

// Stream returns a HashStream over buf (read up to its capacity), with
// nothing ready yet. After Close the stream fails with ErrHasherClosed.
func (h *Hasher) Stream(buf []byte, release func()) *HashStream {
	return h.begin(&HashStream{h: h, data: buf[:cap(buf)], release: release, done: make(chan struct{})})
}

// begin files s (startLocked) and returns it, finished at once after Close.
func (h *Hasher) begin(s *HashStream) *HashStream {
	h.mu.Lock()
	ended := h.startLocked(s)
	h.mu.Unlock()
	if ended {
		s.closeOut()
	}
	return s
}

// startLocked files a new stream: queued when it has bytes to hash, else
// idle. It reports true when the Hasher is closed: s is finished, and the
// caller calls s.closeOut once it released h.mu.
func (h *Hasher) startLocked(s *HashStream) bool {
	if h.closed {
		s.state = streamFinished
		s.abandoned.Store(true)
		return true
	}
	if s.ready == 0 && !s.final {
		s.state = streamIdle
		h.idle[s] = struct{}{}
		return false
	}
	h.queueLocked(s)
	return false
}

// queueLocked puts s at the back of the queue and starts a lane when the
// lanes are fewer than the streams with bytes to hash.
func (h *Hasher) queueLocked(s *HashStream) {
	s.state = streamQueued
	h.queue = append(h.queue, s)
	if h.lanes < h.active+len(h.queue) && h.lanes < h.maxLanes() {
		h.lanes++
		h.wg.Add(1)
		go h.lane()
	}
}

// Extend marks the bytes below n final (a smaller n than before changes
// nothing) and, when final, n the whole: the sum is computed once they are
// hashed. Once the whole is known, Extend does nothing.
func (s *HashStream) Extend(n int, final bool) {
	h := s.h
	h.mu.Lock()
	if s.state == streamFinished || s.final { // the whole is known: nothing changes it
		h.mu.Unlock()
		return
	}
	switch {
	case n > len(s.data): // past the buffer it knows (a growth not told by Grown): the caller's bug
		s.err = fmt.Errorf("arvfile: block hash: %d bytes marked final past the %d of its buffer", n, len(s.data))
	case final && n < s.ready: // a whole shorter than bytes already final: the caller's bug
		s.err = fmt.Errorf("arvfile: block hash: final size %d below the %d bytes already final", n, s.ready)
	}
	if s.err != nil {
		h.mu.Unlock()
		s.Abandon()
		return
	}
	s.ready = max(s.ready, n)
	s.final = final
	if s.state == streamIdle && (s.ready > s.hashed || s.final) {
		delete(h.idle, s)
		h.queueLocked(s)
	}
	h.mu.Unlock()
}

// Grown tells the stream that its buffer grew in place: buf is the same
// bytes at the same address, with a larger capacity, which Extend may now
// mark final. A buffer at another address is the caller's bug: the stream
// is abandoned.
func (s *HashStream) Grown(buf []byte) {
	h := s.h
	h.mu.Lock()
	if s.state == streamFinished {
		h.mu.Unlock()
		return
	}
	if cap(buf) < len(s.data) || cap(buf) > 0 && len(s.data) > 0 && &buf[:1][0] != &s.data[0] {
		s.err = errors.New("arvfile: block hash: the buffer moved while it was hashed")
		h.mu.Unlock()
		s.Abandon()
		return
	}
	s.data = buf[:cap(buf)]
	h.mu.Unlock()
}

// Abandon stops the hashing: at once when no lane hashes the stream, else
// within a chunk. Wait then fails, unless the sum was whole already.
func (s *HashStream) Abandon() {
	s.abandoned.Store(true)
	h := s.h
	h.mu.Lock()
	switch s.state {
	case streamIdle:
		delete(h.idle, s)
	case streamQueued:
		h.unqueueLocked(s)
	default: // running: its lane ends it; finished: nothing to do
		h.mu.Unlock()
		return
	}
	h.finishLocked(s, false)
	h.mu.Unlock()
	s.closeOut()
}

// AbandonAndWait abandons the stream and returns once no lane reads its
// buffer any more (within a chunk), so that the caller may rewrite bytes
// it had marked final.
func (s *HashStream) AbandonAndWait() {
	s.Abandon()
	<-s.done
}

// unqueueLocked takes s out of the queue.
func (h *Hasher) unqueueLocked(s *HashStream) {
	for i, q := range h.queue {
		if q == s {
			h.queue = slices.Delete(h.queue, i, i+1)
			return
		}
	}
}

// finishLocked makes s finished: ok when its sum is whole. Its md5-simd
// stream goes back to its server. The caller calls s.closeOut once it
// released h.mu.
func (h *Hasher) finishLocked(s *HashStream, ok bool) {
	s.state, s.ok = streamFinished, ok
	if ok {
		h.blocks.Add(1)
		if s.method == simdHash {
			h.simdBytes.Add(int64(s.hashed))
		} else {
			h.scalarBytes.Add(int64(s.hashed))
		}
	}
	if s.srv != nil {
		s.srv.held--
		if s.simd != nil { // reset by the next stream that takes it
			s.srv.idle = append(s.srv.idle, s.simd)
		}
		s.srv, s.simd = nil, nil
	}
	s.digest = nil
}

// closeOut gives the buffer back and wakes the waiters of a finished
// stream; called once, by whoever finished it.
func (s *HashStream) closeOut() {
	if s.release != nil {
		s.release()
	}
	close(s.done)
}

// Wait returns the md5 of the final bytes. When ctx ends first, or the
// Hasher closed, it abandons the stream and returns an error; in every
// case it returns only once no lane reads the buffer any more.
func (s *HashStream) Wait(ctx context.Context) ([md5.Size]byte, error) {
	select {
	case <-s.done:
	case <-ctx.Done():
		s.Abandon()
		<-s.done
		if !s.ok {
			return [md5.Size]byte{}, ctx.Err()
		}
	}
	if !s.ok {
		if s.err != nil {
			return [md5.Size]byte{}, s.err
		}
		return [md5.Size]byte{}, ErrHasherClosed
	}
	return s.sum, nil
}

// lane hashes queued streams until none it may take is left (or the Hasher
// closes).
func (h *Hasher) lane() {
	defer h.wg.Done()
	h.mu.Lock()
	for {
		s := h.takeLocked()
		if s == nil {
			break
		}
		h.hashLocked(s)
	}
	h.lanes--
	h.mu.Unlock()
}

// takeLocked takes the first queued stream that may be hashed now, marks
// it running and counts it on its core or server; nil when none may.
func (h *Hasher) takeLocked() *HashStream {
	if h.closed {
		return nil
	}
	fresh := 0 // queued streams not hashed yet: they choose how
	for _, s := range h.queue {
		if s.method == 0 {
			fresh++
		}
	}
	busy := h.busyServersLocked()
	for i, s := range h.queue {
		how := s.method
		switch how {
		case 0:
			how = chooseHash(h.scalar, h.scalarActive, busy, fresh, len(h.idle))
			if how == simdHash && !h.serverRoomLocked() { // every server's streams are held
				how = waitForLane
				if h.scalarActive+busy < h.scalar {
					how = scalarHash
				}
			}
			fresh--
		case scalarHash:
			if h.scalarActive+busy >= h.scalar { // every core hashes already
				how = waitForLane
			}
		}
		if how == waitForLane {
			continue
		}
		h.queue = slices.Delete(h.queue, i, i+1)
		s.state = streamRunning
		h.active++
		h.peak = max(h.peak, h.active)
		if how == scalarHash {
			h.scalarActive++
			if s.method == 0 {
				s.method, s.digest = scalarHash, md5.New()
			}
		} else {
			if s.method == 0 {
				s.method, s.fresh = simdHash, true
				s.srv, s.simd = h.streamLocked()
			}
			s.srv.lanes++
		}
		return s
	}
	return nil
}

// hashLocked hashes s's ready bytes, a chunk at a time, until it caught up
// (it goes idle), its sum is whole, or it was abandoned; h.mu is held on
// entry and on return, released while hashing.
func (h *Hasher) hashLocked(s *HashStream) {
	for {
		if s.abandoned.Load() || h.stopping.Load() {
			h.endLocked(s, false)
			return
		}
		if s.method == simdHash && s.fresh { // a server's stream, made or reset off the lock (it waits on the server)
			h.mu.Unlock()
			made := s.simd == nil
			if made {
				s.simd = s.srv.srv.NewHash()
			}
			s.simd.Reset()
			h.mu.Lock()
			if made {
				s.srv.made++
			}
			s.fresh = false
			continue
		}
		data, from, to := s.data, s.hashed, min(s.ready, s.hashed+hashChunk)
		if from == to {
			if !s.final { // caught up: wait for the next bytes
				h.leaveLocked(s)
				s.state = streamIdle
				h.idle[s] = struct{}{}
				return
			}
			h.mu.Unlock() // md5-simd's Sum waits on its server
			if s.method == simdHash {
				s.simd.Sum(s.sum[:0])
			} else {
				s.digest.Sum(s.sum[:0])
			}
			h.mu.Lock()
			h.endLocked(s, true)
			return
		}
		h.mu.Unlock()
		if s.method == simdHash {
			s.simd.Write(data[from:to])
		} else {
			s.digest.Write(data[from:to])
		}
		h.mu.Lock()
		s.hashed = to
	}
}

// endLocked ends s, which its lane hashed: off its core or server,
// finished (ok when its sum is whole), its buffer given back and its
// waiters woken with h.mu released meanwhile.
func (h *Hasher) endLocked(s *HashStream, ok bool) {
	h.leaveLocked(s)
	h.finishLocked(s, ok)
	h.mu.Unlock()
	s.closeOut()
	h.mu.Lock()
}

// leaveLocked counts s off its core or server.
func (h *Hasher) leaveLocked(s *HashStream) {
	h.active--
	if s.method == simdHash {
		s.srv.lanes--
	} else {
		h.scalarActive--
	}
}

// hashMethod is how a stream is hashed.
type hashMethod int

const (
	waitForLane hashMethod = iota // not now: every core is hashing
	scalarHash                    // crypto/md5, on a core of its own
	simdHash                      // one stream of an md5-simd server
)

// simdMin is the fewest streams worth starting an md5-simd server for. Its
// goroutine hashes all of its streams in one pass on one core, so it hashes
// more bytes per CPU-second the more streams it has: measured here
// (2 cores, AVX-512, 32 MiB per stream, CPU time of the process) ≈ 0.55–
// 0.65 GB per CPU-second for 1–3 streams, 0.85 for 4, 1.2–1.3 for 6, 1.65
// for 8 and 2.0 for 12–16, against 0.79 for crypto/md5 at any count.
const simdMin = 4

// simdMany is how many streams caught up with their blocks — blocks being
// written, whose next bytes will come — make every new stream go to an
// md5-simd server even when a core is free. Sixteen writers of one file's
// ranges each fill a block of their own (a stream) and start their next
// at different times: one at a time, each new block found a core free and
// was hashed with crypto/md5 from its first byte to its last, a third of
// the bytes at 0.79 GB per CPU-second instead of about 2, on a core the
// writers' copies need.
const simdMany = 8

// chooseHash decides how a lane hashes the stream at the head of the
// queued ones not hashed yet, given the cores, the streams being hashed
// with crypto/md5, the md5-simd servers busy, those queued streams (that
// one included) and the streams caught up with their blocks. Each busy
// server and each crypto/md5 stream takes a core. With simdMany streams
// caught up, the new one goes to a server, if one is busy or a core is
// free for it. Else a server is worth starting when at least simdMin
// streams would be left for it once the cores it leaves free have a stream
// each; then the oldest streams go to those cores and the others to the
// server. Else streams take free cores, one each, and wait when none is
// free: a lane running crypto/md5 takes the next one when its stream is
// done or caught up. (The writers' copies, on the same cores, are small
// beside the hashing.)
func chooseHash(cores, scalarActive, busyServers, queued, caughtUp int) hashMethod {
	if caughtUp >= simdMany && (busyServers > 0 || scalarActive < cores) {
		return simdHash // onto a busy server, or a server on a free core
	}
	if busyServers == 0 && queued-max(0, cores-1-scalarActive) >= simdMin {
		busyServers = 1
	}
	switch {
	case scalarActive+busyServers < cores:
		return scalarHash
	case busyServers > 0:
		return simdHash
	default:
		return waitForLane
	}
}

// busyServersLocked counts the md5-simd servers that lanes feed now.
func (h *Hasher) busyServersLocked() int {
	n := 0
	for _, s := range h.srvs {
		if s.lanes > 0 {
			n++
		}
	}
	return n
}

// serverRoomLocked reports whether a stream can be had: a server holds
// fewer than LanesPerServer, or another may be started.
func (h *Hasher) serverRoomLocked() bool {
	if len(h.srvs) < h.servers {
		return true
	}
	for _, s := range h.srvs {
		if s.held < LanesPerServer {
			return true
		}
	}
	return false
}

// streamLocked returns a stream on the busiest server that has one free
// (nil when one is to be made on it),
// starting a server only when every running one is full (while fewer than
// h.servers run): a server hashes more per CPU-second the more streams it
// has. Called only when serverRoomLocked.
func (h *Hasher) streamLocked() (*simdServer, md5simd.Hasher) {
	var best *simdServer
	for _, s := range h.srvs {
		if s.held < LanesPerServer && (best == nil || s.held > best.held) {
			best = s
		}
	}
	if best == nil {
		best = &simdServer{srv: md5simd.NewServer()}
		h.srvs = append(h.srvs, best)
	}
	best.held++
	if n := len(best.idle); n > 0 {
		st := best.idle[n-1]
		best.idle = best.idle[:n-1]
		return best, st
	}
	return best, nil // the lane makes it, off the lock
}

// Close abandons every stream not yet whole (a lane stops within a chunk),
// waits for the lanes to stop and stops the md5-simd servers. Sums not
// computed fail with ErrHasherClosed. It is idempotent.
func (h *Hasher) Close() {
	h.stopping.Store(true)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	ended := h.queue
	h.queue = nil
	for s := range h.idle {
		ended = append(ended, s)
	}
	clear(h.idle)
	for _, s := range ended {
		s.abandoned.Store(true)
		h.finishLocked(s, false)
	}
	h.mu.Unlock()
	for _, s := range ended {
		s.closeOut()
	}
	h.wg.Wait()
	h.mu.Lock()
	srvs := h.srvs
	h.srvs = nil
	h.mu.Unlock()
	for _, s := range srvs {
		for _, st := range s.idle {
			st.Close()
		}
		s.srv.Close()
	}
}
