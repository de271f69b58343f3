// Package forecast predicts the next steps of a workload's metric from its history. Each model
// gives, for every step of the horizon, a point forecast and an upper quantile.
//
// Models are pure: they take the history and return numbers, with no clock, I/O or logging, so
// the agent's live cycle and offline backtests run exactly the same code.
//
// A model only computes point forecasts; the upper quantile is computed the same way for all of
// them, from the model's own out-of-sample errors. Every Forecast call backtests the model on up
// to 50 origins spread over the last three days of the history (or its later half, if shorter),
// each forecast made from only the data before its origin, and sets the upper quantile at step h
// to the point forecast plus the conformal q-quantile of the errors (actual − point) the model
// made h steps ahead. A model that forecasts badly therefore gets a wide band rather than a
// confident wrong one. With fewer than 10 such errors (a young or mostly missing history) the
// band is a deliberately wide cold-start guess: the q-quantile of the absolute step-to-step
// changes, times the square root of h. The cost of a Forecast is thus about 51 point forecasts.
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

// Model is a forecasting method. Implementations must accept histories with gaps (NaN), of any
// length including zero, and must never return NaN, Inf or negative values. A Model may keep
// state between calls only as a cache: the same history must give the same forecast.
// Implementations are not required to be safe for concurrent use.
type Model interface {
	// Name is the model's stable name, as selected by KEDASTRAL_MODEL.
	Name() string
	// Forecast predicts horizon steps after history.End(). quantile in (0.5, 1) selects the
	// upper quantile (0.9 for p90). It returns an error only for invalid arguments
	// (horizon < 1, quantile out of range, step <= 0) or a history with no finite value at all
	// (ErrNoData).
	Forecast(history series.Series, horizon int, quantile float64) (Forecast, error)
}
