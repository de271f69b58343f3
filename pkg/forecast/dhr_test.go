package forecast

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestDHRContract(t *testing.T) {
	checkMethodContract(t, dhrMethod{})
}

func TestDHRName(t *testing.T) {
	if got := (dhrMethod{}).Name(); got != "dhr" {
		t.Errorf("Name() = %q, want %q", got, "dhr")
	}
}

func TestDHRForecastsSine(t *testing.T) {
	step := 5 * time.Minute
	cases := map[string]struct {
		f       func(int) float64
		n       int
		periods []int
		tol     float64 // the largest error allowed over the next 24 steps
	}{
		"pure sine, 4 days":             {f: sine(100, 50, 288), n: 4 * 288, periods: []int{288}, tol: 1},
		"sine with noise, 4 days":       {f: withNoise(sine(100, 50, 288), 2, 3), n: 4 * 288, periods: []int{288}, tol: 8},
		"sine, a week, period unusable": {f: sine(100, 50, 288), n: 7 * 288, periods: []int{288, 2016}, tol: 1},
		"sine, no period given":         {f: sine(100, 50, 288), n: 4 * 288, periods: nil, tol: 15},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := synth(tc.n, step, tc.f)
			got := predict(t, dhrMethod{}, s, tc.periods, s, 24)
			if e := mstlMaxAbsErr(got, tc.n, sine(100, 50, 288)); e > tc.tol {
				t.Errorf("Predict() = %.1f, largest error %.2f, want <= %v", got, e, tc.tol)
			}
		})
	}
}

func TestDHRRecoversDayAndWeek(t *testing.T) {
	day, week := mstlDayWeek()
	cases := map[string]struct{ noise float64 }{
		"no noise":   {noise: 0},
		"with noise": {noise: 8},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			n := 3 * 2016
			s := synth(n, 5*time.Minute, withNoise(func(i int) float64 { return 100 + day(i) + week(i) }, tc.noise, 7))
			p, err := dhrMethod{}.Fit(s, []int{288, 2016})
			if err != nil {
				t.Fatalf("Fit() error = %v", err)
			}
			profs := p.(mstlPredictor).profiles
			if len(profs) != 2 {
				t.Fatalf("Fit() kept %d seasonal profiles, want 2", len(profs))
			}
			k0 := mstlAbsIndex(s.Start, s.Step)
			for j, truth := range []func(int) float64{day, week} {
				prof := profs[j]
				want := make([]float64, len(prof))
				for ph := range want {
					want[ph] = truth(mstlPhase(int64(ph)-k0, len(prof)))
				}
				if c := mstlCorr(prof, want); c < 0.95 {
					t.Errorf("correlation of profile %d (period %d) with the truth = %.3f, want >= 0.95", j, len(prof), c)
				}
			}
		})
	}
}

func TestDHRRobustToOutliers(t *testing.T) {
	// A two-hour flash crowd at ten times the load on one day must not bend the daily curve.
	base := withNoise(sine(100, 50, 288), 3, 5)
	n := 7 * 288
	spiky := func(i int) float64 {
		if i >= 5*288+100 && i < 5*288+124 {
			return 1000
		}
		return base(i)
	}
	clean := synth(n, 5*time.Minute, base)
	spiked := synth(n, 5*time.Minute, spiky)
	obs := make([]float64, n)
	for i := range obs {
		obs[i] = 1
	}
	d := dhrNewDesign(n, 0, []int{288})
	for _, k := range []int{3, 10} {
		pc := d.robustFit(clean.Values, obs, n, []int{k})
		ps := d.robustFit(spiked.Values, obs, n, []int{k})
		worst := 0.0
		for i := range pc[0] {
			worst = max(worst, math.Abs(ps[0][i]-pc[0][i]))
		}
		if worst > 5 {
			t.Errorf("order %d: the flash crowd moved the daily curve by up to %.1f, want <= 5 (amplitude 50, crowd +900)", k, worst)
		}
	}
}

func TestDHRFollowsLevelShift(t *testing.T) {
	n := 6 * 288
	s := synth(n, 5*time.Minute, mstlShifted(n))
	got := predict(t, dhrMethod{}, s, []int{288}, s, 6)
	for i, v := range got {
		if want := sine(160, 30, 288)(n + i); math.Abs(v-want) > 15 {
			t.Errorf("Predict()[%d] = %.1f, want %.1f ± 15 (the shifted level)", i, v, want)
		}
	}
}

func TestDHRFitAR(t *testing.T) {
	cases := map[string]struct {
		phi  []float64
		diff int
	}{
		"AR(1)":               {phi: []float64{0.8}},
		"AR(2)":               {phi: []float64{0.5, 0.3}},
		"AR(1) of the change": {phi: []float64{0.6}, diff: 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			x := make([]float64, 20000)
			for i := range x {
				for j, phi := range tc.phi {
					if i > j {
						x[i] += phi * x[i-1-j]
					}
				}
				x[i] += r.NormFloat64()
			}
			eta := x
			if tc.diff == 1 {
				eta = make([]float64, len(x))
				for i := 1; i < len(x); i++ {
					eta[i] = eta[i-1] + x[i]
				}
			}
			ar := dhrFitAR(eta, tc.diff)
			if ar.diff != tc.diff {
				t.Fatalf("dhrFitAR() diff = %d, want %d", ar.diff, tc.diff)
			}
			for j, want := range tc.phi {
				if got := ar.phi[j]; math.Abs(got-want) > 0.05 {
					t.Errorf("dhrFitAR() φ%d = %.3f, want %.3f ± 0.05 (φ = %.3f)", j+1, got, want, ar.phi)
				}
			}
			for j := len(tc.phi); j < len(ar.phi); j++ {
				if got := ar.phi[j]; math.Abs(got) > 0.05 {
					t.Errorf("dhrFitAR() φ%d = %.3f, want 0 ± 0.05", j+1, got)
				}
			}
		})
	}
}

func TestDHRDesignHarmonics(t *testing.T) {
	// The 7th and 14th harmonics of a week are the 1st and 2nd of a day, which has them.
	d := dhrNewDesign(3*2016, 0, []int{288, 2016})
	var week []int
	for _, h := range d.harmonics {
		if h.j == 1 {
			week = append(week, h.k)
		}
	}
	if want := []int{1, 2, 3, 4, 5}; !slices.Equal(week, want) {
		t.Errorf("weekly harmonics = %v, want %v", week, want)
	}
	d = dhrNewDesign(3*2016, 0, []int{1440, 2880})
	var second []int
	for _, h := range d.harmonics {
		if h.j == 1 {
			second = append(second, h.k)
		}
	}
	if want := []int{1, 3, 5}; !slices.Equal(second, want) {
		t.Errorf("harmonics of a period twice the first = %v, want %v", second, want)
	}
}

func TestDHRNASA(t *testing.T) {
	mstlCheckNASA(t, dhrMethod{})
}
