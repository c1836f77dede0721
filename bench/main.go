// Command bench runs arvfile's load scenarios and reports each figure as a
// ratio to the physical limit measured in the same run: MD5 of the same bytes
// on one and on two goroutines (crypto/md5), the multi-buffer MD5 of 16
// streams (github.com/minio/md5-simd), and a memory copy of them. Scenario b
// also reports the CPU time and heap allocations per file, d the blocks per
// file, and i io.Copy into and out of a File beside a 1 MiB loop.
//
//	go run ./bench                      # every scenario, full sizes, 3 repetitions
//	go run ./bench --quick --reps 5     # smaller sizes
//	go run ./bench --scenarios a,f --json out.json --svg out.svg
//
// Each scenario runs --reps times; the table gives the median, the range,
// the ratio of the median to its limit, and the peak heap and RSS seen
// while the scenario ran.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

// config holds the flags that every scenario reads.
type config struct {
	quick       bool
	reps        int
	store       string        // "mem" or "dir"
	dir         string        // root for --store dir; a temp dir when empty
	latency     time.Duration // added to every store call
	concurrency []int         // caller counts for the concurrency sweeps
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	var cfg config
	names := fl.String("scenarios", "all", "comma-separated scenario letters, or all")
	conc := fl.String("concurrency", "1,16,256", "caller counts for the concurrency sweeps")
	jsonPath := fl.String("json", "", "write machine-readable results to this file")
	svgPath := fl.String("svg", "", "draw throughput against concurrency into this SVG file")
	cpuProfile := fl.String("cpuprofile", "", "write a CPU profile of the scenarios to this file")
	memProfile := fl.String("memprofile", "", "write an allocation profile of the scenarios to this file")
	fl.BoolVar(&cfg.quick, "quick", false, "scale sizes down for a fast run")
	fl.IntVar(&cfg.reps, "reps", 3, "repetitions of each scenario")
	fl.StringVar(&cfg.store, "store", "mem", "block store: mem or dir")
	fl.StringVar(&cfg.dir, "dir", "", "directory for --store dir (default: a temporary one)")
	fl.DurationVar(&cfg.latency, "latency", 0, "latency added to every store call")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if cfg.reps < 1 {
		return fmt.Errorf("--reps must be at least 1, not %d", cfg.reps)
	}
	if cfg.store != "mem" && cfg.store != "dir" {
		return fmt.Errorf("--store must be mem or dir, not %q", cfg.store)
	}
	var err error
	if cfg.concurrency, err = parseInts(*conc); err != nil {
		return fmt.Errorf("--concurrency: %w", err)
	}
	chosen, err := choose(*names)
	if err != nil {
		return err
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	env := describeMachine()
	fmt.Fprintf(out, "# arvfile load benchmarks\n\n%s\n\ncommand: `go run ./bench %s`\n\n", env, strings.Join(args, " "))
	var results []result
	for _, sc := range chosen {
		fmt.Fprintf(os.Stderr, "running %s: %s\n", sc.id, sc.title)
		rs, err := sc.run(cfg)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", sc.id, err)
		}
		results = append(results, rs...)
	}
	writeTable(out, results)
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	if *jsonPath != "" {
		if err := writeJSON(*jsonPath, env, args, results); err != nil {
			return err
		}
	}
	if *svgPath != "" {
		if err := writeSVG(*svgPath, results); err != nil {
			return err
		}
	}
	return nil
}

func parseInts(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(f), "%d", &n); err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// choose returns the scenarios named in a comma-separated list of ids.
func choose(list string) ([]scenario, error) {
	if list == "all" {
		return scenarios, nil
	}
	var out []scenario
	for _, id := range strings.Split(list, ",") {
		id = strings.TrimSpace(id)
		found := false
		for _, sc := range scenarios {
			if sc.id == id {
				out = append(out, sc)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("no scenario %q (have %s)", id, scenarioIDs())
		}
	}
	return out, nil
}

func scenarioIDs() string {
	ids := make([]string, len(scenarios))
	for i, sc := range scenarios {
		ids[i] = sc.id
	}
	return strings.Join(ids, ",")
}
