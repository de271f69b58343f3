package capacity

import (
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
