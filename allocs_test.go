//go:build !race

// Allocation bounds of the small-file path. Not under -race: there the
// sync.Pool of reply latches drops a quarter of what it is given, so that
// every run allocates a few more; .ci/run runs these in its pass without
// -race. testing.AllocsPerRun counts the allocations of every goroutine:
// those a test before left running (a timer, an engine closing) can only
// add some, so each bound is checked against the fewest of a few rounds.

package arvfile

import (
	"context"
	"fmt"
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRequestsOfAHandleAllocateNoMessage(t *testing.T) {
	e := newTestEngine(t, newTestStore())
	c := e.NewCollection()
	f, err := c.Create("warm")
	require.NoError(t, err)
	data := make([]byte, 16)
	_, err = f.Write(data)
	require.NoError(t, err)
	// Overwriting the same 16 bytes: the handle's Write message (and the
	// Append to the block inside it) and the reply latch are reused.
	allocs := fewestAllocsPerRun(200, func() {
		if _, err := f.WriteAt(data, 0); err != nil {
			t.Fatal(err)
		}
	})
	assert.Equal(t, 0.0, allocs, "allocations per warm WriteAt")
	require.NoError(t, f.Close())
}

func TestASmallFileCostsABoundedNumberOfAllocations(t *testing.T) {
	e := newTestEngine(t, newTestStore())
	c := e.NewCollection()
	data := make([]byte, 4096)
	names := make([]string, 3*(100+1)) // AllocsPerRun runs once more than asked, to warm up
	for i := range names {
		names[i] = fmt.Sprintf("d/f%03d", i)
	}
	i := 0
	allocs := fewestAllocsPerRun(100, func() {
		f, err := c.Create(names[i])
		if err != nil {
			t.Fatal(err)
		}
		i++
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	})
	require.NoError(t, c.Commit(context.Background()))
	t.Logf("Create, Write and Close of a 4 KiB file: %v allocations", allocs)
	assert.LessOrEqual(t, allocs, 11.0, "12 before the fourth pass of issue 12 (a cell's first child and a block's reports in room of their own; a file actor's first messages apart from it)")
}

// TestASmallFileCommittedCostsABoundedNumberOfAllocations is scenario b of
// the load benchmarks on one goroutine: Create, Write and Close of 4 KiB
// files, then Commit (which packs them into one block), on a collection of
// their own.
func TestASmallFileCommittedCostsABoundedNumberOfAllocations(t *testing.T) {
	e := newTestEngine(t, newTestStore())
	const files = 200
	data := make([]byte, 4096)
	names := make([]string, files)
	for i := range names {
		names[i] = fmt.Sprintf("d%d/f%03d", i%4, i)
	}
	allocs := fewestAllocsPerRun(1, func() {
		c := e.NewCollection()
		for _, name := range names {
			f, err := c.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(data); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}) / files
	t.Logf("Create, Write and Close of a 4 KiB file, and its share of Commit: %.1f allocations", allocs)
	assert.LessOrEqual(t, allocs, 12.0, "15.4 before the fourth pass of issue 12; its goal is 30")
}

// fewestAllocsPerRun is the fewest allocations per run of fn over three
// rounds of testing.AllocsPerRun(runs, fn).
func fewestAllocsPerRun(runs int, fn func()) float64 {
	fewest := testing.AllocsPerRun(runs, fn)
	for range 2 {
		fewest = min(fewest, testing.AllocsPerRun(runs, fn))
	}
	return fewest
}

func TestNewBlockIDAllocatesOncePerBatch(t *testing.T) {
	// A batch of 64 ids is one string (and a strings.Builder's buffer).
	allocs := fewestAllocsPerRun(640, func() { _ = messages.NewBlockID() })
	assert.Less(t, allocs, 1.0)
}
