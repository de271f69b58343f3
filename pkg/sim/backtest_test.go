package sim

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/series"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// spyModel forecasts a constant and records what it was shown, to prove there is no
// look-ahead.
type spyModel struct {
	point, upper float64
	ends         []time.Time
	lastValues   []float64
}

var _ forecast.Model = (*spyModel)(nil)

func (m *spyModel) Name() string { return "spy" }
func (m *spyModel) Forecast(h series.Series, horizon int, _ float64) (forecast.Forecast, error) {
	m.ends = append(m.ends, h.End())
	m.lastValues = append(m.lastValues, h.Values[h.Len()-1])
	fc := forecast.Forecast{Point: make([]float64, horizon), Upper: make([]float64, horizon)}
	for i := range fc.Point {
		fc.Point[i], fc.Upper[i] = m.point, m.upper
	}
	return fc, nil
}

func ramp(n int) series.Series {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i)
	}
	return series.Series{Start: t0, Step: time.Minute, Values: v}
}

func TestBacktestNoLookAhead(t *testing.T) {
	s := ramp(100)
	m := &spyModel{point: 50, upper: 60}
	cfg := BacktestConfig{Window: 10 * time.Minute, Horizon: 5 * time.Minute, Stride: 7 * time.Minute, Quantile: 0.9,
		Report: []time.Duration{time.Minute, 5 * time.Minute}}
	var rows []Row
	res, err := Backtest(t.Context(), s, func() (forecast.Model, error) { return m, nil }, cfg, nil,
		func(r Row) error { rows = append(rows, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	// Origins at 10, 17, ..., 94 (94+5 <= 100): 13 of them.
	if res.Origins != 13 || len(m.ends) != 13 {
		t.Fatalf("origins = %d (model called %d times), want 13", res.Origins, len(m.ends))
	}
	for i, end := range m.ends {
		origin := t0.Add(time.Duration(10+7*i) * time.Minute)
		if !end.Equal(origin) || m.lastValues[i] != float64(10+7*i-1) {
			t.Errorf("origin %d: model saw history ending %v with last value %v, want %v and %v (nothing at or after the origin)",
				i, end, m.lastValues[i], origin, 10+7*i-1)
		}
	}
	if len(rows) != 13*5 {
		t.Errorf("rows = %d, want %d", len(rows), 13*5)
	}
	// Recompute lead 1 from the rows: actual = origin index, forecast 50.
	var ae float64
	var covered int
	for _, r := range rows {
		if r.H == 1 {
			ae += math.Abs(r.Actual - 50)
			if r.Actual <= 60 {
				covered++
			}
		}
	}
	st := res.Stats[0]
	if st.Lead != time.Minute || st.N != 13 || math.Abs(st.MAE-ae/13) > 1e-9 || math.Abs(st.Coverage-float64(covered)/13) > 1e-9 {
		t.Errorf("lead-1 stats = %+v, want N 13, MAE %v, coverage %v", st, ae/13, float64(covered)/13)
	}
	// On a ramp the one-step naive error is 1 in-sample (the window is under two days), so MASE = MAE.
	if math.Abs(st.MASE-st.MAE) > 1e-9 {
		t.Errorf("MASE = %v, want MAE %v on a unit ramp", st.MASE, st.MAE)
	}
}

// TestBacktestMASEOverScaledWindows: an origin whose window never changed has no in-sample
// error to scale by; MASE leaves it out rather than counting it as a perfect forecast.
func TestBacktestMASEOverScaledWindows(t *testing.T) {
	// Flat at 5 for 20 minutes, then a unit ramp: windows of 10 minutes ending by minute 20 are
	// flat; later ones are not.
	v := make([]float64, 60)
	for i := range v {
		v[i] = 5
		if i >= 20 {
			v[i] = float64(i)
		}
	}
	s := series.Series{Start: t0, Step: time.Minute, Values: v}
	m := &spyModel{point: 0, upper: 100}
	cfg := BacktestConfig{Window: 10 * time.Minute, Horizon: time.Minute, Stride: 5 * time.Minute, Quantile: 0.9,
		Report: []time.Duration{time.Minute}}
	res, err := Backtest(t.Context(), s, func() (forecast.Model, error) { return m, nil }, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Origins 10, 15, ..., 55: windows ending at 10 and 15 and 20 are flat (minutes 0..19 are 5;
	// the window before origin 20 is minutes 10..19). The others see the ramp, whose one-step
	// naive error is 1 wherever both points are on it.
	st := res.Stats[0]
	if st.N != 10 || st.Scaled != 7 {
		t.Fatalf("N %d, scaled %d; want 10 forecasts, 7 of them with a scale", st.N, st.Scaled)
	}
	want := 0.0
	for o := 25; o <= 55; o += 5 {
		w := v[o-10 : o]
		sum, n := 0.0, 0
		for i := 1; i < len(w); i++ {
			sum, n = sum+math.Abs(w[i]-w[i-1]), n+1
		}
		want += v[o] / (sum / float64(n)) // |actual − 0| ÷ scale
	}
	want /= 7
	if math.Abs(st.MASE-want) > 1e-9 {
		t.Errorf("MASE = %v, want %v: the mean over the 7 scaled forecasts", st.MASE, want)
	}
}

func TestBacktestErrors(t *testing.T) {
	s := ramp(30)
	newModel := func() (forecast.Model, error) { return &spyModel{}, nil }
	tests := map[string]struct {
		cfg  BacktestConfig
		want []string
	}{
		"everything wrong": {
			cfg:  BacktestConfig{Window: time.Second, Horizon: 0, Stride: -time.Minute, Quantile: 1},
			want: []string{"window must be >=", "horizon must be >=", "stride must be >=", "quantile must be in (0.5, 1)"},
		},
		"series too short": {
			cfg:  BacktestConfig{Window: time.Hour, Horizon: time.Minute, Stride: time.Minute, Quantile: 0.9},
			want: []string{"shorter than window + horizon"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Backtest(t.Context(), s, newModel, tc.cfg, nil, nil)
			if err == nil {
				t.Fatalf("Backtest() error = nil, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Backtest() error = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestBacktestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	cfg := BacktestConfig{Window: 10 * time.Minute, Horizon: 5 * time.Minute, Stride: time.Minute, Quantile: 0.9}
	if _, err := Backtest(ctx, ramp(100), func() (forecast.Model, error) { return &spyModel{}, nil }, cfg, nil, nil); err == nil {
		t.Error("Backtest(cancelled) error = nil, want the context's")
	}
}

func TestInferStep(t *testing.T) {
	samples := []series.Sample{{T: t0}, {T: t0.Add(5 * time.Minute)}, {T: t0.Add(10 * time.Minute)}, {T: t0.Add(20 * time.Minute)}}
	if got, err := InferStep(samples); err != nil || got != 5*time.Minute {
		t.Errorf("InferStep() = %v, %v, want 5m", got, err)
	}
	if _, err := InferStep(samples[:1]); err == nil {
		t.Error("InferStep(one sample) error = nil, want one")
	}
}

// TestHindsight checks the centred-mean reference on series whose answer is known by hand.
func TestHindsight(t *testing.T) {
	cfg := BacktestConfig{Window: time.Hour, Horizon: 30 * time.Minute, Stride: 15 * time.Minute, Quantile: 0.9,
		Report: []time.Duration{5 * time.Minute, 15 * time.Minute}}
	alternating := make([]float64, 300)
	for i := range alternating {
		alternating[i] = 10 + float64(1-2*(i%2)) // 11, 9, 11, …
	}
	withGaps := append([]float64(nil), alternating...)
	for i := 60; i < len(withGaps); i += 15 {
		withGaps[i+4] = math.NaN() // every target at 5 minutes
	}
	cases := []struct {
		name    string
		values  []float64
		radius  int
		mae     float64
		mase    float64 // the window's one-step naive error is 2 where it alternates
		n5, n15 int
	}{
		// ±1: both neighbours are on the other side of 10, so the mean misses by 2; ±2: they
		// balance, missing by 1; ±3 leans again (by 4/3).
		{name: "alternating", values: alternating, radius: 2, mae: 1, mase: 0.5, n5: 15, n15: 15},
		// A straight line is its neighbours' mean at any radius; the first tried wins.
		{name: "ramp", values: ramp(300).Values, radius: 1, mae: 0, mase: 0, n5: 15, n15: 15},
		// Missing targets are not scored (radius 0: the errors, which the gaps' unbalanced
		// neighbourhoods move, are not checked).
		{name: "gaps", values: withGaps, n5: 0, n15: 15},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			refs, err := Hindsight(series.Series{Start: t0, Step: time.Minute, Values: c.values}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(refs) != 2 || refs[0].Lead != 5*time.Minute || refs[1].Lead != 15*time.Minute {
				t.Fatalf("references %+v, want one at 5m and one at 15m", refs)
			}
			if refs[0].N != c.n5 || refs[1].N != c.n15 {
				t.Errorf("scored %d at 5m and %d at 15m, want %d and %d", refs[0].N, refs[1].N, c.n5, c.n15)
			}
			r := refs[1]
			if c.radius == 0 {
				if !(r.MAE > 0 && r.MASE > 0) || math.IsInf(r.MAE, 0) {
					t.Errorf("at 15m: MAE %v, MASE %v; want finite and above 0", r.MAE, r.MASE)
				}
				return
			}
			if r.Radius != c.radius || math.Abs(r.MAE-c.mae) > 1e-9 || math.Abs(r.MASE-c.mase) > 1e-9 {
				t.Errorf("at 15m: radius %d, MAE %v, MASE %v; want %d, %v, %v", r.Radius, r.MAE, r.MASE, c.radius, c.mae, c.mase)
			}
		})
	}
	if _, err := Hindsight(ramp(30), cfg); err == nil || !strings.Contains(err.Error(), "shorter than window + horizon") {
		t.Errorf("Hindsight on 30 minutes = %v, want the series named too short", err)
	}
}
