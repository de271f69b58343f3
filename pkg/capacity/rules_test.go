package capacity

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/series"
)

var t0 = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

// history is a short 1-minute history ending just before t0, whose last value is last.
func history(last float64) series.Series {
	return series.Series{Start: t0.Add(-3 * time.Minute), Step: time.Minute, Values: []float64{1, 2, last}}
}

// noGuards are rules that leave the forecast's replicas alone, so that each case turns one on.
func noGuards() Rules {
	return Rules{Basis: BasisUpper, DownMaxFraction: 1, UpMaxFactor: 1000}
}

func TestRules(t *testing.T) {
	pol := plan.Policy{TargetPerPod: 10, Headroom: 1, MinReplicas: 1, MaxReplicas: 50, LeadTime: plan.Duration(3 * time.Minute)}
	tests := map[string]struct {
		pol    func(*plan.Policy)
		rules  func(*Rules)
		point  []float64 // defaults to upper
		upper  []float64
		last   float64
		prev   []int32 // replicas of a previous plan starting at t0 − 1m
		status AccuracyStatus
		want   []int32
	}{
		"upper quantile sized by target": {
			upper: []float64{25, 40, 0.5}, want: []int32{3, 4, 1}, // ceil(2.5), ceil(4), ceil(0.05)
		},
		"point forecast times headroom": {
			pol:   func(p *plan.Policy) { p.Headroom = 1.5 },
			rules: func(r *Rules) { r.Basis = BasisPoint },
			point: []float64{20, 30}, upper: []float64{99, 99}, want: []int32{3, 5}, // 30, 45
		},
		"steps for the HPA's tolerance: rounded up to 1…9, 11, 13, 15, 17, 19, 22": {
			rules: func(r *Rules) { r.Steps = 0.1 },
			upper: []float64{85, 95, 101, 115, 170, 200, 251}, want: []int32{9, 11, 11, 13, 17, 22, 28},
		},
		"steps, the floor and max replicas: the step at or above the floor, then capped": {
			pol:   func(p *plan.Policy) { p.MaxReplicas = 20 },
			rules: func(r *Rules) { r.Steps = 0.1 },
			upper: []float64{10, 250}, last: 95, want: []int32{11, 20},
		},
		"reactive floor on the last observed value": {
			upper: []float64{10, 100}, last: 73, want: []int32{8, 10}, // floor ceil(7.3) = 8
		},
		"the floor carries the headroom": {
			pol:   func(p *plan.Policy) { p.Headroom = 1.5 },
			upper: []float64{10, 100}, last: 73, want: []int32{11, 15}, // ceil(7.3×1.5), ceil(10×1.5)
		},
		"no scale-down window: follows the forecast down at once": {
			upper: []float64{50, 10, 10, 50, 10, 10, 10, 10}, want: []int32{5, 1, 1, 5, 1, 1, 1, 1},
		},
		"scale-down window: scales down only when the forecast stays low for it": {
			rules: func(r *Rules) { r.DownWindow = 2 * time.Minute },
			upper: []float64{50, 10, 10, 50, 10, 10, 10, 10}, want: []int32{5, 5, 5, 5, 1, 1, 1, 1},
		},
		"scale-down by at most a fraction per step": {
			rules: func(r *Rules) { r.DownMaxFraction = 0.5 },
			upper: []float64{100, 10, 10, 10}, want: []int32{10, 5, 3, 2}, // ceil(10×½), ceil(5×½), ceil(3×½)
		},
		"the step before the first is the previous plan's": {
			rules: func(r *Rules) { r.DownMaxFraction = 0.5 },
			upper: []float64{10, 10}, prev: []int32{1, 10, 10}, want: []int32{5, 3},
		},
		"scale-up bounded per step; the floor is exempt": {
			rules: func(r *Rules) { r.UpMaxFactor = 2 },
			upper: []float64{200, 200, 200, 200}, last: 35, want: []int32{8, 16, 20, 20}, // from floor 4: ×2, ×2, then 20 needed
		},
		"min and max clamp": {
			pol:   func(p *plan.Policy) { p.MinReplicas, p.MaxReplicas = 3, 6 },
			upper: []float64{5, 1000}, want: []int32{3, 6},
		},
		"zero only where the whole lead window is zero": {
			pol:   func(p *plan.Policy) { p.MinReplicas = 0 },
			rules: func(r *Rules) { r.ScaleToZero = true },
			// Step i is zero when steps i..i+3 are: the lead window [t, t+3m] takes in step i+3.
			upper: []float64{0, 0, 0, 0, 0, 5, 0, 0, 0, 0}, want: []int32{0, 0, 1, 1, 1, 1, 0, 0, 0, 0},
		},
		"no zero while the last observed value is above zero": {
			pol:   func(p *plan.Policy) { p.MinReplicas = 0 },
			rules: func(r *Rules) { r.ScaleToZero = true },
			upper: []float64{0, 0}, last: 0.001, want: []int32{1, 1},
		},
		"events multiply the forecast and floor the replicas": {
			rules: func(r *Rules) {
				r.Events = []Event{
					{Name: "sale", Start: t0.Add(2 * time.Minute), Duration: 2 * time.Minute, Multiplier: 3},
					{Name: "launch", Start: t0.Add(5*time.Minute + 30*time.Second), Duration: time.Minute, MinReplicas: 9, Multiplier: 1},
				}
			},
			upper: []float64{10, 10, 10, 10, 10, 10, 10, 10}, want: []int32{1, 1, 3, 3, 1, 9, 9, 1},
		},
		"an event's multiplier is not held back by the bound on growth": {
			pol: func(p *plan.Policy) { p.MaxReplicas = 1000 },
			rules: func(r *Rules) {
				r.UpMaxFactor = 4
				r.Events = []Event{{Name: "sale", Start: t0.Add(3 * time.Minute), Duration: time.Hour, Multiplier: 10}}
			},
			// 100 at once when the sale starts (not 40, then 100); the forecast's own growth
			// stays bounded during it (×4 from 100 would allow 400; 300 is asked).
			upper: []float64{100, 100, 100, 100, 100, 300, 300}, last: 100, want: []int32{10, 10, 10, 100, 100, 300, 300},
		},
		"during an event, the forecast's own growth is still bounded": {
			pol: func(p *plan.Policy) { p.MaxReplicas = 1000 },
			rules: func(r *Rules) {
				r.UpMaxFactor = 2
				r.Events = []Event{{Name: "sale", Start: t0.Add(time.Minute), Duration: time.Hour, Multiplier: 2}}
			},
			upper: []float64{100, 100, 1000, 1000}, last: 100, want: []int32{10, 20, 40, 80}, // ×2 event, then ×2 per step
		},
		"events apply in fallback too": {
			rules: func(r *Rules) {
				r.Events = []Event{{Start: t0, Duration: time.Minute, MinReplicas: 7, Multiplier: 1},
					{Start: t0.Add(time.Minute), Duration: time.Minute, Multiplier: 3}}
			},
			upper: []float64{10, 10, 10}, last: 33,
			status: AccuracyStatus{Mode: Fallback, Factor: 1}, want: []int32{7, 10, 4}, // 33, 99, 33 ÷ 10
		},
		"accuracy guard widened: headroom times its factor": {
			upper: []float64{20, 40}, status: AccuracyStatus{Mode: Widened, Factor: 1.5}, want: []int32{3, 6},
		},
		"accuracy guard fallen back: the reactive floor alone": {
			upper: []float64{100, 300}, last: 33, status: AccuracyStatus{Mode: Fallback, Factor: 1}, want: []int32{4, 4},
		},
		"accuracy guard fallen back: the last value with headroom and the guard's factor": {
			pol:   func(p *plan.Policy) { p.Headroom = 1.2 },
			upper: []float64{100, 300}, last: 33, status: AccuracyStatus{Mode: Fallback, Factor: 1.5}, want: []int32{6, 6}, // 33×1.2×1.5 = 59.4
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			pol, rules := pol, noGuards()
			if tc.pol != nil {
				tc.pol(&pol)
			}
			if tc.rules != nil {
				tc.rules(&rules)
			}
			pl := Planner{Model: &fixedModel{}, Policy: pol, Rules: rules, Horizon: len(tc.upper), Quantile: 0.9, Validity: time.Minute}
			if err := pl.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			point := tc.point
			if point == nil {
				point = tc.upper
			}
			var prev *plan.Plan
			if tc.prev != nil {
				prev = &plan.Plan{Start: t0.Add(-time.Minute), Step: plan.Duration(time.Minute), Replicas: tc.prev}
			}
			status := tc.status
			if status.Factor == 0 {
				status.Factor = 1
			}
			got := pl.replicas(t0, t0, time.Minute, forecast.Forecast{Point: point, Upper: tc.upper}, tc.last, prev, status)
			if !slices.Equal(got, tc.want) {
				t.Errorf("replicas = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLeadWindow checks the planner and the gateway's rule together: capacity for a surge is
// asked for a lead time before it.
func TestLeadWindow(t *testing.T) {
	pl := Planner{
		Model:  &fixedModel{point: []float64{10, 10, 10, 10, 10, 80, 10}, upper: []float64{10, 10, 10, 10, 10, 80, 10}},
		Policy: plan.Policy{TargetPerPod: 10, Headroom: 1, MinReplicas: 1, MaxReplicas: 50, LeadTime: plan.Duration(3 * time.Minute)},
		Rules:  noGuards(), Horizon: 7, Quantile: 0.9, Validity: 10 * time.Minute,
	}
	p, err := pl.Plan(t0, plan.Workload{Namespace: "shop", Name: "api"}, 1, history(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Duration
		want int32
	}{{0, 1}, {time.Minute, 1}, {2 * time.Minute, 8}, {5 * time.Minute, 8}, {6 * time.Minute, 1}} {
		got, err := p.ReplicasAt(t0.Add(tc.at), p.Policy.LeadTime.D())
		if err != nil || got != tc.want {
			t.Errorf("ReplicasAt(t0+%v) = %d, %v; want %d (the surge at t0+5m asked for from t0+2m)", tc.at, got, err, tc.want)
		}
	}
}

// TestEventBeforeFirstStep: a plan made during a step starts at the next one, and the gateway
// answers from its first step until then; an event in between must count there.
func TestEventBeforeFirstStep(t *testing.T) {
	const step = 5 * time.Minute
	pl := Planner{
		Model:  &fixedModel{point: []float64{10, 10, 10}, upper: []float64{10, 10, 10}},
		Policy: plan.Policy{TargetPerPod: 10, Headroom: 1, MinReplicas: 1, MaxReplicas: 50, LeadTime: plan.Duration(time.Minute)},
		Rules: func() Rules {
			r := noGuards()
			r.Events = []Event{{Name: "launch", Start: t0.Add(-4 * time.Minute), Duration: 2 * time.Minute, MinReplicas: 20, Multiplier: 1}}
			return r
		}(),
		Horizon: 3, Quantile: 0.9, Validity: 10 * time.Minute,
	}
	// Made at t0−4m50s from the samples up to t0−5m: the plan starts at t0.
	hist := series.Series{Start: t0.Add(-3 * step), Step: step, Values: []float64{10, 10, 10}}
	now := t0.Add(-4*time.Minute - 50*time.Second)
	p, err := pl.Plan(now, plan.Workload{Namespace: "shop", Name: "api"}, 1, hist, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Start.Equal(t0) {
		t.Fatalf("plan starts at %v, want %v", p.Start, t0)
	}
	if got, err := p.ReplicasAt(t0.Add(-3*time.Minute), p.Policy.LeadTime.D()); err != nil || got != 20 {
		t.Errorf("ReplicasAt(during the launch, before the plan's first step) = %d, %v; want its min, 20", got, err)
	}
}

func TestRulesValidate(t *testing.T) {
	pol := plan.Policy{TargetPerPod: 10, Headroom: 1, MinReplicas: 0, MaxReplicas: 5}
	r := Rules{Basis: "mean", DownWindow: -time.Minute, DownMaxFraction: 0, UpMaxFactor: 0.5, Steps: 0.5,
		Events: []Event{{Name: "sale", Start: t0, Duration: time.Hour, MinReplicas: 9}}}
	err := r.Validate(pol)
	if err == nil {
		t.Fatal("Validate() = nil")
	}
	for _, want := range []string{`basis must be "upper" or "point" (got "mean")`, "min replicas 0 needs scale-to-zero",
		"scale-down window must be >= 0", "scale-down max fraction must be in (0, 1]", "scale-up max factor must be >= 1", "HPA tolerance for steps must be in [0, 0.5) (got 0.5)",
		"event sale at 2026-11-27T08:00:00Z asks for min 9 replicas, above max replicas 5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q, want it to contain %q", err, want)
		}
	}
	if err := DefaultRules().Validate(plan.Policy{TargetPerPod: 1, Headroom: 1, MinReplicas: 1, MaxReplicas: 1}); err != nil {
		t.Errorf("DefaultRules().Validate() = %v", err)
	}
}

func TestParseEvents(t *testing.T) {
	got, err := ParseEvents(" name=sale start=2026-11-27T08:00:00Z duration=6h multiplier=3 ;start=2026-12-01T09:00:00+01:00 duration=1h min=20; ")
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Name: "sale", Start: t0, Duration: 6 * time.Hour, Multiplier: 3},
		{Start: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), Duration: time.Hour, Multiplier: 1, MinReplicas: 20},
	}
	if len(got) != len(want) {
		t.Fatalf("ParseEvents() = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Name != want[i].Name || !got[i].Start.Equal(want[i].Start) || got[i].Duration != want[i].Duration ||
			got[i].Multiplier != want[i].Multiplier || got[i].MinReplicas != want[i].MinReplicas {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if back, err := ParseEvents(FormatEvents(got)); err != nil || len(back) != 2 || FormatEvents(back) != FormatEvents(got) {
		t.Errorf("ParseEvents(FormatEvents()) = %+v, %v; want a round trip", back, err)
	}
	if got, err := ParseEvents(""); err != nil || got != nil {
		t.Errorf(`ParseEvents("") = %v, %v; want no events`, got, err)
	}

	_, err = ParseEvents("name=a start=yesterday duration=-1h multiplier=0.5 min=0 colour=red; name=b start=2026-11-27T08:00:00Z; x")
	if err == nil {
		t.Fatal("ParseEvents(bad) = nil error")
	}
	for _, s := range []string{`event 1 (a): start "yesterday" is not an RFC 3339 time`, `duration "-1h" is not a positive duration`,
		`multiplier "0.5" must be a number >= 1`, `min "0" must be a whole number of replicas >= 1`, `unknown field "colour"`,
		"event 2 (b): duration is missing", "event 2 (b): give a multiplier, a min, or both", `event 3: "x" is not key=value`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("ParseEvents(bad) = %q, want it to contain %q", err, s)
		}
	}
}

// FuzzParseEvents checks that no KEDASTRAL_EVENTS value makes ParseEvents panic, that what it
// accepts obeys Event's contract, and that FormatEvents gives it back unchanged.
func FuzzParseEvents(f *testing.F) {
	f.Add("name=sale start=2026-11-27T08:00:00Z duration=6h multiplier=3; start=2026-12-01T09:00:00+01:00 duration=1h min=20")
	f.Add("start=2026-11-27T08:00:00.123456789Z duration=1ns multiplier=1e308")
	f.Add("name=a=b start=2026-11-27T08:00:00Z duration=90m min=2147483647;;")
	f.Add("name=a start=yesterday duration=-1h multiplier=0.5 min=0 colour=red; x")
	f.Fuzz(func(t *testing.T, s string) {
		events, err := ParseEvents(s)
		if err != nil {
			if events != nil {
				t.Fatalf("ParseEvents(%q) = %v with error %v, want no events", s, events, err)
			}
			return
		}
		for _, e := range events {
			if e.Duration <= 0 || !(e.Multiplier >= 1) || math.IsInf(e.Multiplier, 0) || e.MinReplicas < 0 {
				t.Fatalf("ParseEvents(%q) accepted %+v", s, e)
			}
		}
		text := FormatEvents(events)
		back, err := ParseEvents(text)
		if err != nil {
			t.Fatalf("ParseEvents(FormatEvents(%+v) = %q) error: %v", events, text, err)
		}
		if len(back) != len(events) {
			t.Fatalf("round trip of %q: %d events, want %d", text, len(back), len(events))
		}
		for i, e := range events {
			b := back[i]
			if b.Name != e.Name || !b.Start.Equal(e.Start) || b.Duration != e.Duration ||
				b.Multiplier != e.Multiplier || b.MinReplicas != e.MinReplicas {
				t.Fatalf("round trip of event %d through %q: %+v, want %+v", i, text, b, e)
			}
		}
	})
}

// TestToleranceStep checks the steps against the HPA's rule itself: from each step to the next,
// up and down, the ratio leaves the tolerance band, so the HPA acts; and no count is skipped
// that could be a step (each is the least above the last).
func TestToleranceStep(t *testing.T) {
	for _, tol := range []float64{0.05, 0.1, 0.2} {
		prev := int32(1)
		for v := int32(2); v < 5000; v++ {
			g := ToleranceStep(v, tol)
			if g < v {
				t.Fatalf("ToleranceStep(%d, %v) = %d, below it", v, tol, g)
			}
			if g == prev {
				continue
			}
			up, down := float64(g)/float64(prev), float64(prev)/float64(g)
			if !(math.Abs(up-1) > tol && math.Abs(down-1) > tol) {
				t.Fatalf("tolerance %v: steps %d and %d are within the HPA's tolerance (%.4f up, %.4f down)", tol, prev, g, up, down)
			}
			if g > prev+1 && float64(prev)/float64(g-1) < 1-tol {
				t.Fatalf("tolerance %v: step %d after %d skips %d, already far enough", tol, g, prev, g-1)
			}
			if ToleranceStep(g, tol) != g || ToleranceStep(prev+1, tol) != g {
				t.Fatalf("tolerance %v: %d is not the step for the counts above %d", tol, g, prev)
			}
			prev = g
		}
	}
	for _, tc := range []struct {
		v    int32
		tol  float64
		want int32
	}{{0, 0.1, 0}, {1, 0.1, 1}, {10, 0, 10}, {10, -1, 10}, {math.MaxInt32, 0.1, math.MaxInt32}} {
		if got := ToleranceStep(tc.v, tc.tol); got != tc.want {
			t.Errorf("ToleranceStep(%d, %v) = %d, want %d", tc.v, tc.tol, got, tc.want)
		}
	}
}
