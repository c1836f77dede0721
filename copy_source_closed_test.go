package arvfile

import (
	"context"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arvfile/arvfile/actors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The bytes of the copies below: two full blocks (sealed as they are
// written) and two bytes in the writable block.
var (
	copyBlockX = strings.Repeat("x", 64)
	copyBlockY = strings.Repeat("y", 64)
	copyData   = copyBlockX + copyBlockY + "zz"
	// copyManifest is the manifest of a collection holding a copy of
	// copyData called b.
	copyManifest = ". " + loc(copyBlockX) + " " + loc(copyBlockY) + " " + loc("zz") + " 0:130:b\n"
)

// A copy shares the buffer blocks of its source file; they live as long as
// the copy names them, not as long as the source's collection: a copy of a
// file whose blocks failed to upload, made before its collection was
// closed, commits once the store is back — its Commit retries the blocks in
// ERROR — with the exact manifest and bytes; and once the copy's collection
// is closed too, no block, actor or buffer is left.
func TestACopyCommitsTheBlocksItSharesAfterItsSourceCollectionIsClosed(t *testing.T) {
	e, down, base, c, dst := storeDownCopyFixture(t, 64)
	// Its Close fails (the store is down): its blocks stay in ERROR, with their bytes.
	err := create(t, c, "a", write{0, copyData}).Close()
	require.ErrorIs(t, err, errStoreDown)
	require.NoError(t, c.CopyTo("a", dst, "b"))
	require.NoError(t, c.Close())
	assert.Equal(t, 3, e.sys.SharedBlocks(), "the copy still names the three blocks")
	down.Store(false)
	commitCopy(t, dst)
	requireNothingLeft(t, e, base)
}

// The same for a file whose ranges were written interleaved (as sixteen
// writers of one file write it): each range's run has a block of its own,
// on a strand of its own; the copy keeps them all after the source's
// collection is closed, and commits them with the exact bytes, each range
// in a block in file order.
func TestACopyOfAFileWrittenInInterleavedRunsKeepsEachRunsBlockAfterItsSourceIsClosed(t *testing.T) {
	e, down, base, c, dst := storeDownCopyFixture(t, 4096)
	const ranges, pieces, piece = 4, 16, 64
	const span = pieces * piece
	f := create(t, c, "a")
	for p := 0; p < pieces; p++ { // piece p of every range, then piece p+1
		for r := 0; r < ranges; r++ {
			n, err := f.WriteAt(pattern(r, span)[p*piece:][:piece], int64(r*span+p*piece))
			require.NoError(t, err)
			require.Equal(t, piece, n)
		}
	}
	require.ErrorIs(t, f.Close(), errStoreDown) // its blocks stay in ERROR, with their bytes
	require.NoError(t, c.CopyTo("a", dst, "b"))
	require.NoError(t, c.Close())
	assert.GreaterOrEqual(t, e.sys.SharedBlocks(), ranges, "the copy still names a block per run")
	down.Store(false)
	commitWithin(t, dst)
	var want strings.Builder
	for r := 0; r < ranges; r++ {
		want.Write(pattern(r, span))
	}
	assert.Equal(t, want.String(), contents(t, dst, "b"))
	blocks := map[string]int64{} // each block's next offset, -1 once out of file order
	for _, s := range committedSegments(t, dst)["b"] {
		if at, ok := blocks[s.Locator]; ok && at != s.SegmentOffset {
			blocks[s.Locator] = -1
			continue
		}
		blocks[s.Locator] = s.SegmentOffset + s.RangeSize
	}
	inOrder := 0
	for _, at := range blocks {
		if at >= 0 {
			inOrder++
		}
	}
	assert.GreaterOrEqual(t, inOrder, ranges-1, "the runs' blocks, in file order: %v", blocks)
	require.NoError(t, dst.Close())
	requireNothingLeft(t, e, base)
}

// Engine.Close stops the blocks a copy shares that outlived their source,
// as every other actor.
func TestEngineCloseStopsTheBlocksACopySharesAfterItsSource(t *testing.T) {
	st := newTestStore()
	st.setFailPut(func(string) error { return errStoreDown })
	e, err := New(WithStore(st), WithBlockSize(64), WithRetries(0))
	require.NoError(t, err)
	c, dst := e.NewCollection(), e.NewCollection()
	require.ErrorIs(t, create(t, c, "a", write{0, copyData}).Close(), errStoreDown)
	require.NoError(t, c.CopyTo("a", dst, "b"))
	require.NoError(t, c.Close())
	require.Equal(t, 3, e.sys.SharedBlocks())
	require.NoError(t, e.Close())
	assert.Equal(t, 0, e.sys.SharedBlocks())
	assert.Equal(t, 0, e.sys.Cells(), "no cell is left")
	assert.Equal(t, 0, e.sys.RT.Memory.Retired(), "no buffer waits for a reader")
}

// copyFixture is one run of TestACopyOutlivesTheWayItsSourceGoes: the source
// collection with its file a (its handle f), and the chain of copies, each
// a file b in a collection of its own copied from the one before.
type copyFixture struct {
	t      *testing.T
	e      *Engine
	st     *testStore
	src    *Collection
	f      *File
	copies []*Collection
	// The store: a put of copyBlockX, copyBlockY or "zz" fails while down,
	// and waits for hold to close while slow.
	down, slow atomic.Bool
	hold       chan struct{}
	release    sync.Once
	entered    chan string
}

// unhold lets the puts that wait on hold go on.
func (x *copyFixture) unhold() { x.release.Do(func() { close(x.hold) }) }

// TestACopyOutlivesTheWayItsSourceGoes checks, for each state the shared
// blocks are in (PENDING: their upload in flight; ERROR: their upload
// failed; COMMITTED) and each way the source lets them go (its collection
// closed, the file removed, the file truncated and rewritten, a copy of
// the copy made and both sources closed), that the blocks live on while
// the last copy names them, that its Commit stores it with the exact
// manifest and bytes, each shared block stored once, and that once every
// collection is closed no shared block, actor or buffer is left.
func TestACopyOutlivesTheWayItsSourceGoes(t *testing.T) {
	states := []struct {
		name string
		// shared is the number of blocks the copies share (the source's
		// sealed ones).
		shared int
		// prepare writes copyData to the source's a, leaving the blocks in
		// the state, or on their way to it (settle).
		prepare func(x *copyFixture)
		// settle runs once the copies are made; recover once the source
		// let its blocks go.
		settle, recover func(x *copyFixture)
	}{
		{
			name:   "pending",
			shared: 2,
			prepare: func(x *copyFixture) {
				x.slow.Store(true)
				x.f = create(x.t, x.src, "a", write{0, copyData})
				waitEntered(x.t, x.entered, loc(copyBlockX), loc(copyBlockY))
			},
			settle:  func(*copyFixture) {},
			recover: func(x *copyFixture) { x.unhold() },
		},
		{
			name:   "error",
			shared: 3, // the Sync sealed the writable block too
			prepare: func(x *copyFixture) {
				x.down.Store(true)
				x.f = create(x.t, x.src, "a", write{0, copyData})
				err := x.f.Sync()
				require.ErrorIs(x.t, err, errStoreDown)
				var kwe *KeepWriteError
				require.ErrorAs(x.t, err, &kwe)
				assert.Len(x.t, kwe.Failed, 3)
			},
			settle:  func(*copyFixture) {},
			recover: func(x *copyFixture) { x.down.Store(false) },
		},
		{
			name:   "committed",
			shared: 2,
			prepare: func(x *copyFixture) {
				x.slow.Store(true)
				x.f = create(x.t, x.src, "a", write{0, copyData})
			},
			settle: func(x *copyFixture) {
				x.unhold()
				require.NoError(x.t, x.f.Sync()) // the source names the locators now; the copies the blocks
			},
			recover: func(*copyFixture) {},
		},
	}
	hows := []struct {
		name   string
		copies int
		away   func(x *copyFixture)
	}{
		{"its collection is closed", 1, func(x *copyFixture) {
			require.NoError(x.t, x.src.Close())
		}},
		{"the file is removed", 1, func(x *copyFixture) {
			require.NoError(x.t, x.src.Remove("a"))
			require.NoError(x.t, x.f.Close()) // an unlinked file is not synced: its actor stops
			text, err := x.src.ManifestText(bg, ManifestOptions{})
			require.NoError(x.t, err)
			assert.Equal(x.t, "", text)
		}},
		{"the file is truncated and rewritten", 1, func(x *copyFixture) {
			require.NoError(x.t, x.f.Truncate(0))
			n, err := x.f.WriteAt([]byte("new"), 0)
			require.NoError(x.t, err)
			require.Equal(x.t, 3, n)
			require.NoError(x.t, x.f.Close())
			// Not committed: a slow store holds both put workers.
			assert.Equal(x.t, "new", contents(x.t, x.src, "a"))
		}},
		{"the file is moved to another collection and both are closed", 1, func(x *copyFixture) {
			other := x.e.NewCollection()
			require.NoError(x.t, x.src.RenameTo("a", other, "a"))
			require.NoError(x.t, x.src.Close())
			require.NoError(x.t, other.Close())
		}},
		{"a copy of the copy is made and both sources are closed", 2, func(x *copyFixture) {
			require.NoError(x.t, x.src.Close())
			require.NoError(x.t, x.copies[0].Close())
		}},
	}
	for _, s := range states {
		for _, h := range hows {
			t.Run(s.name+"/"+h.name, func(t *testing.T) {
				x := &copyFixture{t: t, st: newTestStore(), hold: make(chan struct{}), entered: make(chan string, 16)}
				watched := map[string]bool{loc(copyBlockX): true, loc(copyBlockY): true, loc("zz"): true}
				x.st.setFailPut(func(l string) error {
					if !watched[l] {
						return nil
					}
					if x.down.Load() {
						return errStoreDown
					}
					if x.slow.Load() {
						select {
						case x.entered <- l:
						default:
						}
						<-x.hold
					}
					return nil
				})
				e := newTestEngine(t, x.st, WithBlockSize(64), WithRetries(0))
				t.Cleanup(x.unhold) // before the engine closes: no put is left waiting
				x.e = e
				base := liveActors(e)
				x.src = e.NewCollection()
				s.prepare(x)
				from := x.src
				for i := 0; i < h.copies; i++ {
					dst := e.NewCollection()
					require.NoError(t, from.CopyTo(map[bool]string{true: "a", false: "b"}[i == 0], dst, "b"))
					x.copies = append(x.copies, dst)
					from = dst
				}
				s.settle(x)
				h.away(x)
				assert.Equal(t, s.shared, e.sys.SharedBlocks(), "the blocks the copies share are alive")
				s.recover(x)
				last := x.copies[len(x.copies)-1]
				commitWithin(t, last)
				text, err := last.ManifestText(bg, ManifestOptions{})
				require.NoError(t, err)
				assert.Equal(t, copyManifest, text)
				assert.Equal(t, copyData, contents(t, last, "b"))
				puts := x.st.putCounts()
				assert.Equal(t, 1, puts[loc(copyBlockX)], "a shared block is stored once")
				assert.Equal(t, 1, puts[loc(copyBlockY)], "a shared block is stored once")
				for _, c := range append([]*Collection{x.src}, x.copies...) {
					require.NoError(t, c.Close())
				}
				requireNothingLeft(t, e, base)
			})
		}
	}
}

// waitEntered waits until a put of each of the locators started.
func waitEntered(t *testing.T, entered chan string, locators ...string) {
	t.Helper()
	want := make(map[string]bool, len(locators))
	for _, l := range locators {
		want[l] = true
	}
	timeout := time.After(waitFor)
	for len(want) > 0 {
		select {
		case l := <-entered:
			delete(want, l)
		case <-timeout:
			t.Fatalf("no put of %v started", want)
		}
	}
}

// A copy that races the Close of its source or of its target gives back
// every block it retained and every byte it duplicated, whatever the
// interleaving: once both collections are closed, no shared block, actor or
// budget byte is left (a retained block nobody names would otherwise live,
// shared, until the engine closes).
func TestACopyRacingACloseLeavesNothingBehind(t *testing.T) {
	for _, tt := range []struct {
		name        string
		closeTarget bool
	}{{"the source is closed", false}, {"the target is closed", true}} {
		t.Run(tt.name, func(t *testing.T) {
			st := newTestStore()
			st.setFailPut(func(string) error { return errStoreDown }) // every block stays in memory
			e := newTestEngine(t, st, WithBlockSize(64), WithRetries(0))
			base := liveActors(e)
			failed := 0
			for round := 0; round < 20; round++ {
				src, dst := e.NewCollection(), e.NewCollection()
				for i := 0; i < 4; i++ {
					f := create(t, src, "d/"+string(rune('a'+i)), write{0, copyData})
					if i%2 == 0 {
						require.ErrorIs(t, f.Close(), errStoreDown) // sealed, in ERROR; the others keep a WRITABLE block
					}
				}
				closed := src
				if tt.closeTarget {
					closed = dst
				}
				copied := make(chan error, 1)
				go func() { copied <- src.CopyTo("d", dst, "d") }()
				// Spread the Close over the copy's course (never asserted).
				time.Sleep(time.Duration(round%10) * 25 * time.Microsecond)
				require.NoError(t, closed.Close())
				if err := <-copied; err != nil {
					assert.ErrorIs(t, err, fs.ErrClosed, "round %d", round)
					failed++
				}
				require.NoError(t, src.Close())
				require.NoError(t, dst.Close())
			}
			t.Logf("%d of 20 copies failed", failed)
			requireNothingLeft(t, e, base)
		})
	}
}

// A copy queued at a target collection whose release times out (its actor
// is held: the release is not handled in time, and the actor is stopped
// with the copy still queued) gives back the blocks it retained: the call
// fails with nothing copied, and once the source is closed too no shared
// block, actor or budget byte is left.
func TestACopyQueuedAtATargetWhoseReleaseTimesOutGivesItsBlocksBack(t *testing.T) {
	st := newTestStore()
	st.setFailPut(func(string) error { return errStoreDown }) // the blocks stay in ERROR, in memory
	e := newTestEngine(t, st, WithBlockSize(64), WithRetries(0), WithCloseTimeout(200*time.Millisecond))
	base := liveActors(e)
	src, dst := e.NewCollection(), e.NewCollection()
	require.ErrorIs(t, create(t, src, "a", write{0, copyData}).Close(), errStoreDown)
	suspend(t, e, dst.pid)
	copied := make(chan error, 1)
	go func() { copied <- src.CopyTo("a", dst, "b") }()
	require.Eventually(t, func() bool { return e.sys.SharedBlocks() == 3 }, waitFor, tick, "the copy out retained the blocks")
	var se *actors.StopError
	require.ErrorAs(t, dst.Close(), &se, "the release timed out")
	assert.Equal(t, []string{"collection " + dst.rt.ID}, se.Abandoned)
	err := <-copied
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrClosed)
	require.NoError(t, src.Close())
	requireNothingLeft(t, e, base)
}

// A copy made when the memory budget has no room to duplicate the source's
// writable block shares it instead, sealed: that block too outlives the
// source's collection, and the copy commits it once the store is back.
func TestACopyMadeWithoutRoomToDuplicateSharesTheSealedBlockPastItsSource(t *testing.T) {
	st := newTestStore()
	down := failPutsWhile(st)
	e := newTestEngine(t, st, WithBlockSize(64), WithRetries(0), WithMemoryBudget(3*64))
	base := liveActors(e)
	c, dst := e.NewCollection(), e.NewCollection()
	f := create(t, c, "a", write{0, copyData}) // two blocks in ERROR (or on their way) and "zz" writable: the budget is full
	require.NoError(t, c.CopyTo("a", dst, "b"))
	assert.Equal(t, 3, e.sys.SharedBlocks(), "the writable block was sealed and shared, not duplicated")
	require.Error(t, f.Sync(), "every upload failed: none is on its way when the store comes back")
	require.NoError(t, c.Close())
	assert.ErrorIs(t, f.Close(), fs.ErrClosed)
	down.Store(false)
	commitCopy(t, dst)
	requireNothingLeft(t, e, base)
}

// A source file whose blocks a copy shares is passivated once idle and
// committed, like any other (its blocks are not its children any more):
// the copy keeps them and commits with the exact manifest and bytes.
func TestASourceWhoseBlocksACopySharesIsPassivated(t *testing.T) {
	st := newTestStore()
	hold := make(chan struct{})
	var once sync.Once
	unhold := func() { once.Do(func() { close(hold) }) }
	st.setFailPut(func(l string) error {
		if l == loc(copyBlockX) || l == loc(copyBlockY) {
			<-hold
		}
		return nil
	})
	e := newTestEngine(t, st, WithBlockSize(64), WithRetries(0))
	t.Cleanup(unhold)
	base := liveActors(e)
	c, dst := e.NewCollection(), e.NewCollection()
	withCollections := liveActors(e)
	f := create(t, c, "a", write{0, copyData})
	require.NoError(t, c.CopyTo("a", dst, "b")) // x and y PENDING, shared; zz duplicated
	unhold()
	require.NoError(t, f.Close())
	require.NoError(t, c.Commit(bg))
	// Left: the copy's file actor, the two shared blocks and its duplicated block.
	require.Eventually(t, func() bool { return liveActors(e) == withCollections+4 }, waitFor, tick,
		"the source's actor is passivated: live %d, want %d", liveActors(e), withCollections+4)
	assert.Equal(t, 2, e.sys.SharedBlocks())
	text, err := c.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, strings.Replace(copyManifest, ":b", ":a", 1), text)
	require.NoError(t, dst.Commit(bg))
	text, err = dst.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, copyManifest, text)
	assert.Equal(t, copyData, contents(t, dst, "b"))
	require.NoError(t, c.Close())
	require.NoError(t, dst.Close())
	requireNothingLeft(t, e, base)
}

// A Sync of the source that timed out leaves its AwaitCommits with the
// blocks; a block the copy shares outlives the source file's actor and
// answers them once its upload ends, after that actor stopped: the answer
// is dropped quietly, not logged as a dead letter, and the copy commits.
func TestASharedBlockAnsweringASyncOfItsStoppedSourceMakesNoDeadLetter(t *testing.T) {
	st := newTestStore()
	hold, entered := make(chan struct{}), make(chan struct{}, 2)
	st.setFailPut(func(l string) error {
		if l == loc(copyBlockX) || l == loc(copyBlockY) {
			entered <- struct{}{}
			<-hold
		}
		return nil
	})
	e := newTestEngine(t, st, WithBlockSize(64))
	deadCh := blockResultDeadLetters(t, e)
	c, dst := e.NewCollection(), e.NewCollection()
	f := create(t, c, "a", write{0, copyData})
	<-entered
	<-entered // both full blocks' puts wait
	require.NoError(t, f.SetWriteDeadline(time.Now().Add(50*time.Millisecond)))
	require.ErrorIs(t, f.Sync(), os.ErrDeadlineExceeded)
	require.NoError(t, c.CopyTo("a", dst, "b"))
	require.NoError(t, c.Close())
	close(hold)
	commitCopy(t, dst)
	select {
	case m := <-deadCh:
		t.Fatalf("dead letter: %T %+v", m, m)
	case <-time.After(100 * time.Millisecond):
	}
}

// A copy of a file whose current block no segment names any more (a
// truncate to 0 keeps the block) duplicates nothing, and reserves nothing
// for good.
func TestACopyOfAFileTruncatedToZeroReservesNoMemory(t *testing.T) {
	e := newTestEngine(t, newTestStore(), WithBlockSize(64))
	src, dst := e.NewCollection(), e.NewCollection()
	f := create(t, src, "a", write{0, "zz"})
	require.NoError(t, f.Truncate(0))
	require.NoError(t, src.CopyTo("a", dst, "c"))
	assert.Equal(t, "", contents(t, dst, "c"))
	require.NoError(t, f.Close())
	require.NoError(t, src.Close())
	require.NoError(t, dst.Close())
	assert.Equal(t, int64(0), e.sys.RT.Memory.Used())
}

// commitCopy commits dst, which holds a copy of copyData called b, checks
// its manifest and bytes, and closes it.
func commitCopy(t *testing.T, dst *Collection) {
	t.Helper()
	commitWithin(t, dst)
	text, err := dst.ManifestText(bg, ManifestOptions{})
	require.NoError(t, err)
	assert.Equal(t, copyManifest, text)
	assert.Equal(t, copyData, contents(t, dst, "b"))
	require.NoError(t, dst.Close())
}

// storeDownCopyFixture returns an engine of blockSize-byte blocks, without
// retries, over a store that is down until down is cleared; the actors it
// runs before any collection; and a source and a destination collection.
func storeDownCopyFixture(t *testing.T, blockSize int) (e *Engine, down *atomic.Bool, base int, src, dst *Collection) {
	st := newTestStore()
	down = failPutsWhile(st)
	e = newTestEngine(t, st, WithBlockSize(blockSize), WithRetries(0))
	return e, down, liveActors(e), e.NewCollection(), e.NewCollection()
}

// commitWithin commits c, which must succeed within waitFor.
func commitWithin(t *testing.T, c *Collection) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, c.Commit(ctx))
}

// requireNothingLeft waits until e runs no more actors than base, holds no
// budget and no shared block.
func requireNothingLeft(t *testing.T, e *Engine, base int) {
	t.Helper()
	require.Eventually(t, func() bool {
		return liveActors(e) <= base && e.sys.RT.Memory.Used() == 0 && e.sys.SharedBlocks() == 0
	}, waitFor, tick, "live %d (base %d), used %d, shared %d",
		liveActors(e), base, e.sys.RT.Memory.Used(), e.sys.SharedBlocks())
}

// failPutsWhile makes st's puts fail with errStoreDown while the flag it
// returns is set (it is, at first).
func failPutsWhile(st *testStore) *atomic.Bool {
	down := new(atomic.Bool)
	down.Store(true)
	st.setFailPut(func(string) error {
		if down.Load() {
			return errStoreDown
		}
		return nil
	})
	return down
}
