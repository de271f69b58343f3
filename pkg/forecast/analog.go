package forecast

import (
	"cmp"
	"slices"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// analogMethod forecasts by analogues (Lorenz's method of analogues, as in analogue-ensemble
// weather forecasting): it finds the moments in the last week whose last hour looked most like
// the last hour now — at about the same time of day, when the load has a cycle — and forecasts
// that the load will move from its current level as it moved from theirs:
//
//	ŷ(t+h) = a(t) + median over the k nearest j of [y(j+h) − a(j)]
//
// a is the mean of the last quarter hour (a level steadier than one sample), and "nearest" is
// the Euclidean distance between the last hour of 5-minute means, which weighs both the level
// and the shape. The median of the analogues' moves, not their mean, is what an absolute error
// wants, and a flash crowd in one analogue's future moves it not at all.
//
// Unlike the models built on a seasonal profile (mstl, dhr, dshw), it assumes no form for how
// a departure from the usual day decays: a surge that built up like past surges is forecast to
// end as they did, and on a series with no cycle, one whose last hour resembles past hours is
// forecast to go on as they did. Those errors differ from the profile models', which is what
// auto's combination gains from.
//
// Fit only keeps the cycle; Predict searches the history it is given, so every forecast uses
// the newest week as its library.
type analogMethod struct{}

var _ Method = analogMethod{}

// Name implements Method.
func (analogMethod) Name() string { return Analog }

const (
	// analogLibrary is how far back Predict looks for analogues.
	analogLibrary = 7 * 24 * time.Hour
	// analogShape is the span compared, at analogSmooth's resolution.
	analogShape  = time.Hour
	analogSmooth = 5 * time.Minute
	// analogLevel is the span a level is the mean of.
	analogLevel = 15 * time.Minute
	// analogPhase is how far from the current time of day an analogue may be, with a cycle.
	analogPhase = time.Hour
	// analogK is how many analogues vote. Measured on the public traces, 40 was better than 10
	// or 20 at every lead time past 5 minutes, and 60 no better (docs/BENCHMARKS.md).
	analogK = 40
	// analogMaxScan bounds the candidates compared without a cycle: the most recent ones.
	analogMaxScan = 4032
)

// Fit implements Method: it keeps the shortest period that two cycles of the history hold.
func (analogMethod) Fit(history series.Series, periods []int) (Predictor, error) {
	for _, p := range periods {
		if 2*p <= history.Len() {
			return analogFit{period: p}, nil
		}
	}
	return analogFit{}, nil
}

// analogFit is a fitted analogMethod: the cycle, in steps, in which analogues are looked for at
// the same phase; 0 for none.
type analogFit struct{ period int }

// analogCand is a candidate analogue: the index of its "now", and its distance to the present.
type analogCand struct {
	j int
	d float64
}

// Predict implements Predictor.
func (f analogFit) Predict(history series.Series, dst []float64) {
	step := history.Step
	horizon := len(dst)
	y := fillGaps(history.Tail(durationSteps(analogLibrary, step) + horizon).Values)
	if y == nil {
		clear(dst)
		return
	}
	n := len(y)
	cum := make([]float64, n+1)
	for i, v := range y {
		cum[i+1] = cum[i] + v
	}
	mean := func(i, w int) float64 { // the mean of y over (i−w, i], cut at the start
		lo := max(0, i-w+1)
		return (cum[i+1] - cum[lo]) / float64(i+1-lo)
	}
	smooth := durationSteps(analogSmooth, step)
	span := durationSteps(analogShape, step)
	m := durationSteps(analogLevel, step)
	t := n - 1
	level := mean(t, m)
	first := max(span, m) // the earliest analogue with a whole hour before it
	last := t - horizon   // the latest with its whole future known
	if last < first {
		for i := range dst {
			dst[i] = level
		}
		return
	}
	dist := func(j int) float64 {
		d := 0.0
		for l := 0; l <= span; l += smooth {
			e := mean(t-l, smooth) - mean(j-l, smooth)
			d += e * e
		}
		return d
	}
	var cands []analogCand
	if p := f.period; p > 0 {
		hw := durationSteps(analogPhase, step)
		for c := t - p; c+hw >= first; c -= p {
			for j := max(first, c-hw); j <= min(last, c+hw); j++ {
				cands = append(cands, analogCand{j, dist(j)})
			}
		}
	}
	if len(cands) == 0 { // no cycle, or less than a cycle of history
		for j := last; j >= max(first, last-analogMaxScan); j-- {
			cands = append(cands, analogCand{j, dist(j)})
		}
	}
	slices.SortFunc(cands, func(a, b analogCand) int {
		return cmp.Or(cmp.Compare(a.d, b.d), b.j-a.j) // ties: the more recent first
	})
	cands = cands[:min(analogK, len(cands))]
	moves := make([]float64, len(cands))
	for h := range dst {
		for i, c := range cands {
			moves[i] = y[c.j+h+1] - mean(c.j, m)
		}
		dst[h] = level + median(moves)
		if !finite(dst[h]) { // an overflow of huge values
			dst[h] = y[t]
		}
	}
}
