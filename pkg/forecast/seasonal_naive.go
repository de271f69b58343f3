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
type seasonalNaive struct {
	season time.Duration
}

var (
	_ Model      = seasonalNaive{}
	_ pointModel = seasonalNaive{}
)

func (seasonalNaive) Name() string { return SeasonalNaive }

func (m seasonalNaive) Forecast(history series.Series, horizon int, quantile float64) (Forecast, error) {
	return forecastWith(m, history, horizon, quantile)
}

func (m seasonalNaive) point(history series.Series, dst []float64) {
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
