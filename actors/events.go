package actors

import (
	"sync/atomic"

	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
)

// Subscriber receives a collection's events.
type Subscriber func(messages.Event)

// Subscribers is a collection's list of subscribers, replaced as a whole
// (copy on write) by the facade and read by the event actor.
type Subscribers struct {
	list atomic.Pointer[[]Subscriber]
}

// Load returns the current list.
func (s *Subscribers) Load() []Subscriber {
	if p := s.list.Load(); p != nil {
		return *p
	}
	return nil
}

// Store replaces the list.
func (s *Subscribers) Store(l []Subscriber) { s.list.Store(&l) }

// eventActor delivers a collection's events to its subscribers, one at a
// time and in the order each sender sent them. Subscribers run here, outside
// every actor that owns state, so one that calls back into the engine cannot
// deadlock it (nothing ever waits on this actor).
type eventActor struct {
	rt   *Runtime
	subs *Subscribers
}

// NewEventProps returns the Props of a collection's event actor.
func NewEventProps(rt *Runtime, subs *Subscribers) *actor.Props {
	return rt.blockingProps(&eventActor{rt: rt, subs: subs})
}

// Receive hands each message to its method.
func (e *eventActor) Receive(ctx actor.Context) {
	if ev, ok := ctx.Message().(*messages.Event); ok {
		e.onEvent(ev)
	}
}

func (e *eventActor) onEvent(ev *messages.Event) {
	for _, fn := range e.subs.Load() {
		e.deliver(fn, *ev)
	}
}

func (e *eventActor) deliver(fn Subscriber, ev messages.Event) {
	defer func() {
		if r := recover(); r != nil {
			e.rt.Logger.Error("event subscriber panicked", "event", ev.Kind.String(), "path", ev.Path, "panic", r)
		}
	}()
	fn(ev)
}
