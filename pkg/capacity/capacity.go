// Package capacity turns forecasts into replica plans. Planner.Plan is the one planning step
// Kedastral has: the agent's live cycle and offline evaluation both call it, so a result measured
// offline is a result about the code users run.
//
// It is pure: it takes now and the history as arguments and does no I/O.
package capacity

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/series"
)

// Desired is the number of replicas a load of value needs under policy p:
// ceil(value × headroom / targetPerPod), clamped to [min, max]. A non-finite or negative value
// asks for the minimum; callers are expected to have rejected such values earlier.
func Desired(value float64, p plan.Policy) int32 {
	if math.IsNaN(value) || value <= 0 || p.TargetPerPod <= 0 {
		return p.MinReplicas
	}
	n := math.Ceil(value * p.Headroom / p.TargetPerPod)
	// Guard the float → int32 conversion: a huge forecast must clamp, not wrap around.
	if math.IsInf(n, 1) || n > float64(p.MaxReplicas) {
		return p.MaxReplicas
	}
	return max(p.MinReplicas, int32(n))
}

// Planner holds what one planning step needs besides the data. Plan does not modify it, so one
// Planner may serve concurrent calls if its Model is safe for concurrent use.
type Planner struct {
	Model  forecast.Model
	Policy plan.Policy
	// Horizon is how many steps ahead to plan (>= 1).
	Horizon int
	// Quantile is the upper quantile the model reports, in (0.5, 1).
	Quantile float64
	// Validity is how long after now the plan stays valid if no newer one replaces it.
	Validity time.Duration
}

// Validate reports every problem with the planner's settings.
func (pl Planner) Validate() error {
	var errs []error
	if pl.Model == nil {
		errs = append(errs, errors.New("planner has no model"))
	}
	if pl.Horizon < 1 {
		errs = append(errs, fmt.Errorf("horizon must be >= 1 step (got %d)", pl.Horizon))
	}
	if !(pl.Quantile > 0.5 && pl.Quantile < 1) {
		errs = append(errs, fmt.Errorf("quantile must be in (0.5, 1) (got %v)", pl.Quantile))
	}
	if pl.Validity <= 0 {
		errs = append(errs, fmt.Errorf("validity must be > 0 (got %v)", pl.Validity))
	}
	return errors.Join(errs...)
}

// Plan runs one planning step for workload w at instant now: forecast Horizon steps after
// history.End() and turn each step into replicas with Desired, applied to the point forecast.
// The plan's Start is history.End(); its Generation is the caller's (the caller owns the
// sequence, since only it knows what it published before). The result is validated.
func (pl Planner) Plan(now time.Time, w plan.Workload, generation int64, history series.Series) (plan.Plan, error) {
	if err := pl.Validate(); err != nil {
		return plan.Plan{}, err
	}
	fc, err := pl.Model.Forecast(history, pl.Horizon, pl.Quantile)
	if err != nil {
		return plan.Plan{}, fmt.Errorf("forecast with %s: %w", pl.Model.Name(), err)
	}
	if len(fc.Point) != pl.Horizon || len(fc.Upper) != pl.Horizon {
		return plan.Plan{}, fmt.Errorf("forecast with %s: got %d point and %d upper values, want %d",
			pl.Model.Name(), len(fc.Point), len(fc.Upper), pl.Horizon)
	}
	replicas := make([]int32, pl.Horizon)
	for i, v := range fc.Point {
		replicas[i] = Desired(v, pl.Policy)
	}
	p := plan.Plan{
		Version:     plan.Version,
		Workload:    w,
		Generation:  generation,
		GeneratedAt: now,
		Start:       history.End(),
		Step:        plan.Duration(history.Step),
		Predicted:   fc.Point,
		Upper:       fc.Upper,
		Replicas:    replicas,
		Policy:      pl.Policy,
		Model:       pl.Model.Name(),
		ValidUntil:  now.Add(pl.Validity),
	}
	if err := p.Validate(); err != nil {
		return plan.Plan{}, fmt.Errorf("planner built an invalid plan: %w", err)
	}
	return p, nil
}
