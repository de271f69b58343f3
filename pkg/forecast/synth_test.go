package forecast

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// Shared test fixtures for every method's tests. Method-specific helpers are prefixed with the
// method's name, so that the tests of different methods never collide.

// synthStart is the first instant of every synthetic series.
var synthStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday

// synth builds a series of n points at step whose value at index i is f(i).
func synth(n int, step time.Duration, f func(i int) float64) series.Series {
	v := make([]float64, n)
	for i := range v {
		v[i] = f(i)
	}
	return series.Series{Start: synthStart, Step: step, Values: v}
}

// sine is level + amp·sin(2πi/period).
func sine(level, amp float64, period int) func(int) float64 {
	return func(i int) float64 { return level + amp*math.Sin(2*math.Pi*float64(i)/float64(period)) }
}

// withNoise adds Gaussian noise of standard deviation sd, seeded so tests are deterministic.
func withNoise(f func(int) float64, sd float64, seed uint64) func(int) float64 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	cache := map[int]float64{}
	return func(i int) float64 {
		if _, ok := cache[i]; !ok {
			cache[i] = r.NormFloat64() * sd
		}
		return f(i) + cache[i]
	}
}

// nasaFixture is three days of the NASA HTTP trace at 1-minute steps (testdata/README.md).
func nasaFixture(t testing.TB) series.Series {
	t.Helper()
	f, err := os.Open("testdata/nasa_http_1995_07_05-07_1min.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	samples, err := series.ReadCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	s, err := series.Grid(samples, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// predict fits m on fit and forecasts horizon steps after hist, failing the test on error.
func predict(t testing.TB, m Method, fit series.Series, periods []int, hist series.Series, horizon int) []float64 {
	t.Helper()
	p, err := m.Fit(fit, periods)
	if err != nil {
		t.Fatalf("%s.Fit() error = %v", m.Name(), err)
	}
	dst := make([]float64, horizon)
	p.Predict(hist, dst)
	for i, v := range dst {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("%s.Predict()[%d] = %v, want finite", m.Name(), i, v)
		}
	}
	return dst
}

// checkMethodContract runs m on hostile inputs — gaps, a single finite value, zeros, spikes,
// short histories, 1- and 5-minute steps — and checks that Fit succeeds and Predict writes
// only finite values. Every method's tests call it.
func checkMethodContract(t *testing.T, m Method) {
	t.Helper()
	day := 1440
	cases := map[string]struct {
		s       series.Series
		periods []int
	}{
		"three days with a daily cycle": {synth(3*day, time.Minute, withNoise(sine(100, 50, day), 5, 1)), []int{day}},
		"a week at 5 minutes":           {synth(7*288, 5*time.Minute, withNoise(sine(100, 50, 288), 5, 2)), []int{288, 7 * 288}},
		"shorter than a season":         {synth(100, time.Minute, sine(10, 5, day)), []int{day}},
		"one point":                     {synth(1, time.Minute, func(int) float64 { return 7 }), nil},
		"all zeros":                     {synth(2*day, time.Minute, func(int) float64 { return 0 }), []int{day}},
		"constant":                      {synth(2*day, time.Minute, func(int) float64 { return 42 }), []int{day}},
		"gaps": {synth(2*day, time.Minute, func(i int) float64 {
			if i%7 == 0 || (i > 500 && i < 900) {
				return math.NaN()
			}
			return 50 + float64(i%60)
		}), []int{day}},
		"only the first value": {synth(2*day, time.Minute, func(i int) float64 {
			if i == 0 {
				return 3
			}
			return math.NaN()
		}), []int{day}},
		"spikes": {synth(2*day, time.Minute, func(i int) float64 {
			if i%97 == 0 {
				return 1e6
			}
			return 20
		}), []int{day}},
		"huge values":      {synth(2*day, time.Minute, func(i int) float64 { return 1e12 * float64(1+i%3) }), []int{day}},
		"no periods given": {synth(3*day, time.Minute, withNoise(sine(100, 50, day), 5, 3)), nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for _, h := range []int{1, 30, 60} {
				predict(t, m, tc.s, tc.periods, tc.s, h)
			}
			// Predict on a history longer than the fit's (the agent's case) and on a prefix
			// (the backtest's).
			if n := tc.s.Len(); n > 10 {
				p, err := m.Fit(tc.s.Before(tc.s.Time(n/2)), tc.periods)
				if err != nil {
					t.Fatalf("Fit(first half) error = %v", err)
				}
				dst := make([]float64, 30)
				for _, hist := range []series.Series{tc.s, tc.s.Before(tc.s.Time(n / 4))} {
					if hist.Len() == 0 {
						continue
					}
					p.Predict(hist, dst)
					for i, v := range dst {
						if math.IsNaN(v) || math.IsInf(v, 0) {
							t.Fatalf("Predict()[%d] = %v, want finite", i, v)
						}
					}
				}
			}
		})
	}
}
