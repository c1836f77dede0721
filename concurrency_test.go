package arvfile

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pattern returns n bytes that depend on seed and position.
func pattern(seed, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(seed*31 + i*7 + i/251)
	}
	return b
}

func TestSixtyFourGoroutinesWriteTheirOwnFiles(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(4096), WithMemoryBudget(64<<10)).NewCollection()
	const files, size, chunk = 64, 10000, 700
	var wg sync.WaitGroup
	for i := 0; i < files; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			f, err := c.Create(fmt.Sprintf("d%d/f%d", i%4, i))
			if !assert.NoError(t, err) {
				return
			}
			data := pattern(i, size)
			for off := 0; off < size; off += chunk {
				_, err := f.Write(data[off:min(off+chunk, size)])
				assert.NoError(t, err)
			}
			assert.NoError(t, f.Close())
		}(i)
	}
	wg.Wait()
	require.NoError(t, c.Commit(bg))
	for i := 0; i < files; i++ {
		assert.Equal(t, string(pattern(i, size)), contents(t, c, fmt.Sprintf("d%d/f%d", i%4, i)))
	}
	for l, n := range st.putCounts() {
		assert.Equal(t, 1, n, l)
	}
}

func TestSixteenWritersOfDisjointRangesUploadEachSealedBlockOnce(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(4096)).NewCollection()
	const writers, span, piece = 16, 4096, 256
	f := create(t, c, "shared")
	writeRanges(t, f, writers, span, piece, func(w int) []int { return rand.New(rand.NewSource(int64(w))).Perm(span / piece) })
	require.NoError(t, f.Sync())
	var want bytes.Buffer
	for w := 0; w < writers; w++ {
		want.Write(pattern(w, span))
	}
	assert.Equal(t, want.String(), contents(t, c, "shared"))
	counts := st.putCounts()
	total := 0
	for l, n := range counts {
		assert.Equal(t, 1, n, "block %s uploaded once", l)
		total += n
	}
	assert.Equal(t, 16, total, "16 sealed blocks of 4096 bytes")
	assert.Equal(t, st.mem.TotalPuts(), total)
	require.NoError(t, f.Close())
}

func TestSixteenWritersEachInFileOrderGetBlocksOfTheirOwn(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(4096)).NewCollection()
	const writers, span, piece = 16, 8192, 256
	f := create(t, c, "shared")
	writeRanges(t, f, writers, span, piece, func(int) []int {
		inOrder := make([]int, span/piece)
		for i := range inOrder {
			inOrder[i] = i
		}
		return inOrder
	})
	require.NoError(t, f.Close())
	var want bytes.Buffer
	for w := 0; w < writers; w++ {
		want.Write(pattern(w, span))
	}
	assert.Equal(t, want.String(), contents(t, c, "shared"))
	segs := committedSegments(t, c)["shared"]
	for l, n := range st.putCounts() {
		assert.Equal(t, 1, n, "block %s uploaded once", l)
	}
	named := map[string]bool{}
	for _, s := range segs {
		named[s.Locator] = true
	}
	assert.Equal(t, len(named), st.mem.TotalPuts(), "every block stored is named: none stored in vain")
	// Past its first pieces, each writer's range is in blocks written in
	// file order: blocks whose bytes are in the order of the file (a
	// writer may go on in the block of the range before its own).
	type order struct {
		pos     int64
		inOrder bool
	}
	blocks := map[string]*order{}
	for _, s := range segs { // in file order
		o := blocks[s.Locator]
		if o == nil {
			o = &order{inOrder: true}
			blocks[s.Locator] = o
		}
		o.inOrder = o.inOrder && s.SegmentOffset == o.pos
		o.pos = s.SegmentOffset + s.RangeSize
	}
	var scattered int64
	inOrder := map[int]int64{}
	for _, s := range segs {
		if blocks[s.Locator].inOrder {
			inOrder[int(s.RangeStart)/span] += s.RangeSize
		} else {
			scattered += s.RangeSize
		}
	}
	for w := 0; w < writers; w++ {
		assert.GreaterOrEqual(t, inOrder[w], int64(span/2), "range %d: in blocks in file order", w)
	}
	assert.LessOrEqual(t, scattered, int64(writers*span/4), "bytes in blocks out of file order")
}

// writeRanges has writers goroutines write f at once, writer w its range
// [w*span, (w+1)*span) of pattern(w, span) in pieces of piece bytes, in the
// order of pieces that order(w) gives.
func writeRanges(t *testing.T, f *File, writers, span, piece int, order func(w int) []int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			data := pattern(w, span)
			for _, p := range order(w) {
				_, err := f.WriteAt(data[p*piece:(p+1)*piece], int64(w*span+p*piece))
				assert.NoError(t, err)
			}
		}(w)
	}
	wg.Wait()
}

func TestReadersBesideWritersSeeOnlyCompletedWrites(t *testing.T) {
	st := newTestStore()
	c := newTestEngine(t, st, WithBlockSize(1024)).NewCollection()
	const records, recSize = 300, 100
	w := create(t, c, "log")
	var done atomic.Int64
	var wg, ready sync.WaitGroup
	const readers = 4
	ready.Add(readers)
	wg.Add(1)
	go func() {
		defer wg.Done()
		ready.Wait() // every reader has its handle: reads overlap the writes
		for i := 0; i < records; i++ {
			_, err := w.Write(bytes.Repeat([]byte{byte('A' + i%26)}, recSize))
			assert.NoError(t, err)
			done.Add(1)
		}
	}()
	for r := 0; r < readers; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := c.Open("log")
			ready.Done()
			if !assert.NoError(t, err) {
				return
			}
			defer h.Close()
			buf := make([]byte, records*recSize)
			for last := false; !last; {
				completed := done.Load()
				last = completed == records // one more read after the last write
				n, err := h.ReadAt(buf, 0)
				if n < len(buf) && !assert.ErrorIs(t, err, io.EOF, "a short read ends at EOF") {
					return
				}
				if n == len(buf) && !assert.NoError(t, err) {
					return
				}
				if !assert.Zero(t, n%recSize, "a write is seen whole or not at all") ||
					!assert.GreaterOrEqual(t, int64(n/recSize), completed, "completed writes are seen") {
					return
				}
				for i := 0; i < n/recSize; i++ {
					if !assert.Equal(t, bytes.Repeat([]byte{byte('A' + i%26)}, recSize), buf[i*recSize:(i+1)*recSize]) {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, w.Close())
	assert.Equal(t, records*recSize, len(contents(t, c, "log")))
}

func TestNoGoroutineIsLeftAfterClose(t *testing.T) {
	// Count in the same setting as the check below: testify's Eventually
	// runs its condition on goroutines of its own.
	var before int
	require.Eventually(t, func() bool { before = runtime.NumGoroutine(); return true }, waitFor, tick)
	st := newTestStore()
	e, err := New(WithStore(st), WithBlockSize(512), WithPutWorkers(3))
	require.NoError(t, err)
	c := e.NewCollection()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			f, err := c.Create(fmt.Sprintf("f%d", i))
			if !assert.NoError(t, err) {
				return
			}
			_, err = f.Write(pattern(i, 3000))
			assert.NoError(t, err)
			_, err = f.ReadAt(make([]byte, 100), 50)
			assert.NoError(t, err)
			assert.NoError(t, f.Close())
		}(i)
	}
	wg.Wait()
	c.Subscribe(func(Event) {})
	g, err := c.Create("open-at-close")
	require.NoError(t, err)
	_, err = g.Write(pattern(99, 2000))
	require.NoError(t, err)
	require.NoError(t, c.Commit(bg))
	require.NoError(t, e.Close())
	if !assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= before }, waitFor, tick,
		"goroutines: before %d", before) {
		buf := make([]byte, 1<<20)
		t.Logf("%s", buf[:runtime.Stack(buf, true)])
	}
}

func TestWritersWithinATinyMemoryBudgetAllFinish(t *testing.T) {
	st := newTestStore()
	e := newTestEngine(t, st, WithBlockSize(1024), WithMemoryBudget(4096), WithPutWorkers(1), WithQueueDepth(1))
	c := e.NewCollection()
	const files, size = 12, 20000
	var wg sync.WaitGroup
	for i := 0; i < files; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			f, err := c.Create(fmt.Sprintf("f%d", i))
			if !assert.NoError(t, err) {
				return
			}
			data := pattern(i, size)
			for off := 0; off < size; off += 333 {
				_, err := f.Write(data[off:min(off+333, size)])
				assert.NoError(t, err)
			}
			assert.NoError(t, f.Close())
		}(i)
	}
	wg.Wait()
	require.NoError(t, c.Commit(bg))
	for i := 0; i < files; i++ {
		assert.Equal(t, string(pattern(i, size)), contents(t, c, fmt.Sprintf("f%d", i)))
	}
	live, _ := e.sys.RT.Memory.Stats()
	assert.Equal(t, int64(0), live, "every buffer is released once everything is stored")
}

// Closing a collection while writers write ranges of its file drops the
// Appends queued behind the blocks' stop: each gives back the capacity the
// file reserved for it (the budget ends empty) and fails its write with
// fs.ErrClosed; none is a dead letter.
func TestClosingACollectionWhileItsFileIsWrittenGivesBackWhatTheQueuedAppendsReserved(t *testing.T) {
	e := newTestEngine(t, newTestStore(), WithBlockSize(1<<16))
	var appends atomic.Int64
	sub := e.sys.RT.System.EventStream.Subscribe(func(ev any) {
		if dl, ok := ev.(*actor.DeadLetterEvent); ok {
			if _, ok := dl.Message.(*messages.Append); ok {
				appends.Add(1)
			}
		}
	})
	defer e.sys.RT.System.EventStream.Unsubscribe(sub)
	for round := 0; round < 20; round++ {
		c := e.NewCollection()
		f := create(t, c, "a")
		var wg sync.WaitGroup
		var wrote atomic.Int64
		for r := 0; r < 8; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				data := pattern(r, 256)
				for off := int64(r) << 20; ; off += 256 {
					if _, err := f.WriteAt(data, off); err != nil {
						assert.ErrorIs(t, err, fs.ErrClosed)
						return
					}
					wrote.Add(1)
				}
			}()
		}
		require.Eventually(t, func() bool { return wrote.Load() > 400 }, waitFor, tick)
		require.NoError(t, c.Close())
		wg.Wait()
	}
	assert.Eventually(t, func() bool { return e.sys.RT.Memory.Used() == 0 }, waitFor, tick,
		"used %d", e.sys.RT.Memory.Used())
	assert.Zero(t, appends.Load(), "Appends dropped as dead letters")
}

// Engine.Close while writers write — each its own file, or each its range
// of one file (whose runs' blocks run on strands of their own) — stops
// every actor and goroutine, and every write ends with fs.ErrClosed.
func TestCloseWhileWritingLeavesNothingRunning(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(map[bool]string{false: "own files", true: "ranges of one file"}[shared], func(t *testing.T) {
			closeWhileWriting(t, shared)
		})
	}
}

func closeWhileWriting(t *testing.T, shared bool) {
	var before int
	require.Eventually(t, func() bool { before = runtime.NumGoroutine(); return true }, waitFor, tick)
	e, err := New(WithStore(newTestStore()), WithBlockSize(4096))
	require.NoError(t, err)
	c := e.NewCollection()
	var wg sync.WaitGroup
	var wrote atomic.Int64
	var one *File
	if shared {
		one, err = c.Create("shared")
		require.NoError(t, err)
	}
	for i := 0; i < 4; i++ {
		f := one
		if !shared {
			f, err = c.Create(fmt.Sprintf("f%d", i))
			require.NoError(t, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := pattern(1, 1000)
			var off int64
			if shared {
				off = int64(i) << 30 // each writer its range
			}
			for ; ; off += int64(len(data)) {
				if _, err := f.WriteAt(data, off); err != nil {
					assert.ErrorIs(t, err, fs.ErrClosed)
					return
				}
				wrote.Add(1)
			}
		}()
	}
	require.Eventually(t, func() bool { return wrote.Load() > 100 }, waitFor, tick)
	done := make(chan error)
	go func() { done <- e.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(3 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("%s", buf[:runtime.Stack(buf, true)])
	}
	wg.Wait()
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before }, waitFor, tick)
}
