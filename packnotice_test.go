package arvfile

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/arvfile/arvfile/segments"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A packed block tells each of its files its upload's outcome unasked
// (messages.PackedNotice). A file removed before that notice comes has
// stopped: the notice is dropped quietly, not logged as a dead letter, and
// the others' segments name the stored block.
func TestAPackedFileRemovedBeforeItsBlockIsStoredGetsNoDeadLetter(t *testing.T) {
	st := newTestStore()
	data := []string{"aaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccc", "dddddddddddddddddddd"}
	packed := loc(data[0] + data[1] + data[2])
	hold, entered := make(chan struct{}), make(chan struct{}, 1)
	st.setFailPut(func(l string) error {
		if l == packed {
			entered <- struct{}{}
			<-hold
		}
		return nil
	})
	e := newTestEngine(t, st, WithBlockSize(64))
	var dead []any
	deadCh := blockResultDeadLetters(t, e)
	c := e.NewCollection()
	files := make([]*File, len(data))
	for i, d := range data {
		files[i] = create(t, c, string(rune('a'+i)), write{0, d})
		require.NoError(t, files[i].Close())
	}
	<-entered // 80 bytes of candidates: a, b and c were packed (60 of 64 bytes); the put waits
	require.NoError(t, c.Remove("b"))
	b := files[1].pid
	require.Eventually(t, func() bool {
		_, live := e.sys.RT.System.ProcessRegistry.Get(actor.NewPID(b.Address, b.Id))
		return !live
	}, waitFor, tick, "b's actor stopped")
	close(hold)

	stored := map[string][]segments.Range{
		"a": {seg(packed, 0, 20, 0)}, "c": {seg(packed, 0, 20, 40)}, "d": {seg(loc(data[3]), 0, 20, 0)},
	}
	assert.Equal(t, stored, committedSegments(t, c))
	assert.Equal(t, data[2], contents(t, c, "c"))
	for len(deadCh) > 0 {
		dead = append(dead, <-deadCh)
	}
	assert.Empty(t, dead, "no notice became a dead letter")
}

// A small file moved to another collection while its old collection's
// packing round runs, the old collection then closed: the moved file may
// accept its pack offer after the round ended. Its bytes land in the
// packed block, which is sealed once every offer was answered, so the new
// collection commits them (before, the packed block stopped under them:
// the Commit waited for ever and the bytes were lost, in a few rounds of
// a hundred).
func TestASmallFileMovedDuringItsOldCollectionsPackingRoundKeepsItsBytes(t *testing.T) {
	for round := 0; round < 60; round++ {
		e := newTestEngine(t, newTestStore(), WithBlockSize(64))
		a, b := e.NewCollection(), e.NewCollection()
		data := make([]string, 4)
		for i := range data {
			data[i] = strings.Repeat(string(rune('a'+i)), 20)
			require.NoError(t, create(t, a, fmt.Sprintf("f%d", i), write{0, data[i]}).Close()) // 80 bytes: a round starts
		}
		require.NoError(t, a.RenameTo("f0", b, "g"))
		require.NoError(t, a.Close())
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		require.NoError(t, b.Commit(ctx), "round %d", round)
		cancel()
		require.Equal(t, data[0], contents(t, b, "g"), "round %d", round)
		require.NoError(t, b.Close())
		require.NoError(t, e.Close())
	}
}

// blockResultDeadLetters returns the BlockResults that become dead letters
// in e from now on, until the test ends.
func blockResultDeadLetters(t *testing.T, e *Engine) <-chan any {
	t.Helper()
	ch := make(chan any, 64)
	sub := e.sys.RT.System.EventStream.Subscribe(func(ev any) {
		if dl, ok := ev.(*actor.DeadLetterEvent); ok {
			if _, ok := dl.Message.(*messages.BlockResult); ok {
				select {
				case ch <- dl.Message:
				default:
				}
			}
		}
	})
	t.Cleanup(func() { e.sys.RT.System.EventStream.Unsubscribe(sub) })
	return ch
}
