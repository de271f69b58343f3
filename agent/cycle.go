package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kedastral/kedastral/pkg/capacity"
	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/planstore"
	"github.com/kedastral/kedastral/pkg/promsource"
	"github.com/kedastral/kedastral/pkg/series"
)

// source is where the workload's metric comes from: Prometheus, or a replayed trace.
type source interface {
	// Fetch returns the samples in [start, end] on a grid of step. It may return good samples
	// together with a *promsource.BadSamplesError for samples it had to drop.
	Fetch(ctx context.Context, start, end time.Time, step time.Duration) ([]series.Sample, error)
}

// startupSource measures the workload's pod start-up times (promsource.Source does, from
// kube-state-metrics).
type startupSource interface {
	StartupTimes(ctx context.Context, query string, at time.Time) ([]time.Duration, error)
}

// leadRefresh is how often KEDASTRAL_LEAD_TIME=auto measures the start-up again: pods of new
// releases, nodes or images change it slowly.
const leadRefresh = time.Hour

// planStore is where plans are published.
type planStore interface {
	Put(ctx context.Context, p plan.Plan, ttl time.Duration) error
	Get(ctx context.Context, w plan.Workload) (plan.Plan, error)
}

// leaser holds the workload's lease, which names the one agent of the workload that plans
// (planstore.Store).
type leaser interface {
	Lease(ctx context.Context, w plan.Workload, holder string, ttl time.Duration) (bool, error)
	Release(ctx context.Context, w plan.Workload, holder string) error
}

// The lease's TTL is leaseTerms cycles, and at least minLeaseTTL: a holder that misses two cycles
// in a row (a stall, a Redis hiccup), or whose first cycle (the back-fill and first fit) runs
// long, keeps it; one that stops without handing it back is replaced when it runs out.
const (
	leaseTerms  = 3
	minLeaseTTL = 30 * time.Second
)

// Stages of a cycle, as the label of kedastral_cycle_errors_total.
const (
	stageFetch    = "fetch"
	stageStale    = "stale"
	stageForecast = "forecast"
	stagePublish  = "publish"
)

// stageError tags a cycle error with the stage that failed, for the metric.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// agent runs the cycle — fetch new samples, forecast, plan, publish — every interval.
type agent struct {
	cfg     Config
	src     source
	store   planStore
	clock   clock
	planner capacity.Planner
	history *series.Buffer
	log     *slog.Logger
	metrics *metrics

	// With KEDASTRAL_LEASE: the lease, this agent's name in it, and whether another agent held
	// it at the last check (nil before the first).
	lease   leaser
	holder  string
	standby *bool

	startup    startupSource // with KEDASTRAL_LEAD_TIME=auto: where pod start-up times come from
	leadAt     time.Time     // wall time of the last lead-time measurement attempt
	generation int64         // generation of the last plan made
	planned    *plan.Plan    // the last plan made, on the data's time line
	mode       capacity.Mode
	lastFit    time.Time // FittedAt of the last model fit logged

	mu    sync.Mutex // guards state, which the HTTP handlers read
	state status
}

// status is what /status reports, and /plan the Plan of.
type status struct {
	Workload   string     `json:"workload"`
	SourceTime time.Time  `json:"sourceTime"` // the agent's now on the data's time line
	LastSample *sampleDTO `json:"lastSample,omitempty"`
	Published  *plan.Plan `json:"-"`
	Generation int64      `json:"generation"`
	LastError  string     `json:"lastError,omitempty"`
	// Replicas is what the gateway would answer for the published plan at the wall-clock
	// instant of this status (max over the lead window); absent when no valid plan exists.
	Replicas *int32 `json:"replicas,omitempty"`
	// Standby is true while another agent of the workload holds the lease and plans; this one
	// then reports the plan that agent stored. Absent with KEDASTRAL_LEASE off.
	Standby *bool `json:"standby,omitempty"`
}

type sampleDTO struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// Run cycles until ctx ends; it returns nil then. Failed cycles are logged and retried with
// exponential back-off (from one second, capped at the interval), so a Prometheus or Redis
// outage neither stops the agent nor makes it hammer the server.
func (a *agent) Run(ctx context.Context, done func() bool) error {
	defer a.releaseLease()
	interval := a.clock.Real(a.cfg.Interval)
	backoff := time.Duration(0)
	for {
		err := a.cycle(ctx)
		wait := interval
		if err != nil {
			backoff = min(interval, max(time.Second, 2*backoff))
			wait = backoff
			if ctx.Err() == nil {
				a.log.Warn("cycle failed", "err", err, "retry_in", wait)
			}
		} else {
			backoff = 0
		}
		if done != nil && done() {
			a.log.Info("replay reached the end of the trace")
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// cycle runs one fetch–forecast–publish round.
func (a *agent) cycle(ctx context.Context) (err error) {
	began := time.Now()
	now := a.clock.Now()
	// Publish the cycle's now before anything it fetches, so that /status never shows a sample
	// newer than its source time.
	a.mu.Lock()
	a.state.SourceTime = now
	a.mu.Unlock()
	defer func() {
		a.metrics.cycleDuration.Observe(time.Since(began).Seconds())
		for _, stage := range stages(err) {
			a.metrics.cycleErrors.WithLabelValues(stage).Inc()
		}
		a.mu.Lock()
		a.state.LastError = ""
		if err != nil {
			a.state.LastError = err.Error()
		}
		a.mu.Unlock()
	}()

	if a.lease != nil && a.standingBy(ctx) {
		return a.follow(ctx)
	}
	fetchErr := a.fetch(ctx, now)
	if fetchErr != nil && ctx.Err() != nil {
		return nil // shutting down
	}
	// A failed fetch still lets the agent plan from what it has, as long as that is recent:
	// a short Prometheus hiccup should not take the plan away. Beyond MaxStaleness the agent
	// stops publishing, the plan expires, and the gateway answers Unavailable.
	latest := a.history.Latest()
	if latest.IsZero() || now.Sub(latest) > a.cfg.MaxStaleness {
		age := "no sample yet"
		if !latest.IsZero() {
			age = fmt.Sprintf("newest sample is %v old", now.Sub(latest).Round(time.Second))
		}
		return errors.Join(fetchErr, &stageError{stageStale, fmt.Errorf(
			"%s (KEDASTRAL_MAX_STALENESS %v): not publishing", age, a.cfg.MaxStaleness)})
	}

	a.measureLead(ctx)
	step := a.cfg.Step
	hist := a.history.Series(now.Truncate(step).Add(step))
	p, err := a.planner.Plan(now, a.cfg.workload(), a.nextGeneration(now), hist, a.planned)
	if err != nil {
		return errors.Join(fetchErr, &stageError{stageForecast, err})
	}
	a.planned = &p
	a.logFit()
	a.logAccuracy()
	wall := toWall(a.clock, p)
	err = a.store.Put(ctx, wall, a.clock.Real(a.cfg.validity())+keepExpired)
	if errors.Is(err, planstore.ErrStale) {
		// Another agent for this workload (the app's next replica) stored a newer plan made
		// from the same metric: that is the plan the gateway should serve, so nothing failed.
		a.metrics.superseded.Inc()
		a.log.Debug("a newer plan is already stored", "generation", p.Generation)
		return fetchErr
	}
	if err != nil {
		return errors.Join(fetchErr, &stageError{stagePublish, fmt.Errorf("publish plan: %w", err)})
	}
	a.generation = p.Generation
	a.published(wall)
	return fetchErr
}

// keepExpired is how long a plan stays in Redis after it expires. Meanwhile the gateway answers
// that the plan expired, and when (the agent stopped publishing), rather than that the workload
// has none, which reads like a misspelt trigger.
const keepExpired = time.Hour

// standingBy takes or renews the workload's lease and reports whether another agent holds it.
// When Redis cannot be asked, the agent plans: a lease nobody can check must not stop the only
// agent there may be, and publishing will fail and say so if Redis is really gone.
func (a *agent) standingBy(ctx context.Context) bool {
	ttl := max(a.clock.Real(leaseTerms*a.cfg.Interval), minLeaseTTL)
	held, err := a.lease.Lease(ctx, a.cfg.workload(), a.holder, ttl)
	if err != nil {
		a.log.Debug("could not check the lease; planning", "err", err)
		held = true
	}
	standby := !held
	if a.standby == nil || *a.standby != standby {
		if standby {
			a.log.Info("another agent of the workload holds the lease and plans; standing by")
			// This agent no longer reads the metric or judges the forecast: NaN, which
			// max/min by workload pass over, so that the holder's figures decide the alerts
			// and a former holder's last judgement does not page for ever.
			for _, g := range []prometheus.Gauge{a.metrics.observed, a.metrics.accuracyMode, a.metrics.headroomFactor, a.metrics.exceedance} {
				g.Set(math.NaN())
			}
		} else {
			a.log.Info("holding the workload's lease: planning")
			if a.standby != nil { // back from standing by: this agent judges again
				if a.planner.Accuracy != nil {
					a.logAccuracy()
				} else {
					a.metrics.accuracyMode.Set(float64(capacity.Trusted))
					a.metrics.headroomFactor.Set(1)
					a.metrics.exceedance.Set(0)
				}
			}
		}
	}
	a.standby = &standby
	if standby {
		a.metrics.leaseHeld.Set(0)
	} else {
		a.metrics.leaseHeld.Set(1)
	}
	a.mu.Lock()
	a.state.Standby = &standby
	a.mu.Unlock()
	return standby
}

// releaseLease hands the lease back when the agent stops, so that a standby takes over at its
// next cycle rather than when the term runs out.
func (a *agent) releaseLease() {
	if a.lease == nil || a.standby == nil || *a.standby {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := a.lease.Release(ctx, a.cfg.workload(), a.holder); err != nil {
		a.log.Warn("could not release the lease; another agent takes over when it expires", "err", err)
		return
	}
	a.log.Info("released the workload's lease")
}

// follow is a standby's cycle: it reads the plan the lease holder stored, so that its metrics,
// /status and /plan describe the workload's plan as the holder's do, and an alert on any agent
// of the workload sees the same plan age.
func (a *agent) follow(ctx context.Context) error {
	p, err := a.store.Get(ctx, a.cfg.workload())
	if errors.Is(err, planstore.ErrNotFound) {
		return nil // the holder has not published yet
	}
	if err != nil {
		return fmt.Errorf("standing by: read the stored plan: %w", err)
	}
	a.mirror(p)
	return nil
}

// fetch back-fills the history on the first cycle and adds the samples since the newest one on
// the others.
func (a *agent) fetch(ctx context.Context, now time.Time) error {
	step := a.cfg.Step
	start := now.Add(-a.cfg.History).Truncate(step)
	if latest := a.history.Latest(); latest.After(start) {
		// Re-read the newest point too: it may have been incomplete when last read.
		start = latest
	}
	if start.After(now) {
		return nil
	}
	samples, err := a.src.Fetch(ctx, start, now, step)
	if err != nil && !onlyDegraded(err) {
		return &stageError{stageFetch, err}
	}
	if err != nil {
		// Samples came back, with some dropped or with server warnings: use them, say so.
		var bad *promsource.BadSamplesError
		if errors.As(err, &bad) {
			a.metrics.samplesRejected.Add(float64(bad.Count))
		}
		a.log.Warn("fetched with problems", "err", err)
	}
	if n := a.history.Add(samples); n > 0 {
		a.metrics.samplesRejected.Add(float64(n))
		a.log.Warn("dropped non-finite samples", "count", n)
	}
	if n := len(samples); n > 0 {
		last := samples[n-1]
		a.metrics.observed.Set(last.V)
		a.mu.Lock()
		a.state.LastSample = &sampleDTO{Time: last.T, Value: last.V}
		a.mu.Unlock()
	}
	return nil
}

// stages lists the stages that failed in err, which may join the errors of several stages
// (a failed fetch followed by stale data, say).
func stages(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, stages(e)...)
		}
		return out
	}
	var se *stageError
	if errors.As(err, &se) {
		return []string{se.stage}
	}
	return nil
}

// onlyDegraded reports whether err (possibly a join) holds nothing but the problems a source
// returns alongside good samples: dropped non-finite samples and server warnings.
func onlyDegraded(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !onlyDegraded(e) {
				return false
			}
		}
		return true
	}
	var (
		bad  *promsource.BadSamplesError
		warn *promsource.WarningsError
	)
	return errors.As(err, &bad) || errors.As(err, &warn)
}

// fitReporter is a model that describes its fits (forecast.Engine does).
type fitReporter interface{ Info() forecast.FitInfo }

// logFit logs a model refit once: the periods found, the methods auto chose, and what looks
// wrong with the data, which is how a user learns that the query returns a counter.
func (a *agent) logFit() {
	r, ok := a.planner.Model.(fitReporter)
	if !ok {
		return
	}
	info := r.Info()
	if info.FittedAt.Equal(a.lastFit) {
		return
	}
	a.lastFit = info.FittedAt
	periods := make([]string, len(info.Periods))
	for i, p := range info.Periods {
		periods[i] = (time.Duration(p) * a.cfg.Step).String()
	}
	weights := make([]string, 0, len(info.Weights))
	for _, name := range slices.Sorted(maps.Keys(info.Weights)) {
		w := info.Weights[name]
		weights = append(weights, fmt.Sprintf("%s=%.2f/%.2f", name, w[0], w[1]))
	}
	a.log.Info("model fitted", "model", a.planner.Model.Name(), "periods", periods,
		"weights_first_last_step", weights, "weighed_by", info.WeighedBy, "band_scaled_by", info.BandScaledBy, "cold_start", info.Cold, "judged_on_live_forecasts", info.Live)
	for _, w := range info.Warnings {
		a.log.Warn("suspicious metric", "problem", w)
	}
}

// measureLead sets the lead time from the workload's measured pod start-up (p90) plus
// KEDASTRAL_SCALING_DELAY, hourly, when KEDASTRAL_LEAD_TIME=auto. A failed measurement keeps the
// lead time in use and says why: it must never stop the agent from planning.
func (a *agent) measureLead(ctx context.Context) {
	if a.startup == nil || (!a.leadAt.IsZero() && time.Since(a.leadAt) < leadRefresh) {
		return
	}
	a.leadAt = time.Now()
	current := a.planner.Policy.LeadTime.D()
	times, err := a.startup.StartupTimes(ctx, a.cfg.startupQuery(), time.Time{})
	if err != nil && len(times) > 0 {
		// The server warned (a partial answer from Thanos or Mimir, say) but the times are
		// valid: use them, and say so.
		a.log.Warn("measured pod start-up with warnings from Prometheus", "err", err)
		err = nil
	}
	var p90 time.Duration
	if err == nil {
		p90, err = promsource.StartupQuantile(times, 0.9)
	}
	if err != nil {
		a.log.Warn("could not measure pod start-up for KEDASTRAL_LEAD_TIME=auto; keeping the lead time",
			"lead_time", current, "err", err)
		return
	}
	lead := min(p90+a.cfg.ScalingDelay, a.cfg.Horizon)
	a.metrics.leadTime.Set(lead.Seconds())
	if lead != current {
		a.log.Info("lead time set from measured pod start-up", "lead_time", lead, "startup_p90", p90,
			"pods", len(times), "scaling_delay", a.cfg.ScalingDelay, "was", current)
	}
	a.planner.Policy.LeadTime = plan.Duration(lead)
	if a.planner.Accuracy != nil {
		a.planner.Accuracy.SetLead(lead)
	}
}

// logAccuracy exports the accuracy guard's judgement and logs each change of mode: a user must
// learn that the forecast stopped being trusted, and why.
func (a *agent) logAccuracy() {
	if a.planner.Accuracy == nil {
		return
	}
	st := a.planner.Accuracy.Status()
	a.metrics.accuracyMode.Set(float64(st.Mode))
	a.metrics.headroomFactor.Set(st.Factor)
	a.metrics.exceedance.Set(st.Exceedance)
	if st.Mode == a.mode {
		return
	}
	attrs := []any{"from", a.mode.String(), "to", st.Mode.String(), "exceedance", st.Exceedance,
		"calibrated", 1 - a.cfg.Quantile, "judged", st.Samples, "headroom_factor", st.Factor}
	switch st.Mode {
	case capacity.Fallback:
		a.log.Warn("forecast badly wrong: planning from the observed value alone, headroom widened, until it recovers", attrs...)
	case capacity.Widened:
		a.log.Warn("forecast exceeded more often than calibrated: headroom widened", attrs...)
	default:
		a.log.Info("forecast accurate again: planning from it as configured", attrs...)
	}
	a.mode = st.Mode
}

// nextGeneration numbers the next plan by the wall-clock millisecond it is made at, and at
// least one past the last. Every agent of a workload — one beside each replica of the app, or
// a restarted one — thereby numbers its plans on the same increasing scale without talking to
// the others, and the store keeps whichever is newest.
func (a *agent) nextGeneration(now time.Time) int64 {
	a.generation = max(a.generation+1, a.clock.Wall(now).UnixMilli())
	return a.generation
}

// published records a plan that is now in the store.
func (a *agent) published(p plan.Plan) {
	a.metrics.lastPublish.Store(time.Now().UnixNano())
	a.record(p)
}

// mirror records the plan another agent stored, as published when it was generated.
func (a *agent) mirror(p plan.Plan) {
	a.metrics.lastPublish.Store(p.GeneratedAt.UnixNano())
	a.record(p)
}

func (a *agent) record(p plan.Plan) {
	a.metrics.predicted.Set(p.Predicted[0])
	a.metrics.upper.Set(p.Upper[0])
	a.metrics.generation.Set(float64(p.Generation))
	a.mu.Lock()
	a.state.Published = &p
	a.state.Generation = p.Generation
	a.mu.Unlock()
}

// snapshot returns a copy of the current status, with the replicas the gateway would answer
// now.
func (a *agent) snapshot() status {
	a.mu.Lock()
	s := a.state
	a.mu.Unlock()
	s.Workload = a.cfg.workload().String()
	if s.Published != nil {
		if r, err := s.Published.ReplicasAt(time.Now(), s.Published.Policy.LeadTime.D()); err == nil {
			s.Replicas = &r
		}
	}
	return s
}
