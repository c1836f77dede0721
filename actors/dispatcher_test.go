package actors

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDispatcherReusesParkedWorkersAndStopsThemOnClose(t *testing.T) {
	d := NewDispatcher(10, 2)
	assert.Equal(t, 10, d.Throughput())
	var wg sync.WaitGroup
	wg.Add(1)
	d.Schedule(wg.Done)
	wg.Wait()
	require.Eventually(t, func() bool { return d.parked.Load() == 1 }, waitFor, tick)
	wg.Add(1)
	d.Schedule(wg.Done)
	wg.Wait()
	assert.Equal(t, 1, d.Live(), "the parked worker ran the second activation")

	// Five at once: at most two park afterwards.
	release := make(chan struct{})
	wg.Add(5)
	for i := 0; i < 5; i++ {
		d.Schedule(func() { <-release; wg.Done() })
	}
	close(release)
	wg.Wait()
	require.Eventually(t, func() bool { return d.Live() == 2 }, waitFor, tick)
	d.Close()
	require.Eventually(t, func() bool { return d.Live() == 0 }, waitFor, tick)
}
