package actors

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDispatcherReusesParkedWorkersAndStopsThemOnClose(t *testing.T) {
	d := NewDispatcher(10, 2, 0)
	assert.Equal(t, 10, d.Throughput())
	var wg sync.WaitGroup
	wg.Add(1)
	d.Schedule(wg.Done)
	wg.Wait()
	require.Eventually(t, func() bool { return d.Parked() == 1 }, waitFor, tick)
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

func TestDispatcherQueuesABurstForItsFewWorkers(t *testing.T) {
	d := NewDispatcher(10, 2, 2)
	release := make(chan struct{})
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	wg.Add(6)
	for i := 0; i < 2; i++ {
		d.Schedule(func() { <-release; wg.Done() })
	}
	for i := 0; i < 4; i++ {
		d.Schedule(func() { mu.Lock(); order = append(order, i); mu.Unlock(); wg.Done() })
	}
	assert.Equal(t, 2, d.Live(), "six activations, two workers")
	close(release)
	wg.Wait()
	assert.ElementsMatch(t, []int{0, 1, 2, 3}, order, "every queued activation ran")
	require.Eventually(t, func() bool { return d.Parked() == 2 }, waitFor, tick)
	d.Close()
	require.Eventually(t, func() bool { return d.Live() == 0 }, waitFor, tick)

	wg.Add(1)
	d.Schedule(wg.Done)
	wg.Wait()
	require.Eventually(t, func() bool { return d.Live() == 0 }, waitFor, tick, "after Close an activation runs on its own goroutine")
}
