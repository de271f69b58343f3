package main

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kedastral/kedastral/pkg/sim"
)

// simulatedRun is a trace of n one-minute steps: a daily wave with a spike at two thirds of the
// trace, reactive capacity lagging the demand by five steps (so it falls short on the spike),
// predictive capacity a step ahead of it and the oracle exact. The forecast is undefined for the
// first tenth of the trace, as before the first plan.
func simulatedRun(n int, target float64) []sim.Decision {
	start := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	demand := make([]float64, n+1)
	for i := range demand {
		demand[i] = 200 + 100*math.Sin(2*math.Pi*float64(i)/1440)
		if j := i - 2*n/3; j >= 0 && j < max(n/20, 5) {
			demand[i] += 400
		}
	}
	pods := func(v float64) int32 { return int32(math.Ceil(v / target)) }
	rows := make([]sim.Decision, n)
	for i := range rows {
		r := sim.Decision{Time: start.Add(time.Duration(i) * time.Minute), Demand: demand[i],
			Forecast: math.NaN(), Upper: math.NaN()}
		if i >= n/10 {
			r.Forecast, r.Upper = 0.95*demand[i], 1.15*demand[i]
		}
		r.Ready[sim.Reactive] = pods(demand[max(i-5, 0)])
		r.Ready[sim.Predictive] = pods(1.05 * max(demand[i], demand[i+1]))
		r.Ready[sim.Oracle] = pods(demand[i])
		r.Desired = r.Ready
		rows[i] = r
	}
	return rows
}

func TestWritePlot(t *testing.T) {
	tests := map[string]struct {
		file  string
		rows  int
		check func(t *testing.T, data []byte)
	}{
		"png":                    {file: "sim.png", rows: 300, check: checkPNG},
		"png upper case":         {file: "SIM.PNG", rows: 300, check: checkPNG},
		"svg":                    {file: "sim.svg", rows: 300, check: checkSVG},
		"single step":            {file: "one.png", rows: 1, check: checkPNG},
		"30 days of minutes png": {file: "month.png", rows: 30 * 24 * 60, check: checkPNG},
		"30 days of minutes svg": {file: "month.svg", rows: 30 * 24 * 60, check: checkSVG},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.file)
			if err := writePlot(path, "kedastral simulation", simulatedRun(tc.rows, 10), 10); err != nil {
				t.Fatalf("writePlot(%q) = %v, want nil", path, err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, data)
		})
	}
}

func checkPNG(t *testing.T, data []byte) {
	t.Helper()
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("file starts with %q, want the PNG signature", data[:min(len(data), 8)])
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("png.Decode() = %v", err)
	}
	// 24×15 cm at 150 dpi.
	if got, want := img.Bounds().Size(), image.Pt(1417, 886); got != want {
		t.Errorf("image size = %v, want %v", got, want)
	}
	colours := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}] = true
		}
	}
	// White, black, grey, the policies' and the forecast's colours, and their blends.
	if len(colours) < 8 {
		t.Errorf("image has %d distinct colours, want at least 8 (blank image?)", len(colours))
	}
}

func checkSVG(t *testing.T, data []byte) {
	t.Helper()
	s := string(data)
	if !strings.Contains(s, "<svg") {
		t.Fatalf("file does not contain <svg: %.200q", s)
	}
	for _, want := range []string{"demand", "reactive", "predictive", "oracle", "unserved"} {
		if !strings.Contains(s, want) {
			t.Errorf("svg does not mention %q", want)
		}
	}
}

func TestWritePlotErrors(t *testing.T) {
	dir := t.TempDir()
	rows := simulatedRun(100, 10)
	tests := map[string]struct {
		path    string
		rows    []sim.Decision
		target  float64
		wantErr string
	}{
		"unknown extension":   {path: filepath.Join(dir, "sim.jpg"), rows: rows, target: 10, wantErr: ".png or .svg"},
		"no extension":        {path: filepath.Join(dir, "sim"), rows: rows, target: 10, wantErr: ".png or .svg"},
		"no rows":             {path: filepath.Join(dir, "sim.png"), target: 10, wantErr: "no simulated steps"},
		"zero target":         {path: filepath.Join(dir, "sim.png"), rows: rows, target: 0, wantErr: "target per pod"},
		"negative target":     {path: filepath.Join(dir, "sim.svg"), rows: rows, target: -1, wantErr: "target per pod"},
		"NaN target":          {path: filepath.Join(dir, "sim.png"), rows: rows, target: math.NaN(), wantErr: "target per pod"},
		"infinite target":     {path: filepath.Join(dir, "sim.png"), rows: rows, target: math.Inf(1), wantErr: "target per pod"},
		"missing directory":   {path: filepath.Join(dir, "no", "such", "dir", "sim.png"), rows: rows, target: 10, wantErr: "no such file or directory"},
		"directory as a file": {path: dir + "/.svg", rows: rows, target: 10, wantErr: "is a directory"},
	}
	if err := os.Mkdir(filepath.Join(dir, ".svg"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := writePlot(tc.path, "", tc.rows, tc.target)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("writePlot(%q, %d rows, %v) = %v, want an error containing %q", tc.path, len(tc.rows), tc.target, err, tc.wantErr)
			}
		})
	}
}

// TestPlotBuckets checks the reduction for drawing: a single step of shortfall in a long
// trace survives, and undefined values leave gaps.
func TestPlotBuckets(t *testing.T) {
	const n = 43200
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(60 * i)
	}
	b := newBuckets(xs)
	tests := map[string]struct {
		y        func(int) float64
		wantRuns int
		wantMax  float64
		wantMin  float64
	}{
		"one step of shortfall": {y: func(i int) float64 {
			if i == 12345 {
				return 7
			}
			return 0
		}, wantRuns: 1, wantMax: 7},
		"undefined stretches": {y: func(i int) float64 {
			if i < 100 || (i >= 20000 && i < 20001) {
				return math.NaN()
			}
			return float64(i % 50)
		}, wantRuns: 2, wantMax: 49},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			runs := b.minMax(xs, tc.y)
			if len(runs) != tc.wantRuns {
				t.Fatalf("minMax() = %d runs, want %d", len(runs), tc.wantRuns)
			}
			lo, hi, points := math.Inf(1), math.Inf(-1), 0
			for _, run := range runs {
				points += len(run)
				for j, p := range run {
					lo, hi = min(lo, p.Y), max(hi, p.Y)
					if j > 0 && p.X < run[j-1].X {
						t.Fatalf("minMax() point %d at x=%v before the previous one at %v", j, p.X, run[j-1].X)
					}
				}
			}
			if lo != tc.wantMin || hi != tc.wantMax {
				t.Errorf("minMax() spans [%v, %v], want [%v, %v]", lo, hi, tc.wantMin, tc.wantMax)
			}
			if points > 2*(plotBuckets+1)+2*tc.wantRuns {
				t.Errorf("minMax() = %d points, want at most two per bucket", points)
			}
		})
	}
}

func TestPlotTimeTicks(t *testing.T) {
	monday := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	cet := time.FixedZone("CET", 3600)
	tests := map[string]struct {
		from, to   time.Time
		wantLabels []string
	}{
		"five hours": {from: monday, to: monday.Add(299 * time.Minute),
			wantLabels: []string{"00:00", "01:00", "02:00", "03:00", "04:00"}},
		"off the hour in another zone": {from: time.Date(2024, 3, 4, 10, 17, 0, 0, cet), to: time.Date(2024, 3, 4, 13, 17, 0, 0, cet),
			wantLabels: []string{"10:30", "11:00", "11:30", "12:00", "12:30", "13:00"}},
		"two days": {from: monday, to: monday.Add(47 * time.Hour),
			wantLabels: []string{"Mon 00:00", "Mon 12:00", "Tue 00:00", "Tue 12:00"}},
		"thirty days": {from: monday.Add(3 * time.Hour), to: monday.Add(30*24*time.Hour + 3*time.Hour),
			wantLabels: []string{"Mon 11 Mar", "Mon 18 Mar", "Mon 25 Mar", "Mon 1 Apr"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ticks := timeTicker{loc: tc.from.Location()}.Ticks(unixSeconds(tc.from), unixSeconds(tc.to))
			var labels []string
			minor := 0
			for _, tk := range ticks {
				if tk.IsMinor() {
					minor++
				} else {
					labels = append(labels, tk.Label)
				}
				if tk.Value < unixSeconds(tc.from) || tk.Value > unixSeconds(tc.to) {
					t.Errorf("tick %v outside [%v, %v]", tk, tc.from, tc.to)
				}
			}
			if diff := cmp.Diff(tc.wantLabels, labels); diff != "" {
				t.Errorf("Ticks(%v, %v) labels (-want +got):\n%s", tc.from, tc.to, diff)
			}
			if minor == 0 {
				t.Errorf("Ticks(%v, %v) has no minor ticks", tc.from, tc.to)
			}
		})
	}
}

func BenchmarkWritePlot(b *testing.B) {
	rows := simulatedRun(30*24*60, 10)
	for _, ext := range []string{"png", "svg"} {
		b.Run(ext, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "sim."+ext)
			for b.Loop() {
				if err := writePlot(path, "30 days", rows, 10); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
