package main

import (
	"runtime/debug"
	"sort"
)

// scenario is one load scenario. run performs cfg.reps repetitions and
// returns one result per figure it measures (a sweep gives several).
type scenario struct {
	id    string
	title string
	run   func(cfg config) ([]result, error)
}

// scenarios lists every scenario in the order they run; files named
// scenario_*.go add to it from init functions.
var scenarios []scenario

func register(sc scenario) {
	scenarios = append(scenarios, sc)
	sort.SliceStable(scenarios, func(i, j int) bool { return scenarios[i].id < scenarios[j].id })
}

// sample is what one repetition of a scenario measures.
type sample struct {
	value  float64            // in the result's unit
	puts   int64              // Store.Put calls made
	blocks int64              // blocks the collection ended with
	extra  map[string]float64 // further figures; the result holds the median of each
}

// result is one figure of a scenario over all its repetitions.
type result struct {
	Scenario    string             `json:"scenario"`
	Title       string             `json:"title"`
	Unit        string             `json:"unit"`
	Concurrency int                `json:"concurrency,omitempty"`
	Runs        []float64          `json:"runs"`
	Median      float64            `json:"median"`
	Min         float64            `json:"min"`
	Max         float64            `json:"max"`
	LimitName   string             `json:"limit_name,omitempty"`
	Limit       float64            `json:"limit,omitempty"` // in Unit, measured in the same run
	Ratio       float64            `json:"ratio,omitempty"` // how close the median is to the limit (1 = at the limit)
	PeakHeap    uint64             `json:"peak_heap_bytes"`
	PeakRSS     uint64             `json:"peak_rss_bytes"`
	Puts        int64              `json:"puts"`
	Blocks      int64              `json:"blocks"`
	Extra       map[string]float64 `json:"extra,omitempty"`
}

// repeat runs fn reps times, each under a memory sampler, and folds the
// samples into a result. lowerIsBetter marks a time (seconds, µs) rather
// than a rate: its ratio to the limit is limit/median.
func repeat(reps int, res result, lowerIsBetter bool, fn func() (sample, error)) (result, error) {
	extras := map[string][]float64{}
	for i := 0; i < reps; i++ {
		debug.FreeOSMemory() // the previous run's garbage must not count in this one's peak RSS
		mem := startMemorySampler()
		s, err := fn()
		heap, rss := mem.stop()
		if err != nil {
			return res, err
		}
		res.Runs = append(res.Runs, s.value)
		res.PeakHeap = max(res.PeakHeap, heap)
		res.PeakRSS = max(res.PeakRSS, rss)
		res.Puts, res.Blocks = s.puts, s.blocks
		for k, v := range s.extra {
			extras[k] = append(extras[k], v)
		}
	}
	if len(extras) > 0 {
		res.Extra = make(map[string]float64, len(extras))
		for k, vs := range extras {
			res.Extra[k], _, _ = stats(vs)
		}
	}
	res.Median, res.Min, res.Max = stats(res.Runs)
	if res.Limit > 0 && res.Median > 0 {
		if lowerIsBetter {
			res.Ratio = res.Limit / res.Median
		} else {
			res.Ratio = res.Median / res.Limit
		}
	}
	return res, nil
}

// stats returns the median, minimum and maximum of xs.
func stats(xs []float64) (median, lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	median = s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return median, s[0], s[n-1]
}
