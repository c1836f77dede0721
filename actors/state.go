package actors

import "github.com/arvfile/arvfile/messages"

// blockStateMachine is a buffer block's state with the transitions the
// Python SDK allows: WRITABLE→PENDING, PENDING→COMMITTED, PENDING→ERROR,
// ERROR→PENDING, and any state→DELETED.
type blockStateMachine struct {
	id    string
	state messages.BlockState
}

// legalTransition reports whether from→to is allowed.
func legalTransition(from, to messages.BlockState) bool {
	switch {
	case to == messages.Deleted:
		return true
	case from == messages.Writable && to == messages.Pending,
		from == messages.Pending && to == messages.Committed,
		from == messages.Pending && to == messages.Error,
		from == messages.Error && to == messages.Pending:
		return true
	}
	return false
}

// transition moves to the state to, or returns a *StateChangeError carrying
// both states and leaves the state unchanged.
func (m *blockStateMachine) transition(to messages.BlockState) error {
	if !legalTransition(m.state, to) {
		return &messages.StateChangeError{BlockID: m.id, From: m.state, To: to}
	}
	m.state = to
	return nil
}
