package forecast

import (
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/kedastral/kedastral/pkg/series"
)

// dhrMethod is dynamic harmonic regression: the load is a level, a Fourier series for each
// seasonal period, and an error η that follows a short time-series model,
//
//	y(t) = β₀ + β₁·t + Σ_periods Σ_{k=1…K} [a_k sin(2πkt/p) + b_k cos(2πkt/p)] + η(t).
//
// A few harmonics describe a smooth daily curve with a few dozen numbers, so the seasonal shape
// is estimated from every day of the history at once and carries little noise from minute to
// minute; the model of η carries what the newest data say about today's level.
//
// Fit regresses at most the last four weeks by least squares, with robustness weights from a
// first pass (bisquare on the residual less its local level), so that a flash crowd does not
// bend the curve; gaps get weight 0. A period is used when that history holds two full cycles
// of it. Its order K (up to 10 for the shortest period and 5 for the others; 0 drops it) and
// whether the season is additive or multiplicative (the regression of the logarithm) are chosen
// by how well each choice would have forecast the last two days (at most a quarter of the
// history) from a fit on the data before them, at the lead times autoscaling looks ahead (one
// step, 5, 15, 30 and 60 minutes). So is the model of η at each lead time: an AR(p) of η or of
// its changes (an ARIMA(p,1,0) error, which makes the level local), with p ≤ 12 by AIC and
// fitted by least squares, or a local level by exponential smoothing with a damped slope and
// a remainder that decays as an AR(1) (mstlLevel), which averages away more noise than a short
// AR can on minute data; the forecasts of those that scored within mstlTolerance of the best
// are averaged.
//
// Predict adds the forecast of η, run from the newest residuals, to the Fourier terms at the
// future instants, with the trend frozen at its value at the end of the fit: a level shift
// shows at once, and a month's slope is not extrapolated. The fitted model has the shape of a
// fitted MSTL (the Fourier terms tabulated by phase, and the models of what is left), and
// Predict is mstlPredictor's.
//
// The zero value is ready to use; dhrMethod holds no state and is safe for concurrent use.
type dhrMethod struct{}

var _ Method = dhrMethod{}

// Name implements Method.
func (dhrMethod) Name() string { return DHR }

const (
	// dhrMaxHistory and dhrMaxPoints bound the history regressed, as in mstlMethod.
	dhrMaxHistory = 28 * 24 * time.Hour
	dhrMaxPoints  = 4 * 10080
	// dhrMaxAR is the highest AR order tried.
	dhrMaxAR = 12
)

// dhrOrders are the candidate Fourier orders of a period.
var dhrOrders = []int{0, 1, 2, 3, 5, 7, 10}

// dhrMaxOrder is the highest order tried for the j-th shortest period: 10 for it (a daily curve
// at a resolution of about an hour), 5 for the others (a weekly one at about a day), and
// below half the period.
func dhrMaxOrder(j, period int) int {
	k := 5
	if j == 0 {
		k = 10
	}
	return min(k, (period-1)/2)
}

// Fit implements Method.
func (m dhrMethod) Fit(history series.Series, periods []int) (Predictor, error) {
	win := history.Tail(min(durationSteps(dhrMaxHistory, history.Step), dhrMaxPoints))
	y := fillGaps(win.Values)
	if y == nil {
		// The window holds no finite value; the older history does (Fit's contract).
		return mstlNaive(history), nil
	}
	n := len(y)
	obs := make([]float64, n) // 1 for an observed point, 0 for a filled gap
	for i, x := range win.Values {
		if finite(x) {
			obs[i] = 1
		}
	}
	d := dhrNewDesign(n, mstlAbsIndex(win.Start, win.Step), mstlUsable(periods, n))
	hs := mstlHorizons(history.Step)
	c := dhrChoice{tr: mstlNewTransform(y, false), orders: make([]int, len(d.periods))}
	for j, p := range d.periods {
		c.orders[j] = min(3, dhrMaxOrder(j, p))
	}
	if v := min(n/4, durationSteps(mstlValidation, history.Step)); v > slices.Max(hs) {
		sc := mstlNewScorer(y, n-v, hs, durationSteps(mstlARHistory, history.Step))
		c = dhrChoose(sc, d, y, obs)
	}
	p := mstlNaive(win)
	p.tr = c.tr
	u := c.tr.apply(y)
	p.profiles = d.robustFit(u, obs, n, c.orders)
	p.hs, p.shorts = hs, mstlFinalShorts(c.shorts, hs, p, u, d.k0, history.Step)
	return p, nil
}

// dhrChoice is what Fit chooses per series.
type dhrChoice struct {
	tr     mstlTransform
	orders []int         // the Fourier order of each period
	shorts [][]mstlShort // the models of η for each lead time
}

// dhrChoose makes Fit's choices for y (complete, finite), scored by sc: for each transform,
// the Fourier orders, one period at a time, shortest first, each fitted on the history before
// sc's first origin and scored with its best level model of η without slope; then, for the
// best, the models of η for each lead time (mstlScorer.chooseShorts).
func dhrChoose(sc *mstlScorer, d dhrDesign, y, obs []float64) dhrChoice {
	first := sc.start + sc.origin
	// No season, should every score fail.
	best := dhrChoice{tr: mstlNewTransform(y, false), orders: make([]int, len(d.periods))}
	var bestProfs [][]float64
	bestScore := math.Inf(1)
	maxOrders := make([]int, len(d.periods))
	for j, p := range d.periods {
		maxOrders[j] = dhrMaxOrder(j, p)
	}
	for _, log := range []bool{false, true} {
		if log && slices.Min(y) < 0 {
			break
		}
		tr := mstlNewTransform(y, log)
		u := tr.apply(y)
		// The robustness weights of the richest model, and its normal equations, on the
		// training rows; every candidate solves a subset of them.
		all := d.columns(maxOrders)
		g := d.gram(u, d.robustWeights(u, obs, d.fit(u, obs, first, all), first), first)
		try := func(orders []int) float64 {
			profs := d.profiles(g.solve(d.columns(orders)), first)
			sc.set(tr, u, mstlPredictor{profiles: profs}, d.k0)
			s := sc.bestAlpha()
			if s < bestScore {
				best, bestScore, bestProfs = dhrChoice{tr: tr, orders: slices.Clone(orders)}, s, profs
			}
			return s
		}
		orders := make([]int, len(d.periods))
		cur := try(orders)
		for j := range d.periods {
			bestK := 0
			for _, k := range dhrOrders {
				if k == 0 || k > maxOrders[j] {
					continue
				}
				orders[j] = k
				if s := try(orders); s < cur {
					cur, bestK = s, k
				}
			}
			orders[j] = bestK
		}
	}
	sc.set(best.tr, best.tr.apply(y), mstlPredictor{profiles: bestProfs}, d.k0)
	best.shorts = sc.chooseShorts()
	return best
}

// dhrDesign is the regression's design on a window of n points whose first has absolute index
// k0: column 0 is the intercept, column 1 a linear trend from −1 to 1 over the window, then a
// sine and a cosine for each harmonic.
type dhrDesign struct {
	n         int
	k0        int64
	periods   []int
	harmonics []dhrHarmonic // columns 2+2i (sine) and 3+2i (cosine)
	sin, cos  [][]float64   // sin[j][i] = sin(2πi/periods[j])
}

// dhrHarmonic is the k-th harmonic of the j-th period.
type dhrHarmonic struct{ j, k int }

func dhrNewDesign(n int, k0 int64, periods []int) dhrDesign {
	d := dhrDesign{n: n, k0: k0, periods: periods}
	for j, p := range periods {
		s, c := make([]float64, p), make([]float64, p)
		for i := range p {
			s[i], c[i] = math.Sincos(2 * math.Pi * float64(i) / float64(p))
		}
		d.sin, d.cos = append(d.sin, s), append(d.cos, c)
		for k := 1; k <= dhrMaxOrder(j, p); k++ {
			// A harmonic of a longer period that is one of a shorter period's (the 7th of a
			// week is the 1st of a day) would make the design singular; the shorter has it.
			dup := false
			for jj := range j {
				if q := periods[jj]; (k*q)%p == 0 && k*q/p <= dhrMaxOrder(jj, q) {
					dup = true
				}
			}
			if !dup {
				d.harmonics = append(d.harmonics, dhrHarmonic{j, k})
			}
		}
	}
	return d
}

// cols is the number of columns.
func (d dhrDesign) cols() int { return 2 + 2*len(d.harmonics) }

// columns returns the columns of the model with the given order for each period.
func (d dhrDesign) columns(orders []int) []int {
	cols := []int{0, 1}
	for i, h := range d.harmonics {
		if h.k <= orders[h.j] {
			cols = append(cols, 2+2*i, 3+2*i)
		}
	}
	return cols
}

// trend is column 1 at row i.
func (d dhrDesign) trend(i int) float64 {
	if d.n < 2 {
		return 0
	}
	return 2*float64(i)/float64(d.n-1) - 1
}

// row writes into x every column at row i.
func (d dhrDesign) row(i int, x []float64) {
	x[0], x[1] = 1, d.trend(i)
	for c, h := range d.harmonics {
		p := d.periods[h.j]
		idx := int(int64(h.k) * int64(mstlPhase(d.k0+int64(i), p)) % int64(p))
		x[2+2*c], x[3+2*c] = d.sin[h.j][idx], d.cos[h.j][idx]
	}
}

// dhrGram holds weighted normal equations: xtx = XᵀWX (row-major) and xty = XᵀWu.
type dhrGram struct {
	c        int
	xtx, xty []float64
}

// gram returns the normal equations of every column over rows [0, rows) with weights w.
func (d dhrDesign) gram(u, w []float64, rows int) dhrGram {
	c := d.cols()
	g := dhrGram{c: c, xtx: make([]float64, c*c), xty: make([]float64, c)}
	x := make([]float64, c)
	for i := range rows {
		if w[i] == 0 {
			continue
		}
		d.row(i, x)
		for a := range c {
			wa := w[i] * x[a]
			g.xty[a] += wa * u[i]
			row := g.xtx[a*c:]
			for b := a; b < c; b++ {
				row[b] += wa * x[b]
			}
		}
	}
	for a := range c {
		for b := range a {
			g.xtx[a*c+b] = g.xtx[b*c+a]
		}
	}
	return g
}

// solve returns the least-squares coefficients of the columns sub (the others zero), from a
// pseudo-inverse that drops directions the data do not determine (a harmonic that a gap left
// unobserved).
func (g dhrGram) solve(sub []int) []float64 {
	beta := make([]float64, g.c)
	m := len(sub)
	a := mat.NewDense(m, m, nil)
	b := mat.NewVecDense(m, nil)
	for i, ci := range sub {
		b.SetVec(i, g.xty[ci])
		for j, cj := range sub {
			a.Set(i, j, g.xtx[ci*g.c+cj])
		}
	}
	var svd mat.SVD
	if !svd.Factorize(a, mat.SVDThin) {
		return beta
	}
	rank := svd.Rank(1e-10)
	if rank == 0 {
		return beta
	}
	var x mat.VecDense
	svd.SolveVecTo(&x, b, rank)
	for i, ci := range sub {
		if v := x.AtVec(i); finite(v) {
			beta[ci] = v
		}
	}
	return beta
}

// fit returns the weighted least-squares coefficients of the columns cols over rows [0, rows).
func (d dhrDesign) fit(u, w []float64, rows int, cols []int) []float64 {
	return d.gram(u, w, rows).solve(cols)
}

// robustWeights returns obs times bisquare weights of the residuals of beta over rows [0, rows)
// less their local level (a centred moving average over the shortest period): a flash crowd or
// an outage gets weight 0, a day that is busy all day long does not.
func (d dhrDesign) robustWeights(u, obs, beta []float64, rows int) []float64 {
	w := make([]float64, rows)
	if len(d.periods) == 0 || rows == 0 {
		copy(w, obs)
		return w
	}
	x := make([]float64, d.cols())
	r := make([]float64, rows)
	for i := range rows {
		d.row(i, x)
		f := 0.0
		for c, b := range beta {
			f += b * x[c]
		}
		r[i] = u[i] - f
	}
	// Subtract the centred moving average, with prefix sums.
	half := d.periods[0] / 2
	cum := make([]float64, rows+1)
	for i, v := range r {
		cum[i+1] = cum[i] + v
	}
	abs := make([]float64, 0, rows)
	res := make([]float64, rows)
	for i := range rows {
		lo, hi := max(0, i-half), min(rows, i+half+1)
		res[i] = math.Abs(r[i] - (cum[hi]-cum[lo])/float64(hi-lo))
		if obs[i] > 0 {
			abs = append(abs, res[i])
		}
	}
	if len(abs) == 0 {
		return w
	}
	cmad := 6 * loessMedian(abs)
	for i := range rows {
		switch q := res[i] / cmad; {
		case obs[i] == 0:
		case !(cmad > 0) || q <= 0.001:
			w[i] = 1
		case q < 0.999:
			w[i] = (1 - q*q) * (1 - q*q)
		}
	}
	return w
}

// profiles returns beta's model tabulated by absolute phase, one profile per period with the
// Fourier terms of that period: the fitted level at the end of the rows the fit used (the
// trend frozen there) is added to the first profile, or is the one profile, of period 1, when
// every harmonic was left out.
func (d dhrDesign) profiles(beta []float64, rows int) [][]float64 {
	level := beta[0] + beta[1]*d.trend(rows-1)
	profs := make([][]float64, len(d.periods))
	for j, p := range d.periods {
		profs[j] = make([]float64, p)
	}
	for c, h := range d.harmonics {
		bs, bc := beta[2+2*c], beta[3+2*c]
		if bs == 0 && bc == 0 {
			continue
		}
		p := d.periods[h.j]
		for ph := range p {
			idx := h.k * ph % p
			profs[h.j][ph] += bs*d.sin[h.j][idx] + bc*d.cos[h.j][idx]
		}
	}
	out := profs[:0]
	for _, prof := range profs {
		if slices.ContainsFunc(prof, func(v float64) bool { return v != 0 }) {
			out = append(out, prof)
		}
	}
	if len(out) == 0 {
		return [][]float64{{level}}
	}
	for i := range out[0] {
		out[0][i] += level
	}
	return out
}

// robustFit returns the profiles of the robust least-squares fit of the model with the given
// orders over rows [0, rows): a fit, bisquare weights from its residuals, and a refit.
func (d dhrDesign) robustFit(u, obs []float64, rows int, orders []int) [][]float64 {
	cols := d.columns(orders)
	beta := d.fit(u, d.robustWeights(u, obs, d.fit(u, obs, rows, cols), rows), rows, cols)
	return d.profiles(beta, rows)
}

// dhrAR is the AR model of the regression's error η, or of its changes when diff is 1:
// x(t) = c + Σ φ_i x(t−i).
type dhrAR struct {
	diff   int
	c      float64
	phi    []float64
	lo, hi float64 // the bounds of the forecasts
}

// dhrFitAR fits the AR model of eta (diff 0) or of its changes (diff 1) by least squares, with
// the order up to dhrMaxAR that minimises AIC. The changes get no constant: a drift would
// extrapolate a trend.
func dhrFitAR(eta []float64, diff int) dhrAR {
	x := eta
	if diff == 1 {
		x = make([]float64, max(0, len(eta)-1))
		for i := range x {
			x[i] = eta[i+1] - eta[i]
		}
	}
	lo, hi := -1.0, 1.0
	if len(eta) > 0 {
		lo, hi = slices.Min(eta), slices.Max(eta)
		lo, hi = lo-(hi-lo), hi+(hi-lo)
	}
	pmax := min(dhrMaxAR, len(x)/10)
	if pmax < 1 {
		return dhrAR{diff: diff, lo: lo, hi: hi}
	}
	// Normal equations of [1, x(t−1) … x(t−pmax)] → x(t).
	c := pmax + 1
	g := dhrGram{c: c, xtx: make([]float64, c*c), xty: make([]float64, c)}
	row := make([]float64, c)
	yy := 0.0
	rows := 0
	for t := pmax; t < len(x); t++ {
		row[0] = 1
		for i := 1; i <= pmax; i++ {
			row[i] = x[t-i]
		}
		for a := range c {
			g.xty[a] += row[a] * x[t]
			for b := range c {
				g.xtx[a*c+b] += row[a] * row[b]
			}
		}
		yy += x[t] * x[t]
		rows++
	}
	best, bestAIC := dhrAR{diff: diff, lo: lo, hi: hi}, math.Inf(1)
	for p := 0; p <= pmax; p++ {
		var sub []int
		if diff == 0 {
			sub = append(sub, 0)
		}
		for i := 1; i <= p; i++ {
			sub = append(sub, i)
		}
		if len(sub) == 0 {
			// The random walk: the residual sum of squares is that of the changes.
			if aic := float64(rows) * math.Log(max(yy, 1e-300)/float64(rows)); aic < bestAIC {
				best, bestAIC = dhrAR{diff: diff, lo: lo, hi: hi}, aic
			}
			continue
		}
		beta := g.solve(sub)
		rss := yy
		for _, a := range sub {
			rss -= 2 * beta[a] * g.xty[a]
			for _, b := range sub {
				rss += beta[a] * beta[b] * g.xtx[a*c+b]
			}
		}
		aic := float64(rows)*math.Log(max(rss, 1e-300)/float64(rows)) + 2*float64(len(sub))
		if aic < bestAIC {
			best, bestAIC = dhrAR{diff: diff, c: beta[0], phi: slices.Clone(beta[1 : p+1]), lo: lo, hi: hi}, aic
		}
	}
	return best
}

// forecast writes into f the forecasts of η for the len(f) steps after eta, whose newest
// values seed the recursion. The forecasts are kept within the range of the residuals the AR
// was fitted on, widened by that range on each side, or of the newest values if wider, so that
// an explosive fit cannot run away.
func (a dhrAR) forecast(eta, f []float64) {
	p := len(a.phi)
	lo, hi := a.lo, a.hi
	for _, v := range eta[max(0, len(eta)-1-p-a.diff):] {
		lo, hi = min(lo, v), max(hi, v)
	}
	var hist [dhrMaxAR]float64 // hist[i] is x at lag i+1 from the step being forecast
	for i := range p {
		hist[i] = a.x(eta, len(eta)-1-i)
	}
	level := eta[len(eta)-1]
	for h := range f {
		x := a.c
		for i, phi := range a.phi {
			x += phi * hist[i]
		}
		if p > 0 {
			copy(hist[1:p], hist[:p-1])
			hist[0] = x
		}
		if a.diff == 1 {
			level += x
			x = level
		}
		f[h] = min(max(x, lo), hi)
	}
}

// x is the AR's series at index i of eta: η itself, or its change into i (0 before the start).
func (a dhrAR) x(eta []float64, i int) float64 {
	switch {
	case a.diff == 0 && i >= 0:
		return eta[i]
	case a.diff == 1 && i >= 1:
		return eta[i] - eta[i-1]
	}
	return 0
}
