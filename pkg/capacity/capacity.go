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

// ReactiveFloor is what reactive scaling (KEDA + HPA with an AverageValue target of
// TargetPerPod) asks for on the value last observed: ceil(value / target), clamped. A plan never
// asks for less (it asks for the value × headroom), so a surprise spike is met at least as fast
// as KEDA alone would meet it.
func ReactiveFloor(value float64, p plan.Policy) int32 {
	p.Headroom = 1
	return Desired(value, p)
}

// Basis says which forecast capacity is sized for.
type Basis string

const (
	// BasisUpper sizes for the upper quantile × headroom: calibrated safety margin.
	BasisUpper Basis = "upper"
	// BasisPoint sizes for the point forecast × headroom.
	BasisPoint Basis = "point"
)

// Rules are what turn a forecast into replicas besides the policy's target, headroom and bounds.
type Rules struct {
	Basis Basis
	// ScaleToZero allows planning 0 replicas, and only where the forecast for the whole lead
	// window is zero and the last observed value is zero. Requires Policy.MinReplicas == 0.
	ScaleToZero bool
	// DownWindow holds capacity until the forecast has stayed low this long: each step asks for
	// the most any step in [t, t+DownWindow] needs. Scaling up is not delayed.
	DownWindow time.Duration
	// DownMaxFraction is the largest fraction of its replicas the plan sheds from one step to
	// the next, in (0, 1].
	DownMaxFraction float64
	// UpMaxFactor bounds the forecast's growth per step to ×UpMaxFactor (>= 1), a guard against
	// a wild forecast. The reactive floor and events are exempt: they are not guesses.
	UpMaxFactor float64
	// Events are known surges merged into the plan.
	Events []Event
	// Steps, when above 0, is the HPA's tolerance (Kubernetes' default is 0.1), and the plan's
	// replica counts are rounded up to steps more than that apart (ToleranceStep). The HPA
	// ignores a desired count within its tolerance of the current one, so a plan that rises by
	// less is not acted on until its rises add up, while capacity sized with a 10% margin never
	// waits: on smooth demand, with nothing to foresee, that is what reactive scaling at 90%
	// utilisation gets right. With steps, the HPA follows every step the plan takes, at the
	// cost of rounding up by half a step on average (docs/BENCHMARKS.md).
	Steps float64
}

// ToleranceStep rounds v up to the grid 1, 2, …, in which each count is the least above
// g/(1−tol), g the one before it: neighbours far enough apart that an HPA of tolerance tol acts
// on a change from one to the other, up (ratio above 1+tol) and down (ratio below 1−tol). It
// returns v when tol <= 0 or v <= 1.
func ToleranceStep(v int32, tol float64) int32 {
	if !(tol > 0) || v <= 1 {
		return v
	}
	g := int32(1)
	for g < v {
		next := math.Floor(float64(g)/(1-tol)) + 1
		if next >= math.MaxInt32 {
			return math.MaxInt32
		}
		g = max(g+1, int32(next))
	}
	return g
}

// DefaultRules are the rules the agent uses unless told otherwise. The scale-down guard is off:
// the HPA's own scale-down stabilisation (5 minutes by default) already holds capacity, and
// holding it twice measured slightly worse at equal cost (docs/BENCHMARKS.md).
func DefaultRules() Rules {
	return Rules{Basis: BasisUpper, DownMaxFraction: 1, UpMaxFactor: 4}
}

// Validate reports every problem with the rules for policy p.
func (r Rules) Validate(p plan.Policy) error {
	var errs []error
	if r.Basis != BasisUpper && r.Basis != BasisPoint {
		errs = append(errs, fmt.Errorf("basis must be %q or %q (got %q)", BasisUpper, BasisPoint, r.Basis))
	}
	if p.MinReplicas == 0 && !r.ScaleToZero {
		errs = append(errs, errors.New("min replicas 0 needs scale-to-zero enabled"))
	}
	if r.DownWindow < 0 {
		errs = append(errs, fmt.Errorf("scale-down window must be >= 0 (got %v)", r.DownWindow))
	}
	if !(r.DownMaxFraction > 0 && r.DownMaxFraction <= 1) {
		errs = append(errs, fmt.Errorf("scale-down max fraction must be in (0, 1] (got %v)", r.DownMaxFraction))
	}
	if !(r.UpMaxFactor >= 1) || math.IsInf(r.UpMaxFactor, 0) {
		errs = append(errs, fmt.Errorf("scale-up max factor must be >= 1 (got %v)", r.UpMaxFactor))
	}
	if !(r.Steps >= 0 && r.Steps < 0.5) {
		errs = append(errs, fmt.Errorf("HPA tolerance for steps must be in [0, 0.5) (got %v)", r.Steps))
	}
	for _, e := range r.Events {
		if e.MinReplicas > p.MaxReplicas {
			errs = append(errs, fmt.Errorf("event %s at %s asks for min %d replicas, above max replicas %d",
				e.Name, e.Start.UTC().Format(time.RFC3339), e.MinReplicas, p.MaxReplicas))
		}
	}
	return errors.Join(errs...)
}

// Planner holds what one planning step needs besides the data.
type Planner struct {
	Model  forecast.Model
	Policy plan.Policy
	Rules  Rules
	// Horizon is how many steps ahead to plan (>= 1).
	Horizon int
	// Quantile is the upper quantile the model reports, in (0.5, 1).
	Quantile float64
	// Validity is how long after now the plan stays valid if no newer one replaces it.
	Validity time.Duration
	// Accuracy, when set, is the accuracy guard: Plan feeds it every forecast and actual, and
	// follows its judgement. It is the only state a Planner changes.
	Accuracy *Accuracy
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
	if err := pl.Rules.Validate(pl.Policy); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Plan runs one planning step for workload w at instant now: forecast Horizon steps after
// history.End() and turn them into replicas (see FromForecast). prev is the plan published
// before, or nil. The plan's Generation is the caller's (the caller owns the sequence, since
// only it knows what it published before).
func (pl Planner) Plan(now time.Time, w plan.Workload, generation int64, history series.Series, prev *plan.Plan) (plan.Plan, error) {
	if err := pl.Validate(); err != nil {
		return plan.Plan{}, err
	}
	fc, err := pl.Model.Forecast(history, pl.Horizon, pl.Quantile)
	if err != nil {
		return plan.Plan{}, fmt.Errorf("forecast with %s: %w", pl.Model.Name(), err)
	}
	return pl.FromForecast(now, w, generation, history, fc, prev)
}

// FromForecast turns a forecast of the steps after history.End() into a validated plan. For
// each step t:
//
//  1. need = forecast (upper quantile, or point, per Rules.Basis) × headroom × the accuracy
//     guard's factor × the multiplier of any event at t; replicas = ceil(need / target);
//  2. scale-down guard: the most any step in [t, t+DownWindow] asks for; then growth from the
//     step before bounded by UpMaxFactor and shrinkage by DownMaxFraction (the step before the
//     first is prev's answer for it, or the reactive floor);
//  3. when the accuracy guard has fallen back, all of the above is replaced by the last
//     observed value × headroom × the guard's factor: reactive scaling with a wider margin;
//  4. at least the last observed value × headroom (so never less than reactive scaling, KEDA
//     alone, would ask for; and with the same margin over what is seen as over what is
//     foreseen: a surge the model discounts as a flash crowd still gets it), and each event's
//     MinReplicas;
//  5. clamped to [MinReplicas, MaxReplicas], and never 0 unless Rules.ScaleToZero and the
//     forecast is zero over the whole lead window.
//
// The gateway then answers the max over [now, now+lead] of these, so pods are ordered a lead
// time before the load they are for.
func (pl Planner) FromForecast(now time.Time, w plan.Workload, generation int64, history series.Series, fc forecast.Forecast, prev *plan.Plan) (plan.Plan, error) {
	n := pl.Horizon
	if len(fc.Point) != n || len(fc.Upper) != n {
		return plan.Plan{}, fmt.Errorf("forecast with %s: got %d point and %d upper values, want %d",
			modelName(pl.Model), len(fc.Point), len(fc.Upper), n)
	}
	start, step := history.End(), history.Step
	status := AccuracyStatus{Mode: Trusted, Factor: 1}
	if pl.Accuracy != nil {
		pl.Accuracy.Observe(history)
		status = pl.Accuracy.Status()
	}
	replicas := pl.replicas(now, start, step, fc, lastObserved(history), prev, status)
	if pl.Accuracy != nil {
		pl.Accuracy.Record(start, step, fc.Upper)
	}
	p := plan.Plan{
		Version:     plan.Version,
		Workload:    w,
		Generation:  generation,
		GeneratedAt: now,
		Start:       start,
		Step:        plan.Duration(step),
		Predicted:   fc.Point,
		Upper:       fc.Upper,
		Replicas:    replicas,
		Policy:      pl.Policy,
		Model:       modelName(pl.Model),
		ValidUntil:  now.Add(pl.Validity),
	}
	if err := p.Validate(); err != nil {
		return plan.Plan{}, fmt.Errorf("planner built an invalid plan: %w", err)
	}
	return p, nil
}

func modelName(m forecast.Model) string {
	if m == nil {
		return "none"
	}
	return m.Name()
}

// lastObserved is the newest finite value of the history, or NaN.
func lastObserved(history series.Series) float64 {
	if v, _, ok := history.Last(); ok {
		return v
	}
	return math.NaN()
}

// multiplier is the product of the multipliers of the events during [from, to).
func (r Rules) multiplier(from, to time.Time) float64 {
	m := 1.0
	for _, e := range r.Events {
		if e.overlaps(from, to) {
			m *= e.Multiplier
		}
	}
	return m
}

// replicas applies the rules of FromForecast. It is the pure heart of the planner. Step i covers
// [start+i×step, start+(i+1)×step), and step 0 also [now, start): until the plan's first step
// begins, the gateway answers from it, so an event then counts there.
func (pl Planner) replicas(now, start time.Time, step time.Duration, fc forecast.Forecast, last float64, prev *plan.Plan, status AccuracyStatus) []int32 {
	pol, r := pl.Policy, pl.Rules
	n := len(fc.Point)
	floor := Desired(last, pol)
	span := func(i int) (from, to time.Time) {
		from = start.Add(time.Duration(i) * step)
		to = from.Add(step)
		if i == 0 && now.Before(from) {
			from = now
		}
		return from, to
	}

	// need[i] is the load step i is sized for: the forecast, or in fallback the last observed
	// value, × headroom × the guard's factor × the multiplier of any event then.
	need := make([]float64, n)
	mult := make([]float64, n) // the events' multiplier at each step
	for i := range need {
		v := fc.Upper[i]
		switch {
		case status.Mode == Fallback:
			v = last // NaN when nothing was observed: raw sizes it at 0
		case r.Basis == BasisPoint:
			v = fc.Point[i]
		}
		mult[i] = r.multiplier(span(i))
		need[i] = v * pol.Headroom * status.Factor * mult[i]
	}

	out := make([]int32, n)
	if status.Mode == Fallback {
		// The forecast is not trusted, so neither are the guards that shape it.
		for i, v := range need {
			out[i] = raw(v, pol.TargetPerPod)
		}
	} else {
		base := make([]int32, n)
		for i, v := range need {
			base[i] = raw(v, pol.TargetPerPod)
		}
		// Scale-down guard: hold the most the next DownWindow asks for.
		hold := int(r.DownWindow / step)
		for i := range base {
			best := base[i]
			for _, b := range base[i+1 : min(n, i+hold+1)] {
				best = max(best, b)
			}
			out[i] = best
		}
		before := floor
		if prev != nil {
			if v, ok := stepAt(*prev, start); ok {
				before = v
			}
		}
		// The bound on growth is the forecast's: an event that starts multiplies it too, for it
		// is known, not guessed.
		before0, _ := span(0)
		multBefore := r.multiplier(start.Add(-step), before0)
		for i := range out {
			growth := r.UpMaxFactor * max(1, mult[i]/multBefore)
			up := int32(min(float64(pol.MaxReplicas), math.Ceil(float64(max(before, 1))*growth)))
			down := int32(math.Ceil(float64(before) * (1 - r.DownMaxFraction)))
			out[i] = min(max(out[i], down), up)
			before, multBefore = out[i], mult[i]
		}
	}

	leadSteps := int((pol.LeadTime.D() + step - 1) / step)
	for i := range out {
		from, to := span(i)
		v := max(out[i], floor)
		for _, e := range r.Events {
			if e.overlaps(from, to) {
				v = max(v, e.MinReplicas)
			}
		}
		v = min(max(ToleranceStep(v, r.Steps), pol.MinReplicas), pol.MaxReplicas)
		if v == 0 && !(r.ScaleToZero && zeroOver(need[i:min(n, i+leadSteps+1)]) && !(last > 0)) {
			v = 1
		}
		out[i] = v
	}
	return out
}

// raw is ceil(need / target) as a replica count, saturating instead of overflowing.
func raw(need, target float64) int32 {
	if !(need > 0) {
		return 0
	}
	v := math.Ceil(need / target)
	if v >= math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(v)
}

func zeroOver(need []float64) bool {
	for _, v := range need {
		if v > 0 {
			return false
		}
	}
	return true
}

// stepAt is the replicas p planned for the step containing t, if it has one.
func stepAt(p plan.Plan, t time.Time) (int32, bool) {
	if t.Before(p.Start) || !t.Before(p.End()) || p.Step <= 0 {
		return 0, false
	}
	return p.Replicas[int(t.Sub(p.Start)/p.Step.D())], true
}
