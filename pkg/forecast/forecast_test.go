package forecast_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/series"
)

var (
	nan  = math.NaN()
	inf  = math.Inf(1)
	t0   = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	minV = -math.MaxFloat64
)

// newSeries is a series of step starting at t0.
func newSeries(step time.Duration, vals ...float64) series.Series {
	return series.Series{Start: t0, Step: step, Values: vals}
}

// fill returns n copies of v.
func fill(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// cat concatenates value slices.
func cat(parts ...[]float64) []float64 { return slices.Concat(parts...) }

func mustNew(t testing.TB, name string, opts forecast.Options) forecast.Model {
	t.Helper()
	m, err := forecast.New(name, opts)
	if err != nil {
		t.Fatalf("New(%q, %+v) = %v", name, opts, err)
	}
	return m
}

// checkContract fails t unless fc is what Model promises for a horizon.
func checkContract(t *testing.T, fc forecast.Forecast, horizon int) {
	t.Helper()
	if len(fc.Point) != horizon || len(fc.Upper) != horizon {
		t.Fatalf("len(Point), len(Upper) = %d, %d, want %d", len(fc.Point), len(fc.Upper), horizon)
	}
	for i := range horizon {
		p, u := fc.Point[i], fc.Upper[i]
		if math.IsNaN(p) || math.IsInf(p, 0) || p < 0 {
			t.Fatalf("Point[%d] = %v, want finite >= 0", i, p)
		}
		if math.IsNaN(u) || math.IsInf(u, 0) || u < p {
			t.Fatalf("Upper[%d] = %v, want finite >= Point[%d] = %v", i, u, i, p)
		}
	}
}

// TestForecastContract runs every model on awkward histories and checks the promises every
// Model makes, whatever its method: right length, finite, non-negative, Upper >= Point,
// deterministic, and the history left untouched.
func TestForecastContract(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	daily := func(step time.Duration, days float64) []float64 {
		n := int(days * float64(24*time.Hour/step))
		out := make([]float64, n)
		for i := range out {
			phase := 2 * math.Pi * float64(time.Duration(i)*step) / float64(24*time.Hour)
			out[i] = 100 + 80*math.Sin(phase) + 10*rng.NormFloat64()
		}
		return out
	}
	withGaps := func(v []float64) []float64 {
		for i := range v {
			if rng.Float64() < 0.1 {
				v[i] = nan
			}
		}
		for i := len(v) / 2; i < len(v)/2+120 && i < len(v); i++ {
			v[i] = nan // a two-hour outage at 1-minute steps
		}
		return v
	}
	withSpikes := func(v []float64) []float64 {
		for i := range v {
			if rng.Float64() < 0.02 {
				v[i] *= 50
			}
		}
		return v
	}
	alternating := func(n int, a, b float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = a
			if i%2 == 1 {
				out[i] = b
			}
		}
		return out
	}

	histories := map[string]series.Series{
		"1-minute daily load with gaps":    newSeries(time.Minute, withGaps(daily(time.Minute, 3))...),
		"5-minute daily load with spikes":  newSeries(5*time.Minute, withSpikes(daily(5*time.Minute, 9))...),
		"1-minute load ending in a gap":    newSeries(time.Minute, cat(daily(time.Minute, 1), fill(300, nan))...),
		"all NaN except the first":         newSeries(time.Minute, cat([]float64{42}, fill(5000, nan))...),
		"all NaN except one in the middle": newSeries(time.Minute, cat(fill(2500, nan), []float64{42}, fill(2500, nan))...),
		"all NaN except the last":          newSeries(time.Minute, cat(fill(5000, nan), []float64{42})...),
		"single sample":                    newSeries(time.Minute, 7),
		"zeros":                            newSeries(time.Minute, fill(3000, 0)...),
		"negative values":                  newSeries(time.Minute, alternating(500, -3, -1)...),
		"infinities are gaps":              newSeries(time.Minute, cat(fill(100, 5), []float64{inf, -inf, 6})...),
		"extreme magnitudes":               newSeries(time.Minute, alternating(500, math.MaxFloat64, minV)...),
		"largest finite value":             newSeries(5*time.Minute, fill(400, math.MaxFloat64)...),
		"tiny values":                      newSeries(time.Minute, alternating(500, 5e-324, 0)...),
		"hourly steps":                     newSeries(time.Hour, daily(time.Hour, 20)...),
		"step that does not divide a day":  newSeries(7*time.Minute, daily(7*time.Minute, 4)...),
	}
	for _, name := range forecast.Names() {
		m := mustNew(t, name, forecast.Options{})
		for hname, history := range histories {
			for _, horizon := range []int{1, 15, 60} {
				for _, q := range []float64{0.51, 0.9, 0.999} {
					t.Run(fmt.Sprintf("%s/%s/horizon=%d/q=%v", name, hname, horizon, q), func(t *testing.T) {
						before := history.Clone()
						got, err := m.Forecast(history, horizon, q)
						if err != nil {
							t.Fatalf("Forecast(horizon %d, quantile %v) error = %v", horizon, q, err)
						}
						checkContract(t, got, horizon)
						if diff := cmp.Diff(before.Values, history.Values, cmp.Comparer(sameFloat)); diff != "" {
							t.Fatalf("Forecast modified its history (-before +after):\n%s", diff)
						}
						again, _ := m.Forecast(history, horizon, q)
						if diff := cmp.Diff(got, again); diff != "" {
							t.Errorf("second Forecast on the same history differs (-first +second):\n%s", diff)
						}
					})
				}
			}
		}
	}
}

// sameFloat is == with NaN equal to itself.
func sameFloat(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

func TestForecastArgumentErrors(t *testing.T) {
	good := newSeries(time.Minute, 1, 2, 3)
	tests := map[string]struct {
		history  series.Series
		horizon  int
		quantile float64
		wantMsg  []string // each must appear in the error
		wantNone bool     // errors.Is(err, ErrNoData)
	}{
		"zero horizon":            {history: good, horizon: 0, quantile: 0.9, wantMsg: []string{"horizon", "got 0"}},
		"negative horizon":        {history: good, horizon: -5, quantile: 0.9, wantMsg: []string{"horizon", "got -5"}},
		"quantile 0.5":            {history: good, horizon: 1, quantile: 0.5, wantMsg: []string{"quantile", "got 0.5"}},
		"quantile 1":              {history: good, horizon: 1, quantile: 1, wantMsg: []string{"quantile", "got 1"}},
		"quantile below a half":   {history: good, horizon: 1, quantile: 0.1, wantMsg: []string{"quantile"}},
		"quantile NaN":            {history: good, horizon: 1, quantile: nan, wantMsg: []string{"quantile", "NaN"}},
		"zero step":               {history: newSeries(0, 1, 2), horizon: 1, quantile: 0.9, wantMsg: []string{"step", "got 0s"}},
		"negative step":           {history: newSeries(-time.Minute, 1, 2), horizon: 1, quantile: 0.9, wantMsg: []string{"step", "-1m0s"}},
		"every problem at once":   {history: newSeries(0), horizon: 0, quantile: 2, wantMsg: []string{"step", "horizon", "quantile"}},
		"empty history":           {history: newSeries(time.Minute), horizon: 1, quantile: 0.9, wantNone: true},
		"only NaN":                {history: newSeries(time.Minute, nan, nan), horizon: 1, quantile: 0.9, wantNone: true},
		"only infinities and NaN": {history: newSeries(time.Minute, inf, nan, -inf), horizon: 1, quantile: 0.9, wantNone: true},
	}
	for _, name := range forecast.Names() {
		m := mustNew(t, name, forecast.Options{})
		for tname, tc := range tests {
			t.Run(name+"/"+tname, func(t *testing.T) {
				got, err := m.Forecast(tc.history, tc.horizon, tc.quantile)
				if err == nil {
					t.Fatalf("Forecast(%v, %d, %v) = %v, want an error", tc.history.Values, tc.horizon, tc.quantile, got)
				}
				if !strings.Contains(err.Error(), name) {
					t.Errorf("Forecast error = %q, want it to name the model %q", err, name)
				}
				if gotNone := errors.Is(err, forecast.ErrNoData); gotNone != tc.wantNone {
					t.Errorf("errors.Is(%q, ErrNoData) = %v, want %v", err, gotNone, tc.wantNone)
				}
				for _, s := range tc.wantMsg {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("Forecast error = %q, want it to contain %q", err, s)
					}
				}
			})
		}
	}
}

// TestUpperColdStart pins the band used when there are too few backtest errors: the
// q-quantile of the absolute step-to-step changes, growing with the square root of the step.
func TestUpperColdStart(t *testing.T) {
	history := newSeries(time.Minute, 10, 12, 10, 12, 10) // every change is 2
	for _, name := range forecast.Names() {
		t.Run(name, func(t *testing.T) {
			got, err := mustNew(t, name, forecast.Options{}).Forecast(history, 4, 0.9)
			if err != nil {
				t.Fatal(err)
			}
			for h, u := range got.Upper {
				if want := got.Point[h] + 2*math.Sqrt(float64(h+1)); math.Abs(u-want) > 1e-12 {
					t.Errorf("Forecast(%v).Upper[%d] = %v, want %v", history.Values, h, u, want)
				}
			}
		})
	}
}

// TestUpperCalibrated checks the band on series whose errors are known: a level with
// independent uniform noise. Whatever the point forecast, Upper must cover about a q share of
// fresh values, which it has not been calibrated on. Independent series, rather than more
// origins on one, keep the calibrations behind the checked values independent.
func TestUpperCalibrated(t *testing.T) {
	const seeds, n, horizon, q = 10, 2000, 10, 0.8
	for _, name := range forecast.Names() {
		t.Run(name, func(t *testing.T) {
			m := mustNew(t, name, forecast.Options{Season: time.Hour})
			var covered, total int
			for seed := range uint64(seeds) {
				rng := rand.New(rand.NewPCG(seed, 4))
				v := make([]float64, n)
				for i := range v {
					v[i] = 100 + 10*rng.Float64()
				}
				for o := 1000; o+horizon <= n; o += 97 {
					fc, err := m.Forecast(newSeries(time.Minute, v[:o]...), horizon, q)
					if err != nil {
						t.Fatal(err)
					}
					for h, u := range fc.Upper {
						total++
						if v[o+h] <= u {
							covered++
						}
					}
				}
			}
			got := float64(covered) / float64(total)
			t.Logf("coverage of Upper at quantile %v = %.3f over %d values", q, got, total)
			if got < q-0.05 || got > q+0.05 {
				t.Errorf("coverage of Upper at quantile %v = %.3f over %d values, want within 0.05", q, got, total)
			}
		})
	}
}

func FuzzForecast(f *testing.F) {
	f.Add(floatBytes(1, 2, 3), uint8(5), 0.9, int64(time.Minute))
	f.Add(floatBytes(nan, inf, -inf, math.MaxFloat64, minV, 0, 5e-324), uint8(60), 0.99, int64(time.Minute))
	f.Add(floatBytes(nan, nan), uint8(3), 0.9, int64(5*time.Minute))
	f.Add(floatBytes(math.MaxFloat64, math.MaxFloat64, minV), uint8(1), 0.51, int64(time.Second))
	f.Add(floatBytes(1, 2), uint8(0), 0.5, int64(0))
	f.Add([]byte{}, uint8(1), 0.9, int64(time.Minute))
	f.Add(floatBytes(3, -1, 4, -1, 5, -9, 2, 6), uint8(200), 0.95, int64(7*time.Minute))
	f.Add(floatBytes(1, 2, 3), uint8(2), 0.9, int64(1)) // a one-nanosecond step

	models := make([]forecast.Model, 0, len(forecast.Names()))
	for _, name := range forecast.Names() {
		models = append(models, mustNew(f, name, forecast.Options{}))
	}
	f.Fuzz(func(t *testing.T, raw []byte, h uint8, q float64, step int64) {
		vals := make([]float64, 0, len(raw)/8)
		for i := 0; i+8 <= len(raw) && len(vals) < 4096; i += 8 {
			vals = append(vals, math.Float64frombits(binary.LittleEndian.Uint64(raw[i:])))
		}
		history := newSeries(time.Duration(step), vals...)
		horizon := int(h) - 2 // reaches the invalid 0 and -1
		_, _, hasData := history.Last()
		badArgs := step <= 0 || horizon < 1 || !(q > 0.5 && q < 1)
		for _, m := range models {
			got, err := m.Forecast(history, horizon, q)
			switch {
			case badArgs || !hasData:
				if err == nil {
					t.Fatalf("%s: Forecast(step %v, horizon %d, quantile %v, %d values) = nil error, want one",
						m.Name(), time.Duration(step), horizon, q, len(vals))
				}
				if !badArgs && !errors.Is(err, forecast.ErrNoData) {
					t.Fatalf("%s: Forecast error = %v, want ErrNoData", m.Name(), err)
				}
			case err != nil:
				t.Fatalf("%s: Forecast(step %v, horizon %d, quantile %v) error = %v, want none",
					m.Name(), time.Duration(step), horizon, q, err)
			default:
				checkContract(t, got, horizon)
			}
		}
	})
}

func floatBytes(vs ...float64) []byte {
	b := make([]byte, 0, 8*len(vs))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// readTrace reads a 1-minute CSV trace from testdata.
func readTrace(t testing.TB, name string) series.Series {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	samples, err := series.ReadCSV(f)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	s, err := series.Grid(samples, time.Minute)
	if err != nil {
		t.Fatalf("grid %s: %v", name, err)
	}
	return s
}

const nasaTrace = "nasa_http_1995_07_05-07_1min.csv"

// TestNASATrace checks both models on three days of real traffic, forecasting from origins on
// days two and three with only the data before each origin, as the agent would.
func TestNASATrace(t *testing.T) {
	s := readTrace(t, nasaTrace)
	const horizon, q = 15, 0.9
	type score struct {
		covered, total int
		absErr         float64 // at step horizon
	}
	scores := map[string]*score{}
	// One model per name across the origins, as in the agent and the backtest: it refits
	// on its own schedule as the origin moves forward.
	models := map[string]forecast.Model{}
	for _, name := range forecast.Names() {
		models[name] = mustNew(t, name, forecast.Options{})
	}
	var naiveErr float64
	var origins int
	for o := 24 * 60; o+horizon <= s.Len(); o += 29 {
		past := series.Series{Start: s.Start, Step: s.Step, Values: s.Values[:o]}
		actual := s.Values[o+horizon-1]
		last, _, _ := past.Last()
		naiveErr += math.Abs(actual - last)
		origins++
		for _, name := range forecast.Names() {
			fc, err := models[name].Forecast(past, horizon, q)
			if err != nil {
				t.Fatal(err)
			}
			sc := scores[name]
			if sc == nil {
				sc = &score{}
				scores[name] = sc
			}
			for h, u := range fc.Upper {
				sc.total++
				if s.Values[o+h] <= u {
					sc.covered++
				}
			}
			sc.absErr += math.Abs(actual - fc.Point[horizon-1])
		}
	}
	naiveMAE := naiveErr / float64(origins)
	t.Logf("naive last value: MAE at step %d = %.2f over %d origins", horizon, naiveMAE, origins)
	for _, name := range forecast.Names() {
		sc := scores[name]
		coverage, mae := float64(sc.covered)/float64(sc.total), sc.absErr/float64(origins)
		t.Logf("%s: coverage of p90 = %.3f, MAE at step %d = %.2f", name, coverage, horizon, mae)
		if coverage < 0.8 || coverage > 0.97 {
			t.Errorf("%s: coverage of Upper at quantile %v = %.3f, want in [0.8, 0.97]", name, q, coverage)
		}
		if name == forecast.RobustLevel && mae > 1.1*naiveMAE {
			t.Errorf("%s: MAE at step %d = %.2f, want <= 1.1 × naive %.2f", name, horizon, mae, naiveMAE)
		}
	}
}

// TestAutoLearnsAWeekend runs auto as the agent would, with a sliding 14-day window, on a
// workload whose weekend is at 15% of the weekday peak. Only methods that hold a whole week's
// shape (double seasonal Holt-Winters) forecast the Monday after a weekend well; auto must find
// that by judging its candidates on the forecasts they made over the last week, and be within
// 5% of dshw at one hour ahead. Judged on forecasts re-made from the shorter history at each
// refit, over two days, it was 15% behind; on the forecasts made, but over two days, 5.3%.
func TestAutoLearnsAWeekend(t *testing.T) {
	const (
		day     = 288 // 5-minute steps
		window  = 14 * day
		horizon = 12
	)
	r := rand.New(rand.NewPCG(3, 4))
	v := make([]float64, 26*day)
	for i := range v {
		a := 1.0
		if (i/day)%7 >= 5 {
			a = 0.15
		}
		d := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i%day)/day)
		v[i] = 20 + 80*a*d*d + 4*r.NormFloat64()
	}
	s := series.Series{Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), Step: 5 * time.Minute, Values: v}
	mae := map[string]float64{}
	for _, name := range []string{forecast.Auto, forecast.DSHW} {
		m := mustNew(t, name, forecast.Options{})
		var sum float64
		var count int
		for end := window; end+horizon <= len(v); end += 3 {
			fc, err := m.Forecast(s.Before(s.Time(end)).Tail(window), horizon, 0.9)
			if err != nil {
				t.Fatal(err)
			}
			if end >= 21*day { // once a week of auto's live forecasts has been judged
				sum += math.Abs(v[end+horizon-1] - fc.Point[horizon-1])
				count++
			}
		}
		mae[name] = sum / float64(count)
	}
	t.Logf("MAE one hour ahead over days 21-26: auto %.2f, dshw %.2f (noise alone: %.2f)", mae[forecast.Auto], mae[forecast.DSHW], 4*math.Sqrt(2/math.Pi))
	if mae[forecast.Auto] > 1.05*mae[forecast.DSHW] {
		t.Errorf("auto's MAE one hour ahead = %.2f, want within 5%% of dshw's %.2f", mae[forecast.Auto], mae[forecast.DSHW])
	}
}
