package forecast

import (
	"math"
	"testing"
	"time"
)

// dshwLoad is a load at 5-minute steps from a Monday: a daily sine, and weekends 40 lower.
func dshwLoad(noise float64, seed uint64) func(int) float64 {
	const day = 288
	return withNoise(func(i int) float64 {
		v := 100 + 30*math.Sin(2*math.Pi*float64(i%day)/day)
		if (i/day)%7 >= 5 {
			v -= 40
		}
		return v
	}, noise, seed)
}

func TestDSHWGolden(t *testing.T) {
	const day, week = 288, 7 * 288
	sineHist, sineNext := hwSplit(4*day, day, 5*time.Minute, sine(100, 50, day))
	twoSines := func(i int) float64 { return sine(100, 30, day)(i) + sine(0, 20, week)(i) }
	weekHist, weekNext := hwSplit(3*week, day, 5*time.Minute, twoSines)
	lineHist, lineNext := hwSplit(500, 30, time.Minute, hwLinear(10, 0.5))
	stepF := hwStep(withNoise(sine(100, 30, day), 3, 7), 3*day+228, 100)
	stepHist, stepNext := hwSplit(4*day, 12, 5*time.Minute, stepF)

	hwRunCases(t, map[string]hwCase{
		"day and week sines, next day": {
			m: newDSHW(), fit: weekHist, periods: []int{day, week}, want: weekNext,
			maxMAE: 1,
		},
		"one season of history for the week: single season": {
			m: newDSHW(), fit: sineHist, periods: []int{day, week}, want: sineNext,
			maxMAE: 0.5,
		},
		// On an exact line the AR term and the trend are interchangeable: the fit lets the AR
		// term (φ_ar near 1) carry part of the slope, and its decay bends the line more than
		// the damping alone. The climb over the horizon is 15.
		"no periods: Holt": {
			m: newDSHW(), fit: lineHist, want: lineNext,
			maxMAE: 5,
		},
		"step change, level follows": {
			m: newDSHW(), fit: stepHist.Before(stepHist.Time(3 * day)), hist: stepHist, periods: []int{day, week}, want: stepNext,
			maxMAE: 10,
		},
	})
}

// TestDSHWBeatsHoltWinters forecasts the Monday after the third weekend of a load with daily and
// weekly cycles: single seasonal Holt-Winters has only Sunday to go on.
func TestDSHWBeatsHoltWinters(t *testing.T) {
	const day, week = 288, 7 * 288
	tests := map[string]struct {
		noise float64
	}{
		"exact":       {noise: 0},
		"noise sd 5":  {noise: 5},
		"noise sd 15": {noise: 15},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			hist, next := hwSplit(3*week, day, 5*time.Minute, dshwLoad(tc.noise, 3))
			periods := []int{day, week}
			hw := hwMAE(predict(t, newHoltWinters(hwAdditive, true), hist, periods, hist, day), next)
			ds := hwMAE(predict(t, newDSHW(), hist, periods, hist, day), next)
			t.Logf("next-day MAE: holt_winters %.3f, dshw %.3f", hw, ds)
			if !(ds < hw) {
				t.Errorf("dshw MAE = %.4g, want < holt_winters MAE %.4g", ds, hw)
			}
		})
	}
}

func TestDSHWContract(t *testing.T) {
	for _, m := range []Method{newDSHW(), dshw{mult: true}} {
		t.Run(m.Name(), func(t *testing.T) { checkMethodContract(t, m) })
	}
}

// TestDSHWNASA reports dshw on three days of real traffic, too short for the weekly season:
// it runs as single seasonal Holt-Winters with the AR(1) adjustment.
func TestDSHWNASA(t *testing.T) {
	s := nasaFixture(t)
	day := 1440
	m := newDSHW()
	mae, naive := hwBacktest(t, m, s, []int{day, 7 * day}, 2*day, 15, 5)
	t.Logf("%s: MAE over 15 steps %.2f, last value %.2f, ratio %.3f", m.Name(), mae, naive, mae/naive)
	if !(mae < 3*naive) {
		t.Errorf("%s: MAE = %.4g, want < 3 × last-value MAE %.4g", m.Name(), mae, naive)
	}
}
