package forecast

import (
	"math"
	"math/cmplx"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/kedastral/kedastral/pkg/series"
)

// This file holds the ARIMA method and the machinery it shares with SARIMA (sarima.go): a
// seasonal ARIMA(p,d,q)(P,D,Q)_s with P = D = Q = 0 is a plain ARIMA(p,d,q), so both are fitted
// and forecast by the same code.
//
// The model, in backshift notation (B y_t = y_{t-1}):
//
//	φ(B) Φ(B^s) (x_t) = θ(B) Θ(B^s) e_t,   x_t = (1-B)^d (1-B^s)^D y_t − μ
//
// with φ(B) = 1 − φ₁B − … − φ_pB^p, Φ(B^s) = 1 − Φ₁B^s − …, θ(B) = 1 + θ₁B + … and
// Θ(B^s) = 1 + Θ₁B^s + … (the sign conventions of R and statsmodels). The products are expanded
// into sparse lag polynomials (arimaLag lists), so a season of 1440 steps costs a handful of
// terms per step, not 1440.

const (
	// arimaMinObs is the fewest differenced observations (past the first lags the recursion
	// conditions on) worth estimating coefficients from; with fewer the fit is the naive
	// forecast, the honest answer to "not enough data".
	arimaMinObs = 30
	// arimaMaxRoot bounds the inverse roots of the AR and MA polynomials, keeping fitted models
	// stationary and invertible with a margin: a root on the unit circle would make the
	// forecast explode (AR) or never forget its start-up values (MA).
	arimaMaxRoot = 0.99
	// arimaKPSSCritical is the 5% critical value of the KPSS level-stationarity statistic
	// (Kwiatkowski et al. 1992, table 1), the test R's forecast::ndiffs uses to choose d.
	arimaKPSSCritical = 0.463
	// arimaMaxD is the most differencing chosen automatically.
	arimaMaxD = 2
	// arimaPredictWindow is the newest points Predict runs the residual recursion over for a
	// non-seasonal model. An invertible MA forgets its start-up values geometrically, so a
	// thousand points are plenty even for θ near the bound (0.99¹⁰⁰⁰ ≈ 4e-5).
	arimaPredictWindow = 1024
	// arimaSeasonsBurnIn is how many seasons of residuals, beyond the lags themselves, Predict
	// computes for a seasonal model. A seasonal MA forgets its start-up values only once per
	// season (Θ^k after k seasons; real loads fit Θ ≈ -0.4 … -0.85), so the residuals at the end
	// need many seasons behind them: on eight real load traces (NASA, WorldCup98, NAB, Alibaba,
	// Bitbrains), 14 seasons forecast up to 8% better than 8 at 15 steps ahead. Two weeks of
	// daily seasons cost under a millisecond.
	arimaSeasonsBurnIn = 14
	// arimaLongAR bounds the order of the long autoregression in the first stage of
	// Hannan–Rissanen.
	arimaLongAR = 40
	// arimaMaxIter bounds the Levenberg–Marquardt iterations of the conditional least squares.
	arimaMaxIter = 50
)

// arimaMethod is ARIMA(p,d,q): differencing d times removes the trend, an ARMA(p,q) models what
// is left, and the forecast iterates the ARMA recursion forward and integrates back from the
// newest observed values, so the newest data sets the level.
//
// It follows what the Kedastral open-source forecaster documents for its ARIMA (AR coefficients
// by Yule–Walker, MA coefficients from the AR residuals, default order (1,1,1)), done in full:
//   - d: given, or chosen in {0, 1, 2} by differencing while the KPSS test rejects level
//     stationarity at 5%, as R's auto.arima does;
//   - μ: for d = 0 the mean; for d = 1 a drift (the mean of the differenced series, so that a
//     linear trend carries on) when it is significant (arimaDrift); none when d = 2;
//   - AR and MA coefficients: Hannan–Rissanen (a long autoregression by Yule–Walker estimates the
//     innovations, then a least-squares regression on past values and past innovations), refined
//     by conditional least squares (Levenberg–Marquardt) and kept only when that lowers the sum of
//     squared residuals; Yule–Walker alone when q = 0;
//   - the fit is kept stationary and invertible (inverse roots within arimaMaxRoot); a degenerate
//     fit (constant series, singular system) leaves the coefficients at zero, which is the
//     random walk (with drift) for d = 1.
//
// It has no notion of season, so beyond a few steps its forecast flattens out (d = 1) or returns
// to the mean (d = 0). sarimaMethod adds the season.
type arimaMethod struct {
	p, d, q int
}

var _ Method = arimaMethod{}

// newARIMA returns ARIMA(p,d,q); d = -1 chooses d automatically (see arimaMethod). Negative p
// and q count as 0, d below -1 as -1 and above 2 as 2. Suggested: newARIMA(1, 1, 1), the
// Kedastral default. Automatic d picks d = 0 on some loads (the KPSS test sees a stationary
// series), and then the forecast returns to the history's mean: on eight real load traces
// (NASA, WorldCup98, NAB, Alibaba, Bitbrains) that was better on one, worse on two and the same
// on the other five.
func newARIMA(p, d, q int) Method {
	return arimaMethod{p: max(p, 0), d: min(max(d, -1), arimaMaxD), q: max(q, 0)}
}

func (arimaMethod) Name() string { return ARIMA }

// Fit implements Method. It ignores periods. It never fails: with too little data the Predictor
// it returns forecasts the last value.
func (m arimaMethod) Fit(history series.Series, _ []int) (Predictor, error) {
	return arimaFitOrder(history.Values, arimaOrder{p: m.p, d: m.d, q: m.q}), nil
}

// arimaOrder is the order of a seasonal ARIMA(p,d,q)(sp,sd,sq)_s; all seasonal fields zero for a
// plain ARIMA. d < 0 asks for automatic differencing.
type arimaOrder struct {
	p, d, q    int
	sp, sd, sq int
	s          int
}

func (o arimaOrder) seasonal() bool { return o.sp+o.sd+o.sq > 0 }

// nonSeasonal is o without its seasonal part.
func (o arimaOrder) nonSeasonal() arimaOrder { return arimaOrder{p: o.p, d: o.d, q: o.q} }

// params is the number of estimated coefficients.
func (o arimaOrder) params() int { return o.p + o.sp + o.q + o.sq }

// arStart is the largest AR lag: the conditional residual recursion starts there.
func (o arimaOrder) arStart() int { return o.p + o.sp*o.s }

// maLag is the largest MA lag.
func (o arimaOrder) maLag() int { return o.q + o.sq*o.s }

// arimaLag is one term of a lag polynomial: coef·B^lag.
type arimaLag struct {
	lag  int
	coef float64
}

// arimaPolyMul returns (1 + Σa)(1 + Σb) − 1 as a sparse polynomial sorted by lag: the terms of
// a product of two monic polynomials given by their non-constant terms. Zero terms are dropped.
func arimaPolyMul(a, b []arimaLag) []arimaLag {
	out := make([]arimaLag, 0, len(a)+len(b)+len(a)*len(b))
	out = append(out, a...)
	out = append(out, b...)
	for _, x := range a {
		for _, y := range b {
			out = append(out, arimaLag{x.lag + y.lag, x.coef * y.coef})
		}
	}
	slices.SortFunc(out, func(x, y arimaLag) int { return x.lag - y.lag })
	merged := out[:0]
	for _, t := range out {
		if n := len(merged); n > 0 && merged[n-1].lag == t.lag {
			merged[n-1].coef += t.coef
		} else {
			merged = append(merged, t)
		}
	}
	return slices.DeleteFunc(merged, func(t arimaLag) bool { return t.coef == 0 })
}

// arimaPoly returns the non-constant terms of 1 + sign·(c₀B^step + c₁B^{2·step} + …).
func arimaPoly(c []float64, sign float64, step int) []arimaLag {
	out := make([]arimaLag, 0, len(c))
	for i, v := range c {
		if v != 0 {
			out = append(out, arimaLag{(i + 1) * step, sign * v})
		}
	}
	return out
}

// arimaDiffPoly returns the non-constant terms of (1−B)^d (1−B^s)^sd.
func arimaDiffPoly(d, sd, s int) []arimaLag {
	var out []arimaLag
	for range d {
		out = arimaPolyMul(out, []arimaLag{{1, -1}})
	}
	for range sd {
		out = arimaPolyMul(out, []arimaLag{{s, -1}})
	}
	return out
}

// arimaCoefs are the estimated coefficients of a seasonal ARIMA in the sign convention of the
// file comment.
type arimaCoefs struct {
	phi, sphi, theta, stheta []float64
}

// split maps a parameter vector [φ, Φ, θ, Θ] to coefficients; the slices alias beta.
func (o arimaOrder) split(beta []float64) arimaCoefs {
	i := 0
	take := func(n int) []float64 { i += n; return beta[i-n : i] }
	return arimaCoefs{phi: take(o.p), sphi: take(o.sp), theta: take(o.q), stheta: take(o.sq)}
}

// polys expands the coefficients into the AR polynomial φ(B)Φ(B^s) and the MA polynomial
// θ(B)Θ(B^s), without their constant terms.
func (o arimaOrder) polys(c arimaCoefs) (ar, ma []arimaLag) {
	ar = arimaPolyMul(arimaPoly(c.phi, -1, 1), arimaPoly(c.sphi, -1, o.s))
	ma = arimaPolyMul(arimaPoly(c.theta, 1, 1), arimaPoly(c.stheta, 1, o.s))
	return ar, ma
}

// admissible reports whether beta gives a stationary and invertible model. Each factor is
// checked alone: a product of polynomials has the union of their roots.
func (o arimaOrder) admissible(beta []float64) bool {
	c := o.split(beta)
	return arimaRootsInside(c.phi, -1) && arimaRootsInside(c.sphi, -1) &&
		arimaRootsInside(c.theta, 1) && arimaRootsInside(c.stheta, 1)
}

// arimaRootsInside reports whether 1 + sign·(c₁z + … + c_kz^k) has every inverse root of
// modulus below arimaMaxRoot. The inverse roots are the eigenvalues of the companion matrix.
func arimaRootsInside(c []float64, sign float64) bool {
	for _, v := range c {
		if !finite(v) {
			return false
		}
	}
	switch len(c) {
	case 0:
		return true
	case 1:
		return math.Abs(c[0]) < arimaMaxRoot
	}
	k := len(c)
	comp := mat.NewDense(k, k, nil)
	for i, v := range c {
		comp.Set(0, i, -sign*v)
	}
	for i := 1; i < k; i++ {
		comp.Set(i, i-1, 1)
	}
	var eig mat.Eigen
	if !eig.Factorize(comp, mat.EigenNone) {
		return false
	}
	for _, l := range eig.Values(nil) {
		if !(cmplx.Abs(l) < arimaMaxRoot) {
			return false
		}
	}
	return true
}

// arimaModel is a fitted seasonal ARIMA, the Predictor of both arima and sarima. It is
// immutable once built.
type arimaModel struct {
	order arimaOrder // d resolved; seasonal fields zero when the season was dropped
	coefs arimaCoefs
	mean  float64    // μ, added to the differenced series' forecast
	diff  []arimaLag // (1−B)^d (1−B^s)^D
	ar    []arimaLag // φ(B)Φ(B^s)
	ma    []arimaLag // θ(B)Θ(B^s)
	// need is the fewest history points Predict uses this model for; with fewer it uses
	// fallback, and with no fallback the last value.
	need int
	// window is how many of the newest points Predict uses.
	window   int
	fallback *arimaModel
}

var _ Predictor = (*arimaModel)(nil)

// arimaNaive is the model that forecasts the last value: ARIMA(0,1,0) without drift.
func arimaNaive() *arimaModel {
	return arimaModelOf(arimaOrder{d: 1}, arimaCoefs{}, 0)
}

// arimaModelOf builds the Predictor for order o (d resolved) with coefficients c and mean mu.
func arimaModelOf(o arimaOrder, c arimaCoefs, mu float64) *arimaModel {
	m := &arimaModel{order: o, coefs: c, mean: mu, diff: arimaDiffPoly(o.d, o.sd, o.s)}
	m.ar, m.ma = o.polys(c)
	// Differencing, then the AR lags, then enough residuals to fill the MA lags.
	m.need = o.d + o.sd*o.s + o.arStart() + o.maLag() + 1
	m.window = m.need + arimaPredictWindow
	if o.seasonal() {
		m.window = m.need + max(arimaPredictWindow, arimaSeasonsBurnIn*o.s)
	}
	return m
}

// Predict implements Predictor.
func (m *arimaModel) Predict(history series.Series, dst []float64) {
	if len(dst) == 0 {
		return
	}
	last, _, ok := history.Last()
	if !ok {
		clear(dst) // nothing to go on; the Engine never asks
		return
	}
	for m != nil && history.Len() < m.need {
		m = m.fallback
	}
	if m != nil && m.forecast(history.Tail(m.window).Values, dst) {
		return
	}
	for i := range dst {
		dst[i] = last
	}
}

// forecast writes the forecast after v into dst and reports whether it could: v needs a finite
// value and enough points, and the result must be finite.
func (m *arimaModel) forecast(v []float64, dst []float64) bool {
	y := fillGaps(v)
	dl := 0 // the largest differencing lag
	if len(m.diff) > 0 {
		dl = m.diff[len(m.diff)-1].lag
	}
	if y == nil || len(y) <= dl+m.order.arStart() {
		return false
	}
	n, h := len(y), len(dst)
	nw := n - dl
	// x: the centred differenced series, then its forecast; e: the residuals, zero before the
	// recursion starts and in the future.
	x := make([]float64, nw+h)
	for t := dl; t < n; t++ {
		w := y[t]
		for _, l := range m.diff {
			w += l.coef * y[t-l.lag]
		}
		x[t-dl] = w - m.mean
	}
	e := make([]float64, nw+h)
	arimaResiduals(x[:nw], e[:nw], m.order.arStart(), m.ar, m.ma)
	for t := nw; t < nw+h; t++ {
		var f float64
		for _, l := range m.ar {
			f -= l.coef * x[t-l.lag]
		}
		for _, l := range m.ma {
			if j := t - l.lag; j >= 0 {
				f += l.coef * e[j]
			}
		}
		x[t] = f
	}
	// Integrate: y_t = w_t − Σ δ_k y_{t−k}, over the last dl observed values and the forecast.
	tail := make([]float64, dl+h)
	copy(tail, y[n-dl:])
	for j := range h {
		yt := x[nw+j] + m.mean
		for _, l := range m.diff {
			yt -= l.coef * tail[dl+j-l.lag]
		}
		if !finite(yt) {
			return false
		}
		tail[dl+j] = yt
		dst[j] = yt
	}
	return true
}

// arimaResiduals writes into e the conditional residuals of the centred differenced series x:
// zero before start, then e_t = x_t + Σ a_k x_{t−k} − Σ b_k e_{t−k}. It returns their sum of
// squares.
func arimaResiduals(x, e []float64, start int, ar, ma []arimaLag) float64 {
	var sse float64
	clear(e[:min(start, len(e))])
	for t := start; t < len(x); t++ {
		r := x[t]
		for _, l := range ar {
			r += l.coef * x[t-l.lag]
		}
		for _, l := range ma {
			if j := t - l.lag; j >= 0 {
				r -= l.coef * e[j]
			}
		}
		e[t] = r
		sse += r * r
	}
	return sse
}

// arimaFitOrder fits a seasonal ARIMA of order o to the history v (which may hold gaps). A
// seasonal order falls back to its non-seasonal part when the season is missing (s < 2) or the
// history is too short for it (see sarimaNeed); the non-seasonal model is also kept as the
// fallback for Predict calls on histories too short for the seasonal one.
func arimaFitOrder(v []float64, o arimaOrder) *arimaModel {
	y := fillGaps(v)
	if y == nil {
		return arimaNaive()
	}
	if !o.seasonal() || o.s < 2 || len(y) < sarimaNeed(o) {
		return arimaFitFilled(y, o.nonSeasonal())
	}
	m := arimaFitFilled(y, o)
	m.fallback = arimaFitFilled(y, o.nonSeasonal())
	return m
}

// arimaFitFilled fits order o to the gap-free series y.
func arimaFitFilled(y []float64, o arimaOrder) *arimaModel {
	z := y
	for range o.sd {
		z = arimaDifference(z, o.s)
	}
	if o.d < 0 {
		o.d = arimaChooseD(z)
	}
	w := z
	for range o.d {
		w = arimaDifference(w, 1)
	}
	if len(w)-o.arStart()-o.maLag() < arimaMinObs+o.params() {
		return arimaNaive()
	}
	var mu float64
	switch o.d + o.sd {
	case 0: // the level a stationary series returns to
		mu = arimaMean(w)
	case 1:
		mu = arimaDrift(w)
	}
	// With more differencing a constant would be a quadratic trend: no one wants that
	// extrapolated.
	if !finite(mu) { // a sum of values near MaxFloat64 overflowed
		return arimaNaive()
	}
	x := make([]float64, len(w))
	for i, v := range w {
		x[i] = v - mu
	}
	return arimaModelOf(o, o.split(arimaEstimate(x, o)), mu)
}

// arimaEstimate returns the coefficients [φ, Φ, θ, Θ] for the centred differenced series x: the
// best, by conditional sum of squares, of no coefficients, the Hannan–Rissanen estimate and its
// refinement by conditional least squares. The result is always admissible.
func arimaEstimate(x []float64, o arimaOrder) []float64 {
	k := o.params()
	zero := make([]float64, k)
	if k == 0 {
		return zero
	}
	start := o.arStart()
	e := make([]float64, len(x))
	sse := func(beta []float64) float64 {
		ar, ma := o.polys(o.split(beta))
		return arimaResiduals(x, e, start, ar, ma)
	}
	best, bestSSE := zero, sse(zero)
	if !(bestSSE > 0) || !finite(bestSSE) { // a constant series, or overflow: nothing to fit
		return zero
	}

	init := make([]float64, k)
	c := o.split(init)
	phi, theta := arimaHannanRissanen(x, o.p, o.q)
	copy(c.phi, phi)
	copy(c.theta, theta)
	if !o.admissible(init) {
		// Shrinking φ_i by λ^i moves every root outwards by 1/λ.
		for shrink := 0; shrink < 50 && !o.admissible(init); shrink++ {
			for i := range c.phi {
				c.phi[i] *= math.Pow(0.9, float64(i+1))
			}
			for i := range c.theta {
				c.theta[i] *= math.Pow(0.9, float64(i+1))
			}
		}
		if !o.admissible(init) {
			clear(init)
		}
	}
	if s := sse(init); s < bestSSE {
		best, bestSSE = init, s
	}
	if refined, s := arimaCSS(x, o, best, bestSSE); s < bestSSE {
		best = refined
	}
	return best
}

// arimaCSS minimises the conditional sum of squared residuals of x over the coefficients by
// Levenberg–Marquardt with a forward-difference Jacobian, starting from beta0 (admissible, with
// sum of squares sse0) and rejecting any step that leaves the admissible region. It returns the
// coefficients reached and their sum of squares.
func arimaCSS(x []float64, o arimaOrder, beta0 []float64, sse0 float64) ([]float64, float64) {
	k, start := o.params(), o.arStart()
	rows := len(x) - start
	if rows <= k {
		return beta0, sse0
	}
	r0 := make([]float64, len(x))
	r1 := make([]float64, len(x))
	resid := func(beta, e []float64) float64 {
		ar, ma := o.polys(o.split(beta))
		return arimaResiduals(x, e, start, ar, ma)
	}
	beta := slices.Clone(beta0)
	trial := make([]float64, k)
	sse := resid(beta, r0)
	jac := mat.NewDense(rows, k, nil)
	var jtj mat.SymDense
	var grad, step mat.VecDense
	lambda := 1e-3
	for iter, fresh := 0, true; iter < arimaMaxIter; iter++ {
		if fresh {
			// J = ∂e/∂β at beta, one column per coefficient.
			for j := range k {
				h := 1e-6 * max(1, math.Abs(beta[j]))
				copy(trial, beta)
				trial[j] += h
				resid(trial, r1)
				for t := start; t < len(x); t++ {
					jac.Set(t-start, j, (r1[t]-r0[t])/h)
				}
			}
			jtj.SymOuterK(1, jac.T())
			grad.MulVec(jac.T(), mat.NewVecDense(rows, r0[start:]))
			fresh = false
		}
		// Solve (JᵀJ + λ·diag(JᵀJ)) δ = −Jᵀe.
		a := mat.NewSymDense(k, nil)
		a.CopySym(&jtj)
		for j := range k {
			d := jtj.At(j, j)
			a.SetSym(j, j, d+lambda*max(d, 1e-12))
		}
		var chol mat.Cholesky
		if !chol.Factorize(a) {
			lambda *= 10
			if lambda > 1e12 {
				break
			}
			continue
		}
		if err := chol.SolveVecTo(&step, &grad); err != nil {
			break
		}
		for j := range k {
			trial[j] = beta[j] - step.AtVec(j)
		}
		if o.admissible(trial) {
			if s := resid(trial, r1); s < sse {
				improved := (sse - s) / sse
				copy(beta, trial)
				sse = s
				r0, r1 = r1, r0
				lambda = max(lambda/10, 1e-12)
				fresh = true
				if improved < 1e-10 {
					break
				}
				continue
			}
		}
		lambda *= 10
		if lambda > 1e12 {
			break
		}
	}
	return beta, sse
}

// arimaHannanRissanen estimates ARMA(p,q) coefficients for the centred series x: Yule–Walker
// when q = 0; otherwise a long autoregression (Yule–Walker) estimates the innovations, and a
// least-squares regression of x_t on x_{t−1…t−p} and those innovations at t−1…t−q gives φ and θ.
// A regression that fails leaves the Yule–Walker AR(p) and θ = 0.
func arimaHannanRissanen(x []float64, p, q int) (phi, theta []float64) {
	phi, theta = arimaYuleWalker(x, p), make([]float64, q)
	if q == 0 {
		return phi, theta
	}
	n := len(x)
	m := min(max(p+q+1, int(10*math.Log10(float64(n)))), arimaLongAR, n/4)
	if m < 1 {
		return phi, theta
	}
	long := arimaYuleWalker(x, m)
	innov := make([]float64, n)
	for t := m; t < n; t++ {
		r := x[t]
		for i, a := range long {
			r -= a * x[t-1-i]
		}
		innov[t] = r
	}
	first := m + q
	rows, k := n-first, p+q
	if rows <= 2*k {
		return phi, theta
	}
	a := mat.NewDense(rows, k, nil)
	b := mat.NewVecDense(rows, x[first:])
	for t := first; t < n; t++ {
		for i := range p {
			a.Set(t-first, i, x[t-1-i])
		}
		for j := range q {
			a.Set(t-first, p+j, innov[t-1-j])
		}
	}
	var sol mat.VecDense
	if err := sol.SolveVec(a, b); err != nil {
		return phi, theta
	}
	out := sol.RawVector().Data
	for _, v := range out {
		if !finite(v) {
			return phi, theta
		}
	}
	return slices.Clone(out[:p]), slices.Clone(out[p:])
}

// arimaYuleWalker returns the AR(p) coefficients of the centred series x that solve the
// Yule–Walker equations with the biased autocovariances, which keep the fit stationary. A
// constant or too short series gives zeros.
func arimaYuleWalker(x []float64, p int) []float64 {
	phi := make([]float64, p)
	n := len(x)
	if p == 0 || n <= p {
		return phi
	}
	acov := make([]float64, p+1)
	for k := range acov {
		var s float64
		for t := k; t < n; t++ {
			s += x[t] * x[t-k]
		}
		acov[k] = s / float64(n)
	}
	if !(acov[0] > 0) || !finite(acov[0]) {
		return phi
	}
	toeplitz := mat.NewSymDense(p, nil)
	for i := range p {
		for j := i; j < p; j++ {
			toeplitz.SetSym(i, j, acov[j-i]/acov[0])
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(toeplitz) {
		return phi
	}
	rhs := make([]float64, p)
	for i := range rhs {
		rhs[i] = acov[i+1] / acov[0]
	}
	sol := mat.NewVecDense(p, phi)
	if err := chol.SolveVecTo(sol, mat.NewVecDense(p, rhs)); err != nil {
		return make([]float64, p)
	}
	for _, v := range phi {
		if !finite(v) {
			return make([]float64, p)
		}
	}
	return phi
}

// arimaChooseD returns how many times y must be differenced, up to arimaMaxD, until the KPSS
// test no longer rejects level stationarity at 5%: R's forecast::ndiffs.
func arimaChooseD(y []float64) int {
	for d := range arimaMaxD {
		if len(y) < arimaMinObs || arimaKPSS(y) <= arimaKPSSCritical {
			return d
		}
		y = arimaDifference(y, 1)
	}
	return arimaMaxD
}

// arimaKPSS returns the KPSS statistic for level stationarity of y: the scaled sum of squared
// partial sums of the deviations from the mean, over a Bartlett-window long-run variance with
// ⌊4(n/100)^¼⌋ lags (the "short" truncation). A constant series scores 0.
func arimaKPSS(y []float64) float64 {
	n := len(y)
	mu := arimaMean(y)
	lags := min(int(4*math.Pow(float64(n)/100, 0.25)), n-1)
	var eta, partial, lrv float64
	for _, v := range y {
		partial += v - mu
		eta += partial * partial
	}
	for k := 0; k <= lags; k++ {
		var g float64
		for t := k; t < n; t++ {
			g += (y[t] - mu) * (y[t-k] - mu)
		}
		g /= float64(n)
		if k == 0 {
			lrv += g
		} else {
			lrv += 2 * (1 - float64(k)/float64(lags+1)) * g
		}
	}
	stat := eta / (float64(n) * float64(n) * lrv)
	if !(lrv > 0) || !finite(stat) {
		return 0
	}
	return stat
}

// arimaDrift returns the mean of the once-differenced series w when it is significant at about
// 5% (|mean| > 1.96 standard errors, taking w as uncorrelated), and 0 otherwise: a drift makes
// ARIMA(p,1,q) extrapolate a linear trend, right for a steady ramp, wrong when the mean change
// comes from a one-off step, which an estimate from a day or two of history cannot tell apart
// otherwise. auto.arima makes the same choice by AICc.
func arimaDrift(w []float64) float64 {
	n := float64(len(w))
	mu := arimaMean(w)
	var ss float64
	for _, v := range w {
		ss += (v - mu) * (v - mu)
	}
	if se := math.Sqrt(ss / n / n); math.Abs(mu) > 1.96*se {
		return mu
	}
	return 0
}

// arimaDifference returns y_t − y_{t−lag}, lag points shorter than y.
func arimaDifference(y []float64, lag int) []float64 {
	if len(y) <= lag {
		return nil
	}
	out := make([]float64, len(y)-lag)
	for i := range out {
		out[i] = y[i+lag] - y[i]
	}
	return out
}

// arimaMean is the mean of v, 0 for none.
func arimaMean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
