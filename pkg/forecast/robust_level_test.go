package forecast_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/series"
)

func TestRobustLevel(t *testing.T) {
	gappy := fill(200, 7)
	for i := range gappy {
		if i%3 == 1 {
			gappy[i] = nan
		}
	}
	tests := map[string]struct {
		opts    forecast.Options
		history series.Series
		horizon int
		want    []float64
	}{
		"flat line": {
			history: newSeries(time.Minute, fill(100, 7)...),
			horizon: 5,
			want:    fill(5, 7),
		},
		"flat line with gaps": {
			history: newSeries(5*time.Minute, gappy...),
			horizon: 3,
			want:    fill(3, 7),
		},
		"single sample": {
			history: newSeries(time.Minute, nan, 3, nan),
			horizon: 2,
			want:    []float64{3, 3},
		},
		"spike at the end is ignored": {
			history: newSeries(time.Minute, cat(fill(100, 10), []float64{1000})...),
			horizon: 2,
			want:    []float64{10, 10},
		},
		"spike that reverted is ignored": {
			history: newSeries(time.Minute, cat(fill(100, 10), []float64{1000, 10})...),
			horizon: 2,
			want:    []float64{10, 10},
		},
		// One sample at a new level could be a spike; two that stay there are a change, and
		// the backtest then picks a window short enough to follow it.
		"new level for one sample is not followed yet": {
			history: newSeries(time.Minute, cat(fill(100, 10), []float64{20})...),
			horizon: 1,
			want:    []float64{10},
		},
		"new level that persists is followed": {
			history: newSeries(time.Minute, cat(fill(100, 10), []float64{20, 20})...),
			horizon: 1,
			want:    []float64{20},
		},
		"window 1 is the naive forecast": {
			opts:    forecast.Options{Window: 1},
			history: newSeries(time.Minute, cat(fill(100, 10), []float64{1000})...),
			horizon: 2,
			want:    []float64{1000, 1000},
		},
		"negative level is clamped to zero": {
			history: newSeries(time.Minute, fill(30, -2)...),
			horizon: 1,
			want:    []float64{0},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := mustNew(t, forecast.RobustLevel, tc.opts)
			got, err := m.Forecast(tc.history, tc.horizon, 0.9)
			if err != nil {
				t.Fatalf("Forecast(%v, %d, 0.9) error = %v", tc.history.Values, tc.horizon, err)
			}
			if diff := cmp.Diff(tc.want, got.Point); diff != "" {
				t.Errorf("Forecast(%d values, %d, 0.9).Point mismatch (-want +got):\n%s", tc.history.Len(), tc.horizon, diff)
			}
			checkContract(t, got, tc.horizon)
		})
	}
}

// TestRobustLevelNoisy checks the level on noisy data, where the answer is only known to within
// the noise (uniform, ±1 around the level).
func TestRobustLevelNoisy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	noisy := func(n int, level float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = level + 2*rng.Float64() - 1
		}
		return out
	}
	base := noisy(300, 10)
	tests := map[string]struct {
		values []float64
		want   float64 // ±1
	}{
		"spike":                  {values: cat(base, []float64{1000}, noisy(2, 10)), want: 10},
		"burst of three spikes":  {values: cat(base, fill(3, 1000), noisy(3, 10)), want: 10},
		"dip to zero":            {values: cat(base, []float64{0, 0}, noisy(1, 10)), want: 10},
		"new level, 1 sample in": {values: cat(base, noisy(1, 20)), want: 10},
		// The default window is 15, so by 8 samples the median itself has moved.
		"new level, 8 samples in":  {values: cat(base, noisy(8, 20)), want: 20},
		"new level, 12 samples in": {values: cat(base, noisy(12, 20)), want: 20},
		"new level, 40 samples in": {values: cat(base, noisy(40, 20)), want: 20},
	}
	m := mustNew(t, forecast.RobustLevel, forecast.Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := m.Forecast(newSeries(time.Minute, tc.values...), 5, 0.9)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range got.Point {
				if math.Abs(p-tc.want) > 1 {
					t.Fatalf("Forecast(%s).Point = %v, want %v ± 1", name, got.Point, tc.want)
				}
			}
		})
	}
}

// TestRobustLevelFlatBand checks that a model that would have forecast the recent past
// perfectly gets no band at all.
func TestRobustLevelFlatBand(t *testing.T) {
	got, err := mustNew(t, forecast.RobustLevel, forecast.Options{}).Forecast(newSeries(time.Minute, fill(500, 7)...), 30, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got.Point, got.Upper); diff != "" {
		t.Errorf("Forecast(flat).Upper differs from Point (-point +upper):\n%s", diff)
	}
}

func TestRobustLevelShortHistoryLongHorizon(t *testing.T) {
	m := mustNew(t, forecast.RobustLevel, forecast.Options{})
	for n := 1; n < 40; n++ {
		for _, horizon := range []int{1, 4, 59, 60, 61, 62, 63, 64, 100} {
			got, err := m.Forecast(newSeries(time.Minute, fill(n, 3)...), horizon, 0.9)
			if err != nil {
				t.Fatal(err)
			}
			checkContract(t, got, horizon)
		}
	}
}
