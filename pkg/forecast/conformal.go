package forecast

import (
	"math"
	"slices"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// The upper quantile is split conformal prediction on a rolling backtest: the model forecasts
// from a few dozen past origins, each seeing only the history before it, and the band above the
// point forecast at step h is the q-quantile of the one-sided errors (actual − point) the model
// made at step h. It needs no assumption about the shape of the errors — load errors are skewed
// and heavy-tailed, so a Gaussian band would be too narrow above and too wide below — and a
// model is charged for its own mistakes, not for an idealised noise level.
const (
	// calibrationOrigins bounds the number of backtest origins. Each costs one point forecast,
	// so a calibrated Forecast costs at most this many point forecasts plus one.
	calibrationOrigins = 50
	// calibrationSpan is how far back the origins reach (as far as the history allows). Three
	// days make the errors sample every hour of the day, quiet and busy, rather than only the
	// last few hours.
	calibrationSpan = 3 * 24 * time.Hour
	// minCalibrationErrors is the fewest errors at a step for which the empirical quantile is
	// used; below it the cold-start width is used instead. With n errors the conformal
	// q-quantile is the ceil((n+1)q)-th smallest: for q = 0.9 that is the largest error up to
	// n = 9, and a quantile read off the largest of a handful of errors is luck.
	minCalibrationErrors = 10
)

// upperWidths returns, for each of the horizon steps after history, how far above the point
// forecast the q-quantile lies (>= 0, possibly +Inf on extreme inputs). history has Step > 0
// and at least one finite value.
func upperWidths(m pointModel, history series.Series, horizon int, q float64) []float64 {
	n := history.Len()
	// The latest origin forecasts exactly the last horizon points; the others go back evenly
	// over the calibration span, but not into the first half of the history: an origin there
	// would judge the model on far less data than it has now (a seasonal model on less than
	// a season, say), which is to judge a worse model than the one forecasting.
	span := min(durationSteps(calibrationSpan, history.Step), (n-horizon)/2)
	stride := max(1, span/calibrationOrigins)

	// An origin needs a finite value before it: a model is only ever asked to forecast from one.
	first := slices.IndexFunc(history.Values, finite)

	// errs[h*calibrationOrigins : h*calibrationOrigins+count[h]] are the errors at step h.
	errs := make([]float64, horizon*calibrationOrigins)
	count := make([]int, horizon)
	pt := make([]float64, horizon)
	for j := range calibrationOrigins {
		o := n - horizon - j*stride
		if j*stride > span || o <= first {
			break
		}
		past := series.Series{Start: history.Start, Step: history.Step, Values: history.Values[:o]}
		pointClamped(m, past, pt)
		for h, p := range pt {
			if a := history.Values[o+h]; finite(a) {
				errs[h*calibrationOrigins+count[h]] = a - p
				count[h]++
			}
		}
	}

	width := make([]float64, horizon)
	coldStart := -1.0 // computed on first use
	for h := range width {
		if count[h] < minCalibrationErrors {
			if coldStart < 0 {
				coldStart = changeQuantile(history, q)
			}
			// A random walk's spread grows with the square root of the steps taken.
			width[h] = coldStart * math.Sqrt(float64(h+1))
			continue
		}
		e := errs[h*calibrationOrigins : h*calibrationOrigins+count[h]]
		width[h] = max(0, conformalQuantile(e, q))
	}
	return width
}

// conformalQuantile returns the ceil((n+1)q)-th smallest of the n values in e (reordering e):
// the finite-sample correction that makes a new error fall at or below it with probability at
// least q when errors are exchangeable. When that rank exceeds n — q too close to 1 for the
// number of errors — it returns the largest value.
func conformalQuantile(e []float64, q float64) float64 {
	slices.Sort(e)
	n := len(e)
	// The epsilon keeps an exact product such as 10×0.9 from rounding up a rank.
	k := int(math.Ceil(float64(n+1)*q - 1e-9))
	return e[min(max(k, 1), n)-1]
}

// changeQuantile is the cold-start width: the q-quantile of the absolute changes between
// adjacent finite samples over the calibration span, or 0 when there are none. It is a
// deliberately wide guess — the spread of a random walk, with both directions counted — for when
// the model has too little history to be judged on its own errors.
func changeQuantile(history series.Series, q float64) float64 {
	v := history.Tail(durationSteps(calibrationSpan, history.Step) + 1).Values
	var d []float64
	for i := 1; i < len(v); i++ {
		if finite(v[i]) && finite(v[i-1]) {
			d = append(d, math.Abs(v[i]-v[i-1]))
		}
	}
	if len(d) == 0 {
		return 0
	}
	return conformalQuantile(d, q)
}
