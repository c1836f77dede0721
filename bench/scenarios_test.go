package main

import (
	"io"
	"strings"
	"testing"
)

// BenchmarkScenarios runs every load scenario of the driver once per
// iteration at --quick sizes, reporting each figure's median and its ratio to
// the limit measured in the same run. CI runs it with -benchtime=1x as a smoke
// test of the driver and of the paths it measures; figures worth quoting come
// from `go run ./bench` (see RESULTS.md).
func BenchmarkScenarios(b *testing.B) {
	cfg := config{quick: true, reps: 1, store: "mem", concurrency: []int{1, 16}}
	for _, sc := range scenarios {
		b.Run(sc.id, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rs, err := sc.run(cfg)
				if err != nil {
					b.Fatalf("scenario %s: %v", sc.id, err)
				}
				for _, r := range rs {
					unit := strings.ReplaceAll(r.Scenario+"-"+r.Unit, " ", "_")
					b.ReportMetric(r.Median, unit)
					if r.Ratio > 0 {
						b.ReportMetric(r.Ratio, r.Scenario+"-x-limit")
					}
				}
			}
		})
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--reps", "0"}, "--reps must be at least 1, not 0"},
		{[]string{"--store", "s3"}, `--store must be mem or dir, not "s3"`},
		{[]string{"--scenarios", "z"}, `no scenario "z" (have a,b,c,d,e,f,g,h,i,s)`},
		{[]string{"--concurrency", "1,x"}, `--concurrency: "x" is not a positive number`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out strings.Builder
			err := run(tc.args, &out)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("run(%q) = %v, want %q", tc.args, err, tc.want)
			}
		})
	}
}

func TestStatsGivesMedianAndRange(t *testing.T) {
	cases := []struct {
		xs             []float64
		median, lo, hi float64
	}{
		{nil, 0, 0, 0},
		{[]float64{3}, 3, 3, 3},
		{[]float64{5, 1, 3}, 3, 1, 5},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4},
	}
	for _, tc := range cases {
		m, lo, hi := stats(tc.xs)
		if m != tc.median || lo != tc.lo || hi != tc.hi {
			t.Errorf("stats(%v) = %v, %v, %v; want %v, %v, %v", tc.xs, m, lo, hi, tc.median, tc.lo, tc.hi)
		}
	}
}

func TestRepeatGivesTheMedianOfEachExtra(t *testing.T) {
	samples := []sample{
		{value: 10, extra: map[string]float64{"CPU µs/file": 30, "allocs/file": 100}},
		{value: 30, extra: map[string]float64{"CPU µs/file": 10, "allocs/file": 120}},
		{value: 20, extra: map[string]float64{"CPU µs/file": 20, "allocs/file": 110}},
	}
	i := 0
	r, err := repeat(len(samples), result{Limit: 40}, false, func() (sample, error) {
		s := samples[i]
		i++
		return s, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"CPU µs/file": 20, "allocs/file": 110}
	if r.Median != 20 || r.Ratio != 0.5 || len(r.Extra) != 2 || r.Extra["CPU µs/file"] != 20 || r.Extra["allocs/file"] != 110 {
		t.Errorf("repeat gave median %v, ratio %v, extras %v; want 20, 0.5, %v", r.Median, r.Ratio, r.Extra, want)
	}
}

func TestCycleReaderYieldsExactlyNBytesOfData(t *testing.T) {
	data := []byte("abcdefg")
	for _, n := range []int64{0, 3, 7, 20} {
		got, err := io.ReadAll(&cycleReader{data: data, n: n})
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Repeat("abcdefg", 3)[:n]
		if string(got) != want {
			t.Errorf("cycleReader of %d bytes gave %q, want %q", n, got, want)
		}
	}
}

func TestUsageCountsAllocationsPerUnit(t *testing.T) {
	u := readUsage()
	var keep [][]byte
	for i := 0; i < 1000; i++ {
		keep = append(keep, make([]byte, 4096))
	}
	cpu, allocs := u.perUnit(1000)
	if allocs < 1 || cpu < 0 || len(keep) != 1000 {
		t.Errorf("perUnit after 1000 allocations gave %v allocations and %v µs per unit", allocs, cpu)
	}
	if cpu, allocs := u.perUnit(0); cpu != 0 || allocs != 0 {
		t.Errorf("perUnit(0) = %v, %v; want 0, 0", cpu, allocs)
	}
}
