package main

import (
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
		{[]string{"--scenarios", "z"}, `no scenario "z" (have a,b,c,d,e,f,g,h,s)`},
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
