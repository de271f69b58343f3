package forecast_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/series"
)

// periodic returns f(i mod period) for i in [from, to).
func periodic(from, to, period int, f func(phase int) float64) []float64 {
	out := make([]float64, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, f(i%period))
	}
	return out
}

func TestSeasonalNaive(t *testing.T) {
	// A daily sine at 5-minute steps (288 steps a day), computed from the phase so that one
	// period repeats bit for bit.
	sine := func(phase int) float64 { return 100 + 50*math.Sin(2*math.Pi*float64(phase)/288) }
	// A sawtooth whose period is 206 steps: a day at 7-minute steps, 1440/7 = 205.7 rounded.
	saw := func(phase int) float64 { return float64(10 + phase) }
	hourSaw := func(phase int) float64 { return float64(phase) }
	withNaN := func(v []float64, i int) []float64 { v[i] = nan; return v }

	tests := map[string]struct {
		opts    forecast.Options
		history series.Series
		horizon int
		want    []float64
	}{
		"daily sine, horizon beyond one season": {
			history: newSeries(5*time.Minute, periodic(0, 720, 288, sine)...),
			horizon: 300,
			want:    periodic(720, 1020, 288, sine),
		},
		"step that does not divide a day is rounded": {
			history: newSeries(7*time.Minute, periodic(0, 500, 206, saw)...),
			horizon: 10,
			want:    periodic(500, 510, 206, saw),
		},
		"configured season": {
			opts:    forecast.Options{Season: time.Hour},
			history: newSeries(time.Minute, periodic(0, 150, 60, hourSaw)...),
			horizon: 70,
			want:    periodic(150, 220, 60, hourSaw),
		},
		"shorter than a season falls back to the last value": {
			history: newSeries(time.Minute, periodic(0, 100, 60, hourSaw)...),
			horizon: 3,
			want:    []float64{39, 39, 39},
		},
		"shorter than a season, ending in a gap": {
			history: newSeries(time.Minute, 3, 42, nan, nan),
			horizon: 2,
			want:    []float64{42, 42},
		},
		"NaN one season ago falls back to the last value": {
			opts:    forecast.Options{Season: time.Hour},
			history: newSeries(time.Minute, withNaN(periodic(0, 120, 60, hourSaw), 62)...),
			horizon: 4,
			want:    []float64{0, 1, 59, 3},
		},
		"step change repeats where it happened a season ago": {
			opts:    forecast.Options{Season: time.Hour},
			history: newSeries(time.Minute, cat(fill(140, 10), fill(10, 50))...),
			horizon: 60,
			want:    cat(fill(50, 10), fill(10, 50)),
		},
		"step change within the last season is not seen yet": {
			opts:    forecast.Options{Season: time.Hour},
			history: newSeries(time.Minute, cat(fill(100, 10), fill(5, 50))...),
			horizon: 5,
			want:    fill(5, 10),
		},
		"season shorter than the step is the naive forecast": {
			opts:    forecast.Options{Season: 30 * time.Second},
			history: newSeries(time.Minute, 1, 2, 3),
			horizon: 2,
			want:    []float64{3, 3},
		},
		"negative values are clamped to zero": {
			opts:    forecast.Options{Season: 2 * time.Minute},
			history: newSeries(time.Minute, -4, 5, -6),
			horizon: 2,
			want:    []float64{5, 0},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := mustNew(t, forecast.SeasonalNaive, tc.opts)
			got, err := m.Forecast(tc.history, tc.horizon, 0.9)
			if err != nil {
				t.Fatalf("Forecast(%d values, %d, 0.9) error = %v", tc.history.Len(), tc.horizon, err)
			}
			if diff := cmp.Diff(tc.want, got.Point); diff != "" {
				t.Errorf("Forecast(%d values, %d, 0.9).Point mismatch (-want +got):\n%s", tc.history.Len(), tc.horizon, diff)
			}
			checkContract(t, got, tc.horizon)
		})
	}
}

// TestSeasonalNaiveExactBand checks that on a load that repeats exactly, the model's errors
// are all zero and so is the width of its band.
func TestSeasonalNaiveExactBand(t *testing.T) {
	history := newSeries(time.Minute, periodic(0, 3*1440, 1440, func(p int) float64 { return float64(p % 97) })...)
	got, err := mustNew(t, forecast.SeasonalNaive, forecast.Options{}).Forecast(history, 30, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got.Point, got.Upper); diff != "" {
		t.Errorf("Forecast(periodic).Upper differs from Point (-point +upper):\n%s", diff)
	}
}
