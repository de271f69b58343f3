package forecast

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// hwCase is a forecast checked against the truth: the method is fitted on fit, predicts the
// len(want) steps after hist, and its mean absolute error must stay below maxMAE.
type hwCase struct {
	m       Method
	fit     series.Series
	hist    series.Series // fit when empty
	periods []int
	want    []float64
	maxMAE  float64
}

// hwSplit returns the first n points of the series of f, and the next h values: a history
// and the truth after it.
func hwSplit(n, h int, step time.Duration, f func(int) float64) (series.Series, []float64) {
	all := synth(n+h, step, f)
	return series.Series{Start: all.Start, Step: step, Values: all.Values[:n]}, all.Values[n:]
}

// hwMAE is the mean absolute error of got against want.
func hwMAE(got, want []float64) float64 {
	var sum float64
	for i := range want {
		sum += math.Abs(got[i] - want[i])
	}
	return sum / float64(len(want))
}

func hwRunCases(t *testing.T, cases map[string]hwCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			hist := tc.hist
			if hist.Len() == 0 {
				hist = tc.fit
			}
			got := predict(t, tc.m, tc.fit, tc.periods, hist, len(tc.want))
			mae := hwMAE(got, tc.want)
			t.Logf("%s: MAE %.4g (limit %.4g)", tc.m.Name(), mae, tc.maxMAE)
			if !(mae < tc.maxMAE) {
				t.Errorf("%s: MAE of Predict(%d points, %d steps) = %.4g, want < %.4g", tc.m.Name(), hist.Len(), len(tc.want), mae, tc.maxMAE)
			}
		})
	}
}

// hwLinear is a + b·i.
func hwLinear(a, b float64) func(int) float64 {
	return func(i int) float64 { return a + b*float64(i) }
}

// hwStep is f, plus jump from index at on.
func hwStep(f func(int) float64, at int, jump float64) func(int) float64 {
	return func(i int) float64 {
		if i >= at {
			return f(i) + jump
		}
		return f(i)
	}
}

func TestHoltWintersGolden(t *testing.T) {
	const day5 = 288 // a day at 5-minute steps
	sineHist, sineNext := hwSplit(4*day5, day5, 5*time.Minute, sine(100, 50, day5))
	lineHist, lineNext := hwSplit(500, 30, time.Minute, hwLinear(10, 0.5))
	// A noisy daily load whose level doubles for the last hour: fitted before the jump, the
	// Predictor must follow it from the newer history.
	stepF := hwStep(withNoise(sine(100, 30, day5), 3, 7), 3*day5+228, 100)
	stepHist, stepNext := hwSplit(4*day5, 12, 5*time.Minute, stepF)
	stepFit := stepHist.Before(stepHist.Time(3 * day5))
	flatHist, flatNext := hwSplit(2000, 30, time.Minute, hwStep(withNoise(func(int) float64 { return 50 }, 2, 8), 1940, 50))

	hwRunCases(t, map[string]hwCase{
		// 2% of the amplitude: hwInit smooths the initial indices, which flattens a sine's
		// peaks a little until the recursion has seen a few of them.
		"additive sine, next season": {
			m: newHoltWinters(hwAdditive, true), fit: sineHist, periods: []int{day5}, want: sineNext,
			maxMAE: 1,
		},
		"additive sine, undamped": {
			m: newHoltWinters(hwAdditive, false), fit: sineHist, periods: []int{day5}, want: sineNext,
			maxMAE: 1,
		},
		"multiplicative on an additive sine": {
			m: newHoltWinters(hwMultiplicative, true), fit: sineHist, periods: []int{day5}, want: sineNext,
			maxMAE: 1,
		},
		"linear trend, undamped continues it": {
			m: newHoltWinters(hwAdditive, false), fit: lineHist, want: lineNext,
			maxMAE: 0.01,
		},
		// A damped trend bends the line by design: at φ = 0.98 the 30th step is 7.5 short of
		// the line's 15 (the steps add 0.5·Σφᵏ rather than 0.5·k).
		"linear trend, damped follows it": {
			m: newHoltWinters(hwAdditive, true), fit: lineHist, want: lineNext,
			maxMAE: 2.5,
		},
		"linear trend with a season given": {
			m: newHoltWinters(hwAdditive, false), fit: lineHist, periods: []int{60}, want: lineNext,
			maxMAE: 0.05,
		},
		"step change, level follows": {
			m: newHoltWinters(hwAdditive, true), fit: stepFit, hist: stepHist, periods: []int{day5}, want: stepNext,
			maxMAE: 10, // the jump is 100, the noise sd 3
		},
		"step change without season": {
			m: newHoltWinters(hwAdditive, true), fit: flatHist.Before(flatHist.Time(1900)), hist: flatHist, want: flatNext,
			maxMAE: 5,
		},
		"step change, multiplicative": {
			m: newHoltWinters(hwMultiplicative, true), fit: stepFit, hist: stepHist, periods: []int{day5}, want: stepNext,
			maxMAE: 15,
		},
	})
}

func TestHoltWintersMultiplicativeBeatsAdditive(t *testing.T) {
	const day5 = 288
	// The daily swing is ±60% of a level that triples over five days.
	f := withNoise(func(i int) float64 {
		level := 50 + 100*float64(i)/float64(5*day5)
		return level * (1 + 0.6*math.Sin(2*math.Pi*float64(i)/day5))
	}, 1, 9)
	hist, next := hwSplit(4*day5, day5, 5*time.Minute, f)
	mae := map[string]float64{}
	for _, m := range []Method{newHoltWinters(hwAdditive, true), newHoltWinters(hwMultiplicative, true)} {
		mae[m.Name()] = hwMAE(predict(t, m, hist, []int{day5}, hist, day5), next)
	}
	add, mult := mae["holt_winters"], mae["holt_winters_multiplicative"]
	t.Logf("next-day MAE: additive %.3f, multiplicative %.3f", add, mult)
	if !(mult < add) {
		t.Errorf("multiplicative MAE = %.4g, want < additive MAE %.4g", mult, add)
	}
}

// TestHoltWintersAdditiveOnBatchWindow is the case for the additive default: a load that is
// zero but for a daily batch window, forecast 15 minutes and 1 hour ahead from every origin of
// the last four days of two weeks.
func TestHoltWintersAdditiveOnBatchWindow(t *testing.T) {
	const day = 288
	noise := withNoise(func(int) float64 { return 0 }, 10, 5)
	s := synth(14*day, 5*time.Minute, func(i int) float64 {
		if p := i % day; p >= 86 && p < 101 { // 07:10 to 08:25
			return 100 + noise(i)
		}
		return 0
	})
	for _, h := range []int{3, 12} {
		add, naive := hwBacktest(t, newHoltWinters(hwAdditive, true), s, []int{day}, 10*day, h, 1)
		mult, _ := hwBacktest(t, newHoltWinters(hwMultiplicative, true), s, []int{day}, 10*day, h, 1)
		t.Logf("%d steps ahead: MAE additive %.2f, multiplicative %.2f, last value %.2f", h, add, mult, naive)
		if !(add < mult) {
			t.Errorf("%d steps ahead: additive MAE = %.4g, want < multiplicative MAE %.4g", h, add, mult)
		}
	}
}

func TestHoltWintersName(t *testing.T) {
	tests := map[string]struct {
		seasonal string
		damped   bool
		want     string
	}{
		"default":                  {seasonal: hwAdditive, damped: true, want: "holt_winters"},
		"undamped":                 {seasonal: hwAdditive, damped: false, want: "holt_winters_undamped"},
		"multiplicative":           {seasonal: hwMultiplicative, damped: true, want: "holt_winters_multiplicative"},
		"multiplicative, undamped": {seasonal: hwMultiplicative, damped: false, want: "holt_winters_multiplicative_undamped"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := newHoltWinters(tc.seasonal, tc.damped).Name(); got != tc.want {
				t.Errorf("newHoltWinters(%q, %v).Name() = %q, want %q", tc.seasonal, tc.damped, got, tc.want)
			}
		})
	}
}

func TestHoltWintersFitErrors(t *testing.T) {
	tests := map[string]struct {
		m    Method
		s    series.Series
		want string
	}{
		"unknown seasonality": {
			m: newHoltWinters("geometric", true), s: synth(10, time.Minute, sine(1, 1, 5)), want: "unknown seasonality",
		},
		"no finite value": {
			m: newHoltWinters(hwAdditive, true), s: synth(10, time.Minute, func(int) float64 { return math.NaN() }), want: ErrNoData.Error(),
		},
		"empty": {
			m: newHoltWinters(hwAdditive, true), s: synth(0, time.Minute, nil), want: ErrNoData.Error(),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tc.m.Fit(tc.s, []int{5})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Fit() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestHoltWintersFallback checks the guards: a state that diverges and a history with no
// finite value in the span Predict looks at.
func TestHoltWintersFallback(t *testing.T) {
	day := 1440
	diverging := synth(100, time.Minute, func(i int) float64 { return float64(i%10) * 1e300 })
	quiet := synth(16*day, time.Minute, func(i int) float64 {
		if i < day {
			return 42
		}
		return math.NaN()
	})
	tests := map[string]struct {
		p    Predictor
		hist series.Series
		want float64
	}{
		"diverging parameters forecast the last value": {
			p:    hwPredictor{spec: hwSpec{m1: 10}, par: hwParams{alpha: 1, beta: 1, gamma1: 1, phi: 1, ar: 1e300}},
			hist: diverging,
			want: diverging.Values[99],
		},
		"the last two weeks are a gap": {
			p:    hwPredictor{spec: hwSpec{m1: day}, par: hwDefaultParams(hwSpec{m1: day})},
			hist: quiet,
			want: 42,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dst := make([]float64, 5)
			tc.p.Predict(tc.hist, dst)
			for i, v := range dst {
				if v != tc.want {
					t.Fatalf("Predict()[%d] = %v, want %v", i, v, tc.want)
				}
			}
		})
	}
}

func TestHoltWintersContract(t *testing.T) {
	for _, m := range []Method{
		newHoltWinters(hwAdditive, true),
		newHoltWinters(hwMultiplicative, true),
		newHoltWinters(hwAdditive, false),
	} {
		t.Run(m.Name(), func(t *testing.T) { checkMethodContract(t, m) })
	}
}

// hwBacktest fits m on the first fitN points of s, then at every stride-th origin after them
// forecasts the next h steps from the history up to the origin. It returns the mean absolute
// error over those steps of m and of the last value.
func hwBacktest(t testing.TB, m Method, s series.Series, periods []int, fitN, h, stride int) (mae, naive float64) {
	t.Helper()
	p, err := m.Fit(series.Series{Start: s.Start, Step: s.Step, Values: s.Values[:fitN]}, periods)
	if err != nil {
		t.Fatalf("%s.Fit() error = %v", m.Name(), err)
	}
	dst := make([]float64, h)
	var sum, sumNaive float64
	n := 0
	for o := fitN; o+h <= s.Len(); o += stride {
		hist := series.Series{Start: s.Start, Step: s.Step, Values: s.Values[:o]}
		p.Predict(hist, dst)
		last, _, _ := hist.Last()
		for k, want := range s.Values[o : o+h] {
			if !finite(want) {
				continue
			}
			sum += math.Abs(clamp(dst[k]) - want)
			sumNaive += math.Abs(last - want)
			n++
		}
	}
	return sum / float64(n), sumNaive / float64(n)
}

// TestHoltWintersNASA reports how the methods do on three days of real traffic: fitted on the
// first two, forecasting 15 minutes ahead from every origin of the third.
func TestHoltWintersNASA(t *testing.T) {
	s := nasaFixture(t)
	day := 1440
	for _, m := range []Method{
		newHoltWinters(hwAdditive, true),
		newHoltWinters(hwMultiplicative, true),
		newHoltWinters(hwAdditive, false),
	} {
		t.Run(m.Name(), func(t *testing.T) {
			mae, naive := hwBacktest(t, m, s, []int{day}, 2*day, 15, 5)
			t.Logf("%s: MAE over 15 steps %.2f, last value %.2f, ratio %.3f", m.Name(), mae, naive, mae/naive)
			if !(mae < 3*naive) {
				t.Errorf("%s: MAE = %.4g, want < 3 × last-value MAE %.4g", m.Name(), mae, naive)
			}
		})
	}
}

// TestHWRunAdditiveIsTheGeneralRun: the additive one-season recursion must give exactly what the
// general one gives — the same state, bit for bit, and the same sum of squares — with and
// without a season, a trend, an AR term and gaps.
func TestHWRunAdditiveIsTheGeneralRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	w := make([]float64, 3000)
	for i := range w {
		w[i] = 100 + 30*math.Sin(2*math.Pi*float64(i)/144) + 10*rng.NormFloat64()
		if i%97 == 5 { // hwInit wants the first value finite
			w[i] = math.NaN()
		}
	}
	for name, spec := range map[string]hwSpec{
		"daily season":              {m1: 144, damped: true, ar: true},
		"no season":                 {damped: true},
		"season, no trend damping":  {m1: 144},
		"season of two steps, AR":   {m1: 2, ar: true},
		"seasonal, every parameter": {m1: 144, damped: true, ar: true},
	} {
		t.Run(name, func(t *testing.T) {
			for trial := range 20 {
				p := hwParams{alpha: rng.Float64(), beta: rng.Float64() / 2, gamma1: rng.Float64() / 3, phi: 1, ar: 0}
				if spec.damped {
					p.phi = 0.8 + rng.Float64()/5
				}
				if spec.ar {
					p.ar = rng.Float64() - 0.5
				}
				if spec.m1 == 0 {
					p.gamma1 = 0
				}
				init := hwInit(spec, w)
				fast, slow := init.clone(), init.clone()
				a, b := hwRun(false, p, w, &fast), hwRunAny(false, p, w, &slow)
				if !slicesEqualBits([]float64{a, fast.level, fast.trend, fast.err}, []float64{b, slow.level, slow.trend, slow.err}) ||
					!slicesEqualBits(fast.s1, slow.s1) || !slicesEqualBits(fast.s2, slow.s2) || math.IsNaN(a) {
					t.Fatalf("trial %d, %+v: sse %v against %v, level %v against %v, trend %v against %v",
						trial, p, a, b, fast.level, slow.level, fast.trend, slow.trend)
				}
			}
		})
	}
}

func slicesEqualBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}
