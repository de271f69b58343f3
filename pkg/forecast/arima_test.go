package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// arimaSimulate returns n points of level + an ARMA(1,1) process with coefficients phi and
// theta and unit Gaussian innovations, seeded, after a burn-in.
func arimaSimulate(n int, level, phi, theta float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	const burn = 500
	out := make([]float64, n)
	var x, e float64
	for i := -burn; i < n; i++ {
		next := r.NormFloat64()
		x = phi*x + next + theta*e
		e = next
		if i >= 0 {
			out[i] = level + x
		}
	}
	return out
}

// arimaFitted fits m and returns its Predictor as the concrete model, to inspect it.
func arimaFitted(t *testing.T, m Method, s series.Series, periods []int) *arimaModel {
	t.Helper()
	p, err := m.Fit(s, periods)
	if err != nil {
		t.Fatalf("%s.Fit() error = %v", m.Name(), err)
	}
	am, ok := p.(*arimaModel)
	if !ok {
		t.Fatalf("%s.Fit() = %T, want *arimaModel", m.Name(), p)
	}
	return am
}

// arimaMAE is the mean absolute difference between got and f(from), f(from+1), ….
func arimaMAE(got []float64, from int, f func(int) float64) float64 {
	var s float64
	for i, v := range got {
		s += math.Abs(v - f(from+i))
	}
	return s / float64(len(got))
}

func TestARIMAEstimatesCoefficients(t *testing.T) {
	tests := map[string]struct {
		m          Method
		phi, theta float64
		wantD      int
		seed       uint64
	}{
		"AR(1) φ=0.7":          {m: newARIMA(1, 0, 0), phi: 0.7, seed: 1},
		"AR(1) φ=-0.5":         {m: newARIMA(1, 0, 0), phi: -0.5, seed: 2},
		"AR(1) φ=0.7 auto d":   {m: newARIMA(1, -1, 0), phi: 0.7, seed: 3},
		"ARMA(1,1) φ=.6 θ=.3":  {m: newARIMA(1, 0, 1), phi: 0.6, theta: 0.3, seed: 4},
		"ARMA(1,1) φ=.8 θ=-.4": {m: newARIMA(1, 0, 1), phi: 0.8, theta: -0.4, seed: 5},
		"MA(1) θ=0.6":          {m: newARIMA(0, 0, 1), theta: 0.6, seed: 6},
	}
	// The standard errors of φ and θ at n = 20000 are below 0.01 in every case.
	const n, tol = 20000, 0.04
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := series.Series{Start: synthStart, Step: time.Minute, Values: arimaSimulate(n, 100, tc.phi, tc.theta, tc.seed)}
			am := arimaFitted(t, tc.m, s, nil)
			if am.order.d != tc.wantD {
				t.Errorf("fitted d = %d, want %d", am.order.d, tc.wantD)
			}
			if got := am.coefs.phi; len(got) > 0 && math.Abs(got[0]-tc.phi) > tol {
				t.Errorf("fitted φ = %.3f, want %.3f ± %v", got[0], tc.phi, tol)
			}
			if got := am.coefs.theta; len(got) > 0 && math.Abs(got[0]-tc.theta) > tol {
				t.Errorf("fitted θ = %.3f, want %.3f ± %v", got[0], tc.theta, tol)
			}
			if math.Abs(am.mean-100) > 1 {
				t.Errorf("fitted μ = %.3f, want 100 ± 1", am.mean)
			}
		})
	}
}

func TestARIMAChoosesD(t *testing.T) {
	// integrated returns the noise summed times times over: a random walk for 1.
	integrated := func(times int, seed uint64) func(int) float64 {
		v := synth(3000, time.Minute, withNoise(func(int) float64 { return 0 }, 1, seed)).Values
		for range times {
			for i := 1; i < len(v); i++ {
				v[i] += v[i-1]
			}
		}
		return func(i int) float64 { return v[i] }
	}
	tests := map[string]struct {
		f     func(int) float64
		wantD int
	}{
		"white noise":             {f: withNoise(func(int) float64 { return 50 }, 3, 1), wantD: 0},
		"random walk":             {f: integrated(1, 2), wantD: 1},
		"linear trend with noise": {f: withNoise(func(i int) float64 { return 10 + 0.5*float64(i) }, 2, 3), wantD: 1},
		"integrated twice":        {f: integrated(2, 9), wantD: 2},
		"constant":                {f: func(int) float64 { return 7 }, wantD: 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := synth(3000, time.Minute, tc.f)
			if got := arimaChooseD(s.Values); got != tc.wantD {
				t.Errorf("arimaChooseD() = %d, want %d (KPSS %.3f)", got, tc.wantD, arimaKPSS(s.Values))
			}
		})
	}
}

func TestARIMAForecasts(t *testing.T) {
	step := func(i int) float64 {
		if i < 1000 {
			return 100
		}
		return 200
	}
	tests := map[string]struct {
		m       Method
		f       func(int) float64 // the series and its continuation
		want    func(int) float64 // the forecast wanted, nil for f
		n, h    int
		periods []int
		tol     float64 // on the mean absolute error over the horizon (noise sd 2 or 3)
	}{
		"linear trend, d=1": {
			m: newARIMA(1, 1, 1), f: func(i int) float64 { return 10 + 0.5*float64(i) }, n: 2000, h: 60, tol: 1e-6,
		},
		"linear trend with noise, auto d": {
			m: newARIMA(1, -1, 1), f: withNoise(func(i int) float64 { return 10 + 0.5*float64(i) }, 2, 4),
			want: func(i int) float64 { return 10 + 0.5*float64(i) }, n: 2000, h: 60, tol: 2,
		},
		"step change, arima": {
			m: newARIMA(1, 1, 1), f: withNoise(step, 2, 5), want: step, n: 1200, h: 30, tol: 3,
		},
		"step change, auto d": {
			m: newARIMA(1, -1, 1), f: withNoise(step, 2, 6), want: step, n: 1200, h: 30, tol: 3,
		},
		"step change, sarima without enough seasons": {
			m: newSARIMA(1, 1, 1, 0, 1, 1), f: withNoise(step, 2, 7), want: step, n: 1200, h: 30, periods: []int{1440}, tol: 3,
		},
		"constant": {
			m: newARIMA(1, -1, 1), f: func(int) float64 { return 42 }, n: 500, h: 60, tol: 1e-9,
		},
		"sine of a day at 1 minute, sarima": {
			m: newSARIMA(1, 1, 1, 0, 1, 1), f: withNoise(sine(100, 50, 1440), 3, 8), want: sine(100, 50, 1440),
			n: 5 * 1440, h: 240, periods: []int{1440}, tol: 3,
		},
		"step change in a daily cycle, sarima": {
			m: newSARIMA(1, 1, 1, 0, 1, 1), f: withNoise(sarimaShifted, 3, 10), want: sarimaShifted,
			n: 5 * 1440, h: 60, periods: []int{1440}, tol: 4,
		},
		"repeating 5-minute pattern, sarima": {
			m: newSARIMA(1, 1, 1, 0, 1, 1), f: withNoise(sarimaPattern(288, 11), 2, 9), want: sarimaPattern(288, 11),
			n: 7 * 288, h: 60, periods: []int{288, 7 * 288}, tol: 2.5,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := synth(tc.n, time.Minute, tc.f)
			got := predict(t, tc.m, s, tc.periods, s, tc.h)
			want := tc.want
			if want == nil {
				want = tc.f
			}
			if mae := arimaMAE(got, tc.n, want); !(mae <= tc.tol) {
				t.Errorf("%s forecast MAE = %.4g, want <= %v (forecast[0], [h-1] = %.2f, %.2f; want %.2f, %.2f)",
					tc.m.Name(), mae, tc.tol, got[0], got[tc.h-1], want(tc.n), want(tc.n+tc.h-1))
			}
		})
	}
}

// sarimaShifted is a daily sine whose level steps up by 100 ten hours before the end of day 5.
func sarimaShifted(i int) float64 {
	v := sine(100, 50, 1440)(i)
	if i >= 5*1440-600 {
		v += 100
	}
	return v
}

// sarimaPattern is a fixed random daily shape of the given period (seeded), smoothed so that it
// looks like load: a level of 100 with bumps of ±30.
func sarimaPattern(period int, seed uint64) func(int) float64 {
	r := rand.New(rand.NewPCG(seed, seed))
	shape := make([]float64, period)
	var v float64
	for i := range shape {
		v = 0.9*v + r.NormFloat64()*5
		shape[i] = 100 + v
	}
	return func(i int) float64 { return shape[i%period] }
}

// TestSARIMABeatsARIMAOnSeason checks that the season is what SARIMA adds: on a daily sine, far
// enough ahead that the curve bends, it must beat ARIMA by a wide margin.
func TestSARIMABeatsARIMAOnSeason(t *testing.T) {
	truth := sine(100, 50, 1440)
	s := synth(6*1440, time.Minute, withNoise(truth, 5, 12))
	const h = 360
	ar := arimaMAE(predict(t, newARIMA(1, 1, 1), s, []int{1440}, s, h), s.Len(), truth)
	sar := arimaMAE(predict(t, newSARIMA(1, 1, 1, 0, 1, 1), s, []int{1440}, s, h), s.Len(), truth)
	if !(sar < ar/3) {
		t.Errorf("MAE over %d steps: sarima %.2f, want < arima %.2f / 3", h, sar, ar)
	}
}

func TestSARIMADegradesToARIMA(t *testing.T) {
	long := synth(5*1440, time.Minute, withNoise(sine(100, 50, 1440), 5, 13))
	short := long.Tail(1440)
	tests := map[string]struct {
		fit, hist series.Series
		periods   []int
	}{
		"no periods":             {fit: long, hist: long},
		"period of one step":     {fit: long, hist: long, periods: []int{1}},
		"shorter than 2 seasons": {fit: short, hist: short, periods: []int{1440}},
		"predict on a short history": {
			fit: long, hist: long.Before(long.Time(1440 + 700)), periods: []int{1440},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			const h = 30
			got := predict(t, newSARIMA(1, 1, 1, 0, 1, 1), tc.fit, tc.periods, tc.hist, h)
			want := predict(t, newARIMA(1, 1, 1), tc.fit, nil, tc.hist, h)
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-9*math.Abs(want[i]) {
					t.Fatalf("sarima forecast[%d] = %v, want arima's %v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestARIMAMethodContract(t *testing.T) {
	tests := map[string]Method{
		"arima(1,-1,1)":          newARIMA(1, -1, 1),
		"arima(1,1,1)":           newARIMA(1, 1, 1),
		"arima(2,2,2)":           newARIMA(2, 2, 2),
		"sarima(1,1,1)(0,1,1)":   newSARIMA(1, 1, 1, 0, 1, 1),
		"sarima(1,-1,1)(1,1,1)":  newSARIMA(1, -1, 1, 1, 1, 1),
		"sarima(2,0,0)(1,0,0)":   newSARIMA(2, 0, 0, 1, 0, 0),
		"sarima(0,1,1)(0,1,1)":   newSARIMA(0, 1, 1, 0, 1, 1),
		"sarima(1,1,1)(1,1,0)":   newSARIMA(1, 1, 1, 1, 1, 0),
		"sarima(1,1,1)(2,1,2)":   newSARIMA(1, 1, 1, 2, 1, 2),
		"arima(0,0,0) the mean":  newARIMA(0, 0, 0),
		"arima(-1,5,-1) clamped": newARIMA(-1, 5, -1),
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) { checkMethodContract(t, m) })
	}
}

func TestARIMANames(t *testing.T) {
	for _, tc := range []struct {
		m    Method
		want string
	}{{newARIMA(1, 1, 1), "arima"}, {newSARIMA(1, 1, 1, 0, 1, 1), "sarima"}} {
		if got := tc.m.Name(); got != tc.want {
			t.Errorf("Name() = %q, want %q", got, tc.want)
		}
	}
}

// TestARIMANASA reports the forecast error on three days of a real trace against the last-value
// forecast: fitted on the first 2.6 days (enough for SARIMA's two seasons and a half), then
// forecasting from rolling origins over the rest, each with all the data before it. It asserts
// only that the error is not absurd: this is a report, not a target.
func TestARIMANASA(t *testing.T) {
	s := nasaFixture(t)
	const h, stride, day = 15, 5, 1440
	fitEnd := 26 * day / 10
	tests := map[string]Method{
		"arima(1,1,1)":         newARIMA(1, 1, 1),
		"arima(1,-1,1)":        newARIMA(1, -1, 1),
		"sarima(1,1,1)(0,1,1)": newSARIMA(1, 1, 1, 0, 1, 1),
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := m.Fit(series.Series{Start: s.Start, Step: s.Step, Values: s.Values[:fitEnd]}, []int{day})
			if err != nil {
				t.Fatalf("Fit() error = %v", err)
			}
			dst := make([]float64, h)
			var errM, errNaive float64
			var count int
			for o := fitEnd; o+h <= s.Len(); o += stride {
				hist := series.Series{Start: s.Start, Step: s.Step, Values: s.Values[:o]}
				p.Predict(hist, dst)
				last, _, _ := hist.Last()
				for j, v := range dst {
					errM += math.Abs(clamp(v) - s.Values[o+j])
					errNaive += math.Abs(last - s.Values[o+j])
					count++
				}
			}
			t.Logf("%s on the last 0.4 day of the NASA fixture, steps 1-%d: MAE %.2f / last value's %.2f = %.3f",
				name, h, errM/float64(count), errNaive/float64(count), errM/errNaive)
			if !(errM < 3*errNaive) {
				t.Errorf("MAE = %.2f, want < 3 × last value's %.2f", errM, errNaive)
			}
		})
	}
}
