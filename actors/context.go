package actors

import "github.com/asynkron/protoactor-go/actor"

// actorContext is the part of actor.Context that actor behaviour uses. The
// actors' plain methods take it so that unit tests can drive them with a
// recording fake instead of an actor system.
type actorContext interface {
	Send(pid *actor.PID, message interface{})
	Spawn(props *actor.Props) *actor.PID
	Stop(pid *actor.PID)
}
