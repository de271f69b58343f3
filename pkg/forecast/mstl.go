package forecast

import (
	"math"
	"slices"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// mstlMethod is MSTL (Bandara, Hyndman & Bergmeir 2021): the history is split into one seasonal
// component per period plus a seasonally adjusted rest by iterated, robust STL decompositions
// (Cleveland et al. 1990), and the forecast is the seasonal components, repeated from their last
// cycle, on top of a short model of the adjusted rest.
//
// Fit decomposes at most the last four weeks of the gap-filled history. A period is used only
// when that history holds two full cycles of it; without any, the method is the short model
// alone. STL runs with robustness weights, so that a flash crowd or an outage lands in the
// remainder instead of bending the seasonal profile that every later day is forecast with.
//
// What generic MSTL leaves open is chosen per series, by how well each choice would have
// forecast the last two days (at most a quarter of the history) from a decomposition of the
// data before them, at the lead times autoscaling looks ahead (one step, 5, 15, 30 and 60
// minutes): whether the season is additive or multiplicative (a decomposition of the logarithm),
// how much to smooth each profile across neighbouring phases (a profile averages only a few
// cycles, and their noise would otherwise show up minute to minute in every forecast), how much
// to trust the profiles at all, and the short model for each lead time (mstlShort): damped
// trend exponential smoothings and ARs fitted by least squares, the average of those that
// scored within mstlTolerance of the best. A series without a useful season thus gets the
// short model alone, and one where nothing beats the last value gets the last value.
//
// Fit keeps of the decomposition only the last cycle of each seasonal component, indexed by
// phase in absolute time, and the short models. Predict subtracts those profiles from the
// newest data, runs the short models on what is left, so that the newest samples set the level,
// and adds the profiles back at the future steps. The forecast h steps ahead is thus the current
// level plus the seasonal change between now and then.
//
// The zero value is ready to use; mstlMethod holds no state and is safe for concurrent use.
type mstlMethod struct{}

var _ Method = mstlMethod{}

// Name implements Method.
func (mstlMethod) Name() string { return MSTL }

// Tuning of the decomposition. They follow R's mstl and statsmodels' MSTL except where noted.
const (
	// mstlMaxHistory is the most history Fit decomposes: enough for two weekly cycles and
	// more, recent enough that the profile is today's.
	mstlMaxHistory = 28 * 24 * time.Hour
	// mstlMaxPoints caps the history in points, for very short steps.
	mstlMaxPoints = 4 * 10080
	// mstlIterations is how many times MSTL cycles through the periods.
	mstlIterations = 2
	// mstlInner and mstlOuter are STL's inner (seasonal then trend smoothing) and outer
	// (robustness reweighting) loop counts. The robust STL of the paper uses 15 outer loops;
	// the weights of the points that matter (flash crowds, outages) settle after two or three,
	// and each loop is a full decomposition.
	mstlInner = 2
	mstlOuter = 3
	// mstlValidation is how much of the newest history scores the choices Fit makes: at most
	// two days, and at most a quarter of the history.
	mstlValidation = 2 * 24 * time.Hour
	// mstlARHistory is how much of the newest adjusted series an AR short model is fitted on.
	mstlARHistory = 3 * 24 * time.Hour
)

// Fit implements Method.
func (m mstlMethod) Fit(history series.Series, periods []int) (Predictor, error) {
	win := history.Tail(min(durationSteps(mstlMaxHistory, history.Step), mstlMaxPoints))
	y := fillGaps(win.Values)
	if y == nil {
		// The window holds no finite value; the older history does (Fit's contract).
		return mstlNaive(history), nil
	}
	k0 := mstlAbsIndex(win.Start, win.Step)
	n, hs := len(y), mstlHorizons(history.Step)
	c := mstlChoice{tr: mstlNewTransform(y, false), gamma: 1}
	if v := min(n/4, durationSteps(mstlValidation, history.Step)); v > slices.Max(hs) {
		sc := mstlNewScorer(y, n-v, hs, durationSteps(mstlARHistory, history.Step))
		// Only the periods the choice was scored with: one the history before the scored
		// stretch is too short for would join the forecast untested.
		periods = mstlUsable(periods, n-v)
		c = mstlChoose(sc, y, k0, periods)
	}
	p := mstlNaive(win)
	p.tr = c.tr
	u := c.tr.apply(y)
	if c.gamma > 0 {
		p.profiles = c.apply(mstlProfiles(u, k0, periods))
	}
	p.hs, p.shorts = hs, mstlFinalShorts(c.shorts, hs, p, u, k0, history.Step)
	return p, nil
}

// mstlNaive is the predictor of the last value: no season, a short model that is naive.
func mstlNaive(history series.Series) mstlPredictor {
	last, _, _ := history.Last()
	return mstlPredictor{
		step: history.Step, tr: mstlTransform{scale: 1}, hs: []int{1},
		shorts: [][]mstlShort{{{level: mstlLevel{alpha: 1, phi: 1}}}}, fallback: last,
	}
}

// mstlFinalShorts returns the short models chosen, with each AR refitted on the adjusted
// series of the whole history (u less p's profiles; u's first point at absolute index k0).
// Without a choice (a history too short to score), it is the naive one for every lead time.
func mstlFinalShorts(chosen [][]mstlShort, hs []int, p mstlPredictor, u []float64, k0 int64, step time.Duration) [][]mstlShort {
	out := make([][]mstlShort, len(hs))
	if chosen == nil {
		for k := range out {
			out[k] = []mstlShort{{level: mstlLevel{alpha: 1, phi: 1}}}
		}
		return out
	}
	var refit [2]*dhrAR
	for k, models := range chosen {
		out[k] = slices.Clone(models)
		for i, s := range out[k] {
			if s.ar == nil {
				continue
			}
			if refit[s.ar.diff] == nil {
				start := max(0, len(u)-durationSteps(mstlARHistory, step))
				adj := make([]float64, len(u)-start)
				for i := range adj {
					adj[i] = u[start+i] - p.seasonal(k0+int64(start+i))
				}
				ar := dhrFitAR(adj, s.ar.diff)
				refit[s.ar.diff] = &ar
			}
			out[k][i].ar = refit[s.ar.diff]
		}
	}
	return out
}

// mstlProfiles decomposes z, whose first point has absolute index k0, and returns the last
// cycle of each seasonal component, indexed by absolute phase.
func mstlProfiles(z []float64, k0 int64, periods []int) [][]float64 {
	seasonal, used := mstlDecompose(z, mstlUsable(periods, len(z)))
	profs := make([][]float64, len(used))
	for j, period := range used {
		prof := make([]float64, period)
		s := seasonal[j]
		for i := len(s) - period; i < len(s); i++ {
			prof[mstlPhase(k0+int64(i), period)] = s[i]
		}
		profs[j] = prof
	}
	return profs
}

// mstlUsable returns the periods, ascending and without repeats, that n points hold two full
// cycles of.
func mstlUsable(periods []int, n int) []int {
	var out []int
	for _, p := range periods {
		if p >= 2 && 2*p <= n && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// mstlTransform maps a load y to the scale the decomposition works on: u = (g(y) − center) /
// scale, where g is the identity (an additive season) or log(y + offset) (a multiplicative one,
// whose daily swing grows with the load). The normalisation keeps the numbers near 1 whatever
// the metric's unit.
type mstlTransform struct {
	log           bool
	offset        float64
	center, scale float64
	maxExp        float64 // the largest exponent inverse takes, so that it cannot overflow
}

// mstlNewTransform returns the transform for y (finite, not empty; not negative when log).
func mstlNewTransform(y []float64, log bool) mstlTransform {
	t := mstlTransform{log: log, scale: 1}
	g := y
	if log {
		mean, hi := 0.0, 0.0
		for _, x := range y {
			mean += x / float64(len(y))
			hi = max(hi, x)
		}
		// The offset keeps near-zero loads from dominating: on the log scale a change from
		// 0 to 1 request would otherwise count as much as one from 1000 to 3000.
		t.offset = 0.1 * mean
		if !(t.offset > 0) {
			t.offset = 1
		}
		g = make([]float64, len(y))
		for i, x := range y {
			g[i] = math.Log(x + t.offset)
		}
		t.maxExp = math.Log(hi+t.offset) + 1 // e times the highest load seen
	}
	tmp := append([]float64(nil), g...)
	t.center = median(tmp)
	scale := 0.0
	for _, x := range g {
		scale += math.Abs(x-t.center) / float64(len(g))
	}
	if scale > 1e-12*math.Abs(t.center) && finite(scale) {
		t.scale = scale
	} else if c := math.Abs(t.center); c > 0 && finite(c) {
		t.scale = c
	}
	return t
}

// apply returns the transform of every value of y.
func (t mstlTransform) apply(y []float64) []float64 {
	u := make([]float64, len(y))
	for i, x := range y {
		u[i] = t.forward(x)
	}
	return u
}

func (t mstlTransform) forward(y float64) float64 {
	if t.log {
		y = math.Log(max(y, 0) + t.offset)
	}
	return (y - t.center) / t.scale
}

func (t mstlTransform) inverse(u float64) float64 {
	g := u*t.scale + t.center
	if t.log {
		return math.Exp(min(g, t.maxExp)) - t.offset
	}
	return g
}

// mstlAbsIndex is the grid index of t counted from the Unix epoch: two series on the same grid
// give the same index to the same instant, so a profile stored by phase of this index fits any
// later history.
func mstlAbsIndex(t time.Time, step time.Duration) int64 {
	ns := t.UnixNano()
	k := ns / int64(step)
	if ns%int64(step) < 0 {
		k-- // floor for instants before 1970
	}
	return k
}

// mstlPhase is k modulo period, in [0, period).
func mstlPhase(k int64, period int) int {
	ph := int(k % int64(period))
	if ph < 0 {
		ph += period
	}
	return ph
}

// mstlHorizons are the lead times, in steps and ascending, that the short models are chosen
// for: one step and the 5, 15, 30 and 60 minutes that scaling decisions look ahead.
func mstlHorizons(step time.Duration) []int {
	var hs []int
	for _, d := range []time.Duration{step, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour} {
		if h := durationSteps(d, step); !slices.Contains(hs, h) {
			hs = append(hs, h)
		}
	}
	slices.Sort(hs)
	return hs
}

// mstlPredictor is a fitted mstlMethod, and a fitted dhrMethod, which has the same shape: the
// seasonal profiles and the short models of what is left. It is immutable after Fit.
type mstlPredictor struct {
	step     time.Duration
	tr       mstlTransform
	profiles [][]float64   // profiles[j][phase]: seasonal component j, by absolute phase
	hs       []int         // the lead times the short models are for, ascending
	shorts   [][]mstlShort // the mean of shorts[i]'s forecasts is the adjusted series hs[i] steps ahead
	fallback float64       // the last finite value of the fit, for a history without one
}

// mstlPredictWindow is the most of the newest points Predict runs a short model over: enough
// for the slowest smoothing to forget where it started (0.98^1000 ≈ 2e-9). Each short model
// runs over only as many as it needs to forget (mstlShort.memory).
const mstlPredictWindow = 1000

// mstlForget is how little of its starting state a smoothing may still carry at the newest
// point: the error of starting it late rather than at the start of the history, relative to
// the spread of the data.
const mstlForget = 1e-9

// Predict implements Predictor.
func (p mstlPredictor) Predict(history series.Series, dst []float64) {
	if len(dst) == 0 {
		return
	}
	last, li, ok := history.Last()
	if !ok {
		for i := range dst {
			dst[i] = p.fallback
		}
		return
	}
	need := 2
	for _, models := range p.shorts {
		for _, s := range models {
			need = max(need, s.memory())
		}
	}
	first := max(0, li+1-need)
	a := fillGaps(history.Values[first : li+1])
	k0 := mstlAbsIndex(history.Time(first), p.step)
	for i, x := range a {
		a[i] = p.tr.forward(x) - p.seasonal(k0+int64(i))
	}
	// The steps between the last finite sample and the end of the history are forecast too.
	skip := len(history.Values) - 1 - li
	fs := make([][]float64, len(p.shorts))
	done := make(map[mstlShort][]float64)
	// Level models that differ only in ρ share their smoothing: run it once for them.
	states := make(map[mstlLevel][2]float64)
	for j, models := range p.shorts {
		fs[j] = make([]float64, skip+len(dst))
		for _, s := range models {
			f, ok := done[s]
			if !ok {
				f = make([]float64, skip+len(dst))
				w := a[max(0, len(a)-s.memory()):]
				if s.ar != nil {
					s.ar.forecast(w, f)
				} else {
					key := s.level
					key.rho = 0
					st, ok := states[key]
					if !ok {
						st[0], st[1] = s.level.filter(w)
						states[key] = st
					}
					s.level.extend(w[len(w)-1], st[0], st[1], f)
				}
				done[s] = f
			}
			for i, v := range f {
				fs[j][i] += v / float64(len(models))
			}
		}
	}
	kf := k0 + int64(len(a)) + int64(skip)
	for i := range dst {
		v := p.tr.inverse(mstlBlend(p.hs, fs, skip+i) + p.seasonal(kf+int64(i)))
		if !finite(v) {
			v = last
		}
		dst[i] = v
	}
}

// mstlBlend is the forecast i+1 steps ahead from fs, the forecasts of the short models for the
// lead times hs: the one for the nearest lead time, interpolated linearly in log lead time
// between two.
func mstlBlend(hs []int, fs [][]float64, i int) float64 {
	h := i + 1
	if h <= hs[0] {
		return fs[0][i]
	}
	for j := 1; j < len(hs); j++ {
		if h <= hs[j] {
			w := math.Log(float64(h)/float64(hs[j-1])) / math.Log(float64(hs[j])/float64(hs[j-1]))
			return (1-w)*fs[j-1][i] + w*fs[j][i]
		}
	}
	return fs[len(fs)-1][i]
}

// seasonal is the sum of the seasonal profiles at absolute index k.
func (p mstlPredictor) seasonal(k int64) float64 {
	s := 0.0
	for _, prof := range p.profiles {
		s += prof[mstlPhase(k, len(prof))]
	}
	return s
}

// mstlDecompose is MSTL on y (complete, finite): for each period, ascending, the seasonal
// component of a robust STL of y less the other components, mstlIterations times round. It
// returns the components of the periods it used.
func mstlDecompose(y []float64, periods []int) (seasonal [][]float64, used []int) {
	if len(periods) == 0 {
		return nil, nil
	}
	n := len(y)
	seasonal = make([][]float64, len(periods))
	for j := range seasonal {
		seasonal[j] = make([]float64, n)
	}
	deseas := append([]float64(nil), y...)
	st := mstlNewWork(n, periods[len(periods)-1])
	for range mstlIterations {
		for j, period := range periods {
			s := seasonal[j]
			for i := range deseas {
				deseas[i] += s[i]
			}
			// R's mstl and statsmodels give the j-th period (from 1) a seasonal window of 7 + 4j
			// cycles.
			st.decompose(deseas, period, 11+4*j, s)
			for i := range deseas {
				deseas[i] -= s[i]
			}
		}
	}
	return seasonal, periods
}

// mstlWork is the scratch space of one STL decomposition, reused across calls.
type mstlWork struct {
	trend, rw, w, work1, work2, work3, work4, c []float64
	sub, subOut, subRW                          []float64
}

func mstlNewWork(n, maxPeriod int) *mstlWork {
	f := func(k int) []float64 { return make([]float64, k) }
	return &mstlWork{
		trend: f(n), rw: f(n), w: f(n + 2*maxPeriod),
		work1: f(n + 2*maxPeriod), work2: f(n + 2*maxPeriod), work3: f(n + 2*maxPeriod), work4: f(n),
		c:   f(n + 2*maxPeriod),
		sub: f(n/2 + 2), subOut: f(n/2 + 4), subRW: f(n/2 + 2),
	}
}

// decompose writes into season the seasonal component of a robust STL of y with the given
// period and seasonal window (in cycles, odd). The windows of the trend and low-pass smoothers
// and the "jumps" (the LOESS is evaluated at every jump-th point and interpolated in between)
// are STL's defaults.
func (st *mstlWork) decompose(y []float64, period, ns int, season []float64) {
	n := len(y)
	nt := int(math.Ceil(1.5 * float64(period) / (1 - 1.5/float64(ns))))
	nt += 1 - nt%2
	nl := period + 1 - period%2
	jump := func(span int) int { return max(1, (span+9)/10) }
	cfg := mstlSTL{
		period: period, ns: ns, nt: nt, nl: nl,
		sjump: jump(ns), tjump: jump(nt), ljump: jump(nl),
	}
	clear(st.trend[:n])
	var rw []float64
	for outer := 0; ; outer++ {
		for range mstlInner {
			st.inner(cfg, y, rw, season)
		}
		if outer == mstlOuter {
			return
		}
		rw = st.rw[:n]
		mstlRobustWeights(y, st.trend[:n], season, rw, st.work4[:n])
	}
}

// mstlSTL holds an STL decomposition's window lengths and jumps (in points).
type mstlSTL struct {
	period, ns, nt, nl  int
	sjump, tjump, ljump int
}

// inner is one pass of STL's inner loop: detrend, smooth the cycle-subseries, remove their
// low-frequency part, deseasonalise, smooth the trend. rw are robustness weights, or nil.
func (st *mstlWork) inner(cfg mstlSTL, y, rw, season []float64) {
	n, np := len(y), cfg.period
	detr := st.work1[:n]
	for i := range detr {
		detr[i] = y[i] - st.trend[i]
	}
	c := st.c[:n+2*np]
	st.subseries(detr, cfg, rw, c)
	// Low-pass filter of c: moving averages of np, np and 3 points, then a LOESS.
	m1 := loessMovingAverage(c, np, st.work2)
	m2 := loessMovingAverage(m1, np, st.work3)
	m3 := loessMovingAverage(m2, 3, st.work2)
	low := st.work3[:n]
	loessSmooth(m3, cfg.nl, 1, cfg.ljump, nil, low, st.w)
	for i := range season {
		season[i] = c[np+i] - low[i]
	}
	deseas := st.work1[:n]
	for i := range deseas {
		deseas[i] = y[i] - season[i]
	}
	loessSmooth(deseas, cfg.nt, 1, cfg.tjump, rw, st.trend[:n], st.w)
}

// subseries smooths each cycle-subseries (the points of one phase) of x with a local constant
// LOESS of cfg.ns points, extended one cycle at each end, into c (len(x)+2·period points).
// Each subseries has only len(x)/period points, which is what makes STL fast on long periods.
func (st *mstlWork) subseries(x []float64, cfg mstlSTL, rw []float64, c []float64) {
	n, np := len(x), cfg.period
	for j := range np {
		k := (n-1-j)/np + 1
		sub := st.sub[:k]
		var subRW []float64
		for i := range k {
			sub[i] = x[i*np+j]
		}
		if rw != nil {
			subRW = st.subRW[:k]
			for i := range k {
				subRW[i] = rw[i*np+j]
			}
		}
		out := st.subOut[:k+2]
		loessSmooth(sub, cfg.ns, 0, cfg.sjump, subRW, out[1:k+1], st.w)
		var ok bool
		if out[0], ok = loessFit(sub, cfg.ns, 0, 0, 1, min(cfg.ns, k), subRW, st.w); !ok {
			out[0] = out[1]
		}
		if out[k+1], ok = loessFit(sub, cfg.ns, 0, float64(k+1), max(1, k-cfg.ns+1), k, subRW, st.w); !ok {
			out[k+1] = out[k]
		}
		for m := range k + 2 {
			c[m*np+j] = out[m]
		}
	}
}

// mstlRobustWeights sets rw to STL's bisquare robustness weights of the remainder y − trend −
// season: 1 for a typical point, 0 beyond six median absolute remainders.
func mstlRobustWeights(y, trend, season, rw, scratch []float64) {
	for i := range y {
		rw[i] = math.Abs(y[i] - trend[i] - season[i])
		scratch[i] = rw[i]
	}
	cmad := 6 * loessMedian(scratch)
	c9, c1 := 0.999*cmad, 0.001*cmad
	for i, r := range rw {
		switch {
		case r <= c1:
			rw[i] = 1
		case r <= c9:
			u := r / cmad
			u = 1 - u*u
			rw[i] = u * u
		default:
			rw[i] = 0
		}
	}
}

// loessMedian is the median of xs, which it reorders, by selection in linear expected time.
func loessMedian(xs []float64) float64 {
	n := len(xs)
	hi := loessSelect(xs, n/2)
	if n%2 == 1 {
		return hi
	}
	lo := slices.Max(xs[:n/2]) // loessSelect left the smaller half in front
	return lo/2 + hi/2
}

// loessSelect reorders xs so that xs[k] is the k-th smallest, smaller ones before it and larger
// after, and returns it (Hoare's selection with a median-of-three pivot).
func loessSelect(xs []float64, k int) float64 {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if xs[mid] < xs[lo] {
			xs[mid], xs[lo] = xs[lo], xs[mid]
		}
		if xs[hi] < xs[lo] {
			xs[hi], xs[lo] = xs[lo], xs[hi]
		}
		if xs[hi] < xs[mid] {
			xs[hi], xs[mid] = xs[mid], xs[hi]
		}
		pivot := xs[mid]
		i, j := lo, hi
		for i <= j {
			for xs[i] < pivot {
				i++
			}
			for xs[j] > pivot {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k]
		}
	}
	return xs[k]
}

// loessMovingAverage writes into out the moving averages of span points of x
// (len(x)−span+1 of them) and returns them.
func loessMovingAverage(x []float64, span int, out []float64) []float64 {
	m := len(x) - span + 1
	out = out[:m]
	sum := 0.0
	for _, v := range x[:span] {
		sum += v
	}
	out[0] = sum / float64(span)
	for i := 1; i < m; i++ {
		sum += x[i+span-1] - x[i-1]
		out[i] = sum / float64(span)
	}
	return out
}

// loessSmooth writes into ys the LOESS of y with span points and the given degree (0 or 1),
// weighted by rw (nil for none). As in STL, it fits at every jump-th point and the last, and
// interpolates linearly in between. w is scratch of len(y) points at least.
func loessSmooth(y []float64, span, deg, jump int, rw, ys, w []float64) {
	n := len(y)
	if n < 2 {
		copy(ys, y)
		return
	}
	nj := min(jump, n-1)
	var ok bool
	nleft, nright := 1, n
	switch {
	case span >= n:
		for i := 1; i <= n; i += nj {
			if ys[i-1], ok = loessFit(y, span, deg, float64(i), 1, n, rw, w); !ok {
				ys[i-1] = y[i-1]
			}
		}
	case nj == 1:
		half := (span + 1) / 2
		nleft, nright = 1, span
		for i := 1; i <= n; i++ {
			if i > half && nright != n {
				nleft++
				nright++
			}
			if ys[i-1], ok = loessFit(y, span, deg, float64(i), nleft, nright, rw, w); !ok {
				ys[i-1] = y[i-1]
			}
		}
	default:
		half := (span + 1) / 2
		for i := 1; i <= n; i += nj {
			switch {
			case i < half:
				nleft, nright = 1, span
			case i >= n-half+1:
				nleft, nright = n-span+1, n
			default:
				nleft, nright = i-half+1, span+i-half
			}
			if ys[i-1], ok = loessFit(y, span, deg, float64(i), nleft, nright, rw, w); !ok {
				ys[i-1] = y[i-1]
			}
		}
	}
	if nj == 1 {
		return
	}
	for i := 1; i <= n-nj; i += nj {
		delta := (ys[i+nj-1] - ys[i-1]) / float64(nj)
		for j := i + 1; j < i+nj; j++ {
			ys[j-1] = ys[i-1] + delta*float64(j-i)
		}
	}
	k := ((n-1)/nj)*nj + 1
	if k != n {
		if span >= n {
			nleft, nright = 1, n
		} else {
			nleft, nright = n-span+1, n
		}
		if ys[n-1], ok = loessFit(y, span, deg, float64(n), nleft, nright, rw, w); !ok {
			ys[n-1] = y[n-1]
		}
		if k != n-1 {
			delta := (ys[n-1] - ys[k-1]) / float64(n-k)
			for j := k + 1; j < n; j++ {
				ys[j-1] = ys[k-1] + delta*float64(j-k)
			}
		}
	}
}

// loessFit is the LOESS estimate at position xs of y (positions 1…len(y); xs may lie outside)
// from the points nleft…nright, with tricube weights over the span times rw (nil for none), and
// a local line when deg > 0. It reports false when every weight is zero. w is scratch of
// len(y) points at least. This is STL's stlest.
func loessFit(y []float64, span, deg int, xs float64, nleft, nright int, rw, w []float64) (float64, bool) {
	n := len(y)
	h := math.Max(xs-float64(nleft), float64(nright)-xs)
	if span > n {
		h += float64((span - n) / 2)
	}
	h9, h1 := 0.999*h, 0.001*h
	sum := 0.0
	for j := nleft; j <= nright; j++ {
		r := math.Abs(float64(j) - xs)
		wj := 0.0
		if r <= h9 {
			wj = 1
			if r > h1 {
				q := r / h
				q = 1 - q*q*q
				wj = q * q * q
			}
			if rw != nil {
				wj *= rw[j-1]
			}
		}
		w[j-1] = wj
		sum += wj
	}
	if sum <= 0 {
		return 0, false
	}
	for j := nleft; j <= nright; j++ {
		w[j-1] /= sum
	}
	if h > 0 && deg > 0 {
		mean := 0.0
		for j := nleft; j <= nright; j++ {
			mean += w[j-1] * float64(j)
		}
		c := 0.0
		for j := nleft; j <= nright; j++ {
			d := float64(j) - mean
			c += w[j-1] * d * d
		}
		if math.Sqrt(c) > 0.001*float64(n-1) {
			b := (xs - mean) / c
			for j := nleft; j <= nright; j++ {
				w[j-1] *= b*(float64(j)-mean) + 1
			}
		}
	}
	ys := 0.0
	for j := nleft; j <= nright; j++ {
		ys += w[j-1] * y[j-1]
	}
	return ys, true
}

// mstlShort is the short model that forecasts the seasonally adjusted series for one lead
// time: an AR when ar is set, else an exponential smoothing.
type mstlShort struct {
	level mstlLevel
	ar    *dhrAR
}

// memory is how many of the newest points forecast needs: fewer would change its forecast by
// more than mstlForget of the data's spread.
func (s mstlShort) memory() int {
	if s.ar != nil {
		return len(s.ar.phi) + s.ar.diff + 1
	}
	return s.level.memory()
}

// mstlLevel forecasts a seasonally adjusted series (trend plus remainder) a few hours ahead
// with a damped-trend exponential smoothing (ETS(A,Ad,N)) plus a decaying remainder:
//
//	a(t+h) = ℓ(t) + (φ + … + φ^h)·b(t) + ρ^h·(a(t) − ℓ(t))
//
// ℓ is the smoothed level, b the smoothed slope, and a(t) − ℓ(t) the part of the newest sample
// the level has not absorbed yet: a burst that will partly persist for a while (an AR(1) with
// coefficient ρ, decaying to 0), or noise (ρ = 0). With α = 1 it is the naive forecast of the
// adjusted series: the seasonal change from now applied to the current value.
type mstlLevel struct {
	alpha, beta, phi, rho float64
}

// extend writes into f the forecasts of the len(f) steps after a point last, given the
// smoothing's level lv and slope b after it (filter).
func (l mstlLevel) extend(last, lv, b float64, f []float64) {
	dev := last - lv
	damp, sum, decay := 1.0, 0.0, 1.0
	for h := range f {
		damp *= l.phi
		sum += damp
		decay *= l.rho
		f[h] = lv + sum*b + decay*dev
	}
}

// memory is how many points the smoothing needs to forget its starting state to within
// mstlForget, from the spectral radius r of its state transition: the state (ℓ, b) maps to
//
//	ℓ' = (1−α)·ℓ + (1−α)φ·b + α·a,  b' = −αβ·ℓ + φ(1−αβ)·b + αβ·a
//
// so a difference in the starting state shrinks like r^t. Without a slope (β = 0) b stays 0
// and r = 1−α.
func (l mstlLevel) memory() int {
	r := 1 - l.alpha
	if l.beta > 0 {
		tr := 1 - l.alpha + l.phi*(1-l.alpha*l.beta)
		det := (1 - l.alpha) * l.phi
		if disc := tr*tr - 4*det; disc < 0 {
			r = math.Sqrt(det) // complex pair
		} else {
			r = (math.Abs(tr) + math.Sqrt(disc)) / 2
		}
	}
	switch {
	case r <= 0:
		return 2
	case r >= 1:
		return mstlPredictWindow
	}
	// 1.25 and the 2 spare: the transient of a repeated or complex eigenvalue decays like
	// t·r^t, a little slower than r^t.
	n := int(math.Ceil(1.25*math.Log(mstlForget)/math.Log(r))) + 2
	return min(max(n, 2), mstlPredictWindow)
}

// filter runs the smoothing over a from ℓ = a[0], b = 0, and returns the final level and
// slope.
func (l mstlLevel) filter(a []float64) (float64, float64) {
	lv, b := a[0], 0.0
	for t := 1; t < len(a); t++ {
		prev := lv
		lv = l.alpha*a[t] + (1-l.alpha)*(lv+l.phi*b)
		b = l.beta*(lv-prev) + (1-l.beta)*l.phi*b
	}
	return lv, b
}

// The candidates Fit chooses among.
var (
	// mstlSmooths are the profile smoothings, as fractions of the period: none, and about
	// 1/100 to 1/25 of it (15 minutes to an hour of a day). A sharp pattern (a job that
	// starts on the minute) keeps its edge with none.
	mstlSmooths = []float64{0, 1.0 / 96, 1.0 / 48, 1.0 / 24}
	// mstlGammas are the weights of the profiles: none (no season), half, all.
	mstlGammas = []float64{0, 0.5, 1}
	// mstlAlphas are the smoothing constants of the level, from heavy smoothing to none.
	mstlAlphas = []float64{0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1}
	// mstlTrends are the (β, φ) pairs of the slope: none, then slow and quick, damped fast
	// or slowly.
	mstlTrends = [][2]float64{{0, 1}, {0.05, 0.8}, {0.05, 0.95}, {0.2, 0.8}, {0.2, 0.95}}
	// mstlRhos are the persistences of the unabsorbed remainder.
	mstlRhos = []float64{0, 0.5, 0.8, 0.95}
)

const (
	// mstlTolerance is how much worse than the best, relatively, a short model may have
	// scored and still be averaged in.
	mstlTolerance = 0.03
	// mstlTop is the most short models averaged for one lead time.
	mstlTop = 12
)

// mstlChoice is how a fit uses its seasonal profiles and forecasts the adjusted series.
type mstlChoice struct {
	tr     mstlTransform
	smooth float64       // the width of the circular smoothing of each profile, as a fraction of it
	gamma  float64       // the weight of the profiles, 0 (no season) to 1
	shorts [][]mstlShort // per lead time, the models to average; nil for the naive one
}

// apply returns profs smoothed and weighted as c says.
func (c mstlChoice) apply(profs [][]float64) [][]float64 {
	out := make([][]float64, len(profs))
	for j, prof := range profs {
		out[j] = mstlSmoothProfile(prof, c.smooth)
		for i := range out[j] {
			out[j][i] *= c.gamma
		}
	}
	return out
}

// mstlSmoothProfile returns prof smoothed circularly by two passes of a moving average, each
// about frac·len(prof)/2 phases wide (a triangular kernel frac·len(prof) wide).
func mstlSmoothProfile(prof []float64, frac float64) []float64 {
	np := len(prof)
	out := append([]float64(nil), prof...)
	half := int(math.Round(frac * float64(np) / 4)) // each pass averages 2·half+1 phases
	if half < 1 || 2*half+1 > np {
		return out
	}
	tmp := make([]float64, np)
	for range 2 {
		sum := 0.0
		for j := -half; j <= half; j++ {
			sum += out[(j+np)%np]
		}
		for i := range np {
			tmp[i] = sum / float64(2*half+1)
			sum += out[(i+half+1)%np] - out[(i-half+np)%np]
		}
		out, tmp = tmp, out
	}
	return out
}

// mstlChoose makes Fit's choices for y (complete, finite; first point at absolute index k0),
// scored by sc: each candidate transform and use of the profiles, with the profiles decomposed
// from the history before sc's first origin, is scored with its best level model of no slope;
// then, for the best, every short model is scored and the best at each lead time kept.
func mstlChoose(sc *mstlScorer, y []float64, k0 int64, periods []int) mstlChoice {
	best := mstlChoice{tr: mstlNewTransform(y, false)} // no season, should every score fail
	bestScore := math.Inf(1)
	first := sc.start + sc.origin
	var bestProfs [][]float64
	for _, log := range []bool{false, true} {
		if log && slices.Min(y) < 0 {
			break
		}
		tr := mstlNewTransform(y, log)
		u := tr.apply(y)
		profs := mstlProfiles(u[:first], k0, periods)
		for _, gamma := range mstlGammas {
			if gamma > 0 && len(profs) == 0 {
				break
			}
			for _, smooth := range mstlSmooths {
				if gamma == 0 && smooth > 0 {
					break // the same candidate again
				}
				c := mstlChoice{tr: tr, smooth: smooth, gamma: gamma}
				p := mstlPredictor{profiles: c.apply(profs)}
				sc.set(tr, u, p, k0)
				if s := sc.bestAlpha(); s < bestScore {
					best, bestScore, bestProfs = c, s, p.profiles
				}
			}
		}
	}
	sc.set(best.tr, best.tr.apply(y), mstlPredictor{profiles: bestProfs}, k0)
	best.shorts = sc.chooseShorts()
	return best
}

// mstlScorer measures how well candidate models would have forecast the newest stretch of a
// history, from each origin in it seeing only the data before.
type mstlScorer struct {
	y      []float64 // the loads from start on; the first origin is y[origin]
	start  int       // the index of y[0] in the history
	origin int
	stride int // the spacing of the origins scored
	hs     []int
	arLen  int       // how many points before the first origin an AR is fitted on
	naive  []float64 // the naive forecast's absolute errors, summed, at each lead time
	// Set by set:
	tr        mstlTransform
	adj, seas []float64 // the adjusted series and the seasonal part of the transformed y
	// With a log transform, expSeas[i] = exp(scale·seas[i]) and expMax = exp(maxExp): the
	// inverse of ℓ + seas[i] is then exp(scale·ℓ + center)·expSeas[i] − offset, one exp per
	// origin for every lead time (scoreLevel).
	expSeas []float64
	expMax  float64
}

// mstlMaxOrigins is the most origins a scorer forecasts from, evenly spread over the scored
// stretch: two days of 1-minute data are scored every other minute. Forecasts from neighbouring
// minutes share all but one of their targets and differ little; every one of them would double
// the time of a refit for no better choice.
const mstlMaxOrigins = 1440

// mstlNewScorer returns the scorer of the forecasts of hist[first:] at the lead times hs.
func mstlNewScorer(hist []float64, first int, hs []int, arLen int) *mstlScorer {
	start := max(0, first-max(mstlPredictWindow, arLen))
	sc := &mstlScorer{y: hist[start:], start: start, origin: first - start, hs: hs, arLen: arLen}
	sc.stride = max(1, (len(hist)-first+mstlMaxOrigins-1)/mstlMaxOrigins)
	sc.naive = make([]float64, len(hs))
	for k, h := range hs {
		for t := sc.origin; t+h < len(sc.y); t += sc.stride {
			sc.naive[k] += math.Abs(sc.y[t+h] - sc.y[t])
		}
	}
	sc.adj = make([]float64, len(sc.y))
	sc.seas = make([]float64, len(sc.y))
	return sc
}

// set makes the scorer score on the scale of tr, with the seasonal part of p: u is the whole
// history transformed, and its first point is at absolute index k0.
func (sc *mstlScorer) set(tr mstlTransform, u []float64, p mstlPredictor, k0 int64) {
	sc.tr = tr
	for i := range sc.adj {
		sc.seas[i] = p.seasonal(k0 + int64(sc.start+i))
		sc.adj[i] = u[sc.start+i] - sc.seas[i]
	}
	sc.expSeas = sc.expSeas[:0]
	if tr.log {
		for _, v := range sc.seas {
			sc.expSeas = append(sc.expSeas, math.Exp(tr.scale*v))
		}
		sc.expMax = math.Exp(tr.maxExp)
	}
}

// total is the sum of errs, the relative errors at each lead time.
func (sc *mstlScorer) total(errs []float64) float64 {
	s := 0.0
	for _, e := range errs {
		s += e
	}
	return s
}

// relative divides errs, sums of absolute errors at each lead time, by the naive forecast's.
func (sc *mstlScorer) relative(errs []float64) {
	for k := range errs {
		if sc.naive[k] > 0 {
			errs[k] /= sc.naive[k]
		}
	}
}

// bestAlpha is the lowest total relative error of the level models without slope.
func (sc *mstlScorer) bestAlpha() float64 {
	errs := make([]float64, len(sc.hs))
	best := math.Inf(1)
	for _, alpha := range mstlAlphas {
		sc.scoreLevel(mstlLevel{alpha: alpha, phi: 1}, errs)
		best = min(best, sc.total(errs))
	}
	return best
}

// chooseShorts returns, for each lead time, the short models to average: those that forecast
// it within mstlTolerance of the best (at most mstlTop of them). The candidates are every
// level model, and the AR of the adjusted series and of its changes fitted on the arLen points
// before the first origin.
//
// Many candidates score nearly alike on two days of data, and which of them comes first is
// then chance; averaging them forecasts better than betting on one. A candidate clearly
// better than the rest (an AR that has caught a sub-daily cycle) is used alone.
func (sc *mstlScorer) chooseShorts() [][]mstlShort {
	errs := make([]float64, len(sc.hs))
	type scored struct {
		err float64
		s   mstlShort
	}
	top := make([][]scored, len(sc.hs)) // ascending error, at most mstlTop
	keep := func(s mstlShort) {
		for k, e := range errs {
			if !finite(e) {
				continue
			}
			i, _ := slices.BinarySearchFunc(top[k], e, func(a scored, e float64) int {
				if a.err < e {
					return -1
				}
				return 1
			})
			if i < mstlTop {
				top[k] = slices.Insert(top[k], i, scored{e, s})
				if len(top[k]) > mstlTop {
					top[k] = top[k][:mstlTop]
				}
			}
		}
	}
	for _, alpha := range mstlAlphas {
		for _, trend := range mstlTrends {
			for _, rho := range mstlRhos {
				if alpha == 1 && rho > 0 {
					continue // nothing left for the remainder
				}
				l := mstlLevel{alpha: alpha, beta: trend[0], phi: trend[1], rho: rho}
				sc.scoreLevel(l, errs)
				keep(mstlShort{level: l})
			}
		}
	}
	for diff := range 2 {
		ar := dhrFitAR(sc.adj[max(0, sc.origin-sc.arLen):sc.origin], diff)
		sc.scoreAR(ar, errs)
		keep(mstlShort{ar: &ar})
	}
	best := make([][]mstlShort, len(sc.hs))
	for k := range top {
		for _, c := range top[k] {
			if c.err <= top[k][0].err*(1+mstlTolerance) {
				best[k] = append(best[k], c.s)
			}
		}
		if len(best[k]) == 0 {
			best[k] = []mstlShort{{level: mstlLevel{alpha: 1, phi: 1}}}
		}
	}
	return best
}

// scoreLevel writes into errs, for each lead time, the absolute errors of l's forecasts
// relative to the naive forecast's.
func (sc *mstlScorer) scoreLevel(l mstlLevel, errs []float64) {
	clear(errs)
	sumPhi := make([]float64, len(sc.hs))
	powRho := make([]float64, len(sc.hs))
	for k, h := range sc.hs {
		damp := 1.0
		for range h {
			damp *= l.phi
			sumPhi[k] += damp
		}
		powRho[k] = math.Pow(l.rho, float64(h))
	}
	// The filter of l (mstlLevel.filter), inlined: this loop is most of a refit's time. It
	// starts only as far before the first origin as l needs to forget where it started.
	a := sc.adj
	// Without slope or remainder the forecast at every lead time is ℓ plus the season.
	plain := sc.tr.log && l.beta == 0 && l.rho == 0
	t0 := max(0, sc.origin-l.memory())
	lv, b := a[t0], 0.0
	for t := t0 + 1; t < len(a); t++ {
		prev := lv
		lv = l.alpha*a[t] + (1-l.alpha)*(lv+l.phi*b)
		b = l.beta*(lv-prev) + (1-l.beta)*l.phi*b
		if t < sc.origin || (t-sc.origin)%sc.stride != 0 {
			continue
		}
		if plain {
			// f = inverse(ℓ + seas[t+h]), factored.
			e := math.Exp(sc.tr.scale*lv + sc.tr.center)
			for k, h := range sc.hs {
				if t+h >= len(a) {
					break // hs ascend
				}
				f := min(e*sc.expSeas[t+h], sc.expMax) - sc.tr.offset
				errs[k] += math.Abs(sc.y[t+h] - f)
			}
			continue
		}
		dev := a[t] - lv
		for k, h := range sc.hs {
			if t+h >= len(a) {
				break // hs ascend
			}
			f := sc.tr.inverse(lv + sumPhi[k]*b + powRho[k]*dev + sc.seas[t+h])
			errs[k] += math.Abs(sc.y[t+h] - f)
		}
	}
	sc.relative(errs)
}

// scoreAR is scoreLevel for an AR.
func (sc *mstlScorer) scoreAR(ar dhrAR, errs []float64) {
	clear(errs)
	f := make([]float64, slices.Max(sc.hs))
	lags := len(ar.phi) + ar.diff
	for t := sc.origin; t < len(sc.y)-1; t += sc.stride {
		ar.forecast(sc.adj[max(0, t-lags):t+1], f)
		for k, h := range sc.hs {
			if t+h < len(sc.y) {
				errs[k] += math.Abs(sc.y[t+h] - sc.tr.inverse(f[h-1]+sc.seas[t+h]))
			}
		}
	}
	sc.relative(errs)
}
