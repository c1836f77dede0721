package actors

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/arvfile/arvfile/messages"
	md5simd "github.com/minio/md5-simd"
)

// Hasher computes the md5 of sealed blocks off the actors, so that a put
// worker hands the store a block with its sum (keep.PutOptions.MD5) and the
// store need not hash it again.
//
// The put coordinator starts a block's hash (Start) as soon as the block is
// submitted, whether a worker takes it at once, it waits in the queue, or
// its writer waits for room (overflow), and a worker that takes one waits
// only for what is left of its hash. Blocks are taken in submission order
// by lanes, goroutines started on demand (at most LanesPerServer per
// md5-simd server) that exit when nothing is left for them. Each core
// hashes one block with crypto/md5, the fastest per stream, until enough
// blocks wait to be worth a multi-buffer md5-simd server (simdMin), whose
// one goroutine hashes up to 16 streams at once on one core (AVX-512; 8
// with AVX2; crypto/md5 without either): then the server takes a core and
// the blocks the other cores do not (chooseHash). A sequential writer's two
// or so blocks in flight are hashed on both cores; sixteen writers' blocks
// on one core through the server and on the others with crypto/md5. A
// server is started when first needed, filled before another is started,
// and stopped by Close; there is at most one per core.
//
// A sealed block's bytes do not change until its upload ends, so lanes read
// them in place. Wait returns only once no lane reads them any more, so the
// worker may give the buffer back (Memory.GiveBack) as soon as Wait
// returned. Close abandons what is left and returns once every lane
// stopped; call it before the block buffers are released (Memory.Close).
// Safe for concurrent use.
type Hasher struct {
	servers int // md5-simd servers at most; lanes are LanesPerServer each
	scalar  int // the cores: blocks hashed with crypto/md5 and busy servers at most

	mu     sync.Mutex
	queue  []*hashJob // waiting for a lane, in submission order
	active int        // jobs being hashed by a lane
	// jobs being hashed with crypto/md5, a core each
	scalarActive int
	lanes        int            // lane goroutines running
	srvs         []*simdServer  // started on demand, stopped by Close
	closed       bool           // set by Close: nothing is queued after it
	wg           sync.WaitGroup // the lanes

	stopping atomic.Bool // set by Close: lanes stop at the next chunk

	// Counters, for tests and benchmarks.
	simdBytes, scalarBytes atomic.Int64
	blocks                 atomic.Int64
	peak                   int // the most jobs hashed at once (under mu)
}

// simdServer is one md5-simd server and the streams made on it. A stream
// is made once and reused by the lanes that come after its first one: the
// server of md5-simd v1.1.2 never forgets a closed stream (it deletes the
// wrong key), and would scan every one it ever had on each round. Streams
// are closed with the server.
type simdServer struct {
	srv   md5simd.Server
	lanes int              // lanes feeding it now
	idle  []md5simd.Hasher // streams made on it that no lane holds
	made  int              // streams made on it (at most LanesPerServer)
}

// LanesPerServer is the most streams one md5-simd server is fed at once:
// the 16 lanes of AVX-512.
const LanesPerServer = md5simd.Lanes

// HashOffActorsMin is the smallest block whose md5 the Hasher computes: a
// put worker hashes a smaller one itself, where handing it over would cost
// more than hashing it.
const HashOffActorsMin = 64 << 10

// hashChunk is how much a lane hashes between two looks at whether its job
// was abandoned.
const hashChunk = 1 << 20

// ErrHasherClosed is what Wait returns for a block whose hash the closing
// engine abandoned.
var ErrHasherClosed = errors.New("arvfile: block hasher closed")

// NewHasher returns a Hasher that runs up to servers md5-simd servers
// (at least one, at most one per core).
func NewHasher(servers int) *Hasher {
	return &Hasher{servers: min(max(servers, 1), runtime.NumCPU()), scalar: max(1, runtime.GOMAXPROCS(0))}
}

// DefaultHashServers is one md5-simd server per two cores (at least one):
// one server keeps one core busy, and the others copy the bytes written.
func DefaultHashServers() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// hashJob is the md5 of one block being computed.
type hashJob struct {
	h    *Hasher
	data []byte
	done chan struct{} // closed once no lane reads data any more

	abandoned atomic.Bool // set by Wait's cancelled context or Close: lanes stop reading
	// Set before done is closed.
	sum  [md5.Size]byte
	ok   bool // the sum is complete
	simd bool // computed by an md5-simd server
}

// HashStats are a Hasher's counters.
type HashStats struct {
	// SIMDBytes were hashed by md5-simd servers, ScalarBytes by crypto/md5
	// (a block hashed alone).
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

// Start begins hashing data, which must not change until the sum's Wait
// returned, and returns the pending sum. After Close it returns a sum that
// fails with ErrHasherClosed.
func (h *Hasher) Start(data []byte) messages.PendingSum {
	j := &hashJob{h: h, data: data, done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.startLocked(j)
	return j
}

// startLocked queues j and starts a lane for it if one may be added.
func (h *Hasher) startLocked(j *hashJob) {
	if h.closed {
		close(j.done)
		return
	}
	h.queue = append(h.queue, j)
	if h.lanes < h.servers*LanesPerServer {
		h.lanes++
		h.wg.Add(1)
		go h.lane()
	}
}

// Wait returns the md5 of the job's data once computed. When ctx ends
// first, or the Hasher closed, it stops the hashing and returns an error;
// in every case it returns only once no lane reads the data any more.
func (j *hashJob) Wait(ctx context.Context) ([md5.Size]byte, error) {
	select {
	case <-j.done:
	case <-ctx.Done():
		j.h.abandon(j)
		<-j.done
		if !j.ok {
			return [md5.Size]byte{}, ctx.Err()
		}
	}
	if !j.ok {
		return [md5.Size]byte{}, ErrHasherClosed
	}
	return j.sum, nil
}

// abandon stops j: out of the queue if no lane took it yet (done at once),
// else its lane stops at the next chunk.
func (h *Hasher) abandon(j *hashJob) {
	j.abandoned.Store(true)
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, q := range h.queue {
		if q == j {
			h.queue = append(h.queue[:i], h.queue[i+1:]...)
			close(j.done)
			return
		}
	}
}

// lane hashes queued jobs until none is left (or the Hasher closes).
func (h *Hasher) lane() {
	defer h.wg.Done()
	var (
		srv    *simdServer
		stream md5simd.Hasher
	)
	// exitLocked ends the lane, its stream back on its server in the same
	// critical section: no one may see the server busy, or the lanes
	// fewer than the streams in use, once the lane is gone.
	exitLocked := func() {
		h.lanes--
		if stream != nil {
			srv.lanes--
			srv.idle = append(srv.idle, stream)
		}
		h.mu.Unlock()
	}
	for {
		h.mu.Lock()
		if h.closed || len(h.queue) == 0 {
			exitLocked()
			return
		}
		how := chooseHash(h.scalar, h.scalarActive, h.busyServersLocked(), len(h.queue))
		if how == waitForLane { // every core hashes already; a lane that ends takes it
			exitLocked()
			return
		}
		j := h.queue[0]
		h.queue[0] = nil
		h.queue = h.queue[1:]
		h.active++
		h.peak = max(h.peak, h.active)
		if how == scalarHash {
			h.scalarActive++
			if stream != nil { // this lane's stream goes back: its server may stop being busy
				srv.lanes--
				srv.idle = append(srv.idle, stream)
				srv, stream = nil, nil
			}
		} else if stream == nil {
			srv, stream = h.streamLocked()
		}
		h.mu.Unlock()
		if how == scalarHash {
			j.ok = hashScalar(j)
		} else {
			stream.Reset()
			j.ok, j.simd = hashStream(j, stream), true
		}
		if j.ok {
			h.blocks.Add(1)
			if j.simd {
				h.simdBytes.Add(int64(len(j.data)))
			} else {
				h.scalarBytes.Add(int64(len(j.data)))
			}
		}
		h.mu.Lock()
		h.active--
		if !j.simd {
			h.scalarActive--
		}
		h.mu.Unlock()
		close(j.done)
	}
}

// hashMethod is how a lane hashes the block at the head of the queue.
type hashMethod int

const (
	waitForLane hashMethod = iota // not now: every core is hashing
	scalarHash                    // crypto/md5, on a core of its own
	simdHash                      // one stream of an md5-simd server
)

// simdMin is the fewest blocks worth starting an md5-simd server for. Its
// goroutine hashes all of its streams in one pass on one core, so it hashes
// more bytes per CPU-second the more streams it has: measured here
// (2 cores, AVX-512, 32 MiB per stream, CPU time of the process) ≈ 0.55–
// 0.65 GB per CPU-second for 1–3 streams, 0.85 for 4, 1.2–1.3 for 6, 1.65
// for 8 and 2.0 for 12–16, against 0.79 for crypto/md5 at any count.
const simdMin = 4

// chooseHash decides how a lane hashes the block at the head of the queue,
// given the cores, the blocks being hashed with crypto/md5, the md5-simd
// servers busy and the blocks queued (that one included). Each busy server
// and each crypto/md5 block takes a core. A server is worth starting when
// at least simdMin blocks would be left for it once the cores it leaves
// free have a block each; then the oldest blocks go to those cores and the
// others to the server. Else blocks take free cores, one each, and wait
// when none is free: a lane running crypto/md5 takes the next one when its
// block is done. (The writers' copies, on the same cores, are small beside
// the hashing.)
func chooseHash(cores, scalarActive, busyServers, queued int) hashMethod {
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

// streamLocked returns a stream on the busiest server that has a lane
// free, starting a server only when every running one is full (while fewer
// than h.servers run): a server hashes more per CPU-second the more streams
// it has.
func (h *Hasher) streamLocked() (*simdServer, md5simd.Hasher) {
	var best *simdServer
	for _, s := range h.srvs {
		if s.lanes < LanesPerServer && (best == nil || s.lanes > best.lanes) {
			best = s
		}
	}
	if best == nil && len(h.srvs) < h.servers {
		best = &simdServer{srv: md5simd.NewServer()}
		h.srvs = append(h.srvs, best)
	}
	if best == nil { // cannot happen: lanes never outnumber the servers' streams
		best = h.srvs[0]
	}
	best.lanes++
	if n := len(best.idle); n > 0 {
		st := best.idle[n-1]
		best.idle = best.idle[:n-1]
		return best, st
	}
	best.made++
	return best, best.srv.NewHash()
}

// stopped reports whether the lane hashing j is to stop.
func (j *hashJob) stopped() bool { return j.abandoned.Load() || j.h.stopping.Load() }

// hashScalar hashes j's data with crypto/md5, a chunk at a time; it reports
// false when j was abandoned before the end.
func hashScalar(j *hashJob) bool {
	d := md5.New()
	for off := 0; off < len(j.data); off += hashChunk {
		if j.stopped() {
			return false
		}
		d.Write(j.data[off:min(off+hashChunk, len(j.data))])
	}
	d.Sum(j.sum[:0])
	return true
}

// hashStream hashes j's data as one stream of an md5-simd server, a chunk
// at a time; it reports false when j was abandoned before the end.
func hashStream(j *hashJob, stream md5simd.Hasher) bool {
	for off := 0; off < len(j.data); off += hashChunk {
		if j.stopped() {
			return false
		}
		stream.Write(j.data[off:min(off+hashChunk, len(j.data))])
	}
	stream.Sum(j.sum[:0])
	return true
}

// Close abandons every block not yet hashed (a lane stops within a chunk),
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
	queued := h.queue
	h.queue = nil
	h.mu.Unlock()
	for _, j := range queued {
		j.abandoned.Store(true)
		close(j.done)
	}
	h.wg.Wait()
	for _, s := range h.srvs {
		for _, st := range s.idle {
			st.Close()
		}
		s.srv.Close()
	}
	h.srvs = nil
}

// HashStream is the md5 of a buffer that fills from its start while it is
// hashed, off the actors: the packed block hands it each new end of the
// contiguous run of pieces that arrived (Extend), and the last one with
// final. One goroutine at a time hashes what is ready and exits when it
// caught up; the next Extend starts another. The packed block's strand
// thus only copies and answers messages, and the sum is ready soon after
// the last piece.
//
// Bytes below the ready mark must not change; bytes above it may be
// written meanwhile. release is called once no goroutine reads the buffer
// any more (the sum is whole, or it was abandoned). A HashStream is a
// messages.PendingSum: Wait returns the sum once final bytes are hashed.
type HashStream struct {
	h       *Hasher
	data    []byte // the buffer at its capacity
	release func()
	done    chan struct{} // closed once finished
	digest  hash.Hash     // the md5 of data[:hashed]; used by the running goroutine only

	abandoned atomic.Bool

	mu       sync.Mutex
	ready    int  // bytes from the start that are final
	final    bool // ready is the whole
	hashed   int  // bytes hashed so far
	running  bool // a goroutine hashes
	finished bool // done is closed (or about to be)
	sum      [md5.Size]byte
	ok       bool
	err      error // why the sum failed, when not ErrHasherClosed
}

// Stream returns a HashStream over buf (read up to its capacity), with
// nothing ready yet. After Close the stream fails with ErrHasherClosed.
func (h *Hasher) Stream(buf []byte, release func()) *HashStream {
	return &HashStream{h: h, data: buf[:cap(buf)], release: release, done: make(chan struct{}), digest: md5.New()}
}

// Extend marks the bytes below n final (a smaller n than before changes
// nothing) and, when final, n the whole: the sum is computed once they are
// hashed. Once the whole is known, Extend does nothing.
func (s *HashStream) Extend(n int, final bool) {
	s.mu.Lock()
	if s.finished || s.final { // the whole is known: nothing changes it
		s.mu.Unlock()
		return
	}
	n = min(n, len(s.data))
	if final && n < s.ready { // a whole shorter than bytes already final: the caller's bug
		s.err = fmt.Errorf("arvfile: block hash: final size %d below the %d bytes already final", n, s.ready)
		s.mu.Unlock()
		s.Abandon()
		return
	}
	s.ready = max(s.ready, n)
	if final {
		s.final = true
	}
	if s.running || s.ready == s.hashed && !s.final {
		s.mu.Unlock()
		return
	}
	s.running = true
	s.mu.Unlock()
	s.h.mu.Lock()
	closed := s.h.closed
	if !closed {
		s.h.wg.Add(1)
	}
	s.h.mu.Unlock()
	if closed {
		s.abandoned.Store(true)
		s.end(false)
		return
	}
	go s.run()
}

// run hashes what is ready until it caught up; the sum once final.
func (s *HashStream) run() {
	defer s.h.wg.Done()
	for {
		s.mu.Lock()
		from, to, final := s.hashed, s.ready, s.final
		if from == to && !final {
			if s.abandoned.Load() { // an Abandon that saw this goroutine running left the end to it
				s.mu.Unlock()
				s.end(false)
				return
			}
			s.running = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if s.abandoned.Load() || s.h.stopping.Load() {
			s.end(false)
			return
		}
		for off := from; off < to; off += hashChunk {
			if s.abandoned.Load() || s.h.stopping.Load() {
				s.end(false)
				return
			}
			s.digest.Write(s.data[off:min(off+hashChunk, to)])
		}
		s.h.scalarBytes.Add(int64(to - from))
		s.mu.Lock()
		s.hashed = to
		whole := s.final && s.hashed == s.ready
		s.mu.Unlock()
		if whole {
			s.digest.Sum(s.sum[:0])
			s.h.blocks.Add(1)
			s.end(true)
			return
		}
	}
}

// end finishes the stream once: ok tells whether the sum is whole.
func (s *HashStream) end(ok bool) {
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return
	}
	s.finished, s.running, s.ok = true, false, ok
	s.mu.Unlock()
	if s.release != nil {
		s.release()
	}
	close(s.done)
}

// Abandon stops the hashing: at once when no goroutine runs, else within a
// chunk. Wait then fails, unless the sum was whole already.
func (s *HashStream) Abandon() {
	s.abandoned.Store(true)
	s.mu.Lock()
	if s.running || s.finished { // the running goroutine ends it
		s.mu.Unlock()
		return
	}
	s.running = true // no Extend starts a goroutine now: end is ours
	s.mu.Unlock()
	s.end(false)
}

// Wait returns the md5 of the final bytes. When ctx ends first, or the
// Hasher closed, it abandons the stream and returns an error; in every
// case it returns only once no goroutine reads the buffer any more.
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
