package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws one bar for a set of concurrent jobs on stderr: redrawn in place on a
// terminal, a line every 10% otherwise (CI logs), nothing when disabled.
type progress struct {
	w        io.Writer
	on, tty  bool
	mu       sync.Mutex
	done     []int
	total    []int
	started  time.Time
	lastDraw time.Time
	lastTen  int
	label    string
}

func newProgress(w io.Writer, on bool, jobs int, label string) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			tty = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progress{w: w, on: on, tty: tty, done: make([]int, jobs), total: make([]int, jobs), started: time.Now(), label: label}
}

func (p *progress) update(job, done, total int) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[job], p.total[job] = done, total
	var d, t int
	for i := range p.done {
		d += p.done[i]
		t += p.total[i]
	}
	if t == 0 {
		return
	}
	// Jobs that have not reported yet count as the size of those that have.
	reported := 0
	for _, x := range p.total {
		if x > 0 {
			reported++
		}
	}
	t = t * len(p.total) / reported
	frac := float64(d) / float64(t)
	elapsed := time.Since(p.started)
	eta := "?"
	if frac > 0.01 {
		eta = (time.Duration(float64(elapsed)/frac) - elapsed).Round(time.Second).String()
	}
	if p.tty {
		if time.Since(p.lastDraw) < 100*time.Millisecond && d < t {
			return
		}
		p.lastDraw = time.Now()
		const width = 30
		n := int(frac * width)
		fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%%  %d/%d origins  elapsed %s  eta %s ", p.label,
			strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, d, t, elapsed.Round(time.Second), eta)
		return
	}
	if ten := int(frac * 10); ten > p.lastTen {
		p.lastTen = ten
		fmt.Fprintf(p.w, "backtest %s: %3.0f%%  %d/%d origins  elapsed %s  eta %s\n", p.label, frac*100, d, t, elapsed.Round(time.Second), eta)
	}
}

func (p *progress) finish() {
	if p.on && p.tty {
		fmt.Fprintln(p.w)
	}
}
