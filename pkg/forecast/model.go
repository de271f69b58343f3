// Package forecast predicts the next steps of a workload's metric from its history. Each model
// gives, for every step of the horizon, a point forecast and an upper quantile.
//
// A forecasting technique is a Method: Fit estimates its parameters from a long history (rarely),
// Predict forecasts from them and the newest data (every cycle). An Engine wraps one Method, or
// several for auto, into a Model: it refits on a schedule measured in data time, detects the
// seasonal periods, and calibrates the upper quantile by split conformal prediction: the model's
// own errors on held-out recent history, per step of the horizon, with no assumption about their
// shape. A model that forecasts badly therefore gets a wide band rather than a confident wrong
// one. With too little history to measure errors the band is a deliberately wide cold-start
// guess: the q-quantile of the absolute step-to-step changes, times the square root of h.
//
// Everything here is pure: no clock, no I/O, no logging, so that the agent's live cycle and
// offline backtests run exactly the same code.
package forecast

import (
	"errors"

	"github.com/kedastral/kedastral/pkg/series"
)

// ErrNoData is returned (wrapped) by Forecast when the history holds no finite value at all, as
// it does before the first sample arrives or after a long outage of the metric source.
var ErrNoData = errors.New("history has no finite value")

// Forecast is a model's prediction for the steps right after the history it was given:
// Point[i] and Upper[i] are for history.Time(history.Len()+i). Both have the horizon's length,
// hold only finite values >= 0, and Upper[i] >= Point[i].
type Forecast struct {
	Point []float64
	Upper []float64
}

// Model is a forecaster as the planner uses it. Implementations must accept histories with gaps
// (NaN), of any length including zero, and must never return NaN, Inf or negative values. A
// Model may keep fitted parameters between calls (an Engine refits when enough newer data has
// arrived), so its forecast for a history can depend on the histories it saw before; it is not
// required to be safe for concurrent use.
type Model interface {
	// Name is the model's stable name, as selected by KEDASTRAL_MODEL.
	Name() string
	// Forecast predicts horizon steps after history.End(). quantile in (0.5, 1) selects the
	// upper quantile (0.9 for p90). It returns an error only for invalid arguments
	// (horizon < 1, quantile out of range, step <= 0) or a history with no finite value at all
	// (ErrNoData).
	Forecast(history series.Series, horizon int, quantile float64) (Forecast, error)
}
