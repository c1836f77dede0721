package actors

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPutCoordinatorQueuesAndAcceptsInOrder(t *testing.T) {
	p := newPutCoordinator(testRuntime(64), []*actor.PID{pid("spawned1"), pid("spawned2")}, 2)
	p.self = pid("puts")
	ctx := &fakeCtx{}
	subs := make([]*messages.Submit, 6)
	for i := range subs {
		subs[i] = &messages.Submit{BlockID: string(rune('a' + i)), Notify: pid("file")}
		p.onSubmit(ctx, subs[i])
	}
	accepted := func(ids ...string) []sentMsg {
		var l []sentMsg
		for _, id := range ids {
			l = append(l, sentMsg{"file", &messages.SealAccepted{BlockID: id}})
		}
		return l
	}
	assert.Equal(t, append([]sentMsg{
		{"spawned2", &messages.Upload{Submit: subs[0], Coordinator: pid("puts")}},
		{"file", &messages.SealAccepted{BlockID: "a"}},
		{"spawned1", &messages.Upload{Submit: subs[1], Coordinator: pid("puts")}},
	}, accepted("b", "c", "d")...), ctx.take(), "beyond two in flight and two queued: the writers wait")
	p.onWorkerIdle(ctx, &messages.WorkerIdle{Worker: pid("spawned2")})
	assert.Equal(t, append(accepted("e"),
		sentMsg{"spawned2", &messages.Upload{Submit: subs[2], Coordinator: pid("puts")}}), ctx.take())
	p.onWorkerIdle(ctx, &messages.WorkerIdle{Worker: pid("spawned1")})
	assert.Equal(t, append(accepted("f"),
		sentMsg{"spawned1", &messages.Upload{Submit: subs[3], Coordinator: pid("puts")}}), ctx.take())
	for _, w := range []string{"spawned2", "spawned1", "spawned2"} {
		p.onWorkerIdle(ctx, &messages.WorkerIdle{Worker: pid(w)})
	}
	assert.Len(t, ctx.take(), 2)
	assert.Len(t, p.idle, 1)
}

// countingStore fails Puts with the errors given, then succeeds.
type countingStore struct {
	errs  []error
	calls atomic.Int32
}

func (s *countingStore) Put(_ context.Context, data []byte, _ keep.PutOptions) (string, error) {
	n := int(s.calls.Add(1))
	if n <= len(s.errs) {
		return "", s.errs[n-1]
	}
	return "ok+1", nil
}

func (s *countingStore) Get(context.Context, string) ([]byte, error) { return nil, keep.ErrNotFound }

func TestPutWorkerRetriesOnlyTemporaryFailures(t *testing.T) {
	down := errors.New("down")
	tests := []struct {
		name    string
		errs    []error
		retries int
		loc     string
		err     error
		calls   int32
	}{
		{"succeeds at once", nil, 3, "ok+1", nil, 1},
		{"retries temporary failures", []error{keep.Temporary(down), keep.Temporary(down)}, 3, "ok+1", nil, 3},
		{"gives up after the retries", []error{keep.Temporary(down), keep.Temporary(down)}, 1, "", down, 2},
		{"never retries a permanent failure", []error{down}, 3, "", down, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &countingStore{errs: tt.errs}
			rt := testRuntime(64)
			rt.Store, rt.Retries, rt.Ctx = st, tt.retries, context.Background()
			rt.Putter = retryingPutter(st, tt.retries)
			w := &putWorker{rt: rt}
			ctx := &fakeCtx{}
			w.onUpload(ctx, pid("coordinator"), pid("worker"), &messages.Upload{Submit: &messages.Submit{Block: pid("block"), Data: []byte("x")}})
			sent := ctx.take()
			require.Len(t, sent, 2)
			up := sent[0].msg.(*messages.Uploaded)
			assert.Equal(t, tt.loc, up.Locator)
			if tt.err == nil {
				assert.NoError(t, up.Err)
			} else {
				assert.ErrorIs(t, up.Err, tt.err)
			}
			assert.Equal(t, sentMsg{"coordinator", &messages.WorkerIdle{Worker: pid("worker")}}, sent[1])
			assert.Equal(t, tt.calls, st.calls.Load())
		})
	}
}
