package main

import (
	"bufio"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memorySampler watches the heap while a scenario runs. Peak RSS comes from
// the kernel: writing 5 to /proc/self/clear_refs resets VmHWM, which then
// records the peak resident set until it is read.
type memorySampler struct {
	done     chan struct{}
	wg       sync.WaitGroup
	peakHeap uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func startMemorySampler() *memorySampler {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	m := &memorySampler{done: make(chan struct{})}
	m.wg.Add(1)
	go m.loop()
	return m
}

func (m *memorySampler) loop() {
	defer m.wg.Done()
	s := []metrics.Sample{{Name: heapMetric}}
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 {
			m.peakHeap = max(m.peakHeap, s[0].Value.Uint64())
		}
		select {
		case <-m.done:
			return
		case <-t.C:
		}
	}
}

// stop ends sampling and returns the peak heap and peak RSS in bytes.
func (m *memorySampler) stop() (heap, rss uint64) {
	close(m.done)
	m.wg.Wait()
	return m.peakHeap, peakRSS()
}

// peakRSS reads VmHWM from /proc/self/status; 0 where there is none.
func peakRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "VmHWM:") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			return 0
		}
		kb, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
