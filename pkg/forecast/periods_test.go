package forecast

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gonum.org/v1/gonum/dsp/fourier"

	"github.com/kedastral/kedastral/pkg/series"
)

// periodRandomWalk is a Gaussian random walk of unit steps from level 1000.
func periodRandomWalk(seed uint64) func(int) float64 {
	r := rand.New(rand.NewPCG(seed, seed+1))
	level := 1000.0
	last := -1
	return func(i int) float64 {
		for ; last < i; last++ {
			level += r.NormFloat64()
		}
		return level
	}
}

// periodDayWeek is a load with a daily and a weekly cycle at 5-minute steps, with noise.
func periodDayWeek(seed uint64) func(int) float64 {
	return withNoise(func(i int) float64 {
		return 100 + 40*math.Sin(2*math.Pi*float64(i)/288) + 25*math.Sin(2*math.Pi*float64(i)/2016)
	}, 8, seed)
}

func TestDetectPeriods(t *testing.T) {
	day := 1440
	cases := map[string]struct {
		s    series.Series
		want []int
	}{
		"daily sine at 1m over 4 days": {s: synth(4*day, time.Minute, sine(100, 50, day)), want: []int{1440}},
		"noisy daily sine at 1m over 14 days": {
			s: synth(14*day, time.Minute, withNoise(sine(100, 30, day), 30, 1)), want: []int{1440}},
		"day and week at 5m over 3 weeks": {s: synth(3*2016, 5*time.Minute, periodDayWeek(2)), want: []int{288, 2016}},
		"day but no week at 5m over 3 weeks": {
			s: synth(3*2016, 5*time.Minute, withNoise(sine(100, 40, 288), 8, 3)), want: []int{288}},
		"hourly spikes at 5m over 3 days": {s: synth(3*288, 5*time.Minute, withNoise(func(i int) float64 {
			if i%12 == 0 {
				return 80
			}
			return 20
		}, 3, 4)), want: []int{12}},
		"a cron job every 15 minutes at 1m over 3 days, and a day": {s: synth(3*day, time.Minute, withNoise(func(i int) float64 {
			return 40 + 20*math.Sin(2*math.Pi*float64(i)/1440) + 80*b2f(i%15 < 2)
		}, 3, 13)), want: []int{15, 1440}},
		"a cron job every 30 minutes at 5m over 3 days": {s: synth(3*288, 5*time.Minute, withNoise(func(i int) float64 {
			return 20 + 60*b2f(i%6 == 0)
		}, 3, 14)), want: []int{6}},
		"hourly spikes at 1m over 3 days are not a quarter or half hour": {s: synth(3*day, time.Minute, withNoise(func(i int) float64 {
			return 20 + 60*b2f(i%60 < 3)
		}, 3, 15)), want: []int{60}},
		"hour and day at 1m over 3 days": {s: synth(3*day, time.Minute, withNoise(func(i int) float64 {
			return 100 + 40*math.Sin(2*math.Pi*float64(i)/1440) + 15*math.Sin(2*math.Pi*float64(i)/60)
		}, 5, 5)), want: []int{60, 1440}},
		"daily sine with gaps": {s: synth(4*day, time.Minute, func(i int) float64 {
			if i%11 == 0 || (i > 2000 && i < 2300) {
				return math.NaN()
			}
			return sine(100, 50, day)(i)
		}), want: []int{1440}},
		"daily sine after a long leading gap": {s: synth(6*day, time.Minute, func(i int) float64 {
			if i < 3*day {
				return math.NaN()
			}
			return sine(100, 50, day)(i)
		}), want: []int{1440}},
		"day and week at 1m over 2 weeks": {
			s: synth(14*day, time.Minute, withNoise(func(i int) float64 {
				return 100 + 40*math.Sin(2*math.Pi*float64(i)/1440) + 25*math.Sin(2*math.Pi*float64(i)/10080)
			}, 5, 12)), want: []int{1440, 10080}},
		"white noise at 1m over 14 days": {s: synth(14*day, time.Minute, withNoise(sine(100, 0, day), 10, 6))},
		"white noise at 5m over 3 weeks": {s: synth(3*2016, 5*time.Minute, withNoise(sine(100, 0, day), 10, 7))},
		"linear trend":                   {s: synth(4*day, time.Minute, func(i int) float64 { return float64(i) })},
		"daily sine shorter than 2 days": {s: synth(2*day-1, time.Minute, sine(100, 50, day))},
		"daily sine over 2 days":         {s: synth(2*day, time.Minute, withNoise(sine(100, 50, day), 5, 10)), want: []int{1440}},
		"constant":                       {s: synth(4*day, time.Minute, func(int) float64 { return 42 })},
		"all gaps":                       {s: synth(4*day, time.Minute, func(int) float64 { return math.NaN() })},
		"empty":                          {s: series.Series{Start: synthStart, Step: time.Minute}},
		"zero step":                      {s: series.Series{Start: synthStart, Values: []float64{1, 2, 3}}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := DetectPeriods(tc.s); !cmp.Equal(got, tc.want, periodCmpEmpty) {
				t.Errorf("DetectPeriods() = %v, want %v", got, tc.want)
			}
		})
	}
}

// periodCmpEmpty makes nil and empty slices equal.
var periodCmpEmpty = cmp.Comparer(func(a, b []int) bool { return slices.Equal(a, b) })

// Random walks correlate strongly with themselves at every lag, so they are the hardest
// series to call aperiodic; DetectPeriods must not see a cycle in any of these.
func TestDetectPeriodsRandomWalks(t *testing.T) {
	shapes := map[string]struct {
		n    int
		step time.Duration
	}{
		"4 days at 1m":  {4 * 1440, time.Minute},
		"14 days at 1m": {14 * 1440, time.Minute},
		"3 weeks at 5m": {3 * 2016, 5 * time.Minute},
		"5 days at 5m":  {5 * 288, 5 * time.Minute},
	}
	for name, sh := range shapes {
		t.Run(name, func(t *testing.T) {
			for seed := uint64(1); seed <= 30; seed++ {
				s := synth(sh.n, sh.step, periodRandomWalk(seed))
				if got := DetectPeriods(s); len(got) != 0 {
					t.Errorf("DetectPeriods(random walk, seed %d) = %v, want []", seed, got)
				}
			}
		})
	}
}

func TestDetectPeriodsNASAFixture(t *testing.T) {
	s := nasaFixture(t)
	got := DetectPeriods(s)
	t.Logf("nasa fixture (3 days at 1m): %v", got)
	if !slices.Contains(got, 1440) {
		t.Errorf("DetectPeriods(nasa fixture) = %v, want it to contain 1440 (a day)", got)
	}
}

// The closed-form threshold must be what Crane's permutation test measures: the 99th
// percentile of the largest periodogram line over shuffles of the series.
func TestPeriodThresholdMatchesPermutation(t *testing.T) {
	nasa := nasaFixture(t)
	cases := map[string][]float64{
		"white noise":     synth(2048, time.Minute, withNoise(sine(0, 0, 1), 1, 8)).Values,
		"spiky":           synth(2000, time.Minute, func(i int) float64 { return float64((i * 7919) % 97 / 90 * 100) }).Values,
		"nasa at 1m":      fillGaps(nasa.Values),
		"nasa daily sine": synth(1440, time.Minute, withNoise(sine(100, 50, 1440), 10, 9)).Values,
	}
	for name, x := range cases {
		t.Run(name, func(t *testing.T) {
			n := len(x)
			bins := (n+1)/2 - 1
			mean, variance := 0.0, 0.0
			for _, v := range x {
				mean += v / float64(n)
			}
			for _, v := range x {
				variance += (v - mean) * (v - mean) / float64(n)
			}
			want := float64(n) * variance * float64(n) / float64(n-1) * periodMaxExpQuantile(bins, 1-periodAlpha)

			f := fourier.NewFFT(n)
			r := rand.New(rand.NewPCG(1, 2))
			y := slices.Clone(x)
			const shuffles = 1000
			maxima := make([]float64, shuffles)
			for i := range maxima {
				r.Shuffle(n, func(a, b int) { y[a], y[b] = y[b], y[a] })
				for _, c := range f.Coefficients(nil, y)[1 : bins+1] {
					maxima[i] = max(maxima[i], math.Pow(cmplx.Abs(c), 2))
				}
			}
			slices.Sort(maxima)
			got := maxima[shuffles*99/100]
			if ratio := got / want; ratio < 0.8 || ratio > 1.25 {
				t.Errorf("permutation P99 = %.4g, want within 25%% of the closed form %.4g (ratio %.3f)", got, want, ratio)
			}
		})
	}
}

func BenchmarkDetectPeriods(b *testing.B) {
	for _, n := range []int{20160, 125000} {
		s := synth(n, time.Minute, withNoise(sine(100, 40, 1440), 10, 1))
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				DetectPeriods(s)
			}
		})
	}
}
