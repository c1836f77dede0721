package arvfile

import (
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
	deadCh := make(chan any, 64)
	sub := e.sys.RT.System.EventStream.Subscribe(func(ev any) {
		if dl, ok := ev.(*actor.DeadLetterEvent); ok {
			if _, ok := dl.Message.(*messages.BlockResult); ok {
				deadCh <- dl.Message
			}
		}
	})
	defer e.sys.RT.System.EventStream.Unsubscribe(sub)
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
