package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

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
	// v − v is 0 for every finite v and NaN for NaN and ±Inf: one subtraction and one
	// comparison, where IsNaN and IsInf take several, in loops that run over every sample of
	// a week at every forecast.
	return v-v == 0
}

// durationSteps is d in whole steps, rounded to the nearest, at least one and at most 2⁵²
// (far beyond any history, and small enough that the conversion to int is exact).
func durationSteps(d, step time.Duration) int {
	return int(min(max(1, math.Round(float64(d)/float64(step))), 1<<52))
}
