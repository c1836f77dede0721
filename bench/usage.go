package main

import (
	"runtime/metrics"
	"syscall"
	"time"
)

// usage is the process's CPU time (user and system, every thread) and the
// heap objects it has allocated, read at one moment. The difference of two
// readings is what a scenario cost between them, whichever goroutines and
// actors spent it; it includes the garbage collector's share.
type usage struct {
	cpu    time.Duration
	allocs uint64
}

const allocsMetric = "/gc/heap/allocs:objects"

// readUsage returns the process's usage now.
func readUsage() usage {
	var u usage
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	s := []metrics.Sample{{Name: allocsMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		u.allocs = s[0].Value.Uint64()
	}
	return u
}

// perUnit returns the CPU microseconds and heap allocations per unit of
// work (per file, per write) spent since u was read, n units done.
func (u usage) perUnit(n int) (cpuMicros, allocs float64) {
	return u.perUnitUntil(readUsage(), n)
}

// perUnitUntil is perUnit for the work done between u and now.
func (u usage) perUnitUntil(now usage, n int) (cpuMicros, allocs float64) {
	if n <= 0 {
		return 0, 0
	}
	return float64(now.cpu-u.cpu) / 1e3 / float64(n), float64(now.allocs-u.allocs) / float64(n)
}
