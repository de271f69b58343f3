package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/kedastral/kedastral/pkg/capacity"
	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/series"
)

// ScalingConfig is one closed-loop scaling simulation of a trace.
//
// The trace's value at T is the demand during [T, T+step), observable from T + ObserveLag steps
// on: the reactive policy (and the reactive trigger beside Kedastral's) sees it from then, and
// the agent forecasts from the samples observable by then, never a later one. The oracle knows
// the demand itself. Time advances by Tick; KEDA polls and HPA syncs happen on their own
// schedules inside Cluster.
type ScalingConfig struct {
	Cluster ClusterConfig
	// TargetPerPod is the demand one ready pod serves.
	TargetPerPod float64
	// Tick is the simulation's time step; it must divide the trace's step and the KEDA poll and
	// HPA sync periods. Default 15s.
	Tick time.Duration
	// ObserveLag is how many steps after its time a sample becomes observable: 0 when the value
	// at T is a reading taken at T, 1 when it is the total or mean over [T, T+step), which only
	// exists once the step has ended.
	ObserveLag int
	// Warmup is the part of the trace used only as history before the simulation starts.
	Warmup time.Duration
	// Window is the history the agent keeps (KEDASTRAL_HISTORY).
	Window time.Duration
	// Horizon is how far ahead each plan reaches (KEDASTRAL_HORIZON).
	Horizon time.Duration
	// Policy is the agent's policy; its TargetPerPod is overridden by TargetPerPod. Its
	// LeadTime is also the oracle's.
	Policy plan.Policy
	Rules  capacity.Rules
	// Guard turns the accuracy guard on.
	Guard bool
	// Reactive lists the target utilisations swept for the reactive policy (its AverageValue
	// target is TargetPerPod × utilisation); the first is the default setting.
	Reactive []float64
	// Predictive lists the (quantile, headroom) settings swept for Kedastral; the first is the
	// default setting.
	Predictive []Setting
	// Oracle lists the headrooms swept for the oracle (it asks for the true need × headroom);
	// the first is the default setting. Empty means just 1. The oracle's frontier is the most a
	// forecast could buy under these HPA rules, at every cost, not only at one. Headrooms below
	// 1 (knowingly short of the need) extend it to the cheap end, where reactive scaling at
	// utilisation 1 sits: without them the oracle's cheapest setting costs more than that, and
	// its saving there is only a bound.
	Oracle []float64
	// OracleSteps runs each of the oracle's headrooms also with its asks in steps of the HPA's
	// tolerance (capacity.ToleranceStep), so that its frontier bounds a Kedastral that uses
	// them too. The default setting, the first, stays without.
	OracleSteps bool
	// OracleBeside, when above 0, puts a reactive trigger at this target utilisation beside
	// every oracle setting, as Kedastral's ScaledObject has one (Setting.Beside), and the HPA
	// takes the larger ask. Kedastral never asks for less than reactive scaling at utilisation 1
	// would (its reactive floor), so the oracle beside a trigger at 1 is the most any forecast
	// could buy under that floor; the gap between it and the plain oracle is what the floor
	// costs, and the rest of Kedastral's gap is the forecast's.
	OracleBeside float64
	// OracleLevel, when above 0, makes the oracle know less: at each moment, only the mean of
	// the demand at the OracleLevel steps either side, not the demand itself (levelAt). It is
	// what a forecast that knew the local level exactly, but nothing of the noise about it,
	// could do (the scaling counterpart of Hindsight); the oracle's headrooms then size a margin
	// for the noise, as Kedastral's band does.
	OracleLevel int
}

// Setting is one predictive configuration: the upper quantile capacity is sized for (0 sizes
// for the point forecast) and the headroom.
type Setting struct {
	Quantile float64 `json:"quantile"`
	Headroom float64 `json:"headroom"`
	// Steps rounds the plan up to steps of the simulated HPA's tolerance (capacity.Rules.Steps).
	Steps bool `json:"steps,omitempty"`
	// Beside is the target utilisation of the reactive trigger beside Kedastral's in the
	// ScaledObject (its threshold is TargetPerPod × Beside); 0 means 1, the threshold at the
	// target per pod, as in the ScaledObject we recommend. A team that runs reactive scaling
	// with a margin today keeps it there when it adds Kedastral.
	Beside float64 `json:"beside,omitempty"`
}

// BesideUtilisation is the reactive trigger's utilisation in s (Beside, or 1 when it is 0).
func (s Setting) BesideUtilisation() float64 {
	if s.Beside == 0 {
		return 1
	}
	return s.Beside
}

func (s Setting) String() string {
	var out string
	if s.Quantile == 0 {
		out = fmt.Sprintf("point×%.2f", s.Headroom)
	} else {
		out = fmt.Sprintf("p%g×%.2f", s.Quantile*100, s.Headroom)
	}
	if s.Steps {
		out += " steps"
	}
	if u := s.BesideUtilisation(); u != 1 {
		out += fmt.Sprintf(" + reactive %.2f", u)
	}
	return out
}

// Validate reports every problem with the configuration for a trace of the given step. A step
// of 0 checks everything that does not depend on the trace (its step and the warmup, which is
// chosen per trace), so that a typo fails before minutes of forecasting.
func (c ScalingConfig) Validate(step time.Duration) error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := c.Cluster.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !(c.TargetPerPod > 0) || math.IsInf(c.TargetPerPod, 0) {
		add("target per pod must be > 0 (got %v)", c.TargetPerPod)
	}
	type period struct {
		name string
		d    time.Duration
	}
	periods := []period{{"the KEDA poll interval", c.Cluster.PollInterval}, {"the HPA sync period", c.Cluster.SyncPeriod}}
	if step != 0 {
		periods = append(periods, period{"the trace's step", step})
	}
	if c.Tick <= 0 {
		add("tick must be > 0 (got %v)", c.Tick)
	} else {
		for _, p := range periods {
			if p.d <= 0 || p.d%c.Tick != 0 {
				add("tick %v must divide %s (%v)", c.Tick, p.name, p.d)
			}
		}
	}
	if c.ObserveLag < 0 {
		add("observe lag must be >= 0 steps (got %d)", c.ObserveLag)
	} else if step != 0 && c.Horizon > 0 && time.Duration(c.ObserveLag)*step+c.Policy.LeadTime.D() >= c.Horizon {
		add("observe lag (%d steps of %v) plus the lead time %v must be shorter than the horizon %v: a plan must still reach past the lead window when its newest sample is seen",
			c.ObserveLag, step, c.Policy.LeadTime.D(), c.Horizon)
	}
	minimum := max(step, 1)
	if step != 0 && c.Warmup < step {
		add("warmup must be at least one step (got %v)", c.Warmup)
	}
	if c.Window < minimum {
		add("window must be at least one step (got %v)", c.Window)
	}
	if c.Horizon < minimum {
		add("horizon must be at least one step (got %v)", c.Horizon)
	}
	if len(c.Reactive) == 0 {
		add("no reactive setting")
	}
	for _, u := range c.Reactive {
		if !(u > 0 && u <= 1) {
			add("reactive target utilisation must be in (0, 1] (got %v)", u)
		}
	}
	if len(c.Predictive) == 0 {
		add("no predictive setting")
	}
	for _, h := range c.Oracle {
		if !(h > 0) || math.IsInf(h, 0) {
			add("oracle headroom must be > 0 and finite (got %v)", h)
		}
	}
	if c.OracleLevel < 0 {
		add("the oracle's level radius must be >= 0 steps (got %d)", c.OracleLevel)
	}
	if c.OracleBeside != 0 && !(c.OracleBeside > 0 && c.OracleBeside <= 1) {
		add("utilisation of the reactive trigger beside the oracle must be in (0, 1] (got %v)", c.OracleBeside)
	}
	for _, s := range c.Predictive {
		if s.Quantile != 0 && !(s.Quantile > 0.5 && s.Quantile < 1) {
			add("predictive quantile must be 0 (point forecast) or in (0.5, 1) (got %v)", s.Quantile)
		}
		if !(s.Headroom >= 1) || math.IsInf(s.Headroom, 0) {
			add("predictive headroom must be >= 1 (got %v)", s.Headroom)
		}
		if s.Beside != 0 && !(s.Beside > 0 && s.Beside <= 1) {
			add("utilisation of the reactive trigger beside Kedastral's must be in (0, 1] (got %v)", s.Beside)
		}
	}
	pol := c.Policy
	pol.TargetPerPod, pol.Headroom = 1, 1
	if err := c.Rules.Validate(pol); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Outcome is what one policy setting did over the simulation.
type Outcome struct {
	Policy  string `json:"policy"`
	Setting string `json:"setting"`
	// Unserved is Σ max(0, demand − ready capacity) ÷ Σ demand, over time.
	Unserved float64 `json:"unserved"`
	// UnderMinutes is how long ready capacity was below demand.
	UnderMinutes float64 `json:"underMinutes"`
	// ReplicaHours is the cost: pods that exist (starting or ready) × time.
	ReplicaHours float64 `json:"replicaHours"`
	PeakReplicas int32   `json:"peakReplicas"`
	// Events counts changes of the HPA's desired replicas.
	Events int `json:"events"`
	// Fallback is the share of plans made while the accuracy guard had fallen back, and
	// Widened while it had widened the headroom (predictive only).
	Fallback float64 `json:"fallback,omitempty"`
	Widened  float64 `json:"widened,omitempty"`
}

// ScalingResult is a whole simulation: every setting of every policy, and the step-by-step
// decisions of each policy's default setting.
type ScalingResult struct {
	Start, End time.Time
	Model      string
	Reactive   []Outcome
	Predictive []Outcome
	// Oracle is the oracle's default setting, and OracleSweep every setting of it (the first
	// is Oracle).
	Oracle      Outcome
	OracleSweep []Outcome
	Decisions   []Decision
	// ForecastSeconds is the time the agent's forecasts took (the expensive part), and
	// SimulateSeconds the time the cluster simulations took.
	ForecastSeconds, SimulateSeconds float64
}

// forecasts holds the agent's forecast at every origin of the simulation: point and the upper
// band for each swept quantile, flattened origin by origin.
type forecasts struct {
	horizon   int
	quantiles []float64
	point     []float64   // [origin*horizon + h]
	upper     [][]float64 // [quantile][origin*horizon + h]
}

// Scale simulates the trace s under the three policies. newModel makes the agent's forecasting
// model (one instance sees the whole run, as the agent would). progress, when not nil, is called
// with the origins forecast so far and their total.
func Scale(ctx context.Context, s series.Series, newModel func() (forecast.Model, error), cfg ScalingConfig,
	progress func(done, total int)) (ScalingResult, error) {
	if cfg.Tick == 0 {
		cfg.Tick = 15 * time.Second
	}
	if err := cfg.Validate(s.Step); err != nil {
		return ScalingResult{}, err
	}
	warm := int(cfg.Warmup / s.Step)
	if warm >= s.Len() {
		return ScalingResult{}, fmt.Errorf("the trace (%d points of %v) is no longer than the warmup %v", s.Len(), s.Step, cfg.Warmup)
	}
	model, err := newModel()
	if err != nil {
		return ScalingResult{}, err
	}
	res := ScalingResult{Start: s.Time(warm), End: s.End(), Model: model.Name()}

	began := time.Now()
	fcs, err := forecastAll(ctx, s, warm, model, cfg, progress)
	if err != nil {
		return ScalingResult{}, err
	}
	res.ForecastSeconds = time.Since(began).Seconds()

	began = time.Now()
	ticks := int(s.Step / cfg.Tick)
	res.Decisions = make([]Decision, (s.Len()-warm)*ticks)
	for j := range res.Decisions {
		i := warm + j/ticks
		res.Decisions[j] = Decision{Time: s.Time(i).Add(time.Duration(j%ticks) * cfg.Tick), Demand: s.Values[i],
			Forecast: math.NaN(), Upper: math.NaN()}
	}
	for k, u := range cfg.Reactive {
		var rec []Decision
		if k == 0 {
			rec = res.Decisions
		}
		out, err := runReactive(s, warm, cfg, u, rec)
		if err != nil {
			return ScalingResult{}, err
		}
		res.Reactive = append(res.Reactive, out)
	}
	for k, st := range cfg.Predictive {
		var rec []Decision
		if k == 0 {
			rec = res.Decisions
		}
		out, err := runPredictive(s, warm, cfg, st, fcs, model.Name(), rec)
		if err != nil {
			return ScalingResult{}, err
		}
		res.Predictive = append(res.Predictive, out)
	}
	headrooms := cfg.Oracle
	if len(headrooms) == 0 {
		headrooms = []float64{1}
	}
	type oracleSetting struct {
		headroom float64
		steps    bool
	}
	var oracles []oracleSetting
	for k, h := range headrooms {
		oracles = append(oracles, oracleSetting{h, false})
		if cfg.OracleSteps && k > 0 {
			oracles = append(oracles, oracleSetting{h, true})
		}
	}
	if cfg.OracleSteps {
		oracles = append(oracles, oracleSetting{headrooms[0], true})
	}
	for k, o := range oracles {
		var rec []Decision
		if k == 0 {
			rec = res.Decisions
		}
		out, err := runOracle(s, warm, cfg, o.headroom, o.steps, rec)
		if err != nil {
			return ScalingResult{}, err
		}
		res.OracleSweep = append(res.OracleSweep, out)
	}
	res.Oracle = res.OracleSweep[0]
	res.SimulateSeconds = time.Since(began).Seconds()
	return res, nil
}

// forecastAll runs the agent's model at every origin of the simulation — each new sample —
// on the Window of history up to and including it. This is the only place the predictive
// policy reads the trace, and it reads nothing after the origin.
func forecastAll(ctx context.Context, s series.Series, warm int, model forecast.Model, cfg ScalingConfig,
	progress func(done, total int)) (*forecasts, error) {
	horizon := int(cfg.Horizon / s.Step)
	window := int(cfg.Window / s.Step)
	var qs []float64
	for _, st := range cfg.Predictive {
		if st.Quantile != 0 && !slices.Contains(qs, st.Quantile) {
			qs = append(qs, st.Quantile)
		}
	}
	if !slices.Contains(qs, 0.9) && slices.ContainsFunc(cfg.Predictive, func(s Setting) bool { return s.Quantile == 0 }) {
		qs = append(qs, 0.9) // the band the accuracy guard judges point-sized settings by
	}
	n := s.Len() - warm
	f := &forecasts{horizon: horizon, quantiles: qs, point: make([]float64, n*horizon), upper: make([][]float64, len(qs))}
	for q := range qs {
		f.upper[q] = make([]float64, n*horizon)
	}
	multi, isMulti := model.(forecast.QuantileForecaster)
	for o := range n {
		if o%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		end := warm + o + 1 // the sample at the origin is observable at the origin
		hist := series.Series{Start: s.Time(max(0, end-window)), Step: s.Step, Values: s.Values[max(0, end-window):end]}
		at := o * horizon
		if isMulti {
			point, uppers, err := multi.ForecastQuantiles(hist, horizon, qs)
			if err != nil && !errors.Is(err, forecast.ErrNoData) {
				return nil, fmt.Errorf("forecast at %s: %w", s.Time(end-1).Format(time.RFC3339), err)
			}
			if err == nil {
				copy(f.point[at:], point)
				for q := range qs {
					copy(f.upper[q][at:], uppers[q])
				}
			} else {
				f.markMissing(o)
			}
		} else {
			for q, quantile := range qs {
				fc, err := model.Forecast(hist, horizon, quantile)
				if errors.Is(err, forecast.ErrNoData) {
					f.markMissing(o)
					break
				}
				if err != nil {
					return nil, fmt.Errorf("forecast at %s: %w", s.Time(end-1).Format(time.RFC3339), err)
				}
				copy(f.point[at:], fc.Point)
				copy(f.upper[q][at:], fc.Upper)
			}
		}
		if progress != nil {
			progress(o+1, n)
		}
	}
	return f, nil
}

// markMissing records that the model could not forecast at origin o (no finite history): the
// agent would not publish a plan then.
func (f *forecasts) markMissing(o int) { f.point[o*f.horizon] = math.NaN() }

func (f *forecasts) at(o, q int) (forecast.Forecast, bool) {
	at := o * f.horizon
	if math.IsNaN(f.point[at]) {
		return forecast.Forecast{}, false
	}
	return forecast.Forecast{Point: f.point[at : at+f.horizon], Upper: f.upper[q][at : at+f.horizon]}, true
}

// meter accumulates one policy's outcome tick by tick.
type meter struct {
	unserved, demand, under, podSeconds float64
	peak, last                          int32
	events                              int
}

func (m *meter) add(demand float64, desired, ready int32, targetPerPod float64, tick time.Duration) {
	sec := tick.Seconds()
	m.podSeconds += float64(desired) * sec
	m.peak = max(m.peak, desired)
	if desired != m.last {
		m.events++
		m.last = desired
	}
	if !isFinite(demand) || demand < 0 {
		return
	}
	m.demand += demand * sec
	if short := demand - float64(ready)*targetPerPod; short > 0 {
		m.unserved += short * sec
		m.under += sec
	}
}

func (m *meter) outcome(policy, setting string) Outcome {
	o := Outcome{Policy: policy, Setting: setting, UnderMinutes: m.under / 60, ReplicaHours: m.podSeconds / 3600,
		PeakReplicas: m.peak, Events: m.events}
	if m.demand > 0 {
		o.Unserved = m.unserved / m.demand
	}
	return o
}

// loop drives a cluster through the simulated span, tick by tick. poll answers KEDA; onStep,
// when not nil, is called at each trace step before the cluster advances into it. rec, when not
// nil, gets the policy's desired and ready replicas at every tick, after the cluster has
// advanced to it: exactly the figures the meter adds up, so that a reader of --decisions-out can
// recompute every figure reported.
func loop(s series.Series, warm int, cfg ScalingConfig, c *Cluster, poll func(time.Time) []Metric,
	onStep func(i int), rec []Decision, kind PolicyKind) (meter, error) {
	m := meter{last: c.Desired()}
	ticks := int(s.Step / cfg.Tick)
	for i := warm; i < s.Len(); i++ {
		if onStep != nil {
			onStep(i)
		}
		demand := s.Values[i]
		for k := range ticks {
			t := s.Time(i).Add(time.Duration(k) * cfg.Tick)
			if err := c.Advance(t, poll); err != nil {
				return meter{}, err
			}
			if rec != nil {
				j := (i-warm)*ticks + k
				rec[j].Desired[kind] = c.Desired()
				rec[j].Ready[kind] = c.Ready()
			}
			m.add(demand, c.Desired(), c.Ready(), cfg.TargetPerPod, cfg.Tick)
		}
	}
	return m, nil
}

// initialReplicas starts every policy alike: what the demand at the start needs.
func initialReplicas(s series.Series, warm int, cfg ScalingConfig) int32 {
	v := s.Values[warm]
	if !isFinite(v) {
		v = 0
	}
	return int32(math.Ceil(v / cfg.TargetPerPod))
}

// observedAt is the newest demand observable at t: the sample lag steps older than the one at t.
func observedAt(s series.Series, t time.Time, lag int) float64 {
	return demandAt(s, t.Add(-time.Duration(lag)*s.Step))
}

// demandAt is the demand at t on the trace's grid (NaN outside it).
func demandAt(s series.Series, t time.Time) float64 {
	i := int(t.Sub(s.Start) / s.Step)
	if t.Before(s.Start) || i >= s.Len() {
		return math.NaN()
	}
	return s.Values[i]
}

func runReactive(s series.Series, warm int, cfg ScalingConfig, util float64, rec []Decision) (Outcome, error) {
	c, err := NewCluster(cfg.Cluster, s.Time(warm), initialReplicas(s, warm, cfg))
	if err != nil {
		return Outcome{}, err
	}
	target := cfg.TargetPerPod * util
	metrics := make([]Metric, 1)
	poll := func(t time.Time) []Metric {
		metrics[0] = Metric{Value: observedAt(s, t, cfg.ObserveLag), Target: target}
		return metrics
	}
	m, err := loop(s, warm, cfg, c, poll, nil, rec, Reactive)
	if err != nil {
		return Outcome{}, err
	}
	return m.outcome(Reactive.String(), fmt.Sprintf("utilisation %.2f", util)), nil
}

// runPredictive replays the agent: at each new sample it plans from the forecast made at that
// origin (with the planner the agent uses, accuracy guard included); KEDA reads the gateway's
// answer for the plan and, beside it, the reactive trigger on the observed metric, and the HPA
// takes the larger — the ScaledObject we recommend.
func runPredictive(s series.Series, warm int, cfg ScalingConfig, st Setting, fcs *forecasts, model string, rec []Decision) (Outcome, error) {
	c, err := NewCluster(cfg.Cluster, s.Time(warm), initialReplicas(s, warm, cfg))
	if err != nil {
		return Outcome{}, err
	}
	pol := cfg.Policy
	pol.TargetPerPod, pol.Headroom = cfg.TargetPerPod, st.Headroom
	rules := cfg.Rules
	rules.Steps = 0
	if st.Steps {
		rules.Steps = cfg.Cluster.Tolerance
	}
	q := slices.Index(fcs.quantiles, st.Quantile)
	quantile := st.Quantile
	if st.Quantile == 0 {
		// Sized for the point forecast; the accuracy guard still judges the model by its band.
		rules.Basis, q = capacity.BasisPoint, max(0, slices.Index(fcs.quantiles, 0.9))
		quantile = fcs.quantiles[q]
	}
	pl := capacity.Planner{Model: namedModel(model), Policy: pol, Rules: rules, Horizon: fcs.horizon, Quantile: quantile, Validity: cfg.Horizon}
	if cfg.Guard {
		if pl.Accuracy, err = capacity.NewAccuracy(capacity.AccuracyConfig{Quantile: quantile, Lead: pol.LeadTime.D()}); err != nil {
			return Outcome{}, err
		}
	}
	w := plan.Workload{Namespace: "sim", Name: "trace"}
	window := int(cfg.Window / s.Step)
	var current *plan.Plan
	var plans, fallback, widened int
	var planErr error
	ticks := int(s.Step / cfg.Tick)
	onStep := func(i int) {
		// At T_i the newest observable sample is the one at T_(i−lag): the agent plans now from
		// the history up to and including it (the forecast made at that origin), for the steps
		// from T_(i−lag)+step on.
		o := i - warm - cfg.ObserveLag
		if planErr != nil || o < 0 {
			return
		}
		fc, ok := fcs.at(o, q)
		if !ok {
			return
		}
		end := i - cfg.ObserveLag + 1
		hist := series.Series{Start: s.Time(max(0, end-window)), Step: s.Step, Values: s.Values[max(0, end-window):end]}
		p, err := pl.FromForecast(s.Time(i), w, int64(i+1), hist, fc, current)
		if err != nil {
			planErr = fmt.Errorf("plan at %s: %w", s.Time(i).Format(time.RFC3339), err)
			return
		}
		current = &p
		plans++
		if pl.Accuracy != nil {
			switch pl.Accuracy.Status().Mode {
			case capacity.Fallback:
				fallback++
			case capacity.Widened:
				widened++
			}
		}
		if rec != nil && cfg.ObserveLag < len(p.Predicted) {
			// The forecast for the next step, made before it: the plan's steps start lag steps
			// before it.
			next := i - warm + 1
			for j := next * ticks; j < min(len(rec), (next+1)*ticks); j++ {
				rec[j].Forecast, rec[j].Upper = p.Predicted[cfg.ObserveLag], p.Upper[cfg.ObserveLag]
			}
		}
	}
	metrics := make([]Metric, 0, 2)
	poll := func(t time.Time) []Metric {
		metrics = append(metrics[:0], Metric{Value: observedAt(s, t, cfg.ObserveLag), Target: cfg.TargetPerPod * st.BesideUtilisation()})
		if current != nil {
			if r, err := current.ReplicasAt(t, pol.LeadTime.D()); err == nil {
				metrics = append(metrics, Metric{Value: float64(r), Target: 1})
			}
		}
		return metrics
	}
	m, err := loop(s, warm, cfg, c, poll, onStep, rec, Predictive)
	if err != nil {
		return Outcome{}, err
	}
	if planErr != nil {
		return Outcome{}, planErr
	}
	out := m.outcome(Predictive.String(), st.String())
	if plans > 0 {
		out.Fallback, out.Widened = float64(fallback)/float64(plans), float64(widened)/float64(plans)
	}
	return out, nil
}

// runOracle answers KEDA with what the true demand × headroom needs over [now, now+lead]: with
// headroom 1, the best any forecast could do under the same start-up delay and HPA rules. With
// cfg.OracleBeside, a reactive trigger on the observed metric answers beside it; with
// cfg.OracleLevel, it knows only the future's local level.
func runOracle(s series.Series, warm int, cfg ScalingConfig, headroom float64, steps bool, rec []Decision) (Outcome, error) {
	c, err := NewCluster(cfg.Cluster, s.Time(warm), initialReplicas(s, warm, cfg))
	if err != nil {
		return Outcome{}, err
	}
	lead := cfg.Policy.LeadTime.D()
	pol := cfg.Policy
	pol.TargetPerPod, pol.Headroom = cfg.TargetPerPod, headroom
	metrics := make([]Metric, 1, 2)
	knows := func(u time.Time) float64 { return demandAt(s, u) }
	if r := cfg.OracleLevel; r > 0 {
		knows = func(u time.Time) float64 { return levelAt(s, u, r) }
	}
	poll := func(t time.Time) []Metric {
		need, known := int32(0), false
		for u := t; !u.After(t.Add(lead)); u = u.Add(s.Step) {
			if v := knows(u); isFinite(v) {
				need, known = max(need, capacity.Desired(v, pol)), true
			}
		}
		if v := knows(t.Add(lead)); isFinite(v) {
			need, known = max(need, capacity.Desired(v, pol)), true
		}
		if !known {
			// A gap in the trace: the oracle knows no more than the others, whose metric fails
			// there and freezes the HPA. Answering 0 would let it alone scale down.
			return nil
		}
		if steps {
			need = min(capacity.ToleranceStep(need, cfg.Cluster.Tolerance), max(pol.MaxReplicas, need))
		}
		metrics[0] = Metric{Value: float64(need), Target: 1}
		if cfg.OracleBeside > 0 {
			// The trigger sees what the others see: the observed metric, not the future.
			return append(metrics[:1], Metric{Value: observedAt(s, t, cfg.ObserveLag), Target: cfg.TargetPerPod * cfg.OracleBeside})
		}
		return metrics[:1]
	}
	m, err := loop(s, warm, cfg, c, poll, nil, rec, Oracle)
	if err != nil {
		return Outcome{}, err
	}
	setting := fmt.Sprintf("lead %v", lead)
	if headroom != 1 {
		setting = fmt.Sprintf("lead %v ×%.2f", lead, headroom)
	}
	if steps {
		setting += " steps"
	}
	if cfg.OracleLevel > 0 {
		setting += fmt.Sprintf(" level ±%d", cfg.OracleLevel)
	}
	if cfg.OracleBeside > 0 {
		setting += fmt.Sprintf(" + reactive %.2f", cfg.OracleBeside)
	}
	return m.outcome(Oracle.String(), setting), nil
}

// levelAt is the mean of the finite demand at the r steps either side of t, t's own demand
// left out, as Hindsight's centredMean: the local level, with nothing of the noise at t itself,
// which is what OracleLevel promises (a mean that counted t would know a 1/(2r+1) share of it).
// NaN where the demand at t is unknown (a gap, or outside the trace), as for the exact oracle,
// or where none of its neighbours is known.
func levelAt(s series.Series, t time.Time, r int) float64 {
	if !isFinite(demandAt(s, t)) {
		return math.NaN()
	}
	return centredMean(s.Values, int(t.Sub(s.Start)/s.Step), r)
}

// namedModel stands for the agent's model in the plans the simulator builds from stored
// forecasts: the planner only asks it for its name.
type namedModel string

func (n namedModel) Name() string { return string(n) }
func (n namedModel) Forecast(series.Series, int, float64) (forecast.Forecast, error) {
	return forecast.Forecast{}, errors.New("the simulator plans from stored forecasts")
}
