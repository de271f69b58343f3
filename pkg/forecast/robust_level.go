package forecast

import (
	"math"
	"slices"

	"github.com/kedastral/kedastral/pkg/series"
)

// tuneOrigins is how many recent origins, a quarter horizon apart, score robustLevel's
// candidate windows: about 25 horizons of history, recent enough to follow a change of
// behaviour and long enough that one burst does not decide.
const tuneOrigins = 100

// tuneHorizon is the horizon, in steps, over which Fit scores the candidate windows: the
// default planning horizon at the default step.
const tuneHorizon = 30

// robustLevel forecasts a flat line at the current level: the median of the last k finite
// samples. A median ignores spikes and dips (a scrape that read 0) that last less than k/2
// samples, and follows a real change of level after k/2+1 samples.
//
// The right k depends on the series. Noisy per-minute counts want a long window (the median of
// 15 samples is far steadier than the last sample); a smooth load that trends, such as a flash
// crowd building up, wants a short one, because a long median lags the trend by k/2 steps. So
// Fit chooses k from 1, 2, 4, 8, … up to window, as the one whose flat forecast would have had
// the smallest mean absolute error over the next tuneHorizon steps at the last tuneOrigins
// origins. With k = 1 it is the naive forecast, so on a series where nothing beats naive it
// falls back to naive rather than losing to it. Ties go to the longer, more robust window.
//
// It has no notion of season: it forecasts the level, not the daily curve, which is right at
// the few-minute horizons autoscaling needs and wrong an hour ahead on a morning ramp.
type robustLevel struct {
	window int
}

var _ Method = robustLevel{}

func (robustLevel) Name() string { return RobustLevel }

// Fit chooses the window.
func (m robustLevel) Fit(history series.Series, _ []int) (Predictor, error) {
	return robustLevelFit{k: m.chooseWindow(history, tuneHorizon)}, nil
}

// robustLevelFit forecasts the median of the last k finite samples.
type robustLevelFit struct{ k int }

func (p robustLevelFit) Predict(history series.Series, dst []float64) {
	v := history.Values
	level := make([]float64, 0, p.k)
	for i := len(v) - 1; i >= 0 && len(level) < p.k; i-- {
		if finite(v[i]) {
			level = append(level, v[i])
		}
	}
	l := 0.0
	if len(level) > 0 {
		l = median(level)
	}
	for j := range dst {
		dst[j] = l
	}
}

// chooseWindow returns the candidate window with the lowest error over horizon steps.
func (m robustLevel) chooseWindow(history series.Series, horizon int) int {
	v := history.Values
	stride := max(1, horizon/4)
	// The scoring origins are len(v)-horizon-j·stride for j < tuneOrigins; they are visited
	// oldest first in one forward pass that keeps the last m.window finite samples in a ring,
	// so the cost is linear in the span scored, and a long gap is crossed once.
	// The newest origins see only part of the horizon's actuals; they are scored on those, so
	// that a change in the last few samples already counts.
	latest, origins := len(v)-1, 0
	if latest >= 1 {
		origins = min(tuneOrigins, (latest-1)/stride+1) // every origin >= 1
	}
	oldest := latest - (origins-1)*stride // past latest when there are none
	// Start the scan m.window finite samples before the oldest origin.
	i := min(max(oldest, 0), len(v))
	for seen := 0; i > 0 && seen < m.window; {
		i--
		if finite(v[i]) {
			seen++
		}
	}
	ring := make([]float64, m.window)
	count := 0 // finite samples pushed; the newest is ring[(count-1)%m.window]
	scratch := make([]float64, 0, m.window)
	level := func(k int) float64 { // median of the newest k samples in the ring
		scratch = scratch[:0]
		for j := count - 1; j >= max(0, count-k); j-- {
			scratch = append(scratch, ring[j%m.window])
		}
		return median(scratch)
	}
	advance := func(to int) {
		for ; i < to; i++ {
			if finite(v[i]) {
				ring[count%m.window] = v[i]
				count++
			}
		}
	}

	// sae[c] is windows[c]'s sum of absolute errors. Every window is scored on the same
	// actual values, so sums compare as well as means would.
	windows := candidateWindows(m.window)
	sae := make([]float64, len(windows))
	actual := make([]float64, 0, horizon)
	for o := oldest; o <= latest; o += stride {
		advance(o)
		if count == 0 {
			continue
		}
		actual = actual[:0]
		for _, a := range v[o:min(o+horizon, len(v))] {
			if finite(a) {
				actual = append(actual, a)
			}
		}
		for c, k := range windows {
			l := level(k)
			for _, a := range actual {
				sae[c] += math.Abs(a - l)
			}
		}
	}
	best := len(windows) - 1
	for c := best - 1; c >= 0; c-- {
		if sae[c] < sae[best] {
			best = c
		}
	}
	return windows[best]
}

// candidateWindows returns the powers of two below window, then window: 1, 2, 4, 8, 15 for 15.
func candidateWindows(window int) []int {
	var ws []int
	for k := 1; k < window; k *= 2 {
		ws = append(ws, k)
	}
	return append(ws, window)
}

// median returns the median of xs, reordering xs. xs must not be empty.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	// Halve before adding so that two huge values do not overflow.
	return xs[n/2-1]/2 + xs[n/2]/2
}
