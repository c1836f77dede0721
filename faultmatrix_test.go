package arvfile

// The fault matrix: the engine under a store that hangs, actors that panic,
// subscribers that never return, and long-running use. Each test here failed
// on the engine before issue 11 and checks one promise of the design's
// "Lifetimes" section.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hangingStore is a MemoryStore whose Puts and Gets, while hung, wait until
// it is released — ignoring their context, as a stuck server's client might.
type hangingStore struct {
	*keep.MemoryStore
	mu       sync.Mutex
	putsHang bool
	getsHang bool
	release  chan struct{} // closed by Release
	waiting  int           // calls waiting now
}

func newHangingStore() *hangingStore {
	return &hangingStore{MemoryStore: keep.NewMemoryStore(), release: make(chan struct{})}
}

// Hang makes later Puts (and Gets, when gets) wait until Release.
func (s *hangingStore) Hang(puts, gets bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putsHang, s.getsHang = puts, gets
	s.release = make(chan struct{})
}

// Release lets every waiting and later call through.
func (s *hangingStore) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.putsHang || s.getsHang {
		s.putsHang, s.getsHang = false, false
		close(s.release)
	}
}

// Waiting returns how many calls wait now.
func (s *hangingStore) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}

func (s *hangingStore) wait(hang bool, release chan struct{}) {
	if !hang {
		return
	}
	s.mu.Lock()
	s.waiting++
	s.mu.Unlock()
	<-release
	s.mu.Lock()
	s.waiting--
	s.mu.Unlock()
}

func (s *hangingStore) Put(ctx context.Context, data []byte, opts keep.PutOptions) (string, error) {
	s.mu.Lock()
	hang, release := s.putsHang, s.release
	s.mu.Unlock()
	s.wait(hang, release)
	return s.MemoryStore.Put(ctx, data, opts)
}

func (s *hangingStore) Get(ctx context.Context, locator string) ([]byte, error) {
	s.mu.Lock()
	hang, release := s.getsHang, s.release
	s.mu.Unlock()
	s.wait(hang, release)
	return s.MemoryStore.Get(ctx, locator)
}

// newHangingEngine starts an engine on st with the options given, released
// and closed at cleanup.
func newHangingEngine(t *testing.T, st *hangingStore, opts ...Option) *Engine {
	t.Helper()
	e, err := New(append([]Option{WithStore(st)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		st.Release()
		_ = e.Close()
	})
	return e
}

// returns runs call and returns its error; it fails the test if call is
// still blocked after waitFor (it is then abandoned).
func returns(t *testing.T, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		return err
	case <-time.After(waitFor):
		t.Fatalf("the call is still blocked after %v", waitFor)
		return nil
	}
}

// fileContents reads name through a new handle, waiting for the engine as
// long as it takes.
func fileContents(t *testing.T, c *Collection, name string) string {
	t.Helper()
	f, err := c.Open(name)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.SetReadDeadline(time.Now().Add(waitFor)))
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	return string(b)
}

func TestAWriteThatTimedOutHadNoEffectAndItsBufferIsNotReadAfterwards(t *testing.T) {
	// One put worker, no queue, 3-byte blocks: with the store hung, the
	// first block is in flight and the second cannot be accepted, so the
	// third write must wait — and time out.
	st := newHangingStore()
	e := newHangingEngine(t, st, WithBlockSize(3), WithPutWorkers(1), WithQueueDepth(0),
		WithCacheBytes(0), WithTimeout(50*time.Millisecond))
	c := e.NewCollection()
	f, err := c.OpenFile("log", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0)
	require.NoError(t, err)
	st.Hang(true, false)

	var acked bytes.Buffer
	appendLog := func(rec string) error {
		p := []byte(rec)
		n, err := f.Write(p)
		if err != nil {
			assert.Equal(t, 0, n, "a failed write reports nothing written")
			copy(p, "###") // the caller may reuse its buffer at once
			return err
		}
		acked.WriteString(rec)
		return nil
	}
	require.NoError(t, appendLog("ABC"))
	require.NoError(t, appendLog("DEF"), "the first block went to the only put worker")
	for i := 0; i < 3; i++ {
		err := appendLog("GHI")
		require.ErrorIs(t, err, os.ErrDeadlineExceeded, "attempt %d: the second block waits for the put pool", i)
	}
	st.Release()
	require.Eventually(t, func() bool { return appendLog("GHI") == nil }, waitFor, tick)
	require.NoError(t, appendLog("JKL"))

	require.NoError(t, f.SetWriteDeadline(time.Now().Add(waitFor)))
	require.NoError(t, f.Close())
	assert.Equal(t, "ABCDEFGHIJKL", acked.String())
	assert.Equal(t, acked.String(), fileContents(t, c, "log"), "only acknowledged writes, each once")
}

func TestAReadThatTimedOutNeverWritesIntoItsBufferLater(t *testing.T) {
	// A budget of one 4-byte block: with the store hung, the second block's
	// write waits for memory, and a read of the file waits behind it.
	st := newHangingStore()
	e := newHangingEngine(t, st, WithBlockSize(4), WithMemoryBudget(4), WithPutWorkers(1),
		WithCacheBytes(0), WithTimeout(waitFor/2))
	c := e.NewCollection()
	f, err := c.Create("f")
	require.NoError(t, err)
	st.Hang(true, false)
	_, err = f.Write([]byte("ABCD"))
	require.NoError(t, err)
	wrote := make(chan error, 1)
	go func() {
		_, err := f.Write([]byte("E"))
		wrote <- err
	}()
	require.Eventually(t, func() bool { return e.sys.RT.Memory.Denied() > 0 }, waitFor, tick, "the write waits for memory")

	buf := []byte("....")
	require.NoError(t, f.SetReadDeadline(time.Now().Add(30*time.Millisecond)))
	var n int
	err = returns(t, func() (err error) {
		n, err = f.ReadAt(buf, 0)
		return err
	})
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Equal(t, 0, n)
	assert.Equal(t, "....", string(buf), "nothing was read")
	st.Release()
	require.NoError(t, <-wrote)

	require.NoError(t, f.SetDeadline(time.Now().Add(waitFor)))
	require.NoError(t, f.Sync())
	assert.Equal(t, "ABCDE", fileContents(t, c, "f"))
	assert.Equal(t, "....", string(buf), "the read that timed out never wrote into its buffer")
}

func TestFileDeadlinesBoundCallsInsteadOfTheEngineTimeout(t *testing.T) {
	st := newHangingStore()
	e := newHangingEngine(t, st, WithBlockSize(3), WithPutWorkers(1), WithQueueDepth(0),
		WithCacheBytes(0), WithTimeout(time.Hour))
	c := e.NewCollection()
	f, err := c.Create("f")
	require.NoError(t, err)
	_, err = f.Write([]byte("abcdef"))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	st.Hang(true, true)
	_, err = f.Write([]byte("ghijkl"))
	require.NoError(t, err, "the put worker took one block; the other is current")

	tests := []struct {
		name string
		call func() error
	}{
		{"a write waiting for the put pool", func() error {
			_, err := f.WriteAt([]byte("mno"), 12)
			return err
		}},
		{"a sync waiting for its upload", f.Sync},
		{"a read of a stored block from a store that ignores its context", func() error {
			_, err := f.ReadAt(make([]byte, 3), 0)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, f.SetDeadline(time.Now().Add(30*time.Millisecond)))
			err := returns(t, tt.call)
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			var pe interface{ Timeout() bool }
			require.True(t, errors.As(err, &pe) && pe.Timeout(), "%v", err)
			err = tt.call()
			require.ErrorIs(t, err, os.ErrDeadlineExceeded, "a deadline in the past fails at once")
		})
	}
	require.NoError(t, f.SetDeadline(time.Time{}))
	st.Release()
	require.NoError(t, f.SetDeadline(time.Now().Add(waitFor)))
	require.NoError(t, f.Sync())
	assert.Equal(t, "abcdefghijkl", fileContents(t, c, "f"), "the write past the deadline was withdrawn")
}

// answered waits (at most waitFor) for r and returns its error.
func answered(t *testing.T, r *messages.Reply) error {
	t.Helper()
	select {
	case <-r.Done():
		return r.Err()
	case <-time.After(waitFor):
		t.Fatalf("no answer after %v", waitFor)
		return nil
	}
}

func TestAnActorThatPanicsAnswersAtOnceAndLosesNoByte(t *testing.T) {
	tests := []struct {
		name string
		// inject sends a request that makes an actor panic (a nil result
		// pointer it writes through).
		inject func(c *Collection, f *File, r *messages.Reply)
	}{
		{"a file actor", func(c *Collection, f *File, r *messages.Reply) {
			c.e.sys.Send(f.pid, &messages.Read{Offset: 0, Buf: make([]byte, 5), Reply: r})
		}},
		{"a collection actor", func(c *Collection, f *File, r *messages.Reply) {
			c.e.sys.Send(c.pid, &messages.Snapshot{Reply: r})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newTestStore()
			e := newTestEngine(t, st, WithBlockSize(8), WithTimeout(time.Hour))
			c := e.NewCollection()
			f := create(t, c, "dir/f", write{0, "0123456789"}) // a block sealed, one WRITABLE
			g := create(t, c, "g", write{0, "small"})
			require.NoError(t, g.Close())

			r := messages.NewReply()
			tt.inject(c, f, r)
			err := answered(t, r)
			require.ErrorIs(t, err, ErrActorPanicked)

			_, err = f.WriteAt([]byte("ab"), 10)
			require.NoError(t, err, "the actor goes on")
			assert.Equal(t, "0123456789ab", contents(t, c, "dir/f"))
			assert.Equal(t, "small", contents(t, c, "g"))
			require.NoError(t, f.Close())
			text, err := c.ManifestText(bg, ManifestOptions{})
			require.NoError(t, err)
			assert.Equal(t, ". "+loc("small")+" 0:5:g\n./dir "+loc("01234567")+" "+loc("89ab")+" 0:12:f\n", text)
		})
	}
}

// panickyStore panics in its first Put.
type panickyStore struct {
	*keep.MemoryStore
	puts atomic.Int32
}

func (s *panickyStore) Put(ctx context.Context, data []byte, opts keep.PutOptions) (string, error) {
	if s.puts.Add(1) == 1 {
		panic("store bug")
	}
	return s.MemoryStore.Put(ctx, data, opts)
}

func TestAStoreThatPanicsFailsTheUploadAndTheBlockKeepsItsBytes(t *testing.T) {
	st := &panickyStore{MemoryStore: keep.NewMemoryStore()}
	e, err := New(WithStore(st), WithBlockSize(8), WithRetries(0), WithTimeout(time.Hour))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	c := e.NewCollection()
	f, err := c.Create("f")
	require.NoError(t, err)
	_, err = f.Write([]byte("abcd"))
	require.NoError(t, err)

	err = returns(t, f.Sync)
	var kwe *KeepWriteError
	require.ErrorAs(t, err, &kwe)
	require.Len(t, kwe.Failed, 1)
	assert.Equal(t, loc("abcd"), kwe.Failed[0].Locator)
	assert.ErrorIs(t, kwe.Failed[0].Err, ErrActorPanicked)
	require.NoError(t, returns(t, f.Sync), "the retry stores the block")
	assert.Equal(t, "abcd", contents(t, c, "f"))
}

func TestCloseIsBoundedOverallAndNamesWhatItAbandoned(t *testing.T) {
	st := newHangingStore()
	e, err := New(WithStore(st), WithBlockSize(4), WithPutWorkers(2), WithCloseTimeout(300*time.Millisecond))
	require.NoError(t, err)
	stuck := make(chan struct{})
	t.Cleanup(func() {
		close(stuck)
		st.Release()
	})
	c := e.NewCollection()
	inSubscriber := make(chan struct{}, 1)
	c.Subscribe(func(Event) {
		select {
		case inSubscriber <- struct{}{}:
		default:
		}
		<-stuck
	})
	st.Hang(true, false)
	f, err := c.Create("f")
	require.NoError(t, err)
	_, err = f.Write([]byte("0123456789ab"))
	require.NoError(t, err)
	<-inSubscriber
	require.Eventually(t, func() bool { return st.Waiting() == 2 }, waitFor, tick, "both put workers are stuck")

	err = returns(t, e.Close)
	var ce *CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, []string{
		"put worker 1 (in Store.Put)",
		"put worker 2 (in Store.Put)",
		"event actor of collection " + c.rt.ID + " (in a subscriber)",
	}, ce.Abandoned)
	_, err = f.Write([]byte("x"))
	assert.ErrorIs(t, err, fs.ErrClosed)
}

func TestABlockInErrorThatNoFileNamesGivesItsMemoryBackAtOnce(t *testing.T) {
	failed := bytes.Repeat([]byte("e"), 1000)
	later := bytes.Repeat([]byte("0123456789abcdef"), 128) // 2048 bytes
	tests := []struct {
		name   string
		unname func(t *testing.T, c *Collection, f *File)
	}{
		{"truncated", func(t *testing.T, c *Collection, f *File) { require.NoError(t, f.Truncate(0)) }},
		{"overwritten", func(t *testing.T, c *Collection, f *File) {
			_, err := f.WriteAt(bytes.Repeat([]byte("o"), 1000), 0)
			require.NoError(t, err)
		}},
		{"reopened with O_TRUNC", func(t *testing.T, c *Collection, f *File) {
			g, err := c.OpenFile("a", os.O_WRONLY|os.O_TRUNC, 0)
			require.NoError(t, err)
			require.NoError(t, g.Close())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newTestStore()
			st.setFailPut(func(l string) error {
				if l == loc(string(failed)) {
					return errStoreDown
				}
				return nil
			})
			e := newTestEngine(t, st, WithBlockSize(1024), WithMemoryBudget(2048), WithRetries(0))
			c := e.NewCollection()
			f := create(t, c, "a", write{0, string(failed)})
			var kwe *KeepWriteError
			require.ErrorAs(t, f.Sync(), &kwe)
			require.Equal(t, int64(1024), e.sys.RT.Memory.Used(), "the block in ERROR keeps its bytes")

			tt.unname(t, c, f)
			require.NoError(t, f.Close())
			require.NoError(t, c.Commit(bg))
			require.Eventually(t, func() bool { return e.sys.RT.Memory.Used() == 0 }, waitFor, tick,
				"nothing names the block in ERROR: its buffer is released")

			b := create(t, c, "b", write{0, string(later)})
			require.NoError(t, b.Close())
			assert.Equal(t, []segments.Range{
				seg(loc(string(later[:1024])), 0, 1024, 0), seg(loc(string(later[1024:])), 1024, 1024, 0),
			}, committedSegments(t, c)["b"], "a later file gets full blocks: the budget is whole again")
		})
	}
}

func TestWithTheStoreDownMemoryStaysWithinTheBudgetAndWritersWait(t *testing.T) {
	st := newTestStore()
	st.setFailPut(func(string) error { return errStoreDown })
	const budget = 4096
	e := newTestEngine(t, st, WithBlockSize(1024), WithMemoryBudget(budget), WithRetries(0), WithPutWorkers(1))
	c := e.NewCollection()
	f, err := c.Create("f")
	require.NoError(t, err)
	chunk := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, 1024) }

	var acked bytes.Buffer
	require.NoError(t, f.SetWriteDeadline(time.Now().Add(300*time.Millisecond)))
	var maxUsed int64
	i := 0
	for ; i < 50*budget/1024; i++ {
		_, err = f.Write(chunk(i))
		maxUsed = max(maxUsed, e.sys.RT.Memory.Used())
		if err != nil {
			break
		}
		acked.Write(chunk(i))
	}
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the writer waited for memory until its deadline")
	assert.LessOrEqual(t, maxUsed, int64(budget))

	st.setFailPut(nil)
	require.NoError(t, f.SetWriteDeadline(time.Now().Add(waitFor)))
	_, err = f.Write(chunk(i))
	require.NoError(t, err, "blocks in ERROR are retried once writers wait for their memory")
	acked.Write(chunk(i))
	require.NoError(t, f.Sync())
	assert.Equal(t, acked.String(), contents(t, c, "f"))
	assert.LessOrEqual(t, e.sys.RT.Memory.Used(), int64(budget))
}

func TestAReleasedCollectionLeavesNoActorNorBufferBehind(t *testing.T) {
	st := newTestStore()
	e := newTestEngine(t, st, WithBlockSize(64))
	manifest := ". " + loc("abc") + " 0:3:a 0:3:dir/b\n"
	base := liveActors(e)
	for round := 0; round < 3; round++ {
		for i := 0; i < 100; i++ {
			c, err := e.LoadCollection(manifest)
			require.NoError(t, err)
			c.Subscribe(func(Event) {})
			a, err := c.OpenFile("a", os.O_RDWR, 0) // spawns its actor
			require.NoError(t, err)
			_, err = a.WriteAt([]byte("xyz"), 3) // and a WRITABLE block
			require.NoError(t, err)
			g := create(t, c, "dir/new", write{0, "new"})
			require.NoError(t, g.Close()) // a packing candidate
			require.NoError(t, c.Close())
			require.NoError(t, c.Close(), "Close is idempotent")

			_, err = a.Write([]byte("x"))
			require.ErrorIs(t, err, fs.ErrClosed)
			_, err = c.Open("a")
			require.ErrorIs(t, err, fs.ErrClosed)
			require.ErrorIs(t, c.Commit(bg), fs.ErrClosed)
		}
		require.Eventually(t, func() bool { return liveActors(e) == base }, waitFor, tick,
			"round %d: every actor of the released collections stopped (%d live, %d at start)", round, liveActors(e), base)
		assert.Equal(t, 0, e.sys.Collections())
		assert.Equal(t, int64(0), e.sys.RT.Memory.Used(), "round %d: their buffers went back to the budget", round)
	}
	require.NoError(t, e.Close())
}

func TestARemovedOrReplacedFileStopsItsActorAndUploadsNothing(t *testing.T) {
	tests := []struct {
		name   string
		remove func(t *testing.T, c *Collection)
		left   string // the manifest after the change
	}{
		{"removed", func(t *testing.T, c *Collection) { require.NoError(t, c.Remove("d/dead")) },
			". " + loc("kept") + " 0:4:kept\n./d d41d8cd98f00b204e9800998ecf8427e+0 0:0:\\056\n"},
		{"removed with its directory", func(t *testing.T, c *Collection) { require.NoError(t, c.RemoveAll("d")) },
			". " + loc("kept") + " 0:4:kept\n"},
		{"replaced by a rename", func(t *testing.T, c *Collection) { require.NoError(t, c.Rename("kept", "d/dead")) },
			"./d " + loc("kept") + " 0:4:dead\n"},
		{"replaced by a copy", func(t *testing.T, c *Collection) { require.NoError(t, c.Copy("kept", "d/dead", Overwrite())) },
			". " + loc("kept") + " 0:4:kept\n./d " + loc("kept") + " 0:4:dead\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newTestStore()
			e := newTestEngine(t, st, WithBlockSize(64))
			c := e.NewCollection()
			base := liveActors(e)
			require.NoError(t, create(t, c, "kept", write{0, "kept"}).Close())
			require.NoError(t, c.Commit(bg))
			// The committed file's actor and block stop once idle: after Commit returned.
			require.Eventually(t, func() bool { return liveActors(e) == base }, waitFor, tick)
			dead := create(t, c, "d/dead", write{0, "dead bytes"}) // a WRITABLE block, never stored
			reader, err := c.Open("d/dead")
			require.NoError(t, err)
			require.NoError(t, dead.Close())
			require.Equal(t, base+2, liveActors(e), "the file's actor and its block")

			tt.remove(t, c)
			buf := make([]byte, 4)
			_, err = reader.ReadAt(buf, 5)
			require.NoError(t, err, "a handle open on a removed file still reads it")
			assert.Equal(t, "byte", string(buf))
			require.NoError(t, reader.Close())
			require.Eventually(t, func() bool { return liveActors(e) <= base }, waitFor, tick,
				"the removed file's actor and block stopped (%d live, %d before)", liveActors(e), base)

			text, err := c.ManifestText(bg, ManifestOptions{})
			require.NoError(t, err)
			assert.Equal(t, tt.left, text)
			assert.NotContains(t, st.putCounts(), loc("dead bytes"), "the dead bytes were never uploaded")
			assert.Equal(t, int64(0), e.sys.RT.Memory.Used())
		})
	}
}

func TestCommitsRacingWithRemovalsNeverWaitOnAStoppedFile(t *testing.T) {
	st := newTestStore()
	e := newTestEngine(t, st, WithBlockSize(64))
	c := e.NewCollection()
	done := make(chan struct{})
	commits := make(chan error, 1)
	go func() {
		defer close(commits)
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := c.ManifestText(bg, ManifestOptions{}); err != nil {
				commits <- err
				return
			}
		}
	}()
	for i := 0; i < 200; i++ {
		name := fmt.Sprintf("f%d", i%7)
		f := create(t, c, name, write{0, name})
		require.NoError(t, f.Close())
		require.NoError(t, returns(t, func() error { return c.Remove(name) }))
	}
	close(done)
	select {
	case err, ok := <-commits:
		if ok {
			require.NoError(t, err)
		}
	case <-time.After(waitFor):
		t.Fatal("a commit is still blocked")
	}
	text, err := c.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, "", text)
}

func TestManyWritersNeverTakeTheEngineOverItsBudget(t *testing.T) {
	const (
		writers = 10000
		budget  = 64 << 10
	)
	size := func(w int) int { return 100 + w%1000 }
	st := newTestStore()
	e := newTestEngine(t, st, WithBlockSize(16<<10), WithMemoryBudget(budget), WithPutWorkers(2), WithTimeout(time.Hour))
	c := e.NewCollection()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := c.Create(fmt.Sprintf("w%d", w))
			if err == nil {
				_, err = f.Write(bytes.Repeat([]byte{byte('a' + w%26)}, size(w)))
			}
			if err == nil {
				err = f.Close()
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, c.Commit(bg))
	assert.LessOrEqual(t, e.sys.RT.Memory.Peak(), int64(budget), "the engine's accounting never exceeded the budget")
	for _, w := range []int{0, 7, 4321, writers - 1} {
		assert.Equal(t, string(bytes.Repeat([]byte{byte('a' + w%26)}, size(w))), contents(t, c, fmt.Sprintf("w%d", w)))
	}
}

func TestHolesAndOverwritesNeverTakeTheEngineOverItsBudget(t *testing.T) {
	const budget = 1 << 20
	tests := []struct {
		name  string
		write func(f *File) error
		want  string // the manifest
	}{
		{"a hole sealed as the padding block", func(f *File) error {
			if err := f.Truncate(100 << 20); err != nil {
				return err
			}
			_, err := f.WriteAt([]byte("xyz"), 100<<20)
			return err
		}, ". " + loc("abcxyz") + " " + keep.PaddingBlockLocator + " 0:3:f 6:67108864:f 6:37748733:f 3:3:f\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, newTestStore(), WithBlockSize(budget), WithMemoryBudget(budget))
			c := e.NewCollection()
			f := create(t, c, "f", write{0, "abc"})
			require.NoError(t, tt.write(f))
			require.NoError(t, f.Close())
			require.NoError(t, c.Commit(bg))
			assert.Equal(t, tt.want, manifest(t, c))
			assert.LessOrEqual(t, e.sys.RT.Memory.Peak(), int64(budget))
		})
	}
}

func TestIdleCommittedFilesArePassivatedAndComeBackIntact(t *testing.T) {
	st := newTestStore()
	_, err := st.Put(bg, []byte("loaded"), keep.PutOptions{})
	require.NoError(t, err)
	e := newTestEngine(t, st, WithBlockSize(64))
	c, err := e.LoadCollection(". " + loc("loaded") + " 0:6:loaded\n")
	require.NoError(t, err)
	base := liveActors(e)

	assert.Equal(t, "loaded", contents(t, c, "loaded"))
	require.Eventually(t, func() bool { return liveActors(e) == base }, waitFor, tick, "a file read and closed is passivated")

	w := create(t, c, "written", write{0, "written"})
	require.NoError(t, w.Close())
	require.NoError(t, c.Commit(bg))
	require.Eventually(t, func() bool { return liveActors(e) == base }, waitFor, tick, "a file written, closed and committed is passivated")
	info, err := c.Stat("written")
	require.NoError(t, err)
	modTime := info.ModTime()

	f, err := c.Open("written")
	require.NoError(t, err)
	fi, err := f.Stat()
	require.NoError(t, err)
	assert.Equal(t, modTime, fi.ModTime(), "the modification time survives")
	assert.Equal(t, int64(7), fi.Size())
	require.NoError(t, f.Close())
	text, err := c.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, ". "+loc("loaded")+" "+loc("written")+" 0:6:loaded 6:7:written\n", text)
	assert.Equal(t, "written", contents(t, c, "written"))
}

func TestPassivationRacesWithOpensRenamesAndCommitsLoseNothing(t *testing.T) {
	st := newTestStore()
	e := newTestEngine(t, st, WithBlockSize(64))
	c := e.NewCollection()
	const files = 8
	for i := 0; i < files; i++ {
		require.NoError(t, create(t, c, fmt.Sprintf("f%d", i), write{0, fmt.Sprintf("content %d", i)}).Close())
	}
	require.NoError(t, c.Commit(bg))
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	run := func(fn func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 150; i++ {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	run(func(i int) error { // readers
		name := fmt.Sprintf("f%d", i%files)
		f, err := c.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err == nil && string(b) != fmt.Sprintf("content %d", i%files) {
			err = fmt.Errorf("%s reads %q", name, b)
		}
		return err
	})
	run(func(i int) error { // renames back and forth
		n := i % files
		if err := c.Rename(fmt.Sprintf("f%d", n), fmt.Sprintf("g%d", n)); err != nil {
			return err
		}
		return c.Rename(fmt.Sprintf("g%d", n), fmt.Sprintf("f%d", n))
	})
	run(func(i int) error { // commits and stats
		if _, err := c.Stat("f0"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return c.Commit(bg)
	})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * waitFor):
		t.Fatal("still blocked")
	}
	close(errs)
	for err := range errs {
		// A reader may find its file renamed away for a moment.
		if !errors.Is(err, fs.ErrNotExist) {
			require.NoError(t, err)
		}
	}
	for i := 0; i < files; i++ {
		assert.Equal(t, fmt.Sprintf("content %d", i), contents(t, c, fmt.Sprintf("f%d", i)))
	}
}

func TestReadDeadlinesBoundReadsOfReadOnlyCollections(t *testing.T) {
	st := newHangingStore()
	e := newHangingEngine(t, st, WithCacheBytes(0), WithPrefetch(0), WithTimeout(time.Hour))
	text, _ := blocksManifest(t, st, []byte("0123456789"))
	c, err := e.LoadCollection(text, ReadOnly())
	require.NoError(t, err)
	f, err := c.Open("f")
	require.NoError(t, err)
	defer f.Close()
	st.Hang(false, true)

	tests := []struct {
		name string
		set  func(time.Time) error
	}{
		{"SetReadDeadline", f.SetReadDeadline},
		{"SetDeadline", f.SetDeadline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.set(time.Now().Add(30*time.Millisecond)))
			buf := []byte("....")
			var n int
			err := returns(t, func() (err error) {
				n, err = f.ReadAt(buf, 2)
				return err
			})
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			var pe *fs.PathError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "f", pe.Path)
			assert.Equal(t, 0, n)
			assert.Equal(t, "....", string(buf))
			_, err = f.Read(buf)
			require.ErrorIs(t, err, os.ErrDeadlineExceeded, "a deadline in the past fails at once")
			require.NoError(t, tt.set(time.Time{}))
		})
	}
	st.Release()
	require.NoError(t, f.SetReadDeadline(time.Now().Add(waitFor)))
	buf := make([]byte, 4)
	n, err := f.ReadAt(buf, 2)
	require.NoError(t, err)
	assert.Equal(t, "2345", string(buf[:n]))
}

// suspend stops pid's actor from taking messages until the returned func
// resumes it (protoactor's own mailbox suspension), as a busy actor would.
func suspend(t *testing.T, e *Engine, pid *actor.PID) (resume func()) {
	t.Helper()
	p, ok := e.sys.RT.System.ProcessRegistry.Get(pid)
	require.True(t, ok)
	p.SendSystemMessage(pid, &actor.SuspendMailbox{})
	var once sync.Once
	resume = func() { once.Do(func() { p.SendSystemMessage(pid, &actor.ResumeMailbox{}) }) }
	t.Cleanup(resume)
	return resume
}

func TestCollectionCallsThatTimeOutHaveNoEffect(t *testing.T) {
	tests := []struct {
		name    string
		blocked string // the collection whose actor is held: "src" or "dst"
		call    func(src, dst *Collection) error
	}{
		{"mkdir", "src", func(src, _ *Collection) error { return src.Mkdir("new", 0o755) }},
		{"mkdir -p", "src", func(src, _ *Collection) error { return src.MkdirAll("new/sub", 0o755) }},
		{"remove", "src", func(src, _ *Collection) error { return src.Remove("a") }},
		{"remove all", "src", func(src, _ *Collection) error { return src.RemoveAll("d") }},
		{"rename", "src", func(src, _ *Collection) error { return src.Rename("a", "b") }},
		{"copy", "src", func(src, _ *Collection) error { return src.Copy("a", "b") }},
		{"create", "src", func(src, _ *Collection) error {
			_, err := src.Create("new")
			return err
		}},
		{"open with O_TRUNC", "src", func(src, _ *Collection) error {
			_, err := src.OpenFile("a", os.O_WRONLY|os.O_TRUNC, 0)
			return err
		}},
		{"rename to, source held", "src", func(src, dst *Collection) error { return src.RenameTo("a", dst, "b") }},
		{"rename to, target held", "dst", func(src, dst *Collection) error { return src.RenameTo("a", dst, "b") }},
		{"copy to, source held", "src", func(src, dst *Collection) error { return src.CopyTo("a", dst, "b") }},
		{"copy to, target held", "dst", func(src, dst *Collection) error { return src.CopyTo("a", dst, "b") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, newTestStore(), WithTimeout(500*time.Millisecond))
			src, dst := e.NewCollection(), e.NewCollection()
			require.NoError(t, create(t, src, "a", write{0, "abc"}).Close())
			require.NoError(t, src.Mkdir("d", 0o755))
			require.NoError(t, create(t, dst, "z", write{0, "z"}).Close())
			wantSrc, wantDst := manifest(t, src), manifest(t, dst)
			held := map[string]*Collection{"src": src, "dst": dst}[tt.blocked]

			resume := suspend(t, e, held.pid)
			err := returns(t, func() error { return tt.call(src, dst) })
			require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			resume()

			assert.Equal(t, wantSrc, manifest(t, src), "the call that failed changed nothing")
			assert.Equal(t, wantDst, manifest(t, dst))
			assert.Equal(t, "abc", contents(t, src, "a"))
		})
	}
}

func TestAnOpenWithTruncateThatTimedOutBehindABusyFileHasNoEffect(t *testing.T) {
	// A budget of one 4-byte block: with the store hung, the second block's
	// write waits for memory, and an Open of the file waits behind it.
	st := newHangingStore()
	e := newHangingEngine(t, st, WithBlockSize(4), WithMemoryBudget(4), WithPutWorkers(1),
		WithCacheBytes(0), WithTimeout(500*time.Millisecond))
	c := e.NewCollection()
	f, err := c.Create("f")
	require.NoError(t, err)
	st.Hang(true, false)
	_, err = f.Write([]byte("ABCD"))
	require.NoError(t, err)
	require.NoError(t, f.SetWriteDeadline(time.Now().Add(waitFor)))
	wrote := make(chan error, 1)
	go func() {
		_, err := f.Write([]byte("E"))
		wrote <- err
	}()
	require.Eventually(t, func() bool { return e.sys.RT.Memory.Denied() > 0 }, waitFor, tick, "the write waits for memory")

	err = returns(t, func() error {
		_, err := c.OpenFile("f", os.O_WRONLY|os.O_TRUNC, 0)
		return err
	})
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	st.Release()
	require.NoError(t, <-wrote)
	require.NoError(t, f.SetDeadline(time.Now().Add(waitFor)))
	require.NoError(t, f.Sync())
	assert.Equal(t, "ABCDE", fileContents(t, c, "f"), "the open that failed truncated nothing")
}

func TestABlockStoppedDuringItsUploadGivesItsBufferBackWhenTheUploadEnds(t *testing.T) {
	st := newHangingStore()
	e := newHangingEngine(t, st, WithBlockSize(4), WithPutWorkers(1), WithTimeout(time.Hour))
	mem := e.sys.RT.Memory
	for round := 1; round <= 3; round++ {
		c := e.NewCollection()
		f, err := c.Create("f")
		require.NoError(t, err)
		st.Hang(true, false)
		_, err = f.Write([]byte("ABCDE")) // "ABCD" sealed and uploading, "E" writable
		require.NoError(t, err)
		require.Eventually(t, func() bool { return st.Waiting() == 1 }, waitFor, tick, "the upload hangs")
		require.NoError(t, c.Close())
		assert.Equal(t, int64(0), mem.Used(), "round %d: the budget has it back", round)
		assert.Equal(t, 1, mem.Retired(), "round %d: the upload still reads the stopped block's buffer", round)

		st.Release()
		require.Eventually(t, func() bool { return mem.Retired() == 0 }, waitFor, tick,
			"round %d: the buffer is freed when the upload ends, not at Engine.Close", round)
	}
	_, err := st.Get(bg, loc("ABCD"))
	require.NoError(t, err, "the upload went on")
}

func TestAFileMovedToAnotherCollectionOutlivesItsSourceCollection(t *testing.T) {
	tests := []struct {
		name     string
		from, to string // RenameTo's names
		path     string // the file's path in dst afterwards
	}{
		{"a file", "a", "b", "b"},
		{"a directory holding it", "d", "e", "e/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, newTestStore(), WithBlockSize(64), WithTimeout(waitFor))
			base := liveActors(e)
			src, dst := e.NewCollection(), e.NewCollection()
			f := create(t, src, "a", write{0, "abc"}) // an open handle and a WRITABLE block: never passivated
			g := create(t, src, "d/a", write{0, "abc"})
			require.NoError(t, src.RenameTo(tt.from, dst, tt.to))
			require.NoError(t, src.Close())
			_, err := f.Write([]byte("x"))
			require.ErrorIs(t, err, fs.ErrClosed, "the source's handles are closed with it")
			_, err = g.Write([]byte("x"))
			require.ErrorIs(t, err, fs.ErrClosed)

			h, err := dst.OpenFile(tt.path, os.O_RDWR, 0)
			require.NoError(t, err, "the moved file's actor still runs")
			_, err = h.WriteAt([]byte("d"), 3)
			require.NoError(t, err)
			assert.Equal(t, "abcd", contents(t, dst, tt.path))
			require.NoError(t, h.Close())
			require.NoError(t, dst.Commit(bg))
			want := ". " + loc("abcd") + " 0:4:b\n"
			if tt.path == "e/a" {
				want = "./e " + loc("abcd") + " 0:4:a\n"
			}
			assert.Equal(t, want, manifest(t, dst))

			require.NoError(t, dst.Close())
			require.Eventually(t, func() bool { return liveActors(e) == base }, waitFor, tick,
				"both collections' actors stopped, the source's once the moved file did (%d live, %d at start)", liveActors(e), base)
		})
	}
}

func TestCallsInFlightWhenTheirCollectionIsClosedReturn(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		// start readies c (and st) and returns the call to run while the
		// collection is closed.
		start func(t *testing.T, e *Engine, st *hangingStore, c *Collection) func() error
	}{
		{"write parked behind a full put pool, then timed out", 300 * time.Millisecond,
			func(t *testing.T, _ *Engine, st *hangingStore, c *Collection) func() error {
				f, err := c.OpenFile("log", os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0)
				require.NoError(t, err)
				st.Hang(true, false)
				for _, s := range []string{"ABC", "DEF"} {
					_, err = f.Write([]byte(s))
					require.NoError(t, err)
				}
				return func() error { _, err := f.Write([]byte("GHI")); return err }
			}},
		{"write queued to a busy file", time.Minute,
			func(t *testing.T, e *Engine, _ *hangingStore, c *Collection) func() error {
				f := create(t, c, "f", write{0, "abc"})
				suspend(t, e, f.pid)
				return func() error { _, err := f.Write([]byte("def")); return err }
			}},
		{"sync waiting for a hung upload", time.Minute,
			func(t *testing.T, _ *Engine, st *hangingStore, c *Collection) func() error {
				f := create(t, c, "f", write{0, "abc"})
				st.Hang(true, false)
				return f.Sync
			}},
		{"mkdir queued to a busy collection", time.Minute,
			func(t *testing.T, e *Engine, _ *hangingStore, c *Collection) func() error {
				suspend(t, e, c.pid)
				return func() error { return c.Mkdir("d", 0o755) }
			}},
		{"open queued to a busy collection", time.Minute,
			func(t *testing.T, e *Engine, _ *hangingStore, c *Collection) func() error {
				suspend(t, e, c.pid)
				return func() error { _, err := c.Create("g"); return err }
			}},
		{"commit queued to a busy collection", time.Minute,
			func(t *testing.T, e *Engine, _ *hangingStore, c *Collection) func() error {
				suspend(t, e, c.pid)
				return func() error { return c.Commit(context.Background()) }
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newHangingStore()
			e := newHangingEngine(t, st, WithBlockSize(3), WithPutWorkers(1), WithQueueDepth(0),
				WithCacheBytes(0), WithTimeout(tt.timeout), WithCloseTimeout(500*time.Millisecond))
			c := e.NewCollection()
			call := tt.start(t, e, st, c)
			done := make(chan error, 1)
			go func() { done <- call() }()
			time.Sleep(50 * time.Millisecond) // the call is on its way
			closed := make(chan error, 1)
			go func() { closed <- c.Close() }()
			err := returns(t, func() error { return <-done })
			require.ErrorIs(t, err, fs.ErrClosed)
			_ = returns(t, func() error { return <-closed })
		})
	}
}

func TestAReleaseDuringAPackingRoundDoesNotStallPacking(t *testing.T) {
	tests := []struct {
		name string
		busy int // the file of the released collection whose PackOffer waits in its mailbox
	}{
		{"first offer unanswered", 0},
		{"last offer unanswered", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, newTestStore(), WithBlockSize(64))
			a := e.NewCollection()
			var pids []*actor.PID
			for i := 0; i < 2; i++ {
				f := create(t, a, fmt.Sprintf("f%d", i), write{0, strings.Repeat("x", 30)})
				pids = append(pids, f.pid)
				require.NoError(t, f.Close())
			}
			suspend(t, e, pids[tt.busy])
			f := create(t, a, "f2", write{0, strings.Repeat("x", 30)})
			require.NoError(t, f.Close()) // the candidates reach a block: a round starts
			time.Sleep(50 * time.Millisecond)
			require.NoError(t, a.Close())

			b := e.NewCollection()
			for j := 0; j < 4; j++ {
				f := create(t, b, fmt.Sprintf("f%d", j), write{0, strings.Repeat("y", 30)})
				require.NoError(t, f.Close())
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			require.NoError(t, b.Commit(ctx), "a commit of another collection waits for the round")
			for j := 0; j < 4; j++ {
				assert.Equal(t, strings.Repeat("y", 30), contents(t, b, fmt.Sprintf("f%d", j)))
			}
			require.NoError(t, b.Close())
			// The aborted round's packed block gives its buffer back once the
			// suspended file's offer is refused as its actor stops: after a's
			// Close returned, not necessarily before b's did.
			assert.Eventually(t, func() bool { return e.sys.RT.Memory.Used() == 0 }, waitFor, tick,
				"the aborted round's packed block gave its buffer back (%d bytes held)", e.sys.RT.Memory.Used())
		})
	}
}

func TestCloseIsBoundedWithPrefetchesStuckInAGet(t *testing.T) {
	tests := []struct {
		name     string
		workers  int
		prefetch int // blocks asked for once Gets hang
	}{
		{"one worker stuck", 2, 1},
		{"every worker stuck", 2, 2},
		{"every worker stuck, more queued", 3, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newHangingStore()
			t.Cleanup(st.Release)
			var locs []string
			for i := 0; i < 80; i++ {
				l, err := st.MemoryStore.Put(context.Background(), []byte(fmt.Sprintf("%04d", i)), keep.PutOptions{})
				require.NoError(t, err)
				locs = append(locs, l)
			}
			e, err := New(WithStore(st), WithPrefetch(tt.workers),
				WithCloseTimeout(300*time.Millisecond), WithTimeout(200*time.Millisecond))
			require.NoError(t, err)
			st.Hang(false, true)
			e.prefetch(locs[50 : 50+tt.prefetch]) // what a sequential read asks for
			stuck := min(tt.workers, tt.prefetch)
			require.Eventually(t, func() bool { return st.Waiting() == stuck }, waitFor, tick)

			err = returns(t, e.Close)
			var ce *CloseError
			require.ErrorAs(t, err, &ce)
			want := make([]string, stuck)
			for i := range want {
				want[i] = "cache prefetch worker (in Store.Get)"
			}
			assert.Equal(t, want, ce.Abandoned)
		})
	}
}

func TestCopiesOfAFileWithAWritableBlockStayWithinTheBudget(t *testing.T) {
	const budget = 1 << 16
	small, large := strings.Repeat("x", budget/8), strings.Repeat("x", budget/2+1)
	copies := func(data string, n int, at int) (s string) {
		for i := 0; i < n; i++ {
			s += fmt.Sprintf(" %d:%d:g%d", at, len(data), i)
		}
		return s
	}
	tests := []struct {
		name     string
		data     string
		copies   int
		manifest string // after "y" is written at 0 in f
	}{
		{"room for a duplicate", small, 1,
			". " + loc("y"+small[1:]) + " " + loc(small) + " 0:8192:f" + copies(small, 1, 8192) + "\n"},
		{"no room: the block is sealed and shared", large, 10,
			". " + loc("y") + " " + loc(large) + " 0:1:f 2:32768:f" + copies(large, 10, 1) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEngine(t, newTestStore(), WithBlockSize(budget), WithMemoryBudget(budget))
			c := e.NewCollection()
			f := create(t, c, "f", write{0, tt.data})
			for i := 0; i < tt.copies; i++ {
				require.NoError(t, c.Copy("f", fmt.Sprintf("g%d", i)))
			}
			assert.LessOrEqual(t, e.sys.RT.Memory.Peak(), int64(budget))
			_, err := f.WriteAt([]byte("y"), 0)
			require.NoError(t, err, "the source is still writable")
			require.NoError(t, f.Close())
			assert.Equal(t, "y"+tt.data[1:], contents(t, c, "f"))
			for i := 0; i < tt.copies; i++ {
				assert.Equal(t, tt.data, contents(t, c, fmt.Sprintf("g%d", i)))
			}
			require.NoError(t, c.Commit(bg))
			text, err := c.ManifestText(bg, ManifestOptions{})
			require.NoError(t, err)
			assert.Equal(t, tt.manifest, text)
			assert.LessOrEqual(t, e.sys.RT.Memory.Peak(), int64(budget))
		})
	}
}
