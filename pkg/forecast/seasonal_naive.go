package forecast

import (
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// seasonalNaive forecasts each step with the value one season before it: for loads with a daily
// rhythm that is the same minute yesterday. Beyond one season ahead the last season repeats.
// Where that value is missing, or the history is shorter than a season, it falls back to the
// last finite value (the naive forecast), which is the best guess without a season to go on.
//
// It is the yardstick any other model must beat, and it is exact on a load that repeats itself.
// The season is fixed (a day, or a week for seasonal_naive_week) rather than detected: a
// baseline must not be clever.
type seasonalNaive struct {
	name   string
	season time.Duration
}

var (
	_ Method    = seasonalNaive{}
	_ Predictor = seasonalNaive{}
)

func (m seasonalNaive) Name() string { return m.name }

// Fit has nothing to estimate.
func (m seasonalNaive) Fit(series.Series, []int) (Predictor, error) { return m, nil }

func (m seasonalNaive) Predict(history series.Series, dst []float64) {
	v := history.Values
	p := durationSteps(m.season, history.Step)
	last, _, _ := history.Last()
	for i := range dst {
		// Step i is at index len(v)+i; the latest observed index with the same phase.
		if j := len(v) - p + i%p; j >= 0 && finite(v[j]) {
			dst[i] = v[j]
		} else {
			dst[i] = last
		}
	}
}

// naive forecasts the last finite value at every step: the random-walk forecast, which is hard
// to beat at short horizons and which every other method is measured against.
type naive struct{}

var (
	_ Method    = naive{}
	_ Predictor = naive{}
)

func (naive) Name() string                                { return Naive }
func (naive) Fit(series.Series, []int) (Predictor, error) { return naive{}, nil }

func (naive) Predict(history series.Series, dst []float64) {
	last, _, _ := history.Last()
	for i := range dst {
		dst[i] = last
	}
}
