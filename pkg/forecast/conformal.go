package forecast

import (
	"math"
	"slices"

	"github.com/kedastral/kedastral/pkg/series"
)

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

// absChanges returns, sorted, the absolute changes between adjacent finite samples over the
// last DefaultCalibration of history. Their q-quantile is the cold-start width: the spread of a
// random walk, both directions counted, a deliberately wide guess for when the model has too
// little history to be judged on its own errors.
func absChanges(history series.Series) []float64 {
	v := history.Tail(durationSteps(DefaultCalibration, history.Step) + 1).Values
	var d []float64
	for i := 1; i < len(v); i++ {
		if finite(v[i]) && finite(v[i-1]) {
			d = append(d, math.Abs(v[i]-v[i-1]))
		}
	}
	slices.Sort(d)
	return d
}
