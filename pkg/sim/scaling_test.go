package sim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/capacity"
	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/series"
)

var simStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// testScaling is a configuration for 1-minute traces with a one-day warmup, target 10 per pod
// and the Kubernetes defaults (start-up 3m, lead 3m45s).
func testScaling() ScalingConfig {
	cl := DefaultClusterConfig()
	return ScalingConfig{
		Cluster: cl, TargetPerPod: 10, Tick: 15 * time.Second, Warmup: 24 * time.Hour, Window: 24 * time.Hour,
		Horizon: 30 * time.Minute,
		Policy:  plan.Policy{Headroom: 1, MinReplicas: cl.MinReplicas, MaxReplicas: cl.MaxReplicas, LeadTime: plan.Duration(cl.Startup + 45*time.Second)},
		Rules:   capacity.DefaultRules(), Guard: true,
		Reactive: []float64{1}, Predictive: []Setting{{Quantile: 0.9, Headroom: 1}},
	}
}

// trace is one day of warmup and ten simulated minutes at base, followed by the given minutes.
func trace(base float64, minutes ...float64) series.Series {
	v := make([]float64, 1450, 1450+len(minutes))
	for i := range v {
		v[i] = base
	}
	return series.Series{Start: simStart, Step: time.Minute, Values: append(v, minutes...)}
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func naive() (forecast.Model, error) { return forecast.New(forecast.Naive, forecast.Options{}) }

// unservedSeconds turns an outcome's unserved share back into demand × seconds.
func unservedSeconds(o Outcome, s series.Series, warm int) float64 {
	total := 0.0
	for _, v := range s.Values[warm:] {
		total += v * 60
	}
	return o.Unserved * total
}

func TestScaleHandComputed(t *testing.T) {
	tests := map[string]struct {
		s series.Series
		// Unserved demand × seconds of each policy, worked out by hand in the comments.
		reactive, predictive, oracle float64
		// Replica-hours of the reactive policy, when checked (> 0).
		reactiveHours float64
	}{
		"flat line: 5 pods serve 50 throughout": {
			s: trace(50, repeat(50, 50)...), reactive: 0, predictive: 0, oracle: 0, reactiveHours: 5,
		},
		"step up from 50 to 200": {
			// At the step (a poll and a sync instant) the HPA wants 20 but may add only
			// max(4, 100%) of 5: 10 pods; 15 s later 20. The 5 new pods serve from +3m, the 10
			// others from +3m15s: short 150 for 180 s and 100 for 15 s = 28,500. Kedastral's naive
			// model saw only 50s, so it is no faster; the oracle asks a lead (3m45s) ahead and has
			// all 20 ready at the step.
			s: trace(50, repeat(200, 60)...), reactive: 28500, predictive: 28500, oracle: 0,
		},
		"spike shorter than the start-up delay": {
			// 300 for one minute: short 250 for 60 s before any new pod can serve. The oracle
			// has them ready in time.
			s: trace(50, append([]float64{300}, repeat(50, 59)...)...), reactive: 15000, predictive: 15000, oracle: 0,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := testScaling()
			res, err := Scale(t.Context(), tc.s, naive, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{
				"reactive":   unservedSeconds(res.Reactive[0], tc.s, 1440),
				"predictive": unservedSeconds(res.Predictive[0], tc.s, 1440),
				"oracle":     unservedSeconds(res.Oracle, tc.s, 1440),
			}
			want := map[string]float64{"reactive": tc.reactive, "predictive": tc.predictive, "oracle": tc.oracle}
			for k := range want {
				if math.Abs(got[k]-want[k]) > 1e-6*max(1, want[k]) {
					t.Errorf("%s unserved = %v demand-seconds, want %v", k, got[k], want[k])
				}
			}
			if tc.reactiveHours > 0 && math.Abs(res.Reactive[0].ReplicaHours-tc.reactiveHours) > 1e-9 {
				t.Errorf("reactive replica-hours = %v, want %v", res.Reactive[0].ReplicaHours, tc.reactiveHours)
			}
		})
	}
}

// TestScaleRampSeenComing checks that foresight buys what it should: on a daily ramp the
// seasonal model has seen the day before, Kedastral leaves less unserved than reactive KEDA.
func TestScaleRampSeenComing(t *testing.T) {
	day := make([]float64, 1440)
	for i := range day {
		// Quiet at 50, a ramp to 400 over 30 minutes at 09:00, back down at 17:00.
		switch m := i; {
		case m >= 9*60 && m < 9*60+30:
			day[i] = 50 + 350*float64(m-9*60)/30
		case m >= 9*60+30 && m < 17*60:
			day[i] = 400
		default:
			day[i] = 50
		}
	}
	var v []float64
	for range 4 {
		v = append(v, day...)
	}
	s := series.Series{Start: simStart, Step: time.Minute, Values: v}
	cfg := testScaling()
	cfg.Warmup, cfg.Window = 3*24*time.Hour, 3*24*time.Hour
	// Without the HPA's tolerance: at 40 pods it ignores a plan asking for 1 more, for every
	// policy alike, which would blur what this test is about.
	cfg.Cluster.Tolerance = 0
	seasonal := func() (forecast.Model, error) { return forecast.New(forecast.SeasonalNaive, forecast.Options{}) }
	res, err := Scale(t.Context(), s, seasonal, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, p, o := res.Reactive[0], res.Predictive[0], res.Oracle
	if !(r.Unserved > 0) || !(p.Unserved < r.Unserved/4) {
		t.Errorf("unserved: reactive %.4f, predictive %.4f; want predictive under a quarter of reactive", r.Unserved, p.Unserved)
	}
	if o.Unserved > 1e-9 {
		t.Errorf("oracle unserved %.6f, want 0: it knows the ramp and asks a lead ahead", o.Unserved)
	}
}

// TestScaleSteps checks the plan in steps of the HPA's tolerance on a slow ramp (100 to 300 over
// four hours, target 10 per pod: 10 to 30 pods, 1% a few minutes). The naive forecast sees no
// rise coming, so the plan asks for what the newest sample needs: a pod more every 12 minutes
// or so, which the HPA ignores until the asks add up to more than 10% of its pods, while the
// demand goes on rising. In steps of more than 10%, each step the plan takes is acted on.
func TestScaleSteps(t *testing.T) {
	ramp := make([]float64, 240)
	for i := range ramp {
		ramp[i] = 100 + 200*float64(i)/240
	}
	s := trace(100, append(ramp, repeat(300, 30)...)...)
	cfg := testScaling()
	cfg.Predictive = []Setting{{Quantile: 0, Headroom: 1}, {Quantile: 0, Headroom: 1, Steps: true}}
	res, err := Scale(t.Context(), s, naive, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, steps := res.Predictive[0], res.Predictive[1]
	if plain.Setting != "point×1.00" || steps.Setting != "point×1.00 steps" {
		t.Fatalf("settings %q and %q, want point×1.00 and point×1.00 steps", plain.Setting, steps.Setting)
	}
	t.Logf("unserved %.4f without steps (%.0f replica-hours), %.4f with (%.0f)", plain.Unserved, plain.ReplicaHours, steps.Unserved, steps.ReplicaHours)
	if !(plain.Unserved > 0.01) || !(steps.Unserved < plain.Unserved/4) {
		t.Errorf("unserved: %.4f without steps, %.4f with; want a shortfall without (the HPA's tolerance) and under a quarter of it with",
			plain.Unserved, steps.Unserved)
	}
}

// TestScaleBeside checks the reactive trigger beside Kedastral's: with the naive forecast the
// plan asks for ⌈last / 10⌉, never more than the trigger at utilisation 0.7 asks for (⌈last / 7⌉),
// so Kedastral beside it scales exactly as reactive scaling at 0.7 does; beside the default
// trigger (at the target per pod) it keeps fewer pods and leaves more of a step up unserved.
func TestScaleBeside(t *testing.T) {
	s := trace(100, append(repeat(100, 30), repeat(160, 60)...)...)
	cfg := testScaling()
	cfg.Reactive = []float64{0.7}
	cfg.Predictive = []Setting{{Quantile: 0, Headroom: 1, Beside: 0.7}, {Quantile: 0, Headroom: 1}}
	res, err := Scale(t.Context(), s, naive, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	reactive, beside, alone := res.Reactive[0], res.Predictive[0], res.Predictive[1]
	if beside.Setting != "point×1.00 + reactive 0.70" || alone.Setting != "point×1.00" {
		t.Fatalf("settings %q and %q, want point×1.00 + reactive 0.70 and point×1.00", beside.Setting, alone.Setting)
	}
	if beside.Unserved != reactive.Unserved || beside.ReplicaHours != reactive.ReplicaHours || beside.PeakReplicas != reactive.PeakReplicas {
		t.Errorf("beside reactive 0.7: unserved %v, %v replica-hours, peak %d; want reactive 0.7's: %v, %v, %d",
			beside.Unserved, beside.ReplicaHours, beside.PeakReplicas, reactive.Unserved, reactive.ReplicaHours, reactive.PeakReplicas)
	}
	if !(alone.ReplicaHours < beside.ReplicaHours) || !(alone.Unserved > beside.Unserved) {
		t.Errorf("beside the default trigger: unserved %v, %v replica-hours; want more unserved and fewer replica-hours than beside 0.7 (%v, %v)",
			alone.Unserved, alone.ReplicaHours, beside.Unserved, beside.ReplicaHours)
	}
}

// TestScaleOracleSweep checks the oracle's headroom sweep on the step up from 50 to 200 (target
// 10 per pod): at headroom 1 it asks for 20 pods a lead ahead and leaves nothing unserved; at
// 1.5 it asks for ⌈200 × 1.5 / 10⌉ = 30, and ⌈50 × 1.5 / 10⌉ = 8 before the step, so it costs
// more and serves no less; at 0.5 it asks for half the need. The first setting is the default,
// reported as Oracle too.
func TestScaleOracleSweep(t *testing.T) {
	cfg := testScaling()
	cfg.Oracle = []float64{1, 1.5, 0.5}
	naive := func() (forecast.Model, error) { return forecast.New(forecast.Naive, forecast.Options{}) }
	res, err := Scale(t.Context(), trace(50, repeat(200, 60)...), naive, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.OracleSweep) != 3 || res.Oracle != res.OracleSweep[0] {
		t.Fatalf("oracle sweep %+v, oracle %+v: want three settings, the first reported as the oracle", res.OracleSweep, res.Oracle)
	}
	one, more, less := res.OracleSweep[0], res.OracleSweep[1], res.OracleSweep[2]
	if one.Setting != "lead 3m45s" || more.Setting != "lead 3m45s ×1.50" {
		t.Errorf("settings %q, %q; want %q, %q", one.Setting, more.Setting, "lead 3m45s", "lead 3m45s ×1.50")
	}
	if one.Unserved != 0 || more.Unserved != 0 {
		t.Errorf("unserved %v at headroom 1, %v at 1.5; want 0 for both", one.Unserved, more.Unserved)
	}
	if one.PeakReplicas != 20 || more.PeakReplicas != 30 {
		t.Errorf("peak replicas %d at headroom 1, %d at 1.5; want 20 and 30", one.PeakReplicas, more.PeakReplicas)
	}
	if !(more.ReplicaHours > one.ReplicaHours) {
		t.Errorf("replica-hours %v at headroom 1.5, %v at 1; want more", more.ReplicaHours, one.ReplicaHours)
	}
	// Headroom 0.5, short of the need on purpose: ⌈200 × 0.5 / 10⌉ = 10 pods serve 100 of 200,
	// and ⌈50 × 0.5 / 10⌉ = 3 serve 30 of 50 before the step, so at least 40% goes unserved.
	if less.Setting != "lead 3m45s ×0.50" || less.PeakReplicas != 10 {
		t.Errorf("setting %q, peak replicas %d; want %q, 10", less.Setting, less.PeakReplicas, "lead 3m45s ×0.50")
	}
	if !(less.Unserved >= 0.4) || !(less.ReplicaHours < one.ReplicaHours) {
		t.Errorf("headroom 0.5: unserved %v, %v replica-hours; want at least 0.4, and fewer than headroom 1's %v",
			less.Unserved, less.ReplicaHours, one.ReplicaHours)
	}

	cfg.Oracle = []float64{0.9}
	if err := cfg.Validate(time.Minute); err != nil {
		t.Errorf("Validate with oracle headroom 0.9 = %v, want nil", err)
	}
	cfg.Oracle = []float64{0}
	if err := cfg.Validate(time.Minute); err == nil || !strings.Contains(err.Error(), "oracle headroom must be > 0 and finite (got 0)") {
		t.Errorf("Validate with oracle headroom 0 = %v, want it named", err)
	}
}

// TestScaleOracleBeside: beside a reactive trigger at utilisation 1, an oracle that knowingly
// asks for half the need gets the need's pods all the same once the trigger has seen the load
// (a start-up late), and is labelled so; without the trigger it keeps half.
func TestScaleOracleBeside(t *testing.T) {
	cfg := testScaling()
	cfg.Oracle = []float64{0.5}
	demand := trace(50, repeat(200, 60)...)
	alone := oracleOutcome(t, demand, cfg)
	cfg.OracleBeside = 1
	beside := oracleOutcome(t, demand, cfg)
	// ⌈200 × 0.5 / 10⌉ = 10 pods alone; the trigger's ⌈200 / 10⌉ = 20 beside it.
	if alone.PeakReplicas != 10 || beside.PeakReplicas != 20 {
		t.Errorf("peak replicas %d alone, %d beside the trigger; want 10 and 20", alone.PeakReplicas, beside.PeakReplicas)
	}
	// Beside the trigger, only the start-up after the step goes short: 3 of 70 minutes.
	if !(alone.Unserved >= 0.4) || !(beside.Unserved > 0 && beside.Unserved < 0.1) {
		t.Errorf("unserved %v alone, %v beside the trigger; want at least 0.4, and above 0 but below 0.1", alone.Unserved, beside.Unserved)
	}
	if got, want := beside.Setting, "lead 3m45s ×0.50 + reactive 1.00"; got != want {
		t.Errorf("setting %q, want %q", got, want)
	}
	cfg.OracleBeside = 1.2
	if err := cfg.Validate(time.Minute); err == nil || !strings.Contains(err.Error(), "beside the oracle must be in (0, 1] (got 1.2)") {
		t.Errorf("Validate with the oracle beside utilisation 1.2 = %v, want it named", err)
	}
}

// TestScaleOracleLevel: on a demand that alternates between 100 and 300 each minute, the oracle
// that knows each minute's demand holds the 30 pods the 300s need and serves everything; the one
// that knows only the level (the mean of the two minutes either side, the minute itself left
// out: 200 everywhere) holds fewer and leaves some of each 300 unserved.
func TestScaleOracleLevel(t *testing.T) {
	cfg := testScaling()
	alternating := make([]float64, 120)
	for i := range alternating {
		alternating[i] = 100 + 200*float64(i%2)
	}
	demand := trace(200, alternating...)
	e := oracleOutcome(t, demand, cfg)
	cfg.OracleLevel = 2
	l := oracleOutcome(t, demand, cfg)
	if e.PeakReplicas != 30 || e.Unserved != 0 {
		t.Errorf("the exact oracle: peak %d, unserved %v; want 30 and 0", e.PeakReplicas, e.Unserved)
	}
	// 20 pods but at the trace's end, where fewer neighbours make the mean 233 (24 pods): each
	// 300 finds at most 240 of capacity, 60 or more short in every two minutes of 400 (15%),
	// and the minutes at 200 before are served in full: above 10% in all.
	if l.PeakReplicas != 24 || !(l.Unserved > 0.1) || !(l.ReplicaHours < e.ReplicaHours) {
		t.Errorf("the level oracle: peak %d, unserved %v, %v replica-hours; want 24, above 0.1, and fewer than the exact oracle's %v",
			l.PeakReplicas, l.Unserved, l.ReplicaHours, e.ReplicaHours)
	}
	if got, want := l.Setting, "lead 3m45s level ±2"; got != want {
		t.Errorf("setting %q, want %q", got, want)
	}
	cfg.OracleLevel = -1
	if err := cfg.Validate(time.Minute); err == nil || !strings.Contains(err.Error(), "the oracle's level radius must be >= 0 steps (got -1)") {
		t.Errorf("Validate with a level radius of -1 = %v, want it named", err)
	}
}

// TestLevelAt: the level at a moment is the mean of its neighbours', its own demand left out.
func TestLevelAt(t *testing.T) {
	nan := math.NaN()
	s := series.Series{Start: simStart, Step: time.Minute, Values: []float64{10, 20, 90, 40, nan, 60, nan, 80}}
	at := func(i int) time.Time { return s.Time(i) }
	for _, tc := range []struct {
		name string
		i, r int
		want float64 // NaN: unknown
	}{
		{"its own demand left out", 2, 1, (20 + 40) / 2.0},
		{"two steps either side", 2, 2, (10 + 20 + 40) / 3.0}, // index 4 is a gap
		{"at the start, one side only", 0, 2, (20 + 90) / 2.0},
		{"at the end, one side only", 7, 2, 60},
		{"a gap at the moment itself", 4, 1, nan},
		{"no known neighbour", 5, 1, nan},
		{"outside the trace", 9, 1, nan},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := levelAt(s, at(tc.i), tc.r)
			if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tc.want) > 1e-12) {
				t.Errorf("levelAt(%d, r=%d) = %v, want %v", tc.i, tc.r, got, tc.want)
			}
		})
	}
}

// oracleOutcome runs the simulation of demand with cfg and returns the oracle's first setting.
func oracleOutcome(t *testing.T, demand series.Series, cfg ScalingConfig) Outcome {
	t.Helper()
	res, err := Scale(t.Context(), demand, naive, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.Oracle
}

// TestScaleGapsAlike: through a gap in the trace (demand unknown) no policy learns anything, so
// none scales; the oracle once scaled down to the minimum there, alone.
func TestScaleGapsAlike(t *testing.T) {
	cfg := testScaling()
	gap := append(repeat(100, 30), repeat(math.NaN(), 180)...)
	gap = append(gap, repeat(100, 30)...)
	res, err := Scale(t.Context(), trace(100, gap...), naive, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, o := res.Reactive[0], res.Oracle
	if r.Unserved != 0 || o.Unserved != 0 {
		t.Errorf("unserved: reactive %v, oracle %v; want 0 on a flat demand", r.Unserved, o.Unserved)
	}
	p := res.Predictive[0]
	if math.Abs(o.ReplicaHours-r.ReplicaHours) > 0.01*r.ReplicaHours || math.Abs(p.ReplicaHours-r.ReplicaHours) > 0.01*r.ReplicaHours {
		t.Errorf("replica-hours: oracle %v, predictive %v, reactive %v; want the same on a flat demand with a gap",
			o.ReplicaHours, p.ReplicaHours, r.ReplicaHours)
	}
}

// TestScaleNoLookAhead fails if the predictive policy ever reads a sample before it is
// observable: the run on a trace whose future is poisoned must decide exactly as the run on the
// real trace, up to the poisoned part — and differ after it, which shows the poison matters.
func TestScaleNoLookAhead(t *testing.T) {
	var v []float64
	for i := range 3 * 1440 {
		v = append(v, 100+60*math.Sin(2*math.Pi*float64(i)/1440)+7*math.Sin(float64(i)*1.3))
	}
	real := series.Series{Start: simStart, Step: time.Minute, Values: v}
	const cut = 2*1440 + 300 // samples after this one are poisoned
	poisoned := real.Clone()
	for i := cut + 1; i < poisoned.Len(); i++ {
		poisoned.Values[i] = 1e4
	}
	for _, lag := range []int{0, 1} {
		t.Run(fmt.Sprintf("observe lag %d", lag), func(t *testing.T) {
			cfg := testScaling()
			cfg.Guard = false // every plan follows its forecast, so a forecast that peeked shows
			cfg.ObserveLag = lag
			auto := func() (forecast.Model, error) { return forecast.New(forecast.DefaultModel, forecast.Options{}) }
			a, err := Scale(t.Context(), real, auto, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Scale(t.Context(), poisoned, auto, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			observable := real.Time(cut + 1 + lag) // sample cut+1 is first seen lag steps after its time
			differs := false
			for j := range a.Decisions {
				da, db := a.Decisions[j], b.Decisions[j]
				same := sameDecisions(da, db)
				if da.Time.Before(observable) && !same {
					t.Fatalf("at %s, before the poisoned sample was observable at %s, a policy decided differently: %+v vs %+v",
						da.Time.Format(time.RFC3339), observable.Format(time.RFC3339), da, db)
				}
				if !da.Time.Before(observable) && !same {
					differs = true
				}
			}
			if !differs {
				t.Error("the poisoned future changed nothing: the test cannot detect look-ahead")
			}
		})
	}
}

// sameDecisions compares what the predictive and the reactive policies decided (the oracle knows
// the future by design).
func sameDecisions(a, b Decision) bool {
	for _, k := range []PolicyKind{Reactive, Predictive} {
		if a.Desired[k] != b.Desired[k] || a.Ready[k] != b.Ready[k] {
			return false
		}
	}
	return sameFloat(a.Forecast, b.Forecast) && sameFloat(a.Upper, b.Upper)
}

// TestScaleObserveLag: with samples observable a step after their time, both the reactive and
// the predictive policies see a step up exactly one step later.
func TestScaleObserveLag(t *testing.T) {
	s := trace(50, repeat(200, 30)...)
	firstUp := func(lag int, k PolicyKind) time.Time {
		t.Helper()
		cfg := testScaling()
		cfg.ObserveLag = lag
		res, err := Scale(t.Context(), s, naive, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range res.Decisions {
			if d.Desired[k] > res.Decisions[0].Desired[k] {
				return d.Time
			}
		}
		t.Fatalf("lag %d: %v never scaled up", lag, k)
		return time.Time{}
	}
	for _, k := range []PolicyKind{Reactive, Predictive} {
		if d := firstUp(1, k).Sub(firstUp(0, k)); d != time.Minute {
			t.Errorf("%v: scaled up %v later with a lag of one step, want 1m", k, d)
		}
	}
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func TestScaleValidate(t *testing.T) {
	cfg := testScaling()
	cfg.TargetPerPod, cfg.Tick, cfg.Reactive = 0, 7*time.Second, []float64{1.5}
	cfg.Predictive = []Setting{{Quantile: 0.3, Headroom: 0.9, Beside: 1.5}}
	_, err := Scale(context.Background(), trace(50, 1, 2, 3), naive, cfg, nil)
	if err == nil {
		t.Fatal("Scale(bad config) = nil error")
	}
	for _, want := range []string{"target per pod must be > 0", "tick 7s must divide the trace's step", "reactive target utilisation must be in (0, 1]",
		"predictive quantile must be 0 (point forecast) or in (0.5, 1)", "predictive headroom must be >= 1",
		"utilisation of the reactive trigger beside Kedastral's must be in (0, 1] (got 1.5)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Scale(bad config) = %q, want it to contain %q", err, want)
		}
	}
}

func TestFrontierAndCompare(t *testing.T) {
	pred := []Outcome{
		{Setting: "a", ReplicaHours: 100, Unserved: 0.05},
		{Setting: "dominated", ReplicaHours: 150, Unserved: 0.06},
		{Setting: "b", ReplicaHours: 200, Unserved: 0.01},
		{Setting: "c", ReplicaHours: 300, Unserved: 0.002},
	}
	front := Frontier(pred)
	var names []string
	for _, o := range front {
		names = append(names, o.Setting)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(names, want) {
		t.Fatalf("Frontier = %v, want %v", names, want)
	}
	tests := map[string]struct {
		reactive                        Outcome
		wantReduce, wantSaved           float64
		wantReduceBound, wantSavedBound bool
	}{
		// At 150 replica-hours the frontier is halfway from a to b: 0.03 unserved against 0.06:
		// half removed. 0.06 unserved is more than a, the cheapest, leaves: a's cost, 100, a
		// third cheaper, and a bound (a cheaper setting might have left 0.06 for less).
		"inside the frontier": {Outcome{ReplicaHours: 150, Unserved: 0.06}, 0.5, 1 - 100.0/150, false, true},
		// At 250: 0.006 against 0.012; 0.012 unserved: (0.05−0.012)/(0.05−0.01) = 0.95 of the way from a to b → 195.
		"between b and c":                     {Outcome{ReplicaHours: 250, Unserved: 0.012}, 0.5, 1 - 195.0/250, false, false},
		"cheaper than any predictive setting": {Outcome{ReplicaHours: 50, Unserved: 0.2}, math.NaN(), 1 - 100.0/50, false, true},
		// Past c, the dearest, c's 0.002 stands in for what more replica-hours would leave.
		"better served than any predictive setting": {Outcome{ReplicaHours: 400, Unserved: 0.001}, 1 - 0.002/0.001, math.NaN(), true, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := Compare([]Outcome{tc.reactive}, pred)[0]
			if !near(float64(c.UnservedReduction), tc.wantReduce) || !near(float64(c.CostSaving), tc.wantSaved) {
				t.Errorf("Compare = reduction %v, saving %v; want %v, %v", c.UnservedReduction, c.CostSaving, tc.wantReduce, tc.wantSaved)
			}
			if c.UnservedReductionBound != tc.wantReduceBound || c.CostSavingBound != tc.wantSavedBound {
				t.Errorf("Compare bounds = reduction %v, saving %v; want %v, %v",
					c.UnservedReductionBound, c.CostSavingBound, tc.wantReduceBound, tc.wantSavedBound)
			}
		})
	}
}

func TestRecommend(t *testing.T) {
	pred := []Outcome{
		{Setting: "cheap", ReplicaHours: 100, Unserved: 0.05},
		{Setting: "middle", ReplicaHours: 150, Unserved: 0.02},
		{Setting: "middle, worse", ReplicaHours: 150, Unserved: 0.03},
		{Setting: "dear", ReplicaHours: 300, Unserved: 0.001},
	}
	tests := map[string]struct {
		current               Outcome
		wantService, wantCost string
	}{
		// 0.02 unserved: middle and dear serve as well, middle for less; for 200 replica-hours
		// the best served is middle (dear costs more).
		"between settings": {Outcome{ReplicaHours: 200, Unserved: 0.02}, "middle", "middle"},
		// Equal cost: of middle and middle, worse, the one that serves more.
		"equal cost":                     {Outcome{ReplicaHours: 150, Unserved: 0.1}, "cheap", "middle"},
		"better served than any setting": {Outcome{ReplicaHours: 500, Unserved: 0.0001}, "", "dear"},
		"cheaper than any setting":       {Outcome{ReplicaHours: 50, Unserved: 0.2}, "cheap", ""},
	}
	name := func(i int) string {
		if i < 0 {
			return ""
		}
		return pred[i].Setting
	}
	for n, tc := range tests {
		t.Run(n, func(t *testing.T) {
			service, cost := Recommend(tc.current, pred)
			if name(service) != tc.wantService || name(cost) != tc.wantCost {
				t.Errorf("Recommend = %q, %q; want %q, %q", name(service), name(cost), tc.wantService, tc.wantCost)
			}
		})
	}
}

func near(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) < 1e-9
}
