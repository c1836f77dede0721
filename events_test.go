package arvfile

import (
	"io/fs"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventLog collects events.
type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) add(ev Event) {
	l.mu.Lock()
	l.evs = append(l.evs, ev)
	l.mu.Unlock()
}

func (l *eventLog) get() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.evs...)
}

func TestSubscribersSeeAddWriteAndModInOrder(t *testing.T) {
	c := newTestEngine(t, newTestStore(), WithBlockSize(64)).NewCollection()
	var log eventLog
	cancel := c.Subscribe(log.add)
	f := create(t, c, "d/a", write{0, "hello"}, write{10, "x"})
	require.NoError(t, f.Sync())
	want := []Event{
		{Kind: EventAdd, Path: "d/a"},
		{Kind: EventWrite, Path: "d/a", Offset: 0, Length: 5},
		{Kind: EventWrite, Path: "d/a", Offset: 10, Length: 1},
		{Kind: EventMod, Path: "d/a"},
	}
	require.Eventually(t, func() bool { return len(log.get()) == len(want) }, waitFor, tick)
	assert.Equal(t, want, log.get())
	cancel()
	_, err := f.WriteString("more")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.Equal(t, want, log.get())
	assert.Equal(t, "write", EventWrite.String())
	assert.Equal(t, "add", EventAdd.String())
}

func TestASubscriberMayCallTheEngine(t *testing.T) {
	c := newTestEngine(t, newTestStore(), WithBlockSize(64)).NewCollection()
	var mu sync.Mutex
	var seen []string
	c.Subscribe(func(ev Event) {
		if ev.Kind != EventWrite {
			return
		}
		f, err := c.Open(ev.Path)
		if err != nil {
			return
		}
		b := make([]byte, ev.Length)
		n, _ := f.ReadAt(b, ev.Offset)
		_ = f.Close()
		mu.Lock()
		seen = append(seen, string(b[:n]))
		mu.Unlock()
	})
	f := create(t, c, "a", write{0, "one"}, write{3, "two"})
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 2 }, waitFor, tick)
	assert.Equal(t, []string{"one", "two"}, seen)
	require.NoError(t, f.Close())
}

func TestASubscriberCallingTheEngineDuringCloseIsAnsweredAtOnce(t *testing.T) {
	e := newTestEngine(t, newTestStore(), WithBlockSize(64))
	c := e.NewCollection()
	inside, release := make(chan struct{}), make(chan struct{})
	openErr := make(chan error, 1)
	var once sync.Once
	c.Subscribe(func(ev Event) {
		if ev.Kind != EventWrite {
			return
		}
		once.Do(func() {
			close(inside)
			<-release
			_, err := c.Open(ev.Path)
			openErr <- err
		})
	})
	create(t, c, "a", write{0, "one"})
	<-inside // the subscriber holds the event actor

	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()
	<-e.done // every other actor has stopped; calls now fail at once
	close(release)

	assert.ErrorIs(t, <-openErr, fs.ErrClosed)
	assert.NoError(t, <-closed)
}
