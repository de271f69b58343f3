package main

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/kedastral/kedastral/pkg/sim"
)

// The figure: the load panel above, the unserved-demand panel below, one legend to their right.
const (
	plotWidth  = 24 * vg.Centimeter
	plotHeight = 15 * vg.Centimeter
	// plotDPI is the PNG resolution: 24×15 cm at 150 dpi is 1417×886 pixels.
	plotDPI = 150
	// shortfallShare is the part of the height given to the unserved-demand panel.
	shortfallShare = 0.35
	// plotBuckets is how many time buckets a long trace is reduced to before drawing, a little
	// more than the data area's width in PNG pixels (about 1,000): a month of one-minute steps
	// would otherwise be 43,200 vertices per curve, slow to render and no more informative.
	plotBuckets = 1200
)

var (
	gridStyle     = draw.LineStyle{Color: color.Gray{Y: 0xd8}, Width: vg.Points(0.4)}
	demandStyle   = draw.LineStyle{Color: color.Black, Width: vg.Points(0.8)}
	forecastColor = color.NRGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}
	forecastStyle = draw.LineStyle{Color: forecastColor, Width: vg.Points(0.5)}
	bandColor     = color.NRGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0x48}
	// policyStyles tell the policies apart by colour and by dashes, so they survive greyscale.
	policyStyles = [sim.NumPolicies]draw.LineStyle{
		sim.Reactive:   {Color: color.NRGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, Width: vg.Points(1.1), Dashes: []vg.Length{vg.Points(5), vg.Points(2)}},
		sim.Predictive: {Color: color.NRGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, Width: vg.Points(1.1)},
		sim.Oracle:     {Color: color.NRGBA{R: 0x70, G: 0x70, B: 0x70, A: 0xff}, Width: vg.Points(1.1), Dashes: []vg.Length{vg.Points(1), vg.Points(1.5)}},
	}
)

// writePlot draws the simulation into path; the extension picks the format (.png or .svg,
// case-insensitive); anything else is an error naming the supported ones.
//
// The upper panel shows the demand, the predictive policy's forecast and its band up to the
// upper quantile, and each policy's ready capacity (ready replicas × targetPerPod); the lower
// panel shows, per policy, the demand it left unserved. Long traces are reduced to
// plotBuckets time buckets for drawing, keeping each bucket's minimum and maximum, so no spike
// of demand and no shortfall is hidden.
func writePlot(path, title string, rows []sim.Decision, targetPerPod float64) error {
	var canvas vg.CanvasWriterTo
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(plotWidth, plotHeight), vgimg.UseDPI(plotDPI))}
	case ".svg":
		canvas = vgsvg.New(plotWidth, plotHeight)
	default:
		return fmt.Errorf("plot %s: unsupported extension %q, want .png or .svg", path, ext)
	}
	if len(rows) == 0 {
		return errors.New("plot: no simulated steps to draw")
	}
	if targetPerPod <= 0 || math.IsInf(targetPerPod, 0) || math.IsNaN(targetPerPod) {
		return fmt.Errorf("plot: target per pod must be positive and finite (got %v)", targetPerPod)
	}

	drawFigure(draw.New(canvas), title, rows, targetPerPod)

	// Rendering is done in memory: the file is only created once there is something to write.
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write plot: %w", err)
	}
	_, err = canvas.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path) // a truncated image is worse than none
		return fmt.Errorf("write plot %s: %w", path, err)
	}
	return nil
}

// drawFigure lays out the two panels and the legend on dc.
func drawFigure(dc draw.Canvas, title string, rows []sim.Decision, targetPerPod float64) {
	n := len(rows)
	xs := make([]float64, n)
	for i, r := range rows {
		xs[i] = unixSeconds(r.Time)
	}
	b := newBuckets(xs)
	capacity := func(p sim.PolicyKind) func(int) float64 {
		return func(i int) float64 { return float64(rows[i].Ready[p]) * targetPerPod }
	}
	shortfall := func(p sim.PolicyKind) func(int) float64 {
		return func(i int) float64 { return math.Max(0, rows[i].Demand-float64(rows[i].Ready[p])*targetPerPod) }
	}
	ticker := timeTicker{loc: rows[0].Time.Location()}

	load := newPanel(xs, ticker)
	load.Title.Text = title
	load.Y.Label.Text = "load, ready pods × target"
	// The panel below carries the time labels; this one keeps the tick marks and the grid.
	load.X.Tick.Marker = plot.TickerFunc(func(min, max float64) []plot.Tick {
		ticks := ticker.Ticks(min, max)
		for i := range ticks {
			ticks[i].Label = ""
		}
		return ticks
	})
	load.Add(timeGrid{ticker: ticker, style: gridStyle})
	if rings := b.band(xs, func(i int) float64 { return rows[i].Forecast }, func(i int) float64 { return rows[i].Upper }); len(rings) > 0 {
		load.Add(&plotter.Polygon{XYs: rings, Color: bandColor, LineStyle: draw.LineStyle{Color: bandColor}})
	}
	addLines(load, b.minMax(xs, func(i int) float64 { return rows[i].Forecast }), plotter.NoStep, forecastStyle, nil)
	for _, p := range sim.Policies {
		addLines(load, b.minMax(xs, capacity(p)), plotter.PostStep, policyStyles[p], nil)
	}
	addLines(load, b.minMax(xs, func(i int) float64 { return rows[i].Demand }), plotter.NoStep, demandStyle, nil)
	load.Y.Min = math.Min(0, load.Y.Min)

	short := newPanel(xs, ticker)
	short.Y.Label.Text = "unserved demand"
	short.X.Label.Text = timeAxisLabel(rows[0].Time)
	// The oracle first, so that the policies a user compares lie on top of it.
	for _, p := range []sim.PolicyKind{sim.Oracle, sim.Reactive, sim.Predictive} {
		fill := policyStyles[p].Color.(color.NRGBA)
		fill.A = 0x40
		addLines(short, b.minMax(xs, shortfall(p)), plotter.PostStep, policyStyles[p], fill)
	}
	short.Y.Min = 0
	if short.Y.Max <= 0 {
		short.Y.Max = 1 // never short: an empty panel with a sensible axis
	}

	legend := plot.NewLegend()
	legend.TextStyle.Font.Size = vg.Points(10)
	legend.Top, legend.Left = true, true
	legend.Padding = vg.Points(3)
	legend.Add("demand", &plotter.Line{LineStyle: demandStyle})
	legend.Add("forecast, upper band", &plotter.Polygon{Color: bandColor}, &plotter.Line{LineStyle: forecastStyle})
	var demand float64
	for _, r := range rows {
		if isFinite(r.Demand) {
			demand += r.Demand
		}
	}
	for _, p := range sim.Policies {
		var unserved float64
		for i := range rows {
			if v := shortfall(p)(i); isFinite(v) {
				unserved += v
			}
		}
		legend.Add(p.String()+": "+unservedShare(unserved, demand), &plotter.Line{LineStyle: policyStyles[p]})
	}

	const pad = 2 * vg.Millimeter
	dc = draw.Crop(dc, pad, -pad, pad, -pad)
	legendWidth := legend.Rectangle(dc).Size().X + pad
	panels := draw.Crop(dc, 0, -legendWidth-pad, 0, 0)
	split := panels.Min.Y + vg.Length(shortfallShare)*(panels.Max.Y-panels.Min.Y)
	top := draw.Crop(panels, 0, 0, split-panels.Min.Y, 0)
	bottom := draw.Crop(panels, 0, 0, 0, split-panels.Max.Y-pad)
	top, bottom = alignX(load, top, short, bottom)
	load.Draw(top)
	short.Draw(bottom)
	legendArea := load.DataCanvas(top)
	legendArea.Min.X, legendArea.Max.X = panels.Max.X+pad, dc.Max.X
	legend.Draw(legendArea)
}

// newPanel returns a plot over the whole trace with a time axis and a grid.
func newPanel(xs []float64, ticker plot.Ticker) *plot.Plot {
	p := plot.New()
	p.X.Tick.Marker = ticker
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Y.Tick.Marker = plot.TickerFunc(plainTicks)
	p.Add(&plotter.Grid{Vertical: gridStyle, Horizontal: gridStyle})
	p.X.Min, p.X.Max = xs[0], xs[len(xs)-1]
	return p
}

// plainTicks are plot.DefaultTicks without trailing zeros: 250, not 250.00.
func plainTicks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i, t := range ticks {
		if strings.Contains(t.Label, ".") && !strings.ContainsAny(t.Label, "eE") {
			ticks[i].Label = strings.TrimRight(strings.TrimRight(t.Label, "0"), ".")
		}
	}
	return ticks
}

// timeGrid draws vertical grid lines at the labelled time ticks, for the upper panel, whose
// ticks are unlabelled (and so minor, which plotter.Grid skips).
type timeGrid struct {
	ticker plot.Ticker
	style  draw.LineStyle
}

// Plot implements plot.Plotter.
func (g timeGrid) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, t := range g.ticker.Ticks(p.X.Min, p.X.Max) {
		if !t.IsMinor() {
			c.StrokeLine2(g.style, trX(t.Value), c.Min.Y, trX(t.Value), c.Max.Y)
		}
	}
}

// addLines adds one line per run of a curve (runs are separated where it is undefined).
func addLines(p *plot.Plot, runs []plotter.XYs, step plotter.StepKind, style draw.LineStyle, fill color.Color) {
	for _, run := range runs {
		p.Add(&plotter.Line{XYs: run, StepStyle: step, LineStyle: style, FillColor: fill})
	}
}

// alignX narrows the canvases of two stacked plots so that their data areas share the same left
// and right edges, and their time axes line up. plot.Align does the same but only for tiles of
// equal height.
func alignX(p1 *plot.Plot, c1 draw.Canvas, p2 *plot.Plot, c2 draw.Canvas) (draw.Canvas, draw.Canvas) {
	d1, d2 := p1.DataCanvas(c1), p2.DataCanvas(c2)
	l1, l2 := d1.Min.X-c1.Min.X, d2.Min.X-c2.Min.X
	r1, r2 := c1.Max.X-d1.Max.X, c2.Max.X-d2.Max.X
	left, right := max(l1, l2), max(r1, r2)
	return draw.Crop(c1, left-l1, r1-right, 0, 0), draw.Crop(c2, left-l2, r2-right, 0, 0)
}

// unservedShare is the legend's summary of a policy's shortfall over the whole trace.
func unservedShare(unserved, demand float64) string {
	switch share := unserved / demand; {
	case demand <= 0:
		return fmt.Sprintf("%.4g unserved", unserved)
	case share > 0 && share < 0.001:
		return "<0.1% unserved" // not rounded to a reassuring 0.0%
	default:
		return fmt.Sprintf("%.1f%% unserved", 100*share)
	}
}

// buckets maps the trace's times to drawing buckets of equal duration.
type buckets struct {
	x0, width float64 // width 0: every row is its own bucket
}

func newBuckets(xs []float64) buckets {
	if len(xs) <= plotBuckets {
		return buckets{}
	}
	return buckets{x0: xs[0], width: (xs[len(xs)-1] - xs[0]) / plotBuckets}
}

func (b buckets) of(i int, x float64) int {
	if b.width <= 0 {
		return i
	}
	return int((x - b.x0) / b.width)
}

type point struct {
	i    int
	x, y float64
}

// minMax reduces the curve y(i) at xs to its runs of finite values, each with at most two
// points per bucket: the bucket's minimum and maximum, in time order. Drawing the reduced curve
// covers the same vertical extent in every pixel column as drawing all of it.
func (b buckets) minMax(xs []float64, y func(int) float64) []plotter.XYs {
	var (
		runs   []plotter.XYs
		run    plotter.XYs
		bucket = -1
		lo, hi point
	)
	flush := func() {
		if bucket < 0 {
			return
		}
		first, last := lo, hi
		if last.i < first.i {
			first, last = last, first
		}
		run = append(run, plotter.XY{X: first.x, Y: first.y})
		if last.y != first.y {
			run = append(run, plotter.XY{X: last.x, Y: last.y})
		}
		bucket = -1
	}
	for i, x := range xs {
		v := y(i)
		if !isFinite(v) {
			flush()
			if len(run) > 0 {
				runs, run = append(runs, run), nil
			}
			continue
		}
		if k := b.of(i, x); k != bucket {
			flush()
			bucket, lo, hi = k, point{i, x, v}, point{i, x, v}
			continue
		}
		if v < lo.y {
			lo = point{i, x, v}
		}
		if v > hi.y {
			hi = point{i, x, v}
		}
	}
	flush()
	if len(run) > 0 {
		runs = append(runs, run)
	}
	return runs
}

// band reduces the area between lower(i) and upper(i) to one polygon ring per run where both
// are finite; per bucket it spans the lowest lower to the highest upper, so the band drawn is
// never narrower than the data's.
func (b buckets) band(xs []float64, lower, upper func(int) float64) []plotter.XYs {
	var (
		rings    []plotter.XYs
		los, his plotter.XYs // the run's lower and upper edges, in time order
		bucket   = -1
		x0, x1   float64 // the bucket's first and last time
		lo, hi   float64
	)
	closeBucket := func() {
		if bucket < 0 {
			return
		}
		los = append(los, plotter.XY{X: x0, Y: lo})
		his = append(his, plotter.XY{X: x0, Y: hi})
		if x1 != x0 {
			los = append(los, plotter.XY{X: x1, Y: lo})
			his = append(his, plotter.XY{X: x1, Y: hi})
		}
		bucket = -1
	}
	closeRing := func() {
		closeBucket()
		if len(los) > 0 {
			ring := make(plotter.XYs, 0, len(los)+len(his))
			ring = append(ring, los...)
			for i := len(his) - 1; i >= 0; i-- {
				ring = append(ring, his[i])
			}
			rings = append(rings, ring)
		}
		los, his = los[:0], his[:0]
	}
	for i, x := range xs {
		l, u := lower(i), upper(i)
		if !isFinite(l) || !isFinite(u) {
			closeRing()
			continue
		}
		if k := b.of(i, x); k != bucket {
			closeBucket()
			bucket, x0, x1, lo, hi = k, x, x, l, u
			continue
		}
		x1, lo, hi = x, min(lo, l), max(hi, u)
	}
	closeRing()
	return rings
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// timeAxisLabel names the time zone and the date the trace starts: the tick labels alone may show
// only times of day or weekdays.
func timeAxisLabel(from time.Time) string {
	return fmt.Sprintf("time (%s) from %s", from.Format("MST"), from.Format("Mon 2 Jan 2006"))
}

// timeTicker puts ticks at round times of day in loc (every 5 minutes, hour, 6 hours, day,
// week...), about six labelled ones over the axis, where plot.DefaultTicks would put them at
// round numbers of Unix seconds.
type timeTicker struct{ loc *time.Location }

var timeSteps = []struct {
	major, minor time.Duration
	days         int // major step in calendar days, when it is one or more days
}{
	{time.Minute, 0, 0},
	{5 * time.Minute, time.Minute, 0},
	{15 * time.Minute, 5 * time.Minute, 0},
	{30 * time.Minute, 10 * time.Minute, 0},
	{time.Hour, 15 * time.Minute, 0},
	{2 * time.Hour, 30 * time.Minute, 0},
	{3 * time.Hour, time.Hour, 0},
	{6 * time.Hour, time.Hour, 0},
	{12 * time.Hour, 3 * time.Hour, 0},
	{24 * time.Hour, 6 * time.Hour, 1},
	{48 * time.Hour, 12 * time.Hour, 2},
	{7 * 24 * time.Hour, 24 * time.Hour, 7},
	{14 * 24 * time.Hour, 24 * time.Hour, 14},
	{28 * 24 * time.Hour, 7 * 24 * time.Hour, 28},
}

// Ticks implements plot.Ticker.
func (tt timeTicker) Ticks(min, max float64) []plot.Tick {
	const maxLabels = 7
	span := time.Duration((max - min) * 1e9)
	i := 0
	for i < len(timeSteps)-1 && span/timeSteps[i].major >= maxLabels {
		i++
	}
	s := timeSteps[i]
	if span/s.major > 2*maxLabels {
		// Beyond a year: round numbers of seconds, labelled as dates.
		return plot.TimeTicks{Format: "2 Jan 2006", Time: plot.UnixTimeIn(tt.loc)}.Ticks(min, max)
	}
	format := "15:04"
	switch {
	case s.days > 0:
		format = "Mon 2 Jan"
	case span > 24*time.Hour:
		format = "Mon 15:04"
	}

	from := time.Unix(0, int64(min*1e9)).In(tt.loc)
	to := time.Unix(0, int64(max*1e9)).In(tt.loc)
	// Ticks are counted from a local midnight, so that 6-hour ones fall on 00:00, 06:00…
	// whatever the trace's start, and days are calendar days across DST changes.
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, tt.loc)
	step := s.minor
	if step == 0 {
		step = s.major
	}
	perLabel := int(s.major / step)
	var ticks []plot.Tick
	for k := 0; ; k++ {
		t := day.Add(time.Duration(k) * step)
		if step%(24*time.Hour) == 0 {
			t = day.AddDate(0, 0, k*int(step/(24*time.Hour)))
		}
		if t.After(to) {
			break
		}
		if t.Before(from) {
			continue
		}
		tick := plot.Tick{Value: unixSeconds(t)}
		if k%perLabel == 0 {
			tick.Label = t.Format(format)
		}
		ticks = append(ticks, tick)
	}
	return ticks
}
