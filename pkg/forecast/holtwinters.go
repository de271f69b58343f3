package forecast

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/optimize"

	"github.com/kedastral/kedastral/pkg/series"
)

// Seasonality of a Holt-Winters model, as accepted by newHoltWinters.
const (
	hwAdditive       = "additive"
	hwMultiplicative = "multiplicative"
)

// The holt_winters default: additive seasonality with a damped trend, chosen on the real traces
// (TestHoltWintersTraces: refitted daily, MAE relative to the last value's at 15 minutes and 1
// hour ahead). The damped trend matched or beat the undamped one on every trace, by most where
// it matters (worldcup98's flash crowds at 1 hour: 1.14 against 1.22). Multiplicative
// seasonality was slightly ahead on average (0.78 against 0.79 at 15 minutes, 0.78 against 0.81
// at 1 hour), but additive is the robust choice: on a load that is zero outside a daily batch
// window, the scale-to-zero workloads KEDA serves, multiplicative indices are ratios of
// near-zero numbers and its error is several times additive's
// (TestHoltWintersAdditiveOnBatchWindow), and the double seasonal multiplicative variant was
// the worst of all on two of the traces.
const (
	hwDefaultSeasonal = hwAdditive
	hwDefaultDamped   = true
)

const (
	// hwSpan is the most history Fit and Predict look at: two weeks, enough to estimate a daily
	// season from many cycles while staying cheap (20,160 points at 1 minute). A model with a
	// longer season looks at three of its seasons instead.
	hwSpan = 14 * 24 * time.Hour
	// hwSpanSeasons is how many of its longest season a model looks at when that is longer
	// than hwSpan.
	hwSpanSeasons = 3
	// hwLevelHalfLife is the longest half-life the level may have: however steady the history
	// a model is fitted on, a change of level must show in its forecasts within the hour (most
	// of it, 15/16, after an hour), since that is what an autoscaler needs to react to. On a
	// steady history the one-step SSE alone would pick an α so small that the level would not
	// move for days. At 1-minute steps it bounds α below by 0.045, at 5-minute steps by 0.21.
	hwLevelHalfLife = 15 * time.Minute
	// hwSmoothDiv and hwLongSmoothDiv set how widely hwInit smooths the initial seasonal
	// indices: over ±m1/hwSmoothDiv phases (±30 minutes of a daily season), and the longer
	// season's remainder over ±m1/hwLongSmoothDiv (±3 hours), as what sets one day of the week
	// apart from the others is mostly its level and broad shape.
	hwSmoothDiv     = 48
	hwLongSmoothDiv = 8
	// hwMinFinite is the fewest finite values worth estimating parameters from; with fewer,
	// Fit keeps hwDefaultParams.
	hwMinFinite = 10
	// hwMaxEvals bounds the SSE evaluations of Nelder–Mead after the starting grid; each is one
	// O(n) pass over the history.
	hwMaxEvals = 300
	// hwMinIndex and hwMaxIndex bound multiplicative seasonal indices, and hwMinLevel is the
	// smallest level a multiplicative model divides by (in units of the history's mean): they
	// keep the ratios finite when the load is zero for a while.
	hwMinIndex = 1e-2
	hwMaxIndex = 1e2
	hwMinLevel = 1e-6
	// hwBlowUp is the largest forecast, in units of the history's mean, that is believed; past
	// it the state has diverged and Predict falls back to the last value.
	hwBlowUp = 1e6
	// hwBad is the SSE of parameters whose recursion diverged.
	hwBad = math.MaxFloat64
)

// hwHoltWinters is Holt-Winters exponential smoothing, the model the Predictive Horizontal Pod
// Autoscaler ships: a level, an additive trend (optionally damped) and one seasonal component
// of periods[0] steps, additive or multiplicative, with the smoothing parameters estimated by
// minimising the one-step squared error. Without a usable period, or with less than two seasons
// of history, it is Holt's linear trend method (damped if the model is).
//
// Predict re-initialises the state from the first seasons of the history it is given and runs
// the recursion over it (at most hwSpan), so the newest sample sets the level and a Predictor
// serves histories of any length, later or earlier than the one it was fitted on.
type hwHoltWinters struct {
	seasonal string
	damped   bool
}

var _ Method = hwHoltWinters{}

// newHoltWinters returns Holt-Winters with the given seasonality (hwAdditive or
// hwMultiplicative) and trend damping. Fit reports an unknown seasonality.
func newHoltWinters(seasonal string, damped bool) Method {
	return hwHoltWinters{seasonal: seasonal, damped: damped}
}

// Name is "holt_winters" for the default variant and says how any other differs from it:
// "holt_winters_multiplicative", "holt_winters_undamped", ….
func (m hwHoltWinters) Name() string {
	name := "holt_winters"
	if m.seasonal != hwDefaultSeasonal {
		name += "_" + m.seasonal
	}
	switch {
	case m.damped && !hwDefaultDamped:
		name += "_damped"
	case !m.damped && hwDefaultDamped:
		name += "_undamped"
	}
	return name
}

func (m hwHoltWinters) Fit(history series.Series, periods []int) (Predictor, error) {
	if m.seasonal != hwAdditive && m.seasonal != hwMultiplicative {
		return nil, fmt.Errorf("fit %s: unknown seasonality %q (want %s or %s)", m.Name(), m.seasonal, hwAdditive, hwMultiplicative)
	}
	spec := hwSpec{mult: m.seasonal == hwMultiplicative, damped: m.damped}
	if ps := hwUsablePeriods(periods); len(ps) > 0 {
		spec.m1 = ps[0]
	}
	return hwFit(m.Name(), history, spec)
}

// hwUsablePeriods returns the periods a smoothing model can use: at least 2 steps, strictly
// ascending.
func hwUsablePeriods(periods []int) []int {
	var ps []int
	for _, p := range periods {
		if p >= 2 && (len(ps) == 0 || p > ps[len(ps)-1]) {
			ps = append(ps, p)
		}
	}
	return ps
}

// hwSpec is the shape of an exponential smoothing model. Both Holt-Winters and double seasonal
// Holt-Winters (dshw.go) are this recursion; they differ in their components.
type hwSpec struct {
	m1, m2   int     // seasonal periods in steps, 0 when absent; m2 > m1 when both are present
	mult     bool    // the seasonal indices multiply the trend line rather than add to it
	damped   bool    // the trend is damped by phi
	ar       bool    // one-step errors get Taylor's AR(1) adjustment
	minAlpha float64 // the smallest α: see hwLevelHalfLife
}

// hwMinAlpha is the α whose level has a half-life of hwLevelHalfLife at step.
func hwMinAlpha(step time.Duration) float64 {
	if step <= 0 {
		return 0
	}
	return 1 - math.Exp2(-float64(step)/float64(hwLevelHalfLife))
}

// longest is the longest season, 0 for none.
func (s hwSpec) longest() int { return max(s.m1, s.m2) }

// within drops the seasons that n points cannot initialise: the initial indices need two
// whole seasons.
func (s hwSpec) within(n int) hwSpec {
	if s.m2 > n/2 {
		s.m2 = 0
	}
	if s.m1 > n/2 {
		s.m1, s.m2 = 0, 0
	}
	return s
}

// span is how many of the latest points the model looks at, for a history on step.
func (s hwSpec) span(step time.Duration) int {
	if step <= 0 {
		return math.MaxInt
	}
	return max(durationSteps(hwSpan, step), hwSpanSeasons*s.longest())
}

// hwParams are the smoothing parameters, in the classic (not error-correction) form:
//
//	level   l = α·(y deseasonalised) + (1−α)·(l + φb)
//	trend   b = β·(l − l_prev) + (1−β)·φb
//	season  s = γ·(y with level and other season removed) + (1−γ)·s_{t−m}
//
// An absent component has its parameter at 0 (γ, ar) or 1 (φ).
type hwParams struct {
	alpha, beta    float64
	gamma1, gamma2 float64
	phi            float64
	ar             float64 // AR(1) coefficient of the one-step errors
}

// hwDefaultParams are used when there is too little data to estimate any.
func hwDefaultParams(s hwSpec) hwParams {
	p := hwParams{alpha: max(0.5, s.minAlpha), beta: 0.05, phi: 1}
	if s.m1 > 0 {
		p.gamma1 = 0.1
	}
	if s.m2 > 0 {
		p.gamma2 = 0.1
	}
	if s.damped {
		p.phi = 0.95
	}
	return p
}

// hwFree is one parameter Fit estimates: its bounds, the values of the starting grid, and
// where it goes in hwParams.
type hwFree struct {
	lo, hi float64
	grid   []float64
	set    func(p *hwParams, v float64)
}

// free lists the parameters the spec's components need. The bounds are the usual region of
// the classic form, except α, held above spec.minAlpha (see hwLevelHalfLife), and φ, held in
// [0.8, 0.98] as Hyndman et al. recommend: a φ near 1 is indistinguishable from an undamped
// trend on the data yet extrapolates very differently. The AR coefficient is in [−0.9, 0.99].
func (s hwSpec) free() []hwFree {
	fs := []hwFree{
		{lo: min(max(1e-3, s.minAlpha), 0.99), hi: 0.999, grid: []float64{0.05, 0.2, 0.5, 0.9}, set: func(p *hwParams, v float64) { p.alpha = v }},
		{lo: 1e-4, hi: 0.999, grid: []float64{0.01}, set: func(p *hwParams, v float64) { p.beta = v }},
	}
	if s.m1 > 0 {
		fs = append(fs, hwFree{lo: 1e-4, hi: 0.999, grid: []float64{0.01, 0.1, 0.4}, set: func(p *hwParams, v float64) { p.gamma1 = v }})
	}
	if s.m2 > 0 {
		fs = append(fs, hwFree{lo: 1e-4, hi: 0.999, grid: []float64{0.01, 0.1}, set: func(p *hwParams, v float64) { p.gamma2 = v }})
	}
	if s.damped {
		fs = append(fs, hwFree{lo: 0.8, hi: 0.98, grid: []float64{0.95}, set: func(p *hwParams, v float64) { p.phi = v }})
	}
	if s.ar {
		fs = append(fs, hwFree{lo: -0.9, hi: 0.99, grid: []float64{0, 0.5}, set: func(p *hwParams, v float64) { p.ar = v }})
	}
	return fs
}

// hwParamsAt maps the unconstrained point u to parameters: each free one is a logistic of its
// coordinate, scaled into its bounds, so the optimiser never leaves the admissible region.
func hwParamsAt(fs []hwFree, u []float64) hwParams {
	p := hwParams{phi: 1}
	for i, f := range fs {
		f.set(&p, f.lo+(f.hi-f.lo)/(1+math.Exp(-u[i])))
	}
	return p
}

// hwLogit is the inverse of the map in hwParamsAt for one parameter, for v moved strictly
// inside the bounds.
func hwLogit(f hwFree, v float64) float64 {
	margin := (f.hi - f.lo) / 100
	v = min(max(v, f.lo+margin), f.hi-margin)
	return math.Log((v - f.lo) / (f.hi - v))
}

// hwFit fits spec to history: the model of hwPredictor, with parameters minimising the one-step
// squared error over the latest span of history.
func hwFit(name string, history series.Series, spec hwSpec) (Predictor, error) {
	if _, _, ok := history.Last(); !ok {
		return nil, fmt.Errorf("fit %s: %w", name, ErrNoData)
	}
	spec.minAlpha = hwMinAlpha(history.Step)
	w := hwWindow(history, spec)
	spec = spec.within(len(w))
	p := hwPredictor{spec: spec, par: hwDefaultParams(spec)}
	finiteCount := 0
	for _, x := range w {
		if finite(x) {
			finiteCount++
		}
	}
	if finiteCount >= hwMinFinite {
		p.par = hwOptimize(spec, w)
	}
	return p, nil
}

// hwWindow is the part of history a model looks at: the latest spec.span points, from the first
// finite one. It is empty when they hold no finite value.
func hwWindow(history series.Series, spec hwSpec) []float64 {
	w := history.Tail(spec.span(history.Step)).Values
	for len(w) > 0 && !finite(w[0]) {
		w = w[1:]
	}
	return w
}

// hwOptimize returns the parameters that minimise the one-step SSE over w: the best point of a
// coarse grid, refined by Nelder–Mead in the logistic coordinates of hwParamsAt.
func hwOptimize(spec hwSpec, w []float64) hwParams {
	init := hwInit(spec, w)
	st := init.clone()
	fs := spec.free()
	sse := func(u []float64) float64 {
		st.reset(init)
		v := hwRun(spec.mult, hwParamsAt(fs, u), w, &st)
		if !finite(v) || !finite(st.level) || !finite(st.trend) {
			return hwBad
		}
		return v
	}

	// The grid, every combination of the parameters' grid values, guards against a local
	// minimum far from the start.
	bestU := make([]float64, len(fs))
	bestF := math.Inf(1)
	u := make([]float64, len(fs))
	idx := make([]int, len(fs))
	for {
		for i, f := range fs {
			u[i] = hwLogit(f, f.grid[idx[i]])
		}
		if v := sse(u); v < bestF {
			bestF = v
			copy(bestU, u)
		}
		i := 0
		for ; i < len(fs); i++ {
			if idx[i]++; idx[i] < len(fs[i].grid) {
				break
			}
			idx[i] = 0
		}
		if i == len(fs) {
			break
		}
	}

	// Nelder–Mead may stop on the evaluation limit between major iterations, so keep the best
	// point it evaluated rather than the one it reports.
	prob := optimize.Problem{Func: func(u []float64) float64 {
		v := sse(u)
		if v < bestF {
			bestF = v
			copy(bestU, u)
		}
		return v
	}}
	settings := &optimize.Settings{
		FuncEvaluations: hwMaxEvals,
		Converger:       &optimize.FunctionConverge{Relative: 1e-6, Iterations: 4 * len(fs)},
	}
	start := append([]float64(nil), bestU...)
	// The error is ignored: whatever stopped the search, bestU is the best point evaluated.
	_, _ = optimize.Minimize(prob, start, settings, &optimize.NelderMead{SimplexSize: 0.5})
	return hwParamsAt(fs, bestU)
}

// hwState is the smoothing state, in units of the history's mean (inv is 1/mean), before the
// first point the recursion runs over.
type hwState struct {
	level, trend float64
	// s1 and s2 are the seasonal indices by phase (t mod len); an absent season is one
	// neutral index (0, or 1 when multiplicative) that its zero γ never changes.
	s1, s2 []float64
	err    float64 // last one-step error of the smoothing model, before the AR adjustment
	inv    float64
}

func (s hwState) clone() hwState {
	s.s1 = append([]float64(nil), s.s1...)
	s.s2 = append([]float64(nil), s.s2...)
	return s
}

// reset makes s a copy of from, reusing s's seasonal slices.
func (s *hwState) reset(from hwState) {
	s1, s2 := s.s1, s.s2
	*s = from
	s.s1, s.s2 = s1, s2
	copy(s.s1, from.s1)
	copy(s.s2, from.s2)
}

// hwInit initialises the state from the first seasons of w, whose first value must be finite:
// all its whole seasons of the longest period but the last two, and at least two. The level and
// trend come from the means of those seasons; the seasonal indices are each phase's average
// deviation (or ratio) from that trend line, smoothed over neighbouring phases. With two seasons
// the shorter one takes the part of those indices common to all its cycles and the longer one
// the rest, smoothed more. Gaps are skipped; a phase never observed gets the neutral index.
//
// The last two seasons are left out because indices estimated from the data the recursion then
// runs over would anticipate its latest changes rather than learn them, and the level would not
// follow a change that is in the seasons already. The smoothing is there because the seasonal
// indices move slowly once the recursion runs (the fitted α is usually high, and the effective
// seasonal gain is γ(1−α)), so whatever the initial indices hold stays for days: per-phase
// averages of a few noisy cycles, and of the bursts in them, are mostly noise at the resolution
// of one step, while the daily curve itself changes over tens of minutes.
func hwInit(spec hwSpec, w []float64) hwState {
	neutral := 0.0
	if spec.mult {
		neutral = 1
	}
	st := hwState{s1: []float64{neutral}, s2: []float64{neutral}, inv: 1}
	// Work in units of the mean absolute value, so that the thresholds mean the same on any
	// series and squares cannot overflow. The running mean cannot overflow either.
	mean, k := 0.0, 0
	for _, x := range w {
		if finite(x) {
			k++
			mean += (math.Abs(x) - mean) / float64(k)
		}
	}
	if mean > 0 && finite(1/mean) {
		st.inv = 1 / mean
	}
	if len(w) == 0 {
		return st
	}
	m := spec.longest()
	if m == 0 {
		st.level = w[0] * st.inv
		return st
	}

	// Means of the first whole seasons, and the trend through them.
	seasons := max(2, len(w)/m-2)
	means := make([]float64, seasons)
	first, last := -1, -1 // the first and last season with a mean
	for k := range means {
		sum, cnt := 0.0, 0
		for _, x := range w[k*m : (k+1)*m] {
			if finite(x) {
				sum += x * st.inv
				cnt++
			}
		}
		means[k] = math.NaN()
		if cnt > 0 {
			means[k] = sum / float64(cnt)
			if first == -1 {
				first = k
			}
			last = k
		}
	}
	if last > first {
		st.trend = (means[last] - means[first]) / float64((last-first)*m)
	}
	// The level just before the first point, at index −1: the first season's mean is the trend
	// line at the season's middle, (m−1)/2 into it.
	st.level = means[first] - st.trend*(float64(first*m)+float64(m+1)/2)

	// Indices of the longest season: average deviation from the trend line per phase.
	idx := make([]float64, m)
	cnt := make([]int, m)
	for k, mk := range means {
		if math.IsNaN(mk) {
			continue
		}
		for j, x := range w[k*m : (k+1)*m] {
			if !finite(x) {
				continue
			}
			line := mk + st.trend*(float64(j)-float64(m-1)/2)
			if spec.mult {
				idx[j] += x * st.inv / max(line, hwMinLevel)
			} else {
				idx[j] += x*st.inv - line
			}
			cnt[j]++
		}
	}
	for j := range idx {
		if cnt[j] == 0 {
			idx[j] = neutral
		} else {
			idx[j] /= float64(cnt[j])
		}
	}
	idx = hwSmooth(idx, spec.m1/hwSmoothDiv)
	if spec.mult {
		for j := range idx {
			idx[j] = min(max(idx[j], hwMinIndex), hwMaxIndex)
		}
	}
	if spec.m2 == 0 {
		st.s1 = idx
		return st
	}

	// Two seasons: the shorter takes each of its phases' average over the longer's indices,
	// the longer keeps what is left.
	short := make([]float64, spec.m1)
	n := make([]int, spec.m1)
	for j, v := range idx {
		short[j%spec.m1] += v
		n[j%spec.m1]++
	}
	for p := range short {
		short[p] /= float64(n[p])
	}
	for j := range idx {
		if spec.mult {
			idx[j] /= short[j%spec.m1]
		} else {
			idx[j] -= short[j%spec.m1]
		}
	}
	idx = hwSmooth(idx, spec.m1/hwLongSmoothDiv)
	if spec.mult {
		for j := range idx {
			idx[j] = min(max(idx[j], hwMinIndex), hwMaxIndex)
		}
	}
	st.s1, st.s2 = short, idx
	return st
}

// hwSmooth returns the circular moving average of idx over 2·half+1 phases; idx itself when
// half is 0 or the window would cover every phase.
func hwSmooth(idx []float64, half int) []float64 {
	m := len(idx)
	if half <= 0 || m <= 2*half+1 {
		return idx
	}
	out := make([]float64, m)
	width := float64(2*half + 1)
	var sum float64
	for d := -half; d <= half; d++ {
		sum += idx[(d+m)%m]
	}
	for j := range idx {
		out[j] = sum / width
		sum += idx[(j+half+1)%m] - idx[(j-half+m)%m]
	}
	return out
}

// hwRun runs the smoothing recursion over w from st, leaving in st the state after the last
// point, and returns the sum of the squared one-step errors (AR-adjusted) over the finite
// points. A gap leaves the seasons alone and moves level and trend along the forecast.
func hwRun(mult bool, p hwParams, w []float64, st *hwState) float64 {
	if !mult && len(st.s2) == 1 && p.gamma2 == 0 && st.s2[0] == 0 {
		return hwRunAdditive(p, w, st)
	}
	return hwRunAny(mult, p, w, st)
}

// hwRunAdditive is hwRunAny for the commonest model, additive with at most one season (the
// second one absent: a neutral index of 0 that γ₂ = 0 keeps at 0), without the second season's
// arithmetic, which adds and multiplies zeros there: the same numbers, sooner
// (BenchmarkFit/holt_winters 23.7 → 17.6 ms). It runs at every refit's hundreds of trials and
// at every forecast.
func hwRunAdditive(p hwParams, w []float64, st *hwState) float64 {
	l, b, e, inv := st.level, st.trend, st.err, st.inv
	s1 := st.s1
	i1 := 0
	var sse float64
	for _, x := range w {
		lp := l + p.phi*b
		v1 := s1[i1]
		if finite(x) {
			y := x * inv
			f := lp + v1
			ln := p.alpha*(y-v1) + (1-p.alpha)*lp
			s1[i1] = p.gamma1*(y-ln) + (1-p.gamma1)*v1
			adj := y - f - p.ar*e
			sse += adj * adj
			b = p.beta*(ln-l) + (1-p.beta)*p.phi*b
			l, e = ln, y-f
		} else {
			l, b, e = lp, p.phi*b, p.ar*e
		}
		if i1++; i1 == len(s1) {
			i1 = 0
		}
	}
	st.level, st.trend, st.err = l, b, e
	return sse
}

// hwRunAny is hwRun for any model.
func hwRunAny(mult bool, p hwParams, w []float64, st *hwState) float64 {
	l, b, e, inv := st.level, st.trend, st.err, st.inv
	s1, s2 := st.s1, st.s2
	i1, i2 := 0, 0
	var sse float64
	for _, x := range w {
		lp := l + p.phi*b
		v1, v2 := s1[i1], s2[i2]
		if finite(x) {
			y := x * inv
			var f, ln float64
			if mult {
				f = lp * v1 * v2
				ln = p.alpha*y/max(v1*v2, hwMinIndex) + (1-p.alpha)*lp
				d := max(ln, hwMinLevel)
				s1[i1] = min(max(p.gamma1*y/(d*max(v2, hwMinIndex))+(1-p.gamma1)*v1, hwMinIndex), hwMaxIndex)
				s2[i2] = min(max(p.gamma2*y/(d*max(v1, hwMinIndex))+(1-p.gamma2)*v2, hwMinIndex), hwMaxIndex)
			} else {
				f = lp + v1 + v2
				ln = p.alpha*(y-v1-v2) + (1-p.alpha)*lp
				s1[i1] = p.gamma1*(y-ln-v2) + (1-p.gamma1)*v1
				s2[i2] = p.gamma2*(y-ln-v1) + (1-p.gamma2)*v2
			}
			adj := y - f - p.ar*e
			sse += adj * adj
			b = p.beta*(ln-l) + (1-p.beta)*p.phi*b
			l, e = ln, y-f
		} else {
			l, b, e = lp, p.phi*b, p.ar*e
		}
		if i1++; i1 == len(s1) {
			i1 = 0
		}
		if i2++; i2 == len(s2) {
			i2 = 0
		}
	}
	st.level, st.trend, st.err = l, b, e
	return sse
}

// hwForecast writes into dst the forecast for the steps after n points from st (the state after
// them), in the history's units. It reports false if any value is not finite or beyond
// hwBlowUp, the sign that the state diverged.
func hwForecast(mult bool, p hwParams, st hwState, n int, dst []float64) bool {
	i1, i2 := n%len(st.s1), n%len(st.s2)
	damp, sum, arK := 1.0, 0.0, 1.0
	for k := range dst {
		damp *= p.phi
		sum += damp
		arK *= p.ar
		v1, v2 := st.s1[i1], st.s2[i2]
		line := st.level + sum*st.trend
		var f float64
		if mult {
			f = line * v1 * v2
		} else {
			f = line + v1 + v2
		}
		f += arK * st.err
		if !finite(f) || math.Abs(f) > hwBlowUp {
			return false
		}
		dst[k] = f / st.inv
		if !finite(dst[k]) {
			return false
		}
		if i1++; i1 == len(st.s1) {
			i1 = 0
		}
		if i2++; i2 == len(st.s2) {
			i2 = 0
		}
	}
	return true
}

// hwPredictor is a fitted exponential smoothing model.
type hwPredictor struct {
	spec hwSpec
	par  hwParams
}

var _ Predictor = hwPredictor{}

// Predict initialises the state from the first seasons of the latest span of history, runs the
// recursion over that span and forecasts from the state it ends in. A history too short for the
// fitted seasons drops them (down to Holt's method). Should the state diverge, it forecasts the
// last finite value; with no finite value at all, zero.
func (p hwPredictor) Predict(history series.Series, dst []float64) {
	if len(dst) == 0 {
		return
	}
	w := hwWindow(history, p.spec)
	spec := p.spec.within(len(w))
	if len(w) > 0 {
		st := hwInit(spec, w)
		hwRun(spec.mult, p.par, w, &st)
		if hwForecast(spec.mult, p.par, st, len(w), dst) {
			return
		}
	}
	last, _, _ := history.Last()
	for i := range dst {
		dst[i] = last
	}
}
