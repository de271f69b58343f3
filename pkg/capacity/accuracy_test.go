package capacity

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// replay feeds the guard forecasts of upper at every 1-minute origin and the actuals as they
// arrive, and returns its status after the last.
func replay(t *testing.T, a *Accuracy, upper float64, actuals []float64) AccuracyStatus {
	t.Helper()
	h := series.Series{Start: t0, Step: time.Minute}
	for _, v := range actuals {
		a.Record(h.End(), time.Minute, []float64{upper, upper, upper, upper})
		h.Values = append(h.Values, v)
		a.Observe(h)
	}
	return a.Status()
}

// every returns n actuals, each k-th of which is hi and the others lo.
func every(n, k int, lo, hi float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = lo
		if i%k == k-1 {
			v[i] = hi
		}
	}
	return v
}

func TestAccuracyGuard(t *testing.T) {
	cfg := AccuracyConfig{Quantile: 0.9, Lead: 3 * time.Minute, Window: 100, MinSamples: 30}
	tests := map[string]struct {
		actuals    []float64
		wantMode   Mode
		wantFactor float64
	}{
		"too few comparisons: trusted": {
			actuals: every(20, 1, 0, 500), wantMode: Trusted, wantFactor: 1,
		},
		"calibrated (1 in 10 above): trusted": {
			actuals: every(200, 10, 90, 120), wantMode: Trusted, wantFactor: 1,
		},
		"1 in 4 above: widened by the factor that covers 90%": {
			// Of the last 100 judged, 25 are 150/100: the 90th percentile ratio is 1.5.
			actuals: every(203, 4, 90, 150), wantMode: Widened, wantFactor: 1.5,
		},
		"widening is capped": {
			actuals: every(203, 4, 90, 900), wantMode: Widened, wantFactor: 2,
		},
		"mostly above: fallback, keeping the widening": {
			actuals: every(200, 2, 180, 90), wantMode: Fallback, wantFactor: 1.8,
		},
		"gaps are not judged": {
			actuals: every(200, 2, math.NaN(), 500), wantMode: Fallback, wantFactor: 2,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a, err := NewAccuracy(cfg)
			if err != nil {
				t.Fatal(err)
			}
			st := replay(t, a, 100, tc.actuals)
			if st.Mode != tc.wantMode || math.Abs(st.Factor-tc.wantFactor) > 1e-9 {
				t.Errorf("status = %+v, want mode %v factor %v", st, tc.wantMode, tc.wantFactor)
			}
		})
	}
}

// TestAccuracyGuardRecovers checks the hysteresis: out of fallback only once the exceedance
// is back under the widening threshold, not as soon as it dips under the fallback one.
func TestAccuracyGuardRecovers(t *testing.T) {
	a, err := NewAccuracy(AccuracyConfig{Quantile: 0.9, Lead: time.Minute, Window: 50, MinSamples: 10})
	if err != nil {
		t.Fatal(err)
	}
	h := series.Series{Start: t0, Step: time.Minute}
	var modes []Mode
	step := func(v float64) {
		a.Record(h.End(), time.Minute, []float64{100, 100})
		h.Values = append(h.Values, v)
		a.Observe(h)
		modes = append(modes, a.Status().Mode)
	}
	for range 60 {
		step(300) // badly wrong
	}
	if got := a.Status().Mode; got != Fallback {
		t.Fatalf("after 60 misses mode = %v, want fallback", got)
	}
	// Good forecasts from now on: the exceedance falls below 0.5 after 26 more steps, below
	// 0.2 (the widening threshold) after 41; only then may the mode leave fallback.
	for range 60 {
		step(50)
	}
	for i, m := range modes[60:] {
		judged := i + 1 // good comparisons in the window (the first good actual judges the forecast of the step before)
		if judged < 41 && m != Fallback {
			t.Errorf("after %d good steps mode = %v, want fallback until the exceedance is below 0.2", judged, m)
		}
	}
	if m := modes[60+41-1]; m != Trusted {
		t.Errorf("after 41 good steps (exceedance 9/50) mode = %v, want trusted", m)
	}
	if got := a.Status().Mode; got != Trusted {
		t.Errorf("after 60 good steps mode = %v, want trusted", got)
	}
}

func TestAccuracyConfigValidate(t *testing.T) {
	_, err := NewAccuracy(AccuracyConfig{Quantile: 1.2, Lead: -time.Second, Window: 5, MinSamples: 10, WidenAbove: 0.6, FallbackAbove: 0.5, MaxWiden: 0.5})
	if err == nil {
		t.Fatal("NewAccuracy(bad) = nil error")
	}
	for _, want := range []string{"quantile must be in (0.5, 1)", "lead must be >= 0", "min samples <= window", "widen rate < fallback rate", "max widen must be >= 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("NewAccuracy(bad) = %q, want it to contain %q", err, want)
		}
	}
}

// TestAccuracyDefaultsFitEveryQuantile: the default rates suit any quantile the agent accepts.
// For a low quantile the default widening rate 2 × (1 − q) reaches 0.5, the usual fallback
// rate, and the fallback rate moves up with it.
func TestAccuracyDefaultsFitEveryQuantile(t *testing.T) {
	tests := map[string]struct {
		q             float64
		widen, fallTo float64
	}{
		"p90: twice 10 %, fallback at a median": {q: 0.9, widen: 0.2, fallTo: 0.5},
		"p80":                                   {q: 0.8, widen: 0.4, fallTo: 0.5},
		"p75: widening at 0.5, fallback above":  {q: 0.75, widen: 0.5, fallTo: 0.75},
		"p60":                                   {q: 0.6, widen: 0.8, fallTo: 0.9},
		"p51":                                   {q: 0.51, widen: 0.98, fallTo: 0.99},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := NewAccuracy(AccuracyConfig{Quantile: tc.q}); err != nil {
				t.Fatalf("NewAccuracy(quantile %v) = %v, want the defaults to fit", tc.q, err)
			}
			c := AccuracyConfig{Quantile: tc.q}.withDefaults()
			if math.Abs(c.WidenAbove-tc.widen) > 1e-9 || math.Abs(c.FallbackAbove-tc.fallTo) > 1e-9 {
				t.Errorf("defaults widen %v, fallback %v; want %v, %v", c.WidenAbove, c.FallbackAbove, tc.widen, tc.fallTo)
			}
		})
	}
}
