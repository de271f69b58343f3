package forecast

import (
	"github.com/kedastral/kedastral/pkg/series"
)

// Method is one forecasting technique, split the way a long-running agent uses it: Fit, the
// expensive part, estimates parameters from a long history and runs when the agent starts and
// every refit interval after; Predict, the cheap part, forecasts from the parameters and the
// latest data at every cycle. The Engine wraps a Method into a Model: it decides when to refit,
// calibrates the upper quantile and enforces the output contract, so a Method only produces
// point forecasts.
//
// Methods are pure: no clock, no I/O, no logging, no randomness that is not seeded from the
// data. Implementations must be safe to Fit concurrently (they hold no mutable state).
type Method interface {
	// Name is the method's stable name, as selected by KEDASTRAL_MODEL.
	Name() string
	// Fit estimates the method's parameters from history, a regular series that may hold NaN
	// gaps, with at least one finite value. periods are the seasonal periods in steps, ascending
	// (for 1-minute data with daily and weekly cycles: [1440, 10080]); empty when the data shows
	// none. A method uses the periods it can and ignores the others; a method that needs a
	// period it is not given, or more history than it has, must still return a Predictor that
	// degrades gracefully (to a simpler forecast such as the last value), never an error for
	// that reason. Fit returns an error only when it cannot produce any Predictor at all.
	Fit(history series.Series, periods []int) (Predictor, error)
}

// Predictor is a fitted Method.
//
// Predict writes into dst the point forecast for the len(dst) steps right after history.End().
// history is the data available now: it is on the same step as the history the Predictor was
// fitted on, and usually extends it with newer samples (and may have dropped older ones, or be
// an earlier prefix of it, as in a backtest). Predict must use the newest data to set the level
// (a plan made an hour after the fit must reflect the last hour), must accept NaN gaps, and
// must be fast: it runs every cycle, on up to tens of thousands of points, with a budget of a
// few milliseconds. Values written may be of any sign (the Engine clamps them) but never NaN or
// Inf. Predict must not modify the Predictor, so that one Predictor may serve concurrent calls.
type Predictor interface {
	Predict(history series.Series, dst []float64)
}
