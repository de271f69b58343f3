package forecast

import (
	"fmt"

	"github.com/kedastral/kedastral/pkg/series"
)

// QuantileForecaster is a Model that can give several upper quantiles from one forecast, as
// the scaling simulator's sweep needs: calling Forecast once per quantile would redo the
// forecast each time.
type QuantileForecaster interface {
	Model
	// ForecastQuantiles is Forecast for each of quantiles at once: upper[k] is the band of
	// quantiles[k]. The point forecast is the same for all.
	ForecastQuantiles(history series.Series, horizon int, quantiles []float64) (point []float64, upper [][]float64, err error)
}

var _ QuantileForecaster = (*Engine)(nil)

// ForecastQuantiles implements QuantileForecaster with one refit check and one prediction.
func (e *Engine) ForecastQuantiles(history series.Series, horizon int, quantiles []float64) ([]float64, [][]float64, error) {
	for _, q := range quantiles {
		if err := checkArgs(history, horizon, q); err != nil {
			return nil, nil, fmt.Errorf("forecast %s: %w", e.name, err)
		}
	}
	if len(quantiles) == 0 {
		return nil, nil, fmt.Errorf("forecast %s: no quantile asked for", e.name)
	}
	fc, vol, err := e.forecast(history, horizon, quantiles[0])
	if err != nil {
		return nil, nil, err
	}
	upper := make([][]float64, len(quantiles))
	upper[0] = fc.Upper
	for k, q := range quantiles[1:] {
		up := make([]float64, horizon)
		for h := range up {
			up[h] = clamp(fc.Point[h] + e.width(h, q, fc.Point[h], vol))
		}
		upper[k+1] = up
	}
	return fc.Point, upper, nil
}
