package actors

import (
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"

	"github.com/arvfile/arvfile/messages"
)

// ErrActorPanicked is wrapped by the error of a request whose handling
// panicked inside an actor (a bug of the engine, or of code it calls).
var ErrActorPanicked = errors.New("arvfile: internal error: an actor panicked")

// panicked handles a panic p that an actor recovered while it handled msg:
// it logs it with its stack and answers r, the request being handled (nil:
// none), with an error wrapping ErrActorPanicked. The actor then goes on
// with its state: protoactor's restart would stop its children — a file's
// buffer blocks, with bytes that are nowhere else — and leave the request
// unanswered until its caller's timeout.
//
// r must not have been finished by the handler already: every handler
// finishes its request as its last step.
func (rt *Runtime) panicked(actor, name string, msg any, p any, r *messages.Reply) {
	rt.Logger.Error("actor panicked: request failed, actor kept", "actor", actor, "name", name,
		"message", fmt.Sprintf("%T", msg), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	if r != nil {
		r.Fail(fmt.Errorf("%w: %s %s handling %T: %v", ErrActorPanicked, actor, name, msg, p))
	}
}

// replyOf returns the Reply field of a request message, or nil. Only a
// panic asks, so reflection's cost does not matter.
func replyOf(msg any) *messages.Reply {
	v := reflect.ValueOf(msg)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("Reply")
	if !f.IsValid() {
		return nil
	}
	r, _ := f.Interface().(*messages.Reply)
	return r
}
