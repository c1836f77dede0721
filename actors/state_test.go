package actors

import (
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
