package actors

import (
	"context"
	"log/slog"
	"testing"

	"github.com/arvfile/arvfile/messages"
	"github.com/stretchr/testify/assert"
)

func TestBlockStateTransitions(t *testing.T) {
	W, P, C, E, D := messages.Writable, messages.Pending, messages.Committed, messages.Error, messages.Deleted
	legal := map[[2]messages.BlockState]bool{
		{W, P}: true, {P, C}: true, {P, E}: true, {E, P}: true,
		{W, D}: true, {P, D}: true, {C, D}: true, {E, D}: true, {D, D}: true,
	}
	all := []messages.BlockState{W, P, C, E, D}
	for _, from := range all {
		for _, to := range all {
			m := blockStateMachine{id: "b", state: from}
			err := m.transition(to)
			if legal[[2]messages.BlockState{from, to}] {
				assert.NoError(t, err, "%s→%s", from, to)
				assert.Equal(t, to, m.state)
				continue
			}
			assert.Equal(t, &messages.StateChangeError{BlockID: "b", From: from, To: to}, err, "%s→%s", from, to)
			assert.Equal(t, from, m.state, "a refused transition changes nothing")
		}
	}
	err := (&blockStateMachine{id: "b", state: C}).transition(W)
	assert.EqualError(t, err, "arvfile: illegal state change of block b from COMMITTED to WRITABLE")
	assert.EqualError(t, &messages.StateChangeError{From: E, To: C}, "arvfile: illegal block state change from ERROR to COMMITTED")
	assert.Equal(t, "BlockState(9)", messages.BlockState(9).String())
}

// recordingHandler keeps every log record as "LEVEL msg k=v ...".
type recordingHandler struct{ records *[]string }

func (h recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordingHandler) Handle(_ context.Context, r slog.Record) error {
	s := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		s += " " + a.Key + "=" + a.Value.String()
		return true
	})
	*h.records = append(*h.records, s)
	return nil
}
func (h recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordingHandler) WithGroup(string) slog.Handler      { return h }

func TestImpossibleBlockTransitionsFailLoudlyWithBothStates(t *testing.T) {
	W, P, C, E, D := messages.Writable, messages.Pending, messages.Committed, messages.Error, messages.Deleted
	tests := []struct {
		from, to messages.BlockState
		err      error
		logs     []string
	}{
		{W, P, nil, nil},
		{E, D, nil, nil},
		{C, W, &messages.StateChangeError{BlockID: "B", From: C, To: W}, []string{
			"ERROR impossible block state transition block=B from=COMMITTED to=WRITABLE err=arvfile: illegal state change of block B from COMMITTED to WRITABLE"}},
		{D, P, &messages.StateChangeError{BlockID: "B", From: D, To: P}, []string{
			"ERROR impossible block state transition block=B from=DELETED to=PENDING err=arvfile: illegal state change of block B from DELETED to PENDING"}},
		{W, C, &messages.StateChangeError{BlockID: "B", From: W, To: C}, []string{
			"ERROR impossible block state transition block=B from=WRITABLE to=COMMITTED err=arvfile: illegal state change of block B from WRITABLE to COMMITTED"}},
	}
	for _, tt := range tests {
		t.Run(tt.from.String()+"→"+tt.to.String(), func(t *testing.T) {
			var logs []string
			b, _ := newTestBlock(64)
			b.rt.Logger = slog.New(recordingHandler{&logs})
			b.sm.state = tt.from
			err := b.mustTransition(tt.to)
			if tt.err == nil {
				assert.NoError(t, err)
				assert.Equal(t, tt.to, b.sm.state)
			} else {
				assert.Equal(t, tt.err, err)
				assert.Equal(t, tt.from, b.sm.state, "a refused transition changes nothing")
			}
			assert.Equal(t, tt.logs, logs)
		})
	}
}

// A seal reaching a block that is no longer WRITABLE (the protocol never
// sends one) logs both states, tells the sealer the block needs no room,
// and submits nothing.
func TestSealOfACommittedBlockLogsAndSubmitsNothing(t *testing.T) {
	var logs []string
	b, ctx := newTestBlock(64)
	b.rt.Logger = slog.New(recordingHandler{&logs})
	b.sm.state = messages.Committed
	b.seal(ctx, pid("file"))
	assert.Equal(t, messages.Committed, b.sm.state)
	assert.Equal(t, []sentMsg{{"file", &messages.SealAccepted{BlockID: "B"}}}, ctx.take())
	assert.Equal(t, []string{
		"ERROR impossible block state transition block=B from=COMMITTED to=PENDING err=arvfile: illegal state change of block B from COMMITTED to PENDING"}, logs)
}
