package forecast

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestAnalogContract(t *testing.T) {
	checkMethodContract(t, analogMethod{})
}

func TestAnalogName(t *testing.T) {
	if got := (analogMethod{}).Name(); got != "analog" {
		t.Errorf("Name() = %q, want %q", got, "analog")
	}
}

// TestAnalogKnownAnswers: series whose future is what their past did next. The 40 analogues
// include moments a few steps from the present's phase, so the answer is near, not exact.
func TestAnalogKnownAnswers(t *testing.T) {
	day := 288 // 5-minute steps
	spiked := func(i int) float64 {
		// A flash crowd on the second day, half an hour into the phases forecast below: it is
		// in the future of a few analogues among 40, which the median of their moves ignores
		// (their mean would be off by hundreds).
		if i >= day+100 && i < day+106 {
			return 5000
		}
		return sine(100, 50, day)(i)
	}
	cases := map[string]struct {
		f       func(int) float64
		n       int
		periods []int
		step    time.Duration
		tol     float64 // the largest error allowed over the next 24 steps
	}{
		"pure sine, a cycle given":    {f: sine(100, 50, day), n: 4 * day, periods: []int{day}, step: 5 * time.Minute, tol: 0.1},
		"pure sine at 1 minute":       {f: sine(100, 50, 1440), n: 3 * 1440, periods: []int{1440}, step: time.Minute, tol: 0.01},
		"pure sine, no cycle given":   {f: sine(100, 50, day), n: 4 * day, step: 5 * time.Minute, tol: 0.1},
		"a linear trend":              {f: func(i int) float64 { return 3 * float64(i) }, n: 2 * day, step: 5 * time.Minute, tol: 1e-6},
		"a flat line":                 {f: func(int) float64 { return 7 }, n: 2 * day, periods: []int{day}, step: 5 * time.Minute, tol: 1e-9},
		"a flash crowd a day earlier": {f: spiked, n: 3*day + 76, periods: []int{day}, step: 5 * time.Minute, tol: 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := synth(tc.n, tc.step, tc.f)
			got := predict(t, analogMethod{}, s, tc.periods, s, 24)
			e := 0.0
			for h, v := range got {
				e = max(e, math.Abs(v-tc.f(tc.n+h)))
			}
			if e > tc.tol {
				t.Errorf("Predict() = %.2f, largest error %.3g, want <= %v", got, e, tc.tol)
			}
		})
	}
}

// TestAnalogTimeOfDay: with a cycle, the analogues come from about the same time of day on
// earlier days, so a quiet hour before the daily surge is told from a quiet hour before
// nothing; without it, the most recent quiet hours vote, and they were followed by nothing.
func TestAnalogTimeOfDay(t *testing.T) {
	day := 288
	// Flat at 100 but for a daily surge: up by 10 a step from phase 100 to 340, down at 150.
	f := func(i int) float64 {
		switch ph := i % day; {
		case ph >= 100 && ph < 124:
			return 100 + 10*float64(ph-100)
		case ph >= 124 && ph < 150:
			return 340
		}
		return 100
	}
	cases := map[string]struct {
		now     int // the number of points seen
		periods []int
		above   float64 // the forecast an hour later must be above this
		below   float64 // and below this
	}{
		"before the surge": {now: 3*day + 100, periods: []int{day}, above: 130, below: 341},
		"before nothing":   {now: 3*day + 200, periods: []int{day}, above: 99.999, below: 100.001},
		"no cycle given":   {now: 3*day + 100, above: 99.999, below: 100.001},
		// A period no longer than the windows around the same phase (an hour, a cron job's
		// quarter hour) is not a time of day: the day still is.
		"before the surge, with an hour too": {now: 3*day + 100, periods: []int{12, day}, above: 130, below: 341},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := synth(tc.now, 5*time.Minute, f)
			got := predict(t, analogMethod{}, s, tc.periods, s, 12)
			if v := got[11]; v <= tc.above || v >= tc.below {
				t.Errorf("Predict()[11] = %.2f, want in (%v, %v); actual %v", v, tc.above, tc.below, f(tc.now+11))
			}
		})
	}
}

// TestAnalogShortPeriod checks that a period no longer than two phase windows (an hour at
// 5-minute steps; a quarter hour at 1-minute steps) is ignored: its windows would overlap, and
// the same moments would fill several of the analogues' places. The forecast must be the one
// made without it.
func TestAnalogShortPeriod(t *testing.T) {
	cases := map[string]struct {
		step          time.Duration
		n             int
		with, without []int
	}{
		"an hour at 5m":                  {step: 5 * time.Minute, n: 4 * 288, with: []int{12}},
		"a quarter hour and a day at 1m": {step: time.Minute, n: 4 * 1440, with: []int{15, 1440}, without: []int{1440}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := synth(tc.n, tc.step, withNoise(func(i int) float64 {
				return 100 + 30*math.Sin(2*math.Pi*float64(i)*float64(tc.step)/float64(24*time.Hour)) + 20*b2f(i%15 < 2)
			}, 5, 21))
			got := predict(t, analogMethod{}, s, tc.with, s, 12)
			want := predict(t, analogMethod{}, s, tc.without, s, 12)
			if !slices.Equal(got, want) {
				t.Errorf("Predict() with periods %v = %v, want %v (as with %v)", tc.with, got, want, tc.without)
			}
		})
	}
}
