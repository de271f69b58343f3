package forecast

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/kedastral/kedastral/pkg/series"
)

// fftDSP is the DSP forecaster of Crane's Effective HPA (gocrane/crane, pkg/prediction/dsp),
// reproduced step by step so that Kedastral's own methods can be measured against it:
//
//  1. Preprocessing (Crane's fillMissingData and removeExtremeOutliers). Fit uses the last
//     15 days of history: Crane's documented example sets historyLength to 15d; its built-in
//     default, 7d, could never show a week twice. Everything before the last gap of more than
//     an hour between samples is dropped (so steps above an hour, which Crane refuses, leave
//     one sample and no period) and shorter gaps are filled linearly. With at least
//     1000 samples, values above the 99.9th or below the 0.1th percentile (Crane's percentile:
//     montanaflynn/stats) are replaced by the value before them.
//  2. Period detection (Crane's Signal.FindPeriod). A day is tried, then a week: the newest
//     whole cycles, at least two, are taken, and their spectrum is compared with a
//     permutation threshold, the 99th percentile of the largest spectral line of 100 random
//     shuffles of the series. Every line above it, from the second bin on, proposes the period
//     N/k; a proposal stands when the circular autocorrelation has a peak there
//     (least-squares slopes rising on the left and falling on the right, over min(4 h, N/k/2)
//     lags), and the standing proposal with the highest autocorrelation is the period. The
//     candidate is found when that period is the candidate's. Crane seeds the shuffles from
//     the clock; they are seeded from the data here, so that a fit is reproducible.
//  3. Estimators. Given the period, next-cycle estimators compete:
//     - fft (Crane's fftEstimator): the spectrum of the cycles keeps every component slower
//     than an hour, and faster ones only when their amplitude (|X(k)|/N, in the metric's own
//     unit) reaches a cut: the amplitude of the 100th strongest or lowAmplitude, whichever
//     is larger, but never above the minItems-th strongest. The last cycle of the inverse
//     FFT, floored at 0.01, is the estimate. Two settings, those of Crane's default
//     estimators: {minItems 3, lowAmplitude 1.0} and {minItems 50, lowAmplitude 0.05}. Crane
//     filters the full complex spectrum against a frequency axis that only holds for its
//     first half, so a slow component below the cut keeps its positive frequency and loses
//     its mirror: its real inverse is half the component. That is reproduced.
//     - maxValue (Crane's maxValueEstimator): the largest value at the same phase over the
//     cycles.
//     Each is fitted on all cycles but the last and scored on the last with Crane's error:
//     the mean absolute percentage error with under-forecasts amplified (-ln(1-x)/ln 1.25),
//     or the mean absolute error when an actual value is below 0.001. The best one, refitted
//     on all cycles, gives the template: the forecast for each phase of the cycle.
//  4. Forecast. Crane computes the next cycle at each update (every 12 h by default) and serves
//     the part of it a query asks for; it does not adjust it to newer data. Predict does the
//     same: it looks the template up at each future step's phase — the step's index since
//     the Unix epoch, modulo the period, so that a Predictor fitted yesterday maps today's
//     steps to the right phase — and repeats the cycle where Crane's would run out.
//
// Where Crane finds no period it forecasts nothing. A Method must forecast, so then Predict
// gives the last finite value of its history: the naive forecast.
//
// Departures from Crane, each deliberate:
//   - Crane's default estimators multiply their estimate by 1+margin, with margins of 0.01
//     to 0.20, to over-provision. A Kedastral point forecast should be unbiased — the Engine
//     calibrates the upper quantile — so the margin is 0 unless margins says otherwise.
//   - maxValue competes by default; in Crane it runs only when configured.
//   - The periods Fit is given are ignored: Crane detects its own, a day or a week. (Crane's
//     prediction.go has, depending on the version, gated the forecast on Signal.IsPeriodic —
//     the strongest spectral line at the period — and later tried an hour too; this follows
//     FindPeriod, the permutation and autocorrelation test its documentation describes.)
//   - With levelSteps > 0, Predict shifts the template by the mean difference between the
//     last levelSteps actual values and the template at their phases, so that the newest data
//     sets the level as the Method contract asks. Crane does not; neither does the default.
//
// The zero value is ready to use. It is safe for concurrent use.
type fftDSP struct {
	// levelSteps is how many of the newest steps set the forecast's level; 0 (the default,
	// Crane's behaviour) leaves the template as fitted.
	levelSteps int
	// margins are the margin fractions every estimator is tried with; nil means {0}. Crane's
	// defaults are {0.01, 0.10, 0.15, 0.20}.
	margins []float64
	// history is how much of the newest history Fit uses; 0 means fftHistory.
	history time.Duration
}

var _ Method = fftDSP{}

const (
	// fftHistory is the history Fit uses by default: Crane's documented historyLength.
	fftHistory = 15 * 24 * time.Hour
	// fftMaxGap is the longest gap between samples Crane fills; it drops the data before a
	// longer one.
	fftMaxGap = time.Hour
	// fftShuffles is the number of random permutations behind the spectral threshold, and
	// fftShuffleRank the rank of the threshold among their maxima (the 99th percentile).
	fftShuffles    = 100
	fftShuffleRank = 98
	// fftPeakSearch bounds the lags on either side of a proposed period that its
	// autocorrelation peak is judged over.
	fftPeakSearch = 4 * time.Hour
	// fftSlowest is the period above which the fft estimator keeps every component.
	fftSlowest = time.Hour
	// fftMinValue is the floor of the fft estimator's values.
	fftMinValue = 0.01
)

// fftCandidates are the periods Crane looks for, in the order it tries them.
var fftCandidates = [...]time.Duration{24 * time.Hour, 7 * 24 * time.Hour}

// fftEstimator is one of Crane's next-cycle estimators.
type fftEstimator struct {
	// maxValue selects the largest value at the same phase over the cycles; otherwise the
	// estimate is the FFT low-pass of the cycles.
	maxValue bool
	// minItems and maxItems bound how many components faster than an hour the FFT keeps,
	// and lowAmplitude is the amplitude they need when between those bounds.
	minItems, maxItems int
	lowAmplitude       float64
	// margin scales the estimate by 1+margin.
	margin float64
}

// fftEstimatorKinds are the estimators tried, before margins: Crane's two default fft
// settings and maxValue.
var fftEstimatorKinds = [...]fftEstimator{
	{minItems: 3, maxItems: 100, lowAmplitude: 1.0},
	{minItems: 50, maxItems: 100, lowAmplitude: 0.05},
	{maxValue: true},
}

func (fftDSP) Name() string { return FFTDSP }

// Fit detects the period, chooses the estimator and computes the template. It never fails:
// without a period (or with a history Crane would not forecast from) the Predictor forecasts
// the last value.
func (m fftDSP) Fit(history series.Series, _ []int) (Predictor, error) {
	last, _, _ := history.Last()
	naive := fftPredictor{last: last}
	if history.Step <= 0 {
		return naive, nil
	}
	maxHistory := m.history
	if maxHistory <= 0 {
		maxHistory = fftHistory
	}
	s, first := fftPreprocess(history, maxHistory)
	period := fftDetect(s, history.Step)
	if period == 0 {
		return naive, nil
	}
	signal := s[len(s)-len(s)/period*period:]
	est := fftChoose(m.estimators(), signal, period, history.Step)
	// The estimate is for the cycle right after s, whose first step has index first+len(s)
	// in history.
	next := fftStepIndex(history.Start, history.Step) + int64(first+len(s))
	template := make([]float64, period)
	for j, v := range est.estimate(signal, period, history.Step) {
		if !finite(v) {
			return naive, nil
		}
		template[fftMod(next+int64(j), period)] = v
	}
	return fftPredictor{last: last, step: history.Step, template: template, levelSteps: m.levelSteps}, nil
}

// estimators are the estimator kinds, each with every margin.
func (m fftDSP) estimators() []fftEstimator {
	margins := m.margins
	if len(margins) == 0 {
		margins = []float64{0}
	}
	out := make([]fftEstimator, 0, len(fftEstimatorKinds)*len(margins))
	for _, e := range fftEstimatorKinds {
		for _, mg := range margins {
			e.margin = mg
			out = append(out, e)
		}
	}
	return out
}

// fftPredictor is a fitted fftDSP. It is immutable, so safe for concurrent use.
type fftPredictor struct {
	// last is the fit history's last finite value: the forecast when Predict's history has
	// none.
	last float64
	// step is the fit's step, and template the forecast for each phase (a step's index since
	// the Unix epoch modulo len(template)); nil without a period.
	step     time.Duration
	template []float64
	// levelSteps: see fftDSP.
	levelSteps int
}

func (p fftPredictor) Predict(history series.Series, dst []float64) {
	last, _, ok := history.Last()
	if !ok {
		last = p.last
	}
	if p.template == nil || history.Step != p.step {
		for i := range dst {
			dst[i] = last
		}
		return
	}
	period := len(p.template)
	n := history.Len()
	next := fftStepIndex(history.Start, p.step) + int64(n) // the index of dst[0]'s step
	shift := 0.0
	if p.levelSteps > 0 {
		sum, count := 0.0, 0
		for j := max(0, n-p.levelSteps); j < n; j++ {
			if v := history.Values[j]; finite(v) {
				sum += v - p.template[fftMod(next-int64(n-j), period)]
				count++
			}
		}
		if count > 0 {
			shift = sum / float64(count)
		}
	}
	for i := range dst {
		v := p.template[fftMod(next+int64(i), period)] + shift
		if !finite(v) {
			v = last
		}
		dst[i] = v
	}
}

// fftPreprocess is Crane's preprocessing of the newest maxHistory of history: it returns the
// values from just after the last gap longer than fftMaxGap to the last finite value, gaps
// filled and extreme outliers replaced, and the index in history of the first one. It returns
// no values when history has no finite one.
func fftPreprocess(history series.Series, maxHistory time.Duration) (s []float64, first int) {
	v := history.Values
	maxGap := int(fftMaxGap / history.Step) // a gap is too long when i-prev > maxGap
	first, last := -1, -1
	for i := max(0, len(v)-durationSteps(maxHistory, history.Step)); i < len(v); i++ {
		if !finite(v[i]) {
			continue
		}
		if first < 0 || i-last > maxGap {
			first = i
		}
		last = i
	}
	if first < 0 {
		return nil, 0
	}
	s = fillGaps(v[first : last+1])
	fftRemoveOutliers(s)
	return s, first
}

// fftRemoveOutliers replaces, from the second value on, every value above the 99.9th or below
// the 0.1th percentile with the value before it, as Crane does. Crane gives up when a
// percentile is undefined (fewer than 1000 values for the 0.1th), and so does this.
func fftRemoveOutliers(s []float64) {
	sorted := slices.Sorted(slices.Values(s))
	hi, okHi := fftPercentile(sorted, 99.9)
	lo, okLo := fftPercentile(sorted, 0.1)
	if !okHi || !okLo {
		return
	}
	for i := 1; i < len(s); i++ {
		if s[i] > hi || s[i] < lo {
			s[i] = s[i-1]
		}
	}
}

// fftPercentile is montanaflynn/stats.Percentile, which Crane uses, of the sorted values: the
// value at rank percent·n when that is whole, else the mean of the values at the ranks around
// it, undefined below rank 1.
func fftPercentile(sorted []float64, percent float64) (float64, bool) {
	n := len(sorted)
	switch {
	case n == 0:
		return 0, false
	case n == 1:
		return sorted[0], true
	}
	index := percent / 100 * float64(n)
	i := int(index)
	switch {
	case index == float64(i) && i >= 1:
		return sorted[i-1], true
	case index > 1:
		return (sorted[i-1] + sorted[i]) / 2, true
	}
	return 0, false
}

// fftDetect returns the first of fftCandidates, in steps, that fftFindPeriod finds in the
// newest whole cycles of s (at least two), or 0.
func fftDetect(s []float64, step time.Duration) int {
	n, found := 0, -1 // the length fftFindPeriod last examined, and its answer
	for _, d := range fftCandidates {
		p := durationSteps(d, step)
		cycles := len(s) / p
		if cycles < 2 {
			continue
		}
		if cycles*p != n { // else the same newest cycles, as with 14 days of history
			n = cycles * p
			found = fftFindPeriod(s[len(s)-n:], step)
		}
		if found == p {
			return p
		}
	}
	return 0
}

// fftFindPeriod is Crane's Signal.FindPeriod: the period of x in steps, or -1. See fftDSP.
func fftFindPeriod(x []float64, step time.Duration) int {
	n := len(x)
	mean, sd := fftMeanSD(x)
	if n < 4 || !(sd > 0) {
		return -1
	}
	f := fourier.NewFFT(n)
	coeff := make([]complex128, n/2+1)

	// The threshold: the 99th percentile, over shuffles, of the largest line in bins
	// 1 … n/2-1. Squared magnitudes compare as the magnitudes do, and cost no square root.
	seed := fftSeed(x)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	shuffled := slices.Clone(x)
	maxima := make([]float64, fftShuffles)
	for i := range maxima {
		rng.Shuffle(n, func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		f.Coefficients(coeff, shuffled)
		for _, c := range coeff[1 : n/2] {
			maxima[i] = max(maxima[i], real(c)*real(c)+imag(c)*imag(c))
		}
	}
	slices.Sort(maxima)
	threshold := maxima[fftShuffleRank]

	f.Coefficients(coeff, x)
	var proposals []int
	for k := 2; k < n/2; k++ {
		c := coeff[k]
		if real(c)*real(c)+imag(c)*imag(c) > threshold && (len(proposals) == 0 || proposals[len(proposals)-1] > n/k) {
			proposals = append(proposals, n/k)
		}
	}
	if len(proposals) == 0 {
		return -1
	}

	// The circular autocorrelation of the standardized series, IFFT(|FFT(z)|²)/n.
	z := make([]float64, n)
	for i, v := range x {
		z[i] = (v - mean) / sd
	}
	f.Coefficients(coeff, z)
	for k, c := range coeff {
		coeff[k] = complex(real(c)*real(c)+imag(c)*imag(c), 0)
	}
	acf := f.Sequence(z, coeff)
	norm := 1 / (float64(n) * float64(n)) // Sequence is unnormalized: n·IFFT
	for i := range acf {
		acf[i] *= norm
	}

	search := int(fftPeakSearch / step)
	best, bestACF := -1, 0.0
	for _, p := range proposals {
		if fftIsPeak(acf, p, min(search, p/2)) && bestACF < acf[p] {
			best, bestACF = p, acf[p]
		}
	}
	return best
}

// fftIsPeak is Crane's isPeak: the least-squares slope of x over [i-k, i] is positive and over
// [i, i+k] negative (clipped to x). As in Crane, a slope over a single point (NaN) fails
// neither test.
func fftIsPeak(x []float64, i, k int) bool {
	n := len(x)
	if i < 1 || i > n-1 {
		return false
	}
	at := func(j int) float64 { return x[j] }
	if periodSlope(at, max(0, i-k), i) <= 0 {
		return false
	}
	return !(periodSlope(at, i, min(n-1, i+k)) >= 0)
}

// fftChoose is Crane's bestEstimator: the estimator whose estimate from all cycles of signal
// but the last has the smallest fftPredictionError on the last. Ties go to the earlier; when
// no error is finite, the first.
func fftChoose(ests []fftEstimator, signal []float64, period int, step time.Duration) fftEstimator {
	cut := len(signal) - period
	best, bestErr := ests[0], math.MaxFloat64
	for _, e := range ests {
		if pe := fftPredictionError(signal[cut:], e.estimate(signal[:cut], period, step)); pe < bestErr {
			best, bestErr = e, pe
		}
	}
	return best
}

// fftPredictionError is Crane's accuracy.PredictionError: the mean absolute percentage error
// with under-forecasts amplified, -ln(1-x)/ln(1.25) for a relative shortfall x, or the mean
// absolute error when an actual value is below 0.001. Infinite or NaN for a forecast <= 0
// under a positive actual value, which then never wins.
func fftPredictionError(actual, predicted []float64) float64 {
	var e float64
	if slices.ContainsFunc(actual, func(a float64) bool { return a < 1e-3 }) {
		for i, a := range actual {
			e += math.Abs(a - predicted[i])
		}
		return e / float64(len(actual))
	}
	for i, a := range actual {
		if p := predicted[i]; p < a {
			e += -math.Log(1-(a-p)/a) / math.Log(1.25)
		} else {
			e += (p - a) / a
		}
	}
	return e / float64(len(actual))
}

// estimate is the estimator's forecast for the period steps after x, which holds whole cycles.
func (e fftEstimator) estimate(x []float64, period int, step time.Duration) []float64 {
	n := len(x)
	out := make([]float64, period)
	if e.maxValue {
		for i := range out {
			j := n - period + i
			v := x[j]
			for ; j >= 0; j -= period {
				v = max(v, x[j])
			}
			out[i] = v * (1 + e.margin)
		}
		return out
	}

	f := fourier.NewFFT(n)
	coeff := f.Coefficients(nil, x)
	scale := 1 / float64(n)
	// The amplitude cut, from the amplitudes of bins 1 … n/2-1, strongest first.
	amps := make([]float64, 0, n/2)
	for _, c := range coeff[1:max(1, n/2)] {
		amps = append(amps, cmplx.Abs(c)*scale)
	}
	slices.Sort(amps)
	slices.Reverse(amps)
	cut := 0.0
	if len(amps) > 0 {
		cut = amps[min(e.maxItems, len(amps))-1]
		cut = max(cut, e.lowAmplitude)
		if len(amps) >= e.minItems && amps[e.minItems-1] < cut {
			cut = amps[e.minItems-1]
		}
	}
	// Crane keeps bin k of the full spectrum when its amplitude reaches the cut or k/(n·step)
	// is at most 1/hour; bin n-k is k's mirror image, and k's component survives in
	// proportion to how many of the two are kept.
	slowest := float64(n) * step.Seconds() / fftSlowest.Seconds()
	kept := func(k int, amp float64) bool { return amp >= cut || float64(k) <= slowest }
	for k, c := range coeff {
		amp := cmplx.Abs(c) * scale
		own, mirror := kept(k, amp), kept(n-k, amp)
		switch {
		case k == 0 || 2*k == n: // its own mirror
			if !own {
				coeff[k] = 0
			}
		case own && mirror:
		case own || mirror:
			coeff[k] = c / 2
		default:
			coeff[k] = 0
		}
	}
	y := f.Sequence(nil, coeff)
	for i := range out {
		a := y[n-period+i] * scale
		if a <= 0 {
			a = fftMinValue
		}
		out[i] = a * (1 + e.margin)
	}
	return out
}

// fftMeanSD is the mean and population standard deviation of x.
func fftMeanSD(x []float64) (mean, sd float64) {
	if len(x) == 0 {
		return 0, 0
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		sd += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(sd / float64(len(x)))
}

// fftSeed hashes x (FNV-1a over the bits of its values) into a seed, so that the permutation
// threshold is random but the same for the same data.
func fftSeed(x []float64) uint64 {
	h := uint64(14695981039346656037)
	for _, v := range x {
		h ^= math.Float64bits(v)
		h *= 1099511628211
	}
	return h
}

// fftStepIndex is the index of the step containing t on a grid of step since the Unix epoch.
func fftStepIndex(t time.Time, step time.Duration) int64 {
	ns, d := t.UnixNano(), int64(step)
	q := ns / d
	if ns%d < 0 {
		q--
	}
	return q
}

// fftMod is i modulo p, in [0, p).
func fftMod(i int64, p int) int {
	m := int(i % int64(p))
	if m < 0 {
		m += p
	}
	return m
}
