package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progressMode says how progress is shown.
type progressMode int

const (
	progressOff   progressMode = iota // nothing
	progressBar                       // one line redrawn in place, for a terminal
	progressBatch                     // one machine-readable line per update
)

// progressModeFor picks the mode from the flags: --batch-progress wins, then
// --no-progress, then --progress; by default a bar on a terminal only.
func progressModeFor(terminal, on, off, batch bool) progressMode {
	switch {
	case batch:
		return progressBatch
	case off:
		return progressOff
	case on || terminal:
		return progressBar
	}
	return progressOff
}

// progress shows how far a put or a get is: bytes and files done out of the
// total, the rate since the start, the percentage and the estimated time
// left. The bar is redrawn at most every 100 ms and batch lines are written at
// most once a second (and always at the end), by the clock now.
//
// A batch line reads
//
//	arvfile put: bytes=DONE total=TOTAL files=DONE nfiles=TOTAL rate=BYTES/S eta=SECONDS
//
// where eta is -1 while unknown.
type progress struct {
	w            io.Writer
	mode         progressMode
	verb         string
	now          func() time.Time
	start, last  time.Time
	bytes, total int64
	files, nfile int
	drawn        bool
}

func newProgress(w io.Writer, mode progressMode, verb string, now func() time.Time, nfile int, total int64) *progress {
	p := &progress{w: w, mode: mode, verb: verb, now: now, nfile: nfile, total: total}
	p.start = now()
	return p
}

// add counts n more bytes done.
func (p *progress) add(n int64) {
	p.bytes += n
	p.draw(false)
}

// file counts one more file done.
func (p *progress) file() {
	p.files++
	p.draw(false)
}

// event writes a batch line about something other than progress (put's
// checkpoints); nothing in the other modes.
func (p *progress) event(what string) {
	if p.mode == progressBatch {
		fmt.Fprintf(p.w, "arvfile %s: %s\n", p.verb, what)
	}
}

// done draws the final state (and ends the bar's line).
func (p *progress) done() {
	p.draw(true)
	if p.mode == progressBar && p.drawn {
		fmt.Fprintln(p.w)
	}
}

func (p *progress) draw(force bool) {
	if p.mode == progressOff {
		return
	}
	now := p.now()
	interval := 100 * time.Millisecond
	if p.mode == progressBatch {
		interval = time.Second
	}
	if !force && p.drawn && now.Sub(p.last) < interval {
		return
	}
	p.last, p.drawn = now, true
	if p.mode == progressBatch {
		fmt.Fprintf(p.w, "arvfile %s: bytes=%d total=%d files=%d nfiles=%d rate=%d eta=%d\n",
			p.verb, p.bytes, p.total, p.files, p.nfile, int64(p.rate(now)), p.eta(now))
		return
	}
	io.WriteString(p.w, "\r"+p.line(now)+"\x1b[K")
}

// rate is the bytes per second since the start.
func (p *progress) rate(now time.Time) float64 {
	el := now.Sub(p.start).Seconds()
	if el <= 0 {
		return 0
	}
	return float64(p.bytes) / el
}

// eta is the whole seconds left at the rate so far, -1 when unknown.
func (p *progress) eta(now time.Time) int64 {
	r := p.rate(now)
	if p.bytes >= p.total {
		return 0
	}
	if r <= 0 {
		return -1
	}
	return int64(float64(p.total-p.bytes)/r + 0.5)
}

// line is the bar's text:
// `[#####     ]  50.0% 1.0/2.0 MiB 512.0 KiB/s ETA 0:02 1/2 files`.
func (p *progress) line(now time.Time) string {
	const width = 20
	frac := 1.0
	if p.total > 0 {
		frac = float64(p.bytes) / float64(p.total)
	}
	if frac > 1 {
		frac = 1
	}
	filled := int(frac * width)
	eta := "--:--"
	if s := p.eta(now); s >= 0 {
		eta = fmt.Sprintf("%d:%02d", s/60, s%60)
	}
	return fmt.Sprintf("[%s%s] %5.1f%% %s/%s %s/s ETA %s %d/%d files",
		strings.Repeat("#", filled), strings.Repeat(" ", width-filled), 100*frac,
		humanBytes(float64(p.bytes)), humanBytes(float64(p.total)), humanBytes(p.rate(now)), eta, p.files, p.nfile)
}

// humanBytes formats n bytes with a binary unit.
func humanBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", n, units[i])
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
