package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// engineFake is a Method whose forecast is the true continuation of a known function plus a
// fixed bias, and which counts its fits.
type engineFake struct {
	name string
	f    func(i int) float64
	bias float64
	err  error
	fits *int
	// needs, when set, is the history Predict needs to forecast f; with less, it adds bias
	// (as Holt-Winters loses its weekly season on less than two weeks).
	needs int
}

func (m engineFake) Name() string { return m.name }
func (m engineFake) Fit(series.Series, []int) (Predictor, error) {
	if m.fits != nil {
		*m.fits++
	}
	if m.err != nil {
		return nil, m.err
	}
	return m, nil
}
func (m engineFake) Predict(h series.Series, dst []float64) {
	// Indices are minutes since synthStart.
	first := int(h.Start.Sub(synthStart) / h.Step)
	bias := m.bias
	if m.needs > 0 && h.Len() >= m.needs {
		bias = 0
	}
	for i := range dst {
		dst[i] = m.f(first+h.Len()+i) + bias
	}
}

func TestEngineRefitSchedule(t *testing.T) {
	fits := 0
	f := sine(100, 50, 1440)
	e := NewEngine("fake", EngineConfig{RefitEvery: time.Hour, Periods: []time.Duration{24 * time.Hour}},
		engineFake{name: "fake", f: f, fits: &fits})
	s := synth(4*1440, time.Minute, f)
	forecastAt := func(end int) {
		t.Helper()
		if _, err := e.Forecast(s.Before(s.Time(end)), 30, 0.9); err != nil {
			t.Fatal(err)
		}
	}
	forecastAt(3 * 1440)
	// One fit on the training part, one on everything.
	if fits != 2 {
		t.Fatalf("fits after the first forecast = %d, want 2", fits)
	}
	forecastAt(3*1440 + 59) // 59 minutes of new data: no refit
	if fits != 2 {
		t.Errorf("fits after 59 minutes = %d, want 2", fits)
	}
	forecastAt(3*1440 + 60) // an hour: refit
	if fits != 4 {
		t.Errorf("fits after an hour = %d, want 4", fits)
	}
	forecastAt(2 * 1440) // history went back (a new backtest): refit
	if fits != 6 {
		t.Errorf("fits after going back = %d, want 6", fits)
	}
	if got := e.Info(); !got.FittedAt.Equal(s.Time(2*1440)) || len(got.Periods) != 1 || got.Periods[0] != 1440 || got.Cold {
		t.Errorf("Info() = %+v, want fitted at %v with periods [1440], not cold", got, s.Time(2*1440))
	}
}

func TestEngineRefitsYoungHistoriesSooner(t *testing.T) {
	fits := 0
	f := sine(100, 50, 1440)
	e := NewEngine("fake", EngineConfig{RefitEvery: 6 * time.Hour}, engineFake{name: "fake", f: f, fits: &fits})
	s := synth(5*1440, time.Minute, f)
	forecastAt := func(end int) int {
		t.Helper()
		before := fits
		if _, err := e.Forecast(s.Before(s.Time(end)), 10, 0.9); err != nil {
			t.Fatal(err)
		}
		return fits - before
	}
	forecastAt(60)
	tests := []struct {
		end       int
		wantRefit bool
	}{
		{74, false},           // an hour and 14 minutes: under a quarter more
		{75, true},            // a quarter more than the hour fitted
		{90, false},           //
		{94, true},            // a quarter more than 75
		{4 * 1440, true},      // four days: a quarter more
		{4*1440 + 300, false}, // no longer young: wait for RefitEvery
		{4*1440 + 360, true},
	}
	for _, tc := range tests {
		if got := forecastAt(tc.end) > 0; got != tc.wantRefit {
			t.Errorf("refit at %d minutes = %v, want %v", tc.end, got, tc.wantRefit)
		}
	}
}

func TestEngineAutoWeighsByError(t *testing.T) {
	f := withNoise(sine(100, 50, 1440), 1, 7)
	good := engineFake{name: "good", f: f}
	biased := engineFake{name: "biased", f: f, bias: 30}
	broken := engineFake{name: "broken", err: errors.New("singular matrix")}
	e := NewEngine(Auto, EngineConfig{Periods: []time.Duration{24 * time.Hour}}, broken, biased, good)
	s := synth(4*1440, time.Minute, f)
	fc, err := e.Forecast(s, 10, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	w := e.Info().Weights
	if w["good"][0] < 0.99 || w["biased"][0] > 0.01 {
		t.Errorf("weights = %v, want nearly all on the unbiased method", w)
	}
	if _, ok := w["broken"]; ok {
		t.Errorf("weights = %v, want none for a method that cannot fit", w)
	}
	for h, p := range fc.Point {
		if want := f(s.Len() + h); math.Abs(p-want) > 0.5 {
			t.Errorf("Point[%d] = %v, want about %v", h, p, want)
		}
	}
}

func TestEngineAllMethodsFail(t *testing.T) {
	e := NewEngine(Auto, EngineConfig{}, engineFake{name: "a", err: errors.New("no")}, engineFake{name: "b", err: errors.New("nope")})
	_, err := e.Forecast(synth(3*1440, time.Minute, sine(10, 1, 1440)), 5, 0.9)
	if err == nil || !strings.Contains(err.Error(), "no method could be fitted") || !strings.Contains(err.Error(), "fit b: nope") {
		t.Errorf("Forecast() error = %v, want one naming each failure", err)
	}
}

// TestEngineCalibratedBand checks the split-conformal band on a series with known noise: a
// perfect point forecast of the signal, uniform noise in [0, 10): the p90 band is about 9 wide.
func TestEngineCalibratedBand(t *testing.T) {
	signal := sine(100, 50, 1440)
	noisy := func(i int) float64 { return signal(i) + 10*math.Mod(float64(i)*0.6180339887, 1) }
	e := NewEngine("fake", EngineConfig{Periods: []time.Duration{24 * time.Hour}}, engineFake{name: "fake", f: signal})
	fc, err := e.Forecast(synth(6*1440, time.Minute, noisy), 5, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	for h := range fc.Point {
		if w := fc.Upper[h] - fc.Point[h]; w < 8 || w > 10 {
			t.Errorf("band width at step %d = %v, want about 9 (the p90 of uniform [0, 10))", h, w)
		}
	}
	if e.Info().Cold {
		t.Error("Info().Cold = true with six days of history")
	}
}

func TestEngineColdStart(t *testing.T) {
	e := NewEngine("fake", EngineConfig{}, naive{})
	fc, err := e.Forecast(synth(6, time.Minute, func(i int) float64 { return float64(10 + 2*(i%2)) }), 4, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Info().Cold {
		t.Error("Info().Cold = false with 6 points of history")
	}
	for h, u := range fc.Upper {
		if want := fc.Point[h] + 2*math.Sqrt(float64(h+1)); math.Abs(u-want) > 1e-9 {
			t.Errorf("Upper[%d] = %v, want %v (the step-to-step change times sqrt(h))", h, u, want)
		}
	}
}

func TestDataWarnings(t *testing.T) {
	counter := synth(600, time.Minute, func(i int) float64 { return float64(1000 + i*7 - 4200*(i/300)) })
	tests := map[string]struct {
		s    series.Series
		want string
	}{
		"raw counter with a reset": {counter, "raw counter"},
		"negative values":          {synth(100, time.Minute, func(i int) float64 { return float64(i%5 - 2) }), "negative values"},
		"a real load":              {synth(600, time.Minute, withNoise(sine(100, 50, 1440), 5, 1)), ""},
		// A quiet service's counter rises only in the minutes that had requests.
		"raw counter of a quiet service": {synth(1440, time.Minute, quietCounter(0.1)), "raw counter"},
		"raw counter of a busier one":    {synth(1440, time.Minute, quietCounter(0.4)), "raw counter"},
		"a flat load":                    {synth(600, time.Minute, func(int) float64 { return 5 }), ""},
		"a sparse load":                  {synth(1440, time.Minute, func(i int) float64 { return 3 * b2f(i%17 == 0) }), ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := strings.Join(dataWarnings(tc.s), "; ")
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("dataWarnings() = %q, want %q", got, tc.want)
			}
		})
	}
}

// quietCounter is a counter that rises by 1 to 5 in a share p of the minutes, fixed by a seed.
func quietCounter(p float64) func(int) float64 {
	r := rand.New(rand.NewPCG(7, 7))
	total, at := 0.0, -1
	return func(i int) float64 {
		for ; at < i; at++ {
			if r.Float64() < p {
				total += float64(1 + r.IntN(5))
			}
		}
		return total
	}
}

// TestEngineJudgesByLiveForecasts checks that auto switches from a held-out split to the
// forecasts its candidates actually made since earlier refits, and keeps choosing well.
func TestEngineJudgesByLiveForecasts(t *testing.T) {
	f := withNoise(sine(100, 50, 1440), 1, 9)
	e := NewEngine(Auto, EngineConfig{RefitEvery: 6 * time.Hour, Periods: []time.Duration{24 * time.Hour}},
		engineFake{name: "biased", f: f, bias: 20}, engineFake{name: "good", f: f})
	s := synth(8*1440, time.Minute, f)
	var live bool
	for end := 4 * 1440; end <= 8*1440; end += 15 {
		if _, err := e.Forecast(s.Before(s.Time(end)), 60, 0.9); err != nil {
			t.Fatal(err)
		}
		live = live || e.Info().Live
	}
	info := e.Info()
	if !live || !info.Live {
		t.Fatalf("Info().Live = %v after four days of forecasts every 15 minutes, want true", info.Live)
	}
	if info.Weights["good"][0] < 0.99 {
		t.Errorf("weights = %v, want nearly all on the unbiased method", info.Weights)
	}
}

// TestEngineJudgesTheForecastsMade checks that auto judges its candidates by the forecasts they
// made from the history the Engine was given then, not by forecasts re-made at the next refit
// from a history whose window starts later. The agent keeps a sliding window; a method that
// needs all of it (Holt-Winters with a weekly season needs two weeks) forecasts well live, and
// would forecast badly from the shorter history a re-forecast sees.
func TestEngineJudgesTheForecastsMade(t *testing.T) {
	f := withNoise(sine(100, 50, 1440), 1, 9)
	const window = 3 * 1440
	e := NewEngine(Auto, EngineConfig{RefitEvery: 6 * time.Hour, Periods: []time.Duration{24 * time.Hour}},
		engineFake{name: "slightly biased", f: f, bias: 5},
		engineFake{name: "needs the whole window", f: f, bias: 20, needs: window})
	forecastEvery15(t, e, synth(8*1440, time.Minute, f), window, 8*1440, window)
	info := e.Info()
	if !info.Live {
		t.Fatalf("Info().Live = false after five days of forecasts every 15 minutes, want true")
	}
	if w := info.Weights["needs the whole window"]; w[0] < 0.99 || w[1] < 0.99 {
		t.Errorf("weights = %v, want nearly all on the method that forecasts best from the window it is given", info.Weights)
	}
}

// TestEngineJudgesAWeek checks that with a weekly period auto judges its candidates over the
// last week of their live forecasts, not the last two days: a candidate that is exact on
// weekdays and far off on the weekend must not win on two weekdays just before the weekend.
func TestEngineJudgesAWeek(t *testing.T) {
	const day = 288 // 5-minute steps
	base := sine(100, 50, day)
	weekend := func(i int) bool { return (i/day)%7 == 6 }
	e := NewEngine(Auto, EngineConfig{RefitEvery: 6 * time.Hour, Periods: []time.Duration{24 * time.Hour, 7 * 24 * time.Hour}},
		engineFake{name: "steady", f: base, bias: 3},
		engineFake{name: "weekdays only", f: func(i int) float64 { return base(i) + 40*b2f(weekend(i)) }})
	s := synth(21*day, 5*time.Minute, base)
	// Up to the start of day 20, a weekend day; the last refit was at 18:00 on day 19, after
	// five weekdays.
	for end := 10 * day; end <= 20*day; end += 3 {
		if _, err := e.Forecast(s.Before(s.Time(end)).Tail(14*day), 12, 0.9); err != nil {
			t.Fatal(err)
		}
	}
	info := e.Info()
	if !info.Live || len(info.Periods) != 2 {
		t.Fatalf("Info() = %+v, want live weights and two periods", info)
	}
	if w := info.Weights["steady"]; w[0] < 0.99 || w[1] < 0.99 {
		t.Errorf("weights = %v, want nearly all on the candidate that is better over the week", info.Weights)
	}
}

// TestEngineBandFollowsRecentNoise checks that the band is calibrated on the newest live
// forecasts (two days), not on all those the weights are chosen on (four): after two noisy days
// and two calm ones, the p90 band is as narrow as the calm days' errors.
func TestEngineBandFollowsRecentNoise(t *testing.T) {
	const day = 1440
	truth := sine(100, 50, day)
	unit := withNoise(func(int) float64 { return 0 }, 1, 17)
	data := func(i int) float64 {
		sd := 1.0
		if i < 6*day {
			sd = 10
		}
		return truth(i) + sd*unit(i)
	}
	e := NewEngine(Auto, EngineConfig{RefitEvery: 6 * time.Hour, Periods: []time.Duration{24 * time.Hour}},
		engineFake{name: "exact", f: truth}, engineFake{name: "biased", f: truth, bias: 5})
	fc := forecastEvery15(t, e, synth(8*day, time.Minute, data), 2*day, 8*day, 0)
	if !e.Info().Live {
		t.Fatal("Info().Live = false, want live weights")
	}
	for _, h := range []int{0, 59} {
		if w := fc.Upper[h] - fc.Point[h]; w < 0.5 || w > 4 {
			t.Errorf("Upper[%d] - Point[%d] = %.2f, want about the calm days' p90 error (1.3), not that of all four days (8)", h, h, w)
		}
	}
}

// TestEngineBandFollowsVolatility: the load is an exact forecast's plus noise whose size changes
// every four hours (sd 10, then 1). Bursts that cluster like this make the last hour's
// volatility the better guide to the next hour's errors than the level is, so the band two hours
// into a restless block is more than twice as wide as two hours into a calm one (the last
// hour's volatility is about ten times as high; the origins near a block's end, whose next hour
// is in the other block, make an exponent of ½ score best); a band deaf to it would be the same
// in both.
func TestEngineBandFollowsVolatility(t *testing.T) {
	const day, block = 1440, 240
	truth := func(int) float64 { return 100 }
	unit := withNoise(func(int) float64 { return 0 }, 1, 23)
	data := func(i int) float64 {
		if (i/block)%2 == 0 {
			return truth(i) + 10*unit(i)
		}
		return truth(i) + unit(i)
	}
	e := NewEngine(Auto, EngineConfig{RefitEvery: 6 * time.Hour, Periods: []time.Duration{24 * time.Hour}},
		engineFake{name: "exact", f: truth}, engineFake{name: "biased", f: truth, bias: 5})
	s := synth(5*day, time.Minute, data)
	restless := 4*day + block/2 // block 24: sd 10
	restlessFc := forecastEvery15(t, e, s, 2*day, restless, 0)
	calmFc := forecastEvery15(t, e, s, restless+15, restless+block, 0)
	if got := e.Info().BandScaledBy; !strings.Contains(got, "volatility^") {
		t.Errorf("Info().BandScaledBy = %q, want the volatility named", got)
	}
	wide, narrow := restlessFc.Upper[0]-restlessFc.Point[0], calmFc.Upper[0]-calmFc.Point[0]
	if !(wide > 2*narrow) || !(narrow > 0) {
		t.Errorf("band %.2f two hours into a restless block, %.2f into a calm one; want the first more than twice the second", wide, narrow)
	}
}

// forecastEvery15 runs e as an agent would live on the 1-minute series s: a forecast of 60
// steps at p90 from the history ending at every 15th minute from first to last, the newest
// window minutes of it (all of it when window is 0). It returns the last forecast.
func forecastEvery15(t *testing.T, e *Engine, s series.Series, first, last, window int) Forecast {
	t.Helper()
	var fc Forecast
	for end := first; end <= last; end += 15 {
		h := s.Before(s.Time(end))
		if window > 0 {
			h = h.Tail(window)
		}
		var err error
		if fc, err = e.Forecast(h, 60, 0.9); err != nil {
			t.Fatal(err)
		}
	}
	return fc
}

// TestEngineBandOfOneMethodIsLive checks that a single method's band, like auto's, is
// calibrated on the forecasts it made live once there are enough of them, not on forecasts from
// a held-out split of a shorter history: a method that forecasts exactly from the whole window
// and 20 too high from less (as the weekly seasonal naive does from less than a week) would
// otherwise get a band from errors near −20 — none at all — and cover half of the outcomes.
func TestEngineBandOfOneMethodIsLive(t *testing.T) {
	const (
		day    = 1440
		window = 3 * day
	)
	truth := sine(100, 50, day)
	e := NewEngine("fake", EngineConfig{RefitEvery: 6 * time.Hour, Periods: []time.Duration{24 * time.Hour}},
		engineFake{name: "fake", f: truth, bias: 20, needs: window})
	fc := forecastEvery15(t, e, synth(7*day, time.Minute, withNoise(truth, 1, 23)), window, 7*day, window)
	if !e.Info().Live {
		t.Fatal("Info().Live = false after four days of forecasts every 15 minutes, want true")
	}
	for _, h := range []int{0, 59} {
		if w := fc.Upper[h] - fc.Point[h]; w < 0.8 || w > 2.5 {
			t.Errorf("Upper[%d] - Point[%d] = %.2f, want about the live p90 error (1.3)", h, h, w)
		}
	}
}

// TestEngineCorrectsLevelShifts checks auto's intercept correction with candidates that ignore
// the newest data altogether, as robust methods do for a while after a shift: a jump to a level
// never seen before is followed at every lead; a jump to a level the workload has burst to
// before and left is followed at short leads and less the further ahead; a single spike is not
// followed.
func TestEngineCorrectsLevelShifts(t *testing.T) {
	const (
		n    = 5 * 1440 // the history at the forecast, in minutes
		jump = 200.0    // far beyond the sine's range [50, 150]
	)
	base := sine(100, 50, 1440)
	tests := map[string]struct {
		event          func(i int) float64 // added to base and noise
		near1, near60  float64             // want Point[0] and Point[59] within 15 of base plus these
		below60, above float64             // and Point[59] between base plus above and base plus below60
	}{
		"new level for 20 minutes": {
			event: func(i int) float64 { return jump * b2f(i >= n-20) },
			near1: jump, near60: jump, below60: math.Inf(1),
		},
		"20 minutes into a burst like one three days ago": {
			event: func(i int) float64 { return jump * b2f(i >= n-20 || i >= 1440+600 && i < 1440+640) },
			near1: jump, near60: math.NaN(), below60: jump / 2, above: 10,
		},
		"a single spike 5 minutes ago": {
			event: func(i int) float64 { return jump * b2f(i == n-5) },
			near1: 0, near60: 0, below60: math.Inf(1),
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			noisy := withNoise(base, 1, 3)
			s := synth(n, time.Minute, func(i int) float64 { return noisy(i) + tc.event(i) })
			e := NewEngine(Auto, EngineConfig{RefitEvery: 6 * time.Hour, Periods: []time.Duration{24 * time.Hour}},
				engineFake{name: "a", f: base}, engineFake{name: "b", f: base, bias: 0.5})
			if _, err := e.Forecast(s.Before(s.Time(n-60)), 60, 0.9); err != nil { // fit before the event
				t.Fatal(err)
			}
			fc, err := e.Forecast(s, 60, 0.9)
			if err != nil {
				t.Fatal(err)
			}
			if !e.Info().FittedAt.Equal(s.Time(n - 60)) {
				t.Fatalf("Info().FittedAt = %v, want no refit at the event", e.Info().FittedAt)
			}
			p1, p60 := fc.Point[0]-base(n), fc.Point[59]-base(n+59)
			if math.Abs(p1-tc.near1) > 15 {
				t.Errorf("Point[0] = base%+.1f, want base%+.1f", p1, tc.near1)
			}
			if !math.IsNaN(tc.near60) && math.Abs(p60-tc.near60) > 15 {
				t.Errorf("Point[59] = base%+.1f, want base%+.1f", p60, tc.near60)
			}
			if p60 > tc.below60 || p60 < tc.above {
				t.Errorf("Point[59] = base%+.1f, want between base%+.1f and base%+.1f", p60, tc.above, tc.below60)
			}
		})
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestWeighCapsEventErrors checks that a few origins where every candidate missed by far (a
// level shift) do not decide the weights: a candidate that is better everywhere else, but
// slower to follow the shift, still gets the larger weight.
func TestWeighCapsEventErrors(t *testing.T) {
	const origins = 192 // two days of origins every 15 minutes
	v := make([]float64, origins)
	idx := make([]int, origins)
	pred := [][][]float64{make([][]float64, origins), make([][]float64, origins)} // [slow, fast]
	for i := range idx {
		idx[i] = i
		slow, fast := 1.0, 2.0
		if i < 3 { // the shift: the slow one misses by 100, the fast one by 50
			slow, fast = 100, 50
		}
		pred[0][i], pred[1][i] = []float64{slow}, []float64{-fast}
	}
	w := weigh(pred, idx, v, 1, 2, defaultScheme)
	if w[0][0] <= 0.5 {
		t.Errorf("weigh() = %v, want more than half on the candidate better outside the shift", w)
	}
}

// TestWeighSmoothsInProportionToLead: at step 40 a candidate perfect at steps 38–42 alone but
// far off around them loses to one steadily close, since the loss is averaged over a fifth of
// the lead either side (32–48); at step 5 the window stays ±2, so a candidate perfect at steps
// 3–7 wins there.
func TestWeighSmoothsInProportionToLead(t *testing.T) {
	const origins, horizon = 96, 60
	v := make([]float64, origins+horizon)
	idx := make([]int, origins)
	pred := [][][]float64{make([][]float64, origins), make([][]float64, origins)} // [spotty, steady]
	for i := range idx {
		idx[i] = i
		pred[0][i], pred[1][i] = make([]float64, horizon), make([]float64, horizon)
		for h := range horizon {
			pred[0][i][h], pred[1][i][h] = 10, 3
			if (h >= 38 && h <= 42) || (h >= 3 && h <= 7) {
				pred[0][i][h] = 0
			}
		}
	}
	w := weigh(pred, idx, v, horizon, 2, scheme{top: 1, loss: absoluteLoss})
	if w[40][1] != 1 {
		t.Errorf("weights at step 40 = %v, want all on the steady candidate", w[40])
	}
	if w[5][0] != 1 {
		t.Errorf("weights at step 5 = %v, want all on the candidate perfect at steps 3–7", w[5])
	}
}

// TestChooseScheme checks that auto combines its candidates in the way that would have left
// the lowest absolute error on origins the weights were not chosen on.
func TestChooseScheme(t *testing.T) {
	tests := map[string]struct {
		origins int
		errs    func(i int) []float64 // each candidate's error at origin i
		want    scheme
	}{
		// Off in opposite directions by the same amount: their average is exact.
		"errors that cancel": {200, func(int) []float64 { return []float64{2, -2} }, defaultScheme},
		// Both off the same way, one by twice as much: the better one alone.
		"one better everywhere": {200, func(int) []float64 { return []float64{1, 2} }, scheme{1, squaredLoss, false}},
		// One usually off by 1 but by 30 at one origin in 20, the other always off by 4:
		// squared error trusts the steady one, whose typical miss is four times larger.
		"rare large misses": {200, func(i int) []float64 { return []float64{1 + 29*b2f(i%20 == 0), 4} }, scheme{1, absoluteLoss, false}},
		// Three exact but for misses by 20 at two origins in twenty, each at different ones: any
		// average carries every miss, the median none.
		"misses at different times": {200, func(i int) []float64 {
			return []float64{20 * b2f(i%20 < 2), 20 * b2f(i%20 == 6 || i%20 == 7), 20 * b2f(i%20 == 12 || i%20 == 13)}
		}, scheme{3, squaredLoss, true}},
		"too few origins": {15, func(i int) []float64 { return []float64{1 + 29*b2f(i%5 == 0), 4} }, defaultScheme},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			k := len(tc.errs(0))
			v := make([]float64, tc.origins)
			idx := make([]int, tc.origins)
			pred := make([][][]float64, k)
			for c := range pred {
				pred[c] = make([][]float64, tc.origins)
			}
			for i := range idx {
				idx[i] = i
				v[i] = 100
				for c, e := range tc.errs(i) {
					pred[c][i] = []float64{100 + e}
				}
			}
			if got := chooseScheme(pred, idx, v, 1, k); got != tc.want {
				t.Errorf("chooseScheme() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCombineMedian checks that a median scheme forecasts the middle one of the weighted
// candidates at each step, where a weighted mean would carry the outlier.
func TestCombineMedian(t *testing.T) {
	f := sine(100, 50, 1440)
	s := synth(2*1440, time.Minute, f)
	fakes := []Predictor{engineFake{f: f, bias: -2}, engineFake{f: f, bias: 1}, engineFake{f: f, bias: 60}}
	weights := make([][]float64, 5)
	for h := range weights {
		weights[h] = []float64{0.4, 0.4, 0.2}
	}
	for _, tc := range []struct {
		sc   scheme
		bias float64
	}{{scheme{3, squaredLoss, true}, 1}, {scheme{3, squaredLoss, false}, 0.4*-2 + 0.4*1 + 0.2*60}} {
		e := &Engine{fitted: fakes, weights: weights, scheme: tc.sc}
		got := make([]float64, 5)
		e.combine(s, got, make([]float64, 5))
		for h, v := range got {
			if want := f(s.Len()+h) + tc.bias; math.Abs(v-want) > 1e-9 {
				t.Errorf("%v: step %d = %v, want %v", tc.sc, h, v, want)
			}
		}
	}
}

func TestEngineRemembersRecentForecasts(t *testing.T) {
	e := &Engine{}
	t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	for i := range maxRecent + 10 {
		e.remember(t0.Add(time.Duration(i)*time.Minute), []float64{float64(i), float64(i) + 0.5})
	}
	e.remember(t0.Add(time.Duration(maxRecent+9)*time.Minute), []float64{-1, -2, -3}) // the newest origin again: replaced
	tests := map[string]struct {
		at   int
		n    int
		want []float64
	}{
		"a kept origin":                  {at: maxRecent, n: 2, want: []float64{maxRecent, maxRecent + 0.5}},
		"shorter than asked: not usable": {at: maxRecent, n: 3, want: nil},
		"dropped as the oldest":          {at: 3, n: 1, want: nil},
		"never forecast from":            {at: maxRecent + 50, n: 1, want: nil},
		"replaced by a later forecast":   {at: maxRecent + 9, n: 3, want: []float64{-1, -2, -3}},
		"a prefix of a longer forecast":  {at: maxRecent + 9, n: 1, want: []float64{-1}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := e.recalled(t0.Add(time.Duration(tc.at)*time.Minute), tc.n)
			if !slices.Equal(got, tc.want) {
				t.Errorf("recalled = %v, want %v", got, tc.want)
			}
		})
	}
	if len(e.recent) > maxRecent {
		t.Errorf("%d forecasts kept, want at most %d", len(e.recent), maxRecent)
	}
}

func TestChooseBandScale(t *testing.T) {
	hist := synth(2*1440, time.Minute, func(i int) float64 { return 500 })
	tests := map[string]struct {
		noise         func(level, vol, z float64) float64
		want, wantVol float64
	}{
		"noise independent of the level: a constant band":      {noise: func(_, _, z float64) float64 { return 20 * z }, want: 0},
		"noise proportional to the level: a proportional band": {noise: func(level, _, z float64) float64 { return 0.1 * level * z }, want: 1},
		"noise like counts (sd ∝ √level): a square-root band":  {noise: func(level, _, z float64) float64 { return 2 * math.Sqrt(level) * z }, want: 0.5},
		// Bursts cluster: the noise is as large as the last hour's volatility says.
		"noise proportional to the volatility": {noise: func(_, vol, z float64) float64 { return 20 * vol * z }, want: 0, wantVol: 1},
		"noise like counts and clustered":      {noise: func(level, vol, z float64) float64 { return 2 * math.Sqrt(level) * vol * z }, want: 0.5, wantVol: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			errs, fs, vs := make([][]float64, 3), make([][]float64, 3), make([][]float64, 3)
			for h := range errs {
				for i := range 2000 {
					level := 50 + float64(i%100)*20 // 50 … 2030
					vol := 0.5 + float64(i%7)/3     // 0.5 … 2.5, independent of the level
					fs[h] = append(fs[h], level)
					vs[h] = append(vs[h], vol)
					errs[h] = append(errs[h], tc.noise(level, vol, rng.NormFloat64()))
				}
			}
			e := &Engine{cfg: EngineConfig{Calibration: DefaultCalibration}}
			raw := errs[0][7]
			e.chooseBandScale(hist, errs, fs, vs)
			if e.scaleExp != tc.want || e.volExp != tc.wantVol || e.scaleFloor != 50 {
				t.Errorf("chose exponents %v (level), %v (volatility), floor %v; want %v, %v, 50 (a tenth of the level 500)",
					e.scaleExp, e.volExp, e.scaleFloor, tc.want, tc.wantVol)
			}
			if got := errs[0][7] * e.scale(fs[0][7], vs[0][7]); math.Abs(got-raw) > 1e-9*math.Abs(raw) {
				t.Errorf("error 7 times its scale = %v, want the raw error %v: errors must be left divided by the scale", got, raw)
			}
		})
	}
}

// nanFake forecasts 100 but NaN at step 3 and +Inf at step 5.
type nanFake struct{ engineFake }

func (m nanFake) Fit(series.Series, []int) (Predictor, error) { return m, nil }
func (m nanFake) Predict(_ series.Series, dst []float64) {
	for i := range dst {
		dst[i] = 100
	}
	dst[3], dst[5] = math.NaN(), math.Inf(1)
}

// TestEngineNonFiniteForecast: a method's NaN or Inf becomes the last observed value, not 0
// (which clamping would make of NaN) nor the largest float.
func TestEngineNonFiniteForecast(t *testing.T) {
	e := NewEngine("nan", EngineConfig{RefitEvery: time.Hour}, nanFake{engineFake{name: "nan"}})
	s := synth(600, time.Minute, func(i int) float64 { return 40 })
	fc, err := e.Forecast(s, 8, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range []float64{100, 100, 100, 40, 100, 40, 100, 100} {
		if fc.Point[h] != want || !(fc.Upper[h] >= want) || math.IsInf(fc.Upper[h], 0) {
			t.Errorf("step %d: point %v, upper %v; want point %v and a finite upper above it", h, fc.Point[h], fc.Upper[h], want)
		}
	}
}
