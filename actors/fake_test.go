package actors

import (
	"fmt"
	"time"

	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
)

// fakeCtx records what an actor's methods send, spawn and stop.
type fakeCtx struct {
	sent    []sentMsg
	spawned int
	stopped []*actor.PID
}

type sentMsg struct {
	to  string
	msg any
}

func (f *fakeCtx) Send(pid *actor.PID, msg interface{}) {
	f.sent = append(f.sent, sentMsg{to: pid.Id, msg: msg})
}

func (f *fakeCtx) Spawn(*actor.Props) *actor.PID {
	f.spawned++
	return pid(fmt.Sprintf("spawned%d", f.spawned))
}

func (f *fakeCtx) Stop(p *actor.PID) { f.stopped = append(f.stopped, p) }

// take returns and forgets what was sent.
func (f *fakeCtx) take() []sentMsg {
	s := f.sent
	f.sent = nil
	return s
}

func pid(id string) *actor.PID { return actor.NewPID("test", id) }

func testRuntime(blockSize int64) *Runtime {
	return &Runtime{
		Logger:      DiscardLogger(),
		BlockSize:   blockSize,
		MinCapacity: min(blockSize, MinCapacity),
		Memory:      NewMemory(1<<30, 0),
		Manager:     pid("manager"),
		Puts:        pid("puts"),
		Padding:     pid("padding"),
	}
}

// pending returns how many parties a Reply still waits for.
func pending(r *messages.Reply) int32 {
	select {
	case <-r.Done():
		return 0
	default:
	}
	return -1
}

const (
	waitFor = 10 * time.Second
	tick    = time.Millisecond
)

// openReply returns a Reply that never completes, for tests that send many
// requests with one Reply and look only at what the actor sends.
func openReply() *messages.Reply {
	r := messages.NewReply()
	r.Add(1 << 20)
	return r
}

// acceptSeals tells f that the put pool accepted every block it sealed.
func acceptSeals(f *fileActor, ctx actorContext) {
	for id := range f.unaccepted {
		f.handle(ctx, &messages.SealAccepted{BlockID: id})
	}
}
