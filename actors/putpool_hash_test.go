package actors

import (
	"context"
	"crypto/md5"
	"sync"
	"testing"

	"github.com/arvfile/arvfile/keep"
	"github.com/arvfile/arvfile/messages"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sumRecordingStore records the md5 each Put was handed (nil: none) and
// names the block by it, as a store that does not hash.
type sumRecordingStore struct {
	mu   sync.Mutex
	sums []*[md5.Size]byte
}

func (s *sumRecordingStore) Put(_ context.Context, data []byte, opts keep.PutOptions) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sums = append(s.sums, opts.MD5)
	return "put+1", nil
}

func (s *sumRecordingStore) Get(context.Context, string) ([]byte, error) {
	return nil, keep.ErrNotFound
}

func TestPutCoordinatorStartsTheHashOfEveryLargeBlockItIsGiven(t *testing.T) {
	rt, p, ctx := newHashingCoordinator(t)
	blocks := [][]byte{hashData(1, HashOffActorsMin), hashData(2, HashOffActorsMin-1), hashData(3, 1<<20), hashData(4, 2<<20)}
	subs := make([]*messages.Submit, len(blocks))
	for i, b := range blocks {
		subs[i] = &messages.Submit{BlockID: string(rune('a' + i)), Data: b, Notify: pid("file")}
		p.onSubmit(ctx, subs[i])
	}
	// a goes to the worker, b is queued, c and d wait for room: all four
	// but the small b are being hashed already.
	sent := ctx.take()
	require.Len(t, sent, 3)
	up := sent[0].msg.(*messages.Upload)
	assert.Equal(t, "w1", sent[0].to)
	assert.Same(t, subs[0], up.Submit)
	require.NotNil(t, up.Sum, "a block of HashOffActorsMin bytes is hashed off the actors")
	assert.Equal(t, []sentMsg{{"file", &messages.SealAccepted{BlockID: "a"}}, {"file", &messages.SealAccepted{BlockID: "b"}}}, sent[1:])
	require.Len(t, p.queue, 1)
	assert.Nil(t, p.queue[0].sum, "a smaller one is left to the worker")
	require.Len(t, p.overflow, 2)
	for i, s := range []messages.PendingSum{up.Sum, p.overflow[0].sum, p.overflow[1].sum} {
		require.NotNil(t, s)
		sum, err := s.Wait(context.Background())
		require.NoError(t, err)
		assert.Equal(t, md5.Sum(blocks[[]int{0, 2, 3}[i]]), sum)
	}
	assert.Equal(t, int64(HashOffActorsMin+3<<20), hashStatsOf(rt).SIMDBytes+hashStatsOf(rt).ScalarBytes)

	// The worker frees up: b goes to it, c enters the queue (accepted) with
	// its sum, d still waits.
	p.onWorkerIdle(ctx, &messages.WorkerIdle{Worker: pid("w1")})
	sent = ctx.take()
	require.Len(t, sent, 2)
	assert.Equal(t, sentMsg{"file", &messages.SealAccepted{BlockID: "c"}}, sent[0])
	assert.Equal(t, &messages.Upload{Submit: subs[1], Coordinator: pid("puts")}, sent[1].msg)
	require.Len(t, p.queue, 1)
	assert.Same(t, subs[2], p.queue[0].submit)
	assert.NotNil(t, p.queue[0].sum)
}

// hashStatsOf returns the runtime's hasher counters.
func hashStatsOf(rt *Runtime) HashStats { return rt.Hasher.Stats() }

func TestPutWorkerHandsTheStoreTheBlocksSum(t *testing.T) {
	data := hashData(9, 1<<20)
	want := md5.Sum(data)
	closed := NewHasher(1)
	closed.Close()
	open := NewHasher(1)
	defer open.Close()
	cases := []struct {
		name  string
		sum   func() messages.PendingSum
		err   error
		store []*[md5.Size]byte
	}{
		{"the hasher's sum is waited for and handed over", func() messages.PendingSum { return open.Start(data) }, nil, []*[md5.Size]byte{&want}},
		{"without one the worker hashes the block itself", func() messages.PendingSum { return nil }, nil, []*[md5.Size]byte{&want}},
		{"a sum that failed fails the upload without a Put", func() messages.PendingSum { return closed.Start(data) }, ErrHasherClosed, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := &sumRecordingStore{}
			rt := testRuntime(keep.BlockSize)
			rt.Store, rt.Putter, rt.Ctx = st, retryingPutter(st, 0), context.Background()
			rt.PutOptions = keep.PutOptions{Copies: 2}
			rt.Memory.Lend(data)
			w := &putWorker{rt: rt}
			ctx := &fakeCtx{}
			w.onUpload(ctx, pid("coordinator"), pid("worker"), &messages.Upload{Submit: &messages.Submit{Block: pid("block"), Data: data}, Sum: tc.sum()})
			sent := ctx.take()
			require.Len(t, sent, 2)
			up := sent[0].msg.(*messages.Uploaded)
			if tc.err != nil {
				assert.ErrorIs(t, up.Err, tc.err)
				assert.Empty(t, up.Locator)
			} else {
				require.NoError(t, up.Err)
				assert.Equal(t, "put+1", up.Locator)
			}
			assert.Equal(t, tc.store, st.sums)
			assert.Equal(t, keep.PutOptions{Copies: 2}, rt.PutOptions, "the engine's options are not changed")
			rt.Memory.mu.Lock()
			assert.Empty(t, rt.Memory.lent, "the buffer was given back")
			rt.Memory.mu.Unlock()
		})
	}
}

func TestPutCoordinatorHandsOnASumTheBlockComputedItself(t *testing.T) {
	rt, p, ctx := newHashingCoordinator(t)
	data := hashData(5, 1<<20)
	sum := md5.Sum(data)
	p.onSubmit(ctx, &messages.Submit{BlockID: "p", Data: data, Sum: &sum})
	sent := ctx.take()
	require.Len(t, sent, 1)
	up := sent[0].msg.(*messages.Upload)
	require.NotNil(t, up.Sum)
	got, err := up.Sum.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, sum, got)
	assert.Equal(t, int64(0), rt.Hasher.Stats().Blocks, "not hashed again")
}

// newHashingCoordinator returns a put coordinator with one worker, w1, and
// a runtime whose Hasher is closed when the test ends.
func newHashingCoordinator(t *testing.T) (*Runtime, *putCoordinator, *fakeCtx) {
	rt := testRuntime(keep.BlockSize)
	rt.Hasher = NewHasher(1)
	t.Cleanup(rt.Hasher.Close)
	p := newPutCoordinator(rt, []*actor.PID{pid("w1")}, 1)
	p.self = pid("puts")
	return rt, p, &fakeCtx{}
}
