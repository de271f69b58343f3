package capacity

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/series"
)

func TestDesired(t *testing.T) {
	pol := plan.Policy{TargetPerPod: 100, Headroom: 1.2, MinReplicas: 2, MaxReplicas: 20}
	tests := map[string]struct {
		value float64
		want  int32
	}{
		"exact multiple rounds up with headroom": {value: 500, want: 6}, // 500×1.2/100 = 6
		"fraction rounds up":                     {value: 501, want: 7}, // 6.012 → 7
		"below min clamps to min":                {value: 10, want: 2},  // 0.12 → 1 → 2
		"zero asks for min":                      {value: 0, want: 2},   //
		"negative asks for min":                  {value: -50, want: 2}, //
		"NaN asks for min":                       {value: math.NaN(), want: 2},
		"above max clamps to max":                {value: 5000, want: 20},
		"huge value does not wrap around":        {value: 1e300, want: 20},
		"+Inf clamps to max":                     {value: math.Inf(1), want: 20},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Desired(tc.value, pol); got != tc.want {
				t.Errorf("Desired(%v) = %d, want %d", tc.value, got, tc.want)
			}
		})
	}
}

func TestDesiredScaleToZero(t *testing.T) {
	pol := plan.Policy{TargetPerPod: 10, Headroom: 1, MinReplicas: 0, MaxReplicas: 5}
	if got := Desired(0, pol); got != 0 {
		t.Errorf("Desired(0) with min 0 = %d, want 0", got)
	}
	if got := Desired(0.01, pol); got != 1 {
		t.Errorf("Desired(0.01) with min 0 = %d, want 1", got)
	}
}

// fixedModel forecasts a fixed sequence regardless of history.
type fixedModel struct {
	point, upper []float64
	err          error
}

var _ forecast.Model = (*fixedModel)(nil)

func (m *fixedModel) Name() string { return "fixed" }
func (m *fixedModel) Forecast(_ series.Series, horizon int, _ float64) (forecast.Forecast, error) {
	if m.err != nil {
		return forecast.Forecast{}, m.err
	}
	return forecast.Forecast{Point: m.point[:horizon], Upper: m.upper[:horizon]}, nil
}

func TestPlannerPlan(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 3, 20, 0, time.UTC)
	hist := series.Series{Start: now.Add(-3 * time.Minute).Truncate(time.Minute), Step: time.Minute, Values: []float64{1, 2, 3}}
	pl := Planner{
		Model:    &fixedModel{point: []float64{100, 250, 40}, upper: []float64{120, 300, 60}},
		Policy:   plan.Policy{TargetPerPod: 50, Headroom: 1, MinReplicas: 1, MaxReplicas: 4, LeadTime: plan.Duration(time.Minute)},
		Rules:    Rules{Basis: BasisPoint, DownMaxFraction: 1, UpMaxFactor: 10},
		Horizon:  3,
		Quantile: 0.9,
		Validity: 2 * time.Minute,
	}
	w := plan.Workload{Namespace: "shop", Name: "api"}
	got, err := pl.Plan(now, w, 42, hist, nil)
	if err != nil {
		t.Fatalf("Plan() error = %v", err)
	}
	if want := []int32{2, 4, 1}; !slices.Equal(got.Replicas, want) {
		t.Errorf("Plan().Replicas = %v, want %v", got.Replicas, want)
	}
	if !got.Start.Equal(hist.End()) || got.Generation != 42 || got.Model != "fixed" ||
		!got.ValidUntil.Equal(now.Add(2*time.Minute)) || got.Workload != w {
		t.Errorf("Plan() = %+v, want start %v, generation 42, model fixed, valid until %v", got, hist.End(), now.Add(2*time.Minute))
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Plan() built an invalid plan: %v", err)
	}
}

func TestPlannerErrors(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	hist := series.Series{Start: now.Add(-time.Minute), Step: time.Minute, Values: []float64{1}}
	w := plan.Workload{Namespace: "shop", Name: "api"}
	pol := plan.Policy{TargetPerPod: 50, Headroom: 1, MinReplicas: 1, MaxReplicas: 4}
	rules := DefaultRules()
	tests := map[string]struct {
		pl   Planner
		want []string
	}{
		"bad settings listed together": {
			pl:   Planner{Policy: pol},
			want: []string{"no model", "horizon must be >= 1", "quantile must be in (0.5, 1)", "validity must be > 0", "basis must be"},
		},
		"model error is wrapped with the model name": {
			pl:   Planner{Model: &fixedModel{err: errors.New("no data")}, Policy: pol, Rules: rules, Horizon: 1, Quantile: 0.9, Validity: time.Minute},
			want: []string{"forecast with fixed: no data"},
		},
		"short forecast is refused": {
			pl:   Planner{Model: &shortModel{}, Policy: pol, Rules: rules, Horizon: 3, Quantile: 0.9, Validity: time.Minute},
			want: []string{"got 1 point and 1 upper values, want 3"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tc.pl.Plan(now, w, 1, hist, nil)
			if err == nil {
				t.Fatalf("Plan() error = nil, want %q", tc.want)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Plan() error = %q, want it to contain %q", err, s)
				}
			}
		})
	}
}

type shortModel struct{}

func (shortModel) Name() string { return "short" }
func (shortModel) Forecast(series.Series, int, float64) (forecast.Forecast, error) {
	return forecast.Forecast{Point: []float64{1}, Upper: []float64{1}}, nil
}

// FuzzFromForecast checks the planner's guarantees for any forecast that keeps the Model
// contract (finite, >= 0, upper >= point), any last observed value (NaN: none) and any valid
// policy and rules: it never fails or builds an invalid plan, and every step is within
// [min, max], at least the reactive floor on the last value × headroom, and 0 only when
// scale-to-zero allows it.
func FuzzFromForecast(f *testing.F) {
	f.Add([]byte{}, 0.0, 50.0, 1.0, uint8(1), uint8(10), uint8(0), 1.0, 4.0, false, false)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 240, 63, 0, 0, 0, 0, 0, 0, 0, 64}, 120.0, 7.0, 1.5, uint8(0), uint8(3), uint8(2), 0.1, 1.0, true, true)
	f.Add([]byte{255, 255, 255, 255, 255, 255, 239, 127}, math.NaN(), 1e-300, 10.0, uint8(2), uint8(255), uint8(9), 0.5, 1e300, false, true)
	f.Fuzz(func(t *testing.T, raw []byte, last, target, headroom float64, minR, maxR, downSteps uint8,
		downFrac, upFactor float64, toZero, point bool) {
		sane := func(v, lo, hi, dflt float64) float64 {
			v = math.Abs(v)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return dflt
			}
			return min(max(v, lo), hi)
		}
		var fc forecast.Forecast
		for i := 0; i+16 <= len(raw) && len(fc.Point) < 64; i += 16 {
			p := sane(math.Float64frombits(binary.LittleEndian.Uint64(raw[i:])), 0, math.MaxFloat64, 0)
			u := sane(math.Float64frombits(binary.LittleEndian.Uint64(raw[i+8:])), 0, math.MaxFloat64, 0)
			fc.Point, fc.Upper = append(fc.Point, p), append(fc.Upper, max(p, u))
		}
		if len(fc.Point) == 0 {
			fc.Point, fc.Upper = []float64{0}, []float64{0}
		}
		pol := plan.Policy{
			TargetPerPod: sane(target, 1e-9, 1e12, 1), Headroom: sane(headroom, 1, 10, 1),
			MinReplicas: int32(minR), MaxReplicas: max(1, int32(maxR), int32(minR)),
			LeadTime: plan.Duration(time.Duration(downSteps%5) * time.Minute),
		}
		if pol.MinReplicas == 0 {
			toZero = true // min 0 needs it; otherwise the rules are invalid
		}
		rules := Rules{Basis: BasisUpper, ScaleToZero: toZero, DownWindow: time.Duration(downSteps) * time.Minute,
			DownMaxFraction: sane(downFrac, 1e-6, 1, 1), UpMaxFactor: sane(upFactor, 1, 1e6, 4)}
		if point {
			rules.Basis = BasisPoint
		}
		if toZero {
			pol.MinReplicas = 0
		}
		pl := Planner{Model: &fixedModel{}, Policy: pol, Rules: rules, Horizon: len(fc.Point), Quantile: 0.9, Validity: time.Minute}
		if err := pl.Validate(); err != nil {
			t.Fatalf("sanitised planner invalid: %v", err)
		}
		now := time.Date(2026, 11, 27, 8, 0, 30, 0, time.UTC)
		hist := series.Series{Start: now.Add(-2 * time.Minute).Truncate(time.Minute), Step: time.Minute, Values: []float64{1, last}}
		if math.IsInf(last, 0) || last < 0 {
			hist.Values[1] = math.NaN() // not a sample the agent keeps
		}
		got, err := pl.FromForecast(now, plan.Workload{Namespace: "shop", Name: "api"}, 1, hist, fc, nil)
		if err != nil {
			t.Fatalf("FromForecast(%+v, last %v, %+v, %+v) = %v", fc, last, pol, rules, err)
		}
		observed := lastObserved(hist)
		floor := Desired(observed, pol)
		for i, r := range got.Replicas {
			if r < pol.MinReplicas || r > pol.MaxReplicas {
				t.Fatalf("step %d: %d replicas outside [%d, %d]", i, r, pol.MinReplicas, pol.MaxReplicas)
			}
			if observed > 0 && r < floor {
				t.Fatalf("step %d: %d replicas, below the reactive floor %d on the last value %v", i, r, floor, observed)
			}
			if r == 0 && (!toZero || observed > 0) {
				t.Fatalf("step %d: 0 replicas with scale-to-zero %v and last value %v", i, toZero, observed)
			}
		}
	})
}
