package forecast

import (
	"github.com/kedastral/kedastral/pkg/series"
)

// dshwName is the name of the double seasonal Holt-Winters method.
const dshwName = "dshw"

// dshw is double seasonal Holt-Winters exponential smoothing (Taylor 2003, "Short-term
// electricity demand forecasting using double seasonal exponential smoothing"): a level, a
// damped additive trend and two seasonal components, of periods[0] (a day) and periods[1] (a
// week) steps, so that a Monday can differ from a Sunday while every day still shares the daily
// curve; plus Taylor's AR(1) adjustment, which adds φᵏ times the last one-step error to the
// forecast k steps ahead, because the errors of a smoothing model on load data are strongly
// autocorrelated. The parameters (α, β, the two γ, the damping and the AR coefficient)
// minimise the one-step squared error of the adjusted forecast.
//
// The seasons are additive rather than Taylor's multiplicative ones, for the same reason as
// holt_winters' default: loads that fall to zero make seasonal ratios meaningless.
//
// The initial weekly indices are what the week adds to the daily curve, smoothed over ±3 hours
// (see hwInit): on the real traces that noise reduction was worth much more than it costs, but
// a sharp edge, such as a weekend load that drops at midnight, starts out blurred and is only
// sharpened by the recursion, slowly when the fitted γ is small.
//
// It needs two of the longer season of history to initialise it (two weeks); with less, or
// with one usable period, it is single seasonal Holt-Winters (keeping the AR adjustment), and
// with no usable period, Holt's damped trend method. Predict runs the recursion over the latest
// span of history as holt_winters does.
type dshw struct {
	mult bool // Taylor's multiplicative seasons; only the tests' comparisons use them
}

var _ Method = dshw{}

// newDSHW returns double seasonal Holt-Winters with additive seasons.
func newDSHW() Method { return dshw{} }

func (m dshw) Name() string {
	if m.mult {
		return dshwName + "_" + hwMultiplicative
	}
	return dshwName
}

func (m dshw) Fit(history series.Series, periods []int) (Predictor, error) {
	spec := hwSpec{mult: m.mult, damped: true, ar: true}
	ps := hwUsablePeriods(periods)
	if len(ps) > 0 {
		spec.m1 = ps[0]
	}
	if len(ps) > 1 {
		spec.m2 = ps[1]
	}
	// With too little history for the longer season, hwFit keeps the shorter one.
	return hwFit(m.Name(), history, spec)
}
