package forecast

import (
	"cmp"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

func TestFFTName(t *testing.T) {
	if got := (fftDSP{}).Name(); got != "fft_dsp" {
		t.Errorf("Name() = %q, want %q", got, "fft_dsp")
	}
}

func TestFFTContract(t *testing.T) {
	t.Run("crane", func(t *testing.T) { checkMethodContract(t, fftDSP{}) })
	t.Run("level correction", func(t *testing.T) { checkMethodContract(t, fftDSP{levelSteps: 15}) })
	t.Run("crane margins", func(t *testing.T) { checkMethodContract(t, fftDSP{margins: []float64{0.01, 0.1, 0.15, 0.2}}) })
}

// TestFFTForecast fits on fit, predicts after hist and compares with the truth f.
func TestFFTForecast(t *testing.T) {
	day := 1440
	daily := sine(100, 50, day)
	noisy := withNoise(daily, 10, 21)
	cases := map[string]struct {
		m        fftDSP
		step     time.Duration // default a minute
		f        func(int) float64
		fitN     int // points the fit sees
		histN    int // points Predict sees
		horizon  int
		maxErr   float64 // largest absolute error allowed, when > 0
		minCorr  float64 // smallest correlation with the truth allowed, when > 0
		wantLast bool    // the forecast is the last value
	}{
		"pure daily sine at 1m over 4 days": {
			f: daily, fitN: 4 * day, histN: 4 * day, horizon: 120, maxErr: 0.5},
		"pure daily sine predicted a day and a half after the fit": {
			f: daily, fitN: 3 * day, histN: 4*day + day/2, horizon: 120, maxErr: 0.5},
		"pure daily sine at 5m over 3 days": {
			step: 5 * time.Minute, f: sine(100, 50, 288), fitN: 3 * 288, histN: 3 * 288, horizon: 24, maxErr: 0.5},
		"noisy daily pattern over 7 days": {
			f: noisy, fitN: 7 * day, histN: 7 * day, horizon: day, minCorr: 0.9},
		"noisy daily pattern with level correction": {
			m: fftDSP{levelSteps: 30}, f: noisy, fitN: 7 * day, histN: 7 * day, horizon: day, minCorr: 0.9},
		"white noise has no period": {
			f: withNoise(sine(100, 0, day), 10, 22), fitN: 4 * day, histN: 4 * day, horizon: 60, wantLast: true},
		"ramp has no period": {
			f: func(i int) float64 { return float64(i) }, fitN: 4 * day, histN: 4 * day, horizon: 60, wantLast: true},
		"shorter than two days": {
			f: daily, fitN: 2*day - 1, histN: 2*day - 1, horizon: 60, wantLast: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			n := max(tc.fitN, tc.histN) + tc.horizon
			step := cmp.Or(tc.step, time.Minute)
			all := synth(n, step, tc.f)
			fit := series.Series{Start: all.Start, Step: all.Step, Values: all.Values[:tc.fitN]}
			hist := series.Series{Start: all.Start, Step: all.Step, Values: all.Values[:tc.histN]}
			truth := all.Values[tc.histN : tc.histN+tc.horizon]
			got := predict(t, tc.m, fit, nil, hist, tc.horizon)
			if tc.wantLast {
				last, _, _ := hist.Last()
				for i, v := range got {
					if v != last {
						t.Fatalf("Predict()[%d] = %v, want the last value %v", i, v, last)
					}
				}
				return
			}
			if tc.maxErr > 0 {
				for i, v := range got {
					if math.Abs(v-truth[i]) > tc.maxErr {
						t.Fatalf("Predict()[%d] = %.3f, want %.3f ± %v", i, v, truth[i], tc.maxErr)
					}
				}
			}
			if tc.minCorr > 0 {
				// The noiseless pattern is the truth to correlate with.
				clean := make([]float64, tc.horizon)
				for i := range clean {
					clean[i] = daily(tc.histN + i)
				}
				if r := fftCorrelation(got, clean); !(r >= tc.minCorr) {
					t.Errorf("correlation(Predict(), truth) = %.3f, want >= %v", r, tc.minCorr)
				}
			}
		})
	}
}

// The faithful default does not follow a change of level after the fit; the level correction
// does.
func TestFFTLevelCorrection(t *testing.T) {
	day := 1440
	shifted := func(i int) float64 {
		v := sine(100, 50, day)(i)
		if i >= 4*day {
			v += 40
		}
		return v
	}
	all := synth(4*day+day/2+60, time.Minute, shifted)
	fit := series.Series{Start: all.Start, Step: all.Step, Values: all.Values[:4*day]}
	hist := series.Series{Start: all.Start, Step: all.Step, Values: all.Values[:4*day+day/2]}
	cases := map[string]struct {
		m         fftDSP
		wantShift float64
	}{
		"crane keeps the fitted level": {m: fftDSP{}, wantShift: 0},
		"level correction follows":     {m: fftDSP{levelSteps: 30}, wantShift: 40},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := predict(t, tc.m, fit, nil, hist, 60)
			for i, v := range got {
				want := sine(100, 50, day)(hist.Len()+i) + tc.wantShift
				if math.Abs(v-want) > 1 {
					t.Fatalf("Predict()[%d] = %.3f, want %.3f ± 1", i, v, want)
				}
			}
		})
	}
}

func TestFFTDeterministic(t *testing.T) {
	s := synth(5*1440, time.Minute, withNoise(sine(100, 30, 1440), 20, 23))
	a := predict(t, fftDSP{}, s, nil, s, 1440)
	b := predict(t, fftDSP{}, s, nil, s, 1440)
	if !slices.Equal(a, b) {
		t.Errorf("two fits on the same data forecast differently")
	}
}

// TestFFTDetect checks Crane's detection on its two candidates.
func TestFFTDetect(t *testing.T) {
	day := 1440
	cases := map[string]struct {
		s    series.Series
		want int
	}{
		"daily sine":             {s: synth(4*day, time.Minute, withNoise(sine(100, 50, day), 5, 24)), want: day},
		"weekly sine at 5m":      {s: synth(3*2016, 5*time.Minute, withNoise(sine(100, 50, 2016), 2, 25)), want: 2016},
		"white noise":            {s: synth(4*day, time.Minute, withNoise(sine(100, 0, day), 5, 26))},
		"constant":               {s: synth(4*day, time.Minute, func(int) float64 { return 3 })},
		"daily sine, 2h outage":  {s: synth(5*day, time.Minute, fftOutage(sine(100, 50, day), 3*day, 3*day+120)), want: 0},
		"daily sine, 30m outage": {s: synth(5*day, time.Minute, fftOutage(sine(100, 50, day), 3*day, 3*day+30)), want: day},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, _ := fftPreprocess(tc.s, fftHistory)
			if got := fftDetect(s, tc.s.Step); got != tc.want {
				t.Errorf("fftDetect() = %d, want %d", got, tc.want)
			}
		})
	}
}

// fftOutage is f with NaN in [from, to).
func fftOutage(f func(int) float64, from, to int) func(int) float64 {
	return func(i int) float64 {
		if i >= from && i < to {
			return math.NaN()
		}
		return f(i)
	}
}

func TestFFTPercentile(t *testing.T) {
	sorted := make([]float64, 2000)
	for i := range sorted {
		sorted[i] = float64(i + 1)
	}
	cases := map[string]struct {
		x       []float64
		percent float64
		want    float64
		wantOK  bool
	}{
		"whole rank": {x: sorted, percent: 0.1, want: 2, wantOK: true},
		// 99.9/100·2000 is a hair above 1998 in floating point, in Crane too.
		"between ranks":   {x: sorted, percent: 99.9, want: 1998.5, wantOK: true},
		"between 2 and 3": {x: sorted[:2500/2], percent: 0.2, want: 2.5, wantOK: true},
		"below rank 1":    {x: sorted[:500], percent: 0.1},
		"one value":       {x: []float64{7}, percent: 0.1, want: 7, wantOK: true},
		"empty":           {percent: 50},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got, ok := fftPercentile(tc.x, tc.percent); got != tc.want || ok != tc.wantOK {
				t.Errorf("fftPercentile(%d values, %v) = %v, %v, want %v, %v", len(tc.x), tc.percent, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestFFTNASA compares fft_dsp with the last value on the third day of the NASA fixture,
// fitted on the first two, at the 15-minute horizon. Logged, not asserted beyond sanity:
// Crane's method is what it is.
func TestFFTNASA(t *testing.T) {
	s := nasaFixture(t)
	day := durationSteps(24*time.Hour, s.Step)
	const horizon = 15
	for name, m := range map[string]fftDSP{"crane": {}, "level correction 15": {levelSteps: 15}} {
		t.Run(name, func(t *testing.T) {
			p, err := m.Fit(series.Series{Start: s.Start, Step: s.Step, Values: s.Values[:2*day]}, nil)
			if err != nil {
				t.Fatalf("Fit() error = %v", err)
			}
			var errFFT, errLast, errFFTAll, errLastAll float64
			count := 0
			dst := make([]float64, horizon)
			for origin := 2 * day; origin+horizon <= s.Len(); origin += horizon {
				hist := series.Series{Start: s.Start, Step: s.Step, Values: s.Values[:origin]}
				p.Predict(hist, dst)
				last, _, _ := hist.Last()
				truth := s.Values[origin+horizon-1]
				if !finite(truth) {
					continue
				}
				errFFT += math.Abs(dst[horizon-1] - truth)
				errLast += math.Abs(last - truth)
				for h := range horizon {
					if v := s.Values[origin+h]; finite(v) {
						errFFTAll += math.Abs(dst[h]-v) / horizon
						errLastAll += math.Abs(last-v) / horizon
					}
				}
				count++
			}
			mae, maeLast := errFFT/float64(count), errLast/float64(count)
			t.Logf("period found on days 1-2: %d steps", len(p.(fftPredictor).template))
			t.Logf("NASA day 3, %d origins: MAE at h=%d fft_dsp %.2f, last value %.2f (ratio %.2f); mean over h=1…%d: %.2f vs %.2f",
				count, horizon, mae, maeLast, mae/maeLast, horizon, errFFTAll/float64(count), errLastAll/float64(count))
			if mae >= 3*maeLast {
				t.Errorf("MAE at h=%d = %.2f, want < 3× the last value's %.2f", horizon, mae, maeLast)
			}
		})
	}
}

// fftCorrelation is the Pearson correlation of a and b.
func fftCorrelation(a, b []float64) float64 {
	ma, sa := fftMeanSD(a)
	mb, sb := fftMeanSD(b)
	var c float64
	for i := range a {
		c += (a[i] - ma) * (b[i] - mb)
	}
	return c / float64(len(a)) / (sa * sb)
}
