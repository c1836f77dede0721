package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"
)

// describeMachine names the date, cores and CPU model of this run.
func describeMachine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				if i := strings.IndexByte(line, ':'); i >= 0 {
					cpu = strings.TrimSpace(line[i+1:])
				}
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores (GOMAXPROCS %d), %s, %s",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOMAXPROCS(0), cpu, runtime.Version())
}

// writeTable prints results as a markdown table.
func writeTable(w io.Writer, rs []result) {
	fmt.Fprintln(w, "| scenario | median | min–max | limit | ratio | peak heap | peak RSS | puts | blocks |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		limit, ratio := "—", "—"
		if r.Limit > 0 {
			limit = fmt.Sprintf("%s %s", num(r.Limit), r.LimitName)
			ratio = fmt.Sprintf("%.2f×", r.Ratio)
		}
		fmt.Fprintf(w, "| %s %s | %s %s | %s–%s | %s | %s | %s | %s | %d | %d |\n",
			r.Scenario, r.Title, num(r.Median), r.Unit, num(r.Min), num(r.Max), limit, ratio,
			mib(r.PeakHeap), mib(r.PeakRSS), r.Puts, r.Blocks)
	}
	extras := false
	for _, r := range rs {
		if len(r.Extra) > 0 {
			if !extras {
				fmt.Fprintln(w, "\nOther figures (medians of the repetitions):")
				extras = true
			}
			keys := make([]string, 0, len(r.Extra))
			for k := range r.Extra {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = fmt.Sprintf("%s %s", k, num(r.Extra[k]))
			}
			fmt.Fprintf(w, "- %s: %s\n", r.Scenario, strings.Join(parts, ", "))
		}
	}
}

// num formats a figure with three significant digits and a unit prefix.
func num(x float64) string {
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.3gG", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.3gM", x/1e6)
	case x >= 1e4:
		return fmt.Sprintf("%.3gk", x/1e3)
	default:
		return fmt.Sprintf("%.3g", x)
	}
}

func mib(b uint64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

// writeJSON writes the run's results for machines to read.
func writeJSON(path, machine string, args []string, rs []result) error {
	doc := struct {
		Machine string   `json:"machine"`
		Args    []string `json:"args"`
		Results []result `json:"results"`
	}{machine, args, rs}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeSVG draws, for each scenario that was swept over concurrency, its
// median against the number of callers (log scale on x).
func writeSVG(path string, rs []result) error {
	series := map[string][]result{}
	var names []string
	for _, r := range rs {
		if r.Concurrency == 0 {
			continue
		}
		key := r.Title + " (" + r.Unit + ")"
		if _, ok := series[key]; !ok {
			names = append(names, key)
		}
		series[key] = append(series[key], r)
	}
	const w, h, pad = 640, 400, 60
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", pad, h-pad, w-pad/2, h-pad)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", pad, pad/2, pad, h-pad)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">callers (log scale)</text>`+"\n", w/2, h-pad/4)
	if len(names) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">no concurrency sweep in this run</text>`+"\n", w/2, h/2)
	}
	colors := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"}
	for si, name := range names {
		pts := series[name]
		sort.Slice(pts, func(i, j int) bool { return pts[i].Concurrency < pts[j].Concurrency })
		var maxC, maxY float64 = 1, 0
		for _, p := range pts {
			maxC = max(maxC, float64(p.Concurrency))
			maxY = max(maxY, p.Median)
		}
		if maxY == 0 {
			continue
		}
		color := colors[si%len(colors)]
		var poly []string
		for _, p := range pts {
			x := float64(pad) + float64(w-pad*3/2)*logFrac(float64(p.Concurrency), maxC)
			y := float64(h-pad) - float64(h-pad*3/2)*(p.Median/maxY)
			poly = append(poly, fmt.Sprintf("%.1f,%.1f", x, y))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x, y, color)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s">%d: %s</text>`+"\n", x+4, y-4, color, p.Concurrency, num(p.Median))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s"/>`+"\n", strings.Join(poly, " "), color)
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s">%s (normalized to its max %s)</text>`+"\n", pad+10, pad/2+16*(si+1), color, svgEscape(name), num(maxY))
	}
	b.WriteString("</svg>\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// logFrac places x on a log scale from 1 to top, as a fraction in [0, 1].
func logFrac(x, top float64) float64 {
	if top <= 1 {
		return 0
	}
	l := 0.0
	for v := x; v > 1; v /= 2 {
		l++
	}
	t := 0.0
	for v := top; v > 1; v /= 2 {
		t++
	}
	return l / t
}

func svgEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
