package forecast

import (
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
	// analogK is how many analogues vote. On the public traces (docs/BENCHMARKS.md), 40 had a
	// lower median error than 20 at 30 and 60 minutes (20 was lower at 5, the same at 15), and
	// 60 was lower only at 60 minutes.
	analogK = 40
	// analogMaxScan bounds the candidates compared without a cycle, the most recent ones (two
	// weeks of 5-minute steps, close to three days of minutes), and so the cost of a forecast.
	analogMaxScan = 4032
)

// Fit implements Method: it keeps the shortest period that two cycles of the history hold and
// that is longer than the windows around the same phase in consecutive cycles (2·analogPhase):
// shorter ones (an hour, a quarter-hour cron job) would have the windows overlap, scan the same
// moments twice and let one moment fill several of the k places.
func (analogMethod) Fit(history series.Series, periods []int) (Predictor, error) {
	hw := durationSteps(analogPhase, history.Step)
	for _, p := range periods {
		if 2*p <= history.Len() && p > 2*hw {
			return analogFit{period: p}, nil
		}
	}
	return analogFit{}, nil
}

// analogFit is a fitted analogMethod: the cycle, in steps, in which analogues are looked for at
// the same phase; 0 for none.
type analogFit struct{ period int }

// analogCand is a candidate analogue: the index of its "now", its distance to the present, and
// its level.
type analogCand struct {
	j        int
	d, level float64
}

// analogSums are the prefix sums of y from index lo, so that a mean over a window costs two
// reads. Predict takes them only around the moments it compares, not over the whole week.
type analogSums struct {
	lo  int
	cum []float64 // cum[k] = Σ y[lo : lo+k]
}

func (s *analogSums) reset(y []float64, lo, hi int) {
	s.lo, s.cum = lo, append(s.cum[:0], 0)
	acc := 0.0
	for _, v := range y[lo : hi+1] {
		acc += v
		s.cum = append(s.cum, acc)
	}
}

// mean is the mean of y over (i−w, i], which must lie within the sums.
func (s *analogSums) mean(i, w int) float64 {
	return (s.cum[i+1-s.lo] - s.cum[i+1-w-s.lo]) / float64(w)
}

// Predict implements Predictor.
func (f analogFit) Predict(history series.Series, dst []float64) {
	horizon := len(dst)
	step := history.Step
	y := history.Tail(durationSteps(analogLibrary, step) + horizon).Values
	if slices.ContainsFunc(y, func(v float64) bool { return !finite(v) }) {
		if y = fillGaps(y); y == nil {
			clear(dst)
			return
		}
	}
	n := len(y)
	smooth := durationSteps(analogSmooth, step)
	span := durationSteps(analogShape, step)
	m := durationSteps(analogLevel, step)
	t := n - 1
	// back is how far before an analogue's "now" the comparison and its level reach: first
	// is the earliest analogue with both inside the history, last the latest whose whole
	// future is known.
	back := max(span+smooth, m) - 1
	first, last := back, t-horizon
	if last < first {
		level := 0.0
		for _, v := range y[max(0, n-m):] {
			level += v
		}
		level /= float64(min(n, m))
		for i := range dst {
			dst[i] = level
		}
		return
	}
	var sums analogSums
	sums.reset(y, t-back, t)
	var now []float64 // the present's hour, at 5-minute means, newest first
	for l := 0; l <= span; l += smooth {
		now = append(now, sums.mean(t-l, smooth))
	}
	level := sums.mean(t, m)
	// near holds the k nearest so far, nearest first; a candidate enters only when it beats
	// the last, so that of equal distances the one seen first, the more recent, is kept.
	near := make([]analogCand, 0, analogK)
	scan := func(lo, hi int) { // the candidates in [lo, hi], the latest first
		sums.reset(y, lo-back, hi)
		for j := hi; j >= lo; j-- {
			d := 0.0
			for i, q := range now {
				e := q - sums.mean(j-i*smooth, smooth)
				d += e * e
			}
			if len(near) == analogK && d >= near[analogK-1].d {
				continue
			}
			k := len(near)
			if k < analogK {
				near = append(near, analogCand{})
			} else {
				k--
			}
			for ; k > 0 && near[k-1].d > d; k-- {
				near[k] = near[k-1]
			}
			near[k] = analogCand{j, d, sums.mean(j, m)}
		}
	}
	if p := f.period; p > 0 {
		hw := durationSteps(analogPhase, step)
		for c := t - p; c+hw >= first; c -= p { // the most recent cycle first
			if lo, hi := max(first, c-hw), min(last, c+hw); lo <= hi {
				scan(lo, hi)
			}
		}
	}
	if len(near) == 0 { // no cycle, or less than a cycle of history
		scan(max(first, last-analogMaxScan), last)
	}
	moves := make([]float64, len(near))
	for h := range dst {
		for i, c := range near {
			moves[i] = y[c.j+h+1] - c.level
		}
		dst[h] = level + median(moves)
		if !finite(dst[h]) { // an overflow of huge values
			dst[h] = y[t]
		}
	}
}
