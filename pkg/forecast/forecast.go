package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// pointModel is the part of a model that differs between models: the point forecast. Everything
// else a Model promises — argument checks, the output contract, the calibrated upper quantile —
// is shared in forecastWith, so adding a model means writing point and adding it to models.
type pointModel interface {
	Name() string
	// point writes into dst the forecast for the len(dst) steps after history. history has
	// Step > 0 and at least one finite value. The values written may be of any sign or size
	// (but not NaN); forecastWith clamps them.
	point(history series.Series, dst []float64)
}

// forecastWith implements Model.Forecast for m.
func forecastWith(m pointModel, history series.Series, horizon int, quantile float64) (Forecast, error) {
	if err := checkArgs(history, horizon, quantile); err != nil {
		return Forecast{}, fmt.Errorf("forecast %s: %w", m.Name(), err)
	}
	pt := make([]float64, horizon)
	pointClamped(m, history, pt)
	width := upperWidths(m, history, horizon, quantile)
	up := make([]float64, horizon)
	for i := range up {
		up[i] = clamp(pt[i] + width[i])
	}
	return Forecast{Point: pt, Upper: up}, nil
}

// checkArgs reports every invalid argument together, then a history without data.
func checkArgs(history series.Series, horizon int, quantile float64) error {
	var errs []error
	if history.Step <= 0 {
		errs = append(errs, fmt.Errorf("history step must be > 0 (got %v)", history.Step))
	}
	if horizon < 1 {
		errs = append(errs, fmt.Errorf("horizon must be >= 1 (got %d)", horizon))
	}
	if !(quantile > 0.5 && quantile < 1) { // also rejects NaN
		errs = append(errs, fmt.Errorf("quantile must be in (0.5, 1) (got %v)", quantile))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if _, _, ok := history.Last(); !ok {
		return ErrNoData
	}
	return nil
}

// pointClamped runs m.point and makes its output obey the Forecast contract. The backtest goes
// through here too, so that the errors it measures are those of the forecasts users get.
func pointClamped(m pointModel, history series.Series, dst []float64) {
	m.point(history, dst)
	for i, v := range dst {
		dst[i] = clamp(v)
	}
}

// clamp maps v into [0, MaxFloat64]. Loads are never negative, and +Inf (an overflow on
// extreme inputs) becomes the largest finite value. NaN cannot come from finite inputs; were it
// to, 0 keeps the contract.
func clamp(v float64) float64 {
	switch {
	case !(v > 0):
		return 0
	case v > math.MaxFloat64:
		return math.MaxFloat64
	}
	return v
}

// finite reports whether v is neither NaN nor ±Inf. Models treat non-finite input as a gap.
func finite(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}

// durationSteps is d in whole steps, rounded to the nearest, at least one and at most 2⁵²
// (far beyond any history, and small enough that the conversion to int is exact).
func durationSteps(d, step time.Duration) int {
	return int(min(max(1, math.Round(float64(d)/float64(step))), 1<<52))
}
