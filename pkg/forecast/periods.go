package forecast

import (
	"math"
	"time"

	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/kedastral/kedastral/pkg/series"
)

// periodCandidate is a seasonal period DetectPeriods looks for.
type periodCandidate struct {
	d time.Duration
	// minCycles is the number of full cycles the history must hold. An hour gets three because
	// two hours of noise hold many chance coincidences at a one-hour lag.
	minCycles int
	// perCycle is how many points per cycle the test looks at: the history is averaged over
	// blocks of steps so that a cycle is at least this many blocks, no more than needed.
	perCycle int
}

// periodCandidates are the periods DetectPeriods considers, shortest first. The quarter and
// the half hour are for cron jobs (a Kubernetes CronJob on "*/15 * * * *"): such a job repeats
// every hour too, but an hour's tests reject it, since its correlation is as high at half an
// hour as at an hour. At 5-minute steps a quarter hour is too short to detect. A day is examined
// at hourly means and a week at hourly means too, which average away any cycle of an hour or
// less: at 5-minute resolution an hourly cron job repeats at every lag of a whole number of
// hours, one day included, and would otherwise pass for a daily pattern.
var periodCandidates = [...]periodCandidate{
	{d: 15 * time.Minute, minCycles: 3, perCycle: 15},
	{d: 30 * time.Minute, minCycles: 3, perCycle: 30},
	{d: time.Hour, minCycles: 3, perCycle: 12},
	{d: 24 * time.Hour, minCycles: 2, perCycle: 24},
	{d: 7 * 24 * time.Hour, minCycles: 2, perCycle: 168},
}

const (
	// periodMinACF is the autocorrelation a period's lag must reach: the same phase one cycle
	// apart must explain at least about a third of the variance.
	periodMinACF = 0.3
	// periodMinACFTwoCycles replaces periodMinACF when the history holds only two cycles. The
	// correlation is then that of one cycle with the next, and two cycles of a random walk
	// often look like one sinusoid of the cycle's period: at 0.3, 2 days of a random walk pass
	// for a daily cycle about one time in ten; at 0.7, about one in a hundred, while 2-day
	// windows of the NASA trace still show their day three times in five.
	periodMinACFTwoCycles = 0.7
	// periodAlpha is the false alarm rate of the spectral test: the chance that a series
	// without the period has a spectral line above the threshold anywhere.
	periodAlpha = 0.01
	// periodMaxBlocks bounds the work per candidate: only the newest whole cycles that fit in
	// this many blocks are examined (for an hour at 1-minute steps: 56 days).
	periodMaxBlocks = 1 << 14
	// periodMinSteps is the shortest cycle, in steps, worth detecting: shorter ones are too
	// coarsely sampled for any seasonal method to use.
	periodMinSteps = 4
)

// DetectPeriods reports which of the candidate periods — a quarter hour, a half hour, an
// hour, a day, a week — history really has, in steps (durationSteps of each), ascending; empty
// when it has none. The engine calls it at every refit and hands the result to the methods' Fit.
//
// The history between its first and last finite values is gap-filled (fillGaps). A candidate
// of P steps is considered only when P >= 4 and the history holds at least two full cycles of
// it (three for an hour or less). The newest whole cycles (at most 2¹⁴ blocks, a count of
// cycles with no prime factor above 7 so the FFTs stay fast) are averaged over blocks of b
// steps, b the largest divisor of P leaving at least 15 blocks per quarter hour, 30 per half
// hour, 12 per hour, 24 per day and 168 per week (at 1-minute steps: the minutes themselves,
// then 5-minute, hourly and hourly means), and a least-squares line is removed.
// On that series y, of p = P/b blocks per cycle, the candidate is accepted when all of:
//
//   - ACF: the Pearson correlation r(p) between y and y shifted by one cycle is >= 0.3 (0.7
//     when the history holds only two cycles; see periodMinACFTwoCycles), and above r(p/2):
//     a cycle is a better match than half a cycle, which rejects trends and random walks,
//     whose correlation only falls with the lag.
//   - Peak: r has a peak at p, in the sense Crane's isPeak uses: the least-squares slope of r
//     over the lags [p-p/4, p] is positive and over [p, p+p/4] negative.
//   - Beyond the shorter period: when the next shorter candidate Q divides P (a day in a week)
//     and spans q >= 2 blocks, r(p) > r(p-q) and r(p) > r(p+q). A pure daily pattern matches
//     itself at 6, 7 and 8 days alike; a weekly one matches best at 7.
//   - Spectrum: the periodogram |Y(k)|² has a line above the significance threshold at the
//     cycle's frequency or one of its harmonics (k = h·cycles, h not a multiple of P/Q, so that
//     a week is not accepted on the strength of the daily harmonic alone). The threshold is that
//     of Crane's permutation test — the 99th percentile of the largest periodogram line of the
//     shuffled series — in closed form: shuffling makes every line, scaled by n·σ², an
//     exponential variable of mean 1, so the largest of M lines exceeds t with probability
//     1-(1-e^-t)^M. It is exact up to that large-sample approximation (a test checks it
//     against real shuffles) and deterministic without a random generator. The line must
//     also be a local peak, above both neighbouring bins.
//
// The ACF and the periodogram come from one FFT of the zero-padded series, so the cost is
// O(n log n) per candidate and bounded by periodMaxBlocks whatever the history's length.
//
// It returns nil for a non-positive step or a history without finite values.
func DetectPeriods(history series.Series) []int {
	if history.Step <= 0 {
		return nil
	}
	first, last := -1, -1
	for i, x := range history.Values {
		if finite(x) {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil
	}
	v := fillGaps(history.Values[first : last+1])
	var out []int
	shorter := 0 // the previous candidate's period in steps
	for _, c := range periodCandidates {
		p := durationSteps(c.d, history.Step)
		if p >= periodMinSteps && p != shorter && len(v) >= c.minCycles*p && periodHas(v, p, shorter, c) {
			out = append(out, p)
		}
		shorter = p
	}
	return out
}

// periodHas applies DetectPeriods' tests for the candidate c of p steps to the gap-free v.
// shorter is the next shorter candidate's period in steps, or 0.
func periodHas(v []float64, p, shorter int, c periodCandidate) bool {
	b := periodBlock(p, c.perCycle)
	pb := p / b
	cycles := periodSmooth(min(len(v)/p, periodMaxBlocks/pb))
	if cycles < c.minCycles {
		return false
	}
	n := cycles * pb
	y := make([]float64, n)
	off := len(v) - n*b
	for i := range y {
		s := 0.0
		for _, x := range v[off+i*b : off+(i+1)*b] {
			s += x
		}
		y[i] = s / float64(b)
	}
	periodDetrend(y)
	a := periodAnalyze(y)
	if !(a.variance > 0) {
		return false
	}

	w := max(2, pb/4)
	rp := a.r(pb)
	minACF := periodMinACF
	if cycles == 2 {
		minACF = periodMinACFTwoCycles
	}
	if !(rp >= minACF && rp > a.r(pb/2)) {
		return false
	}
	if !(periodSlope(a.r, pb-w, pb) > 0 && periodSlope(a.r, pb, min(pb+w, n-2)) < 0) {
		return false
	}
	harmonic := 0 // harmonics of the cycle that are harmonics of the shorter period too
	if shorter > 0 && p%shorter == 0 {
		harmonic = p / shorter
		if q := shorter / b; shorter%b == 0 && q >= 2 {
			if !(rp > a.r(pb-q)) || pb+q <= n-2 && !(rp > a.r(pb+q)) {
				return false
			}
		}
	}

	// Bins 1 … ⌈n/2⌉-1 are the ones Crane's test takes the maximum over.
	bins := (n+1)/2 - 1
	threshold := float64(n) * a.variance * float64(n) / float64(n-1) * periodMaxExpQuantile(bins, 1-periodAlpha)
	for h := 1; h*cycles <= bins; h++ {
		// Skip the shorter period's harmonics, and with two cycles the fundamental.
		if harmonic > 0 && h%harmonic == 0 {
			continue
		}
		k := h * cycles
		if a.power[k] > threshold && a.power[k] > a.power[k-1] && a.power[k] > a.power[k+1] {
			return true
		}
	}
	return false
}

// periodBlock is the largest divisor b of p with p/b >= perCycle (1 when p < perCycle).
func periodBlock(p, perCycle int) int {
	for b := p / perCycle; b > 1; b-- {
		if p%b == 0 {
			return b
		}
	}
	return 1
}

// periodSmooth is the largest n' <= n with no prime factor above 7, so that FFTs of lengths
// that are multiples of n' (times a cycle's length) are fast; 0 for n < 1.
func periodSmooth(n int) int {
	for ; n > 1; n-- {
		m := n
		for _, f := range [...]int{2, 3, 5, 7} {
			for m%f == 0 {
				m /= f
			}
		}
		if m == 1 {
			return n
		}
	}
	return max(n, 0)
}

// periodDetrend subtracts from y its least-squares line.
func periodDetrend(y []float64) {
	n := float64(len(y))
	if len(y) < 2 {
		return
	}
	var sy, sty float64
	for i, v := range y {
		sy += v
		sty += float64(i) * v
	}
	tm := (n - 1) / 2
	ym := sy / n
	stt := n * (n*n - 1) / 12 // Σ (i - tm)²
	slope := (sty - tm*sy) / stt
	for i := range y {
		y[i] -= ym + slope*(float64(i)-tm)
	}
}

// periodAnalysis holds the lag sums and the periodogram of a series.
type periodAnalysis struct {
	n        int
	lagSum   []float64 // lagSum[L] = Σ y[t]·y[t+L], for L < n
	prefix   []float64 // prefix[j] = Σ_{t<j} y[t]
	prefix2  []float64 // prefix2[j] = Σ_{t<j} y[t]²
	power    []float64 // power[k] = |Y(k)|² for the DFT of length n, k <= n/2
	variance float64   // population variance of y
}

// periodAnalyze computes the lag sums and periodogram of y from one FFT of y zero-padded to
// 2n: the padding makes the circular correlation a linear one for every lag below n, and the
// even bins of the padded transform are the bins of y's own.
func periodAnalyze(y []float64) periodAnalysis {
	n := len(y)
	a := periodAnalysis{n: n, prefix: make([]float64, n+1), prefix2: make([]float64, n+1)}
	for i, v := range y {
		a.prefix[i+1] = a.prefix[i] + v
		a.prefix2[i+1] = a.prefix2[i] + v*v
	}
	mean := a.prefix[n] / float64(n)
	a.variance = max(0, a.prefix2[n]/float64(n)-mean*mean)

	f := fourier.NewFFT(2 * n)
	padded := make([]float64, 2*n)
	copy(padded, y)
	coeff := f.Coefficients(nil, padded)
	a.power = make([]float64, n/2+1)
	for k := range a.power {
		c := coeff[2*k]
		a.power[k] = real(c)*real(c) + imag(c)*imag(c)
	}
	for k, c := range coeff {
		coeff[k] = complex(real(c)*real(c)+imag(c)*imag(c), 0)
	}
	lag := f.Sequence(padded, coeff)
	scale := 1 / float64(2*n)
	a.lagSum = lag[:n]
	for i := range a.lagSum {
		a.lagSum[i] *= scale
	}
	return a
}

// r is the Pearson correlation between y[0:n-L] and y[L:n]; 0 when either part is constant
// or L leaves fewer than two pairs.
func (a periodAnalysis) r(lag int) float64 {
	m := a.n - lag
	if lag < 0 || m < 2 {
		return 0
	}
	k := float64(m)
	headMean := a.prefix[m] / k
	tailMean := (a.prefix[a.n] - a.prefix[lag]) / k
	headVar := a.prefix2[m]/k - headMean*headMean
	tailVar := (a.prefix2[a.n]-a.prefix2[lag])/k - tailMean*tailMean
	if !(headVar > 0 && tailVar > 0) {
		return 0
	}
	r := (a.lagSum[lag]/k - headMean*tailMean) / math.Sqrt(headVar*tailVar)
	return max(-1, min(1, r))
}

// periodSlope is the least-squares slope of f(L) over L = lo … hi (NaN for fewer than two
// points, which fails every comparison).
func periodSlope(f func(int) float64, lo, hi int) float64 {
	n := float64(hi - lo + 1)
	if n < 2 {
		return math.NaN()
	}
	mid := float64(lo+hi) / 2
	var num, den float64
	for l := lo; l <= hi; l++ {
		d := float64(l) - mid
		num += d * f(l)
		den += d * d
	}
	return num / den
}

// periodMaxExpQuantile is the q-quantile of the largest of m independent exponential
// variables of mean 1: -ln(1 - q^(1/m)).
func periodMaxExpQuantile(m int, q float64) float64 {
	return -math.Log(-math.Expm1(math.Log(q) / float64(max(m, 1))))
}
