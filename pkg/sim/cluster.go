package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// This file models, for one workload, what a KEDA ScaledObject puts in motion: KEDA refreshing
// the metric values, the HPA controller turning them into spec.replicas, and the ReplicaSet
// turning spec.replicas into pods that serve after a start-up delay. The HPA part follows
// kubernetes/kubernetes pkg/controller/podautoscaler (horizontal.go and replica_calculator.go)
// closely, down to its float arithmetic, its open and closed window ends and its history
// bookkeeping, so that a simulated run scales on the same syncs, by the same steps, as a real
// cluster would.

// The values of ScalingPolicy.Type and ScalingRules.SelectPolicy, as autoscaling/v2 spells them.
const (
	policyPods    = "Pods"
	policyPercent = "Percent"

	selectMax      = "Max"
	selectMin      = "Min"
	selectDisabled = "Disabled"
)

// The API server's limits on HPA behavior (pkg/apis/autoscaling/validation): a configuration
// outside them could never run, so simulating it would say nothing.
const (
	maxPolicyPeriod      = 30 * time.Minute
	maxStabilizingWindow = time.Hour
)

// thousandthsPerUnit is the resolution of the values the HPA reads: KEDA hands metric values
// and targets over as milli-quantities.
const thousandthsPerUnit = 1000

// ScalingPolicy mirrors autoscaling/v2 HPAScalingPolicy: in any Period, at most Value pods
// (Type "Pods") or Value percent of the replicas at the period's start (Type "Percent") may be
// added or removed.
type ScalingPolicy struct {
	Type   string        // "Pods" or "Percent"
	Value  int32         // > 0
	Period time.Duration // > 0 and <= 30m (periodSeconds)
}

// ScalingRules mirrors autoscaling/v2 HPAScalingRules for one direction.
type ScalingRules struct {
	// StabilizationWindow is how far back the HPA looks at its own past recommendations: scaling
	// up goes no higher than the lowest of them, scaling down no lower than the highest. 0 to 1h.
	StabilizationWindow time.Duration
	// SelectPolicy picks among Policies: "Max" (the default when empty) allows the largest
	// change, "Min" the smallest, "Disabled" none at all in this direction.
	SelectPolicy string
	// Policies are the rate limits; at least one, as the API server requires.
	Policies []ScalingPolicy
}

// ClusterConfig describes the cluster a workload runs in. DefaultClusterConfig gives the
// Kubernetes and KEDA defaults; a zero field is not replaced by its default (a zero Tolerance,
// for one, is meaningful), except an empty SelectPolicy, which means "Max" as in the API.
//
// The model is an HPA with spec.behavior set, which a ScaledObject gets from
// advanced.horizontalPodAutoscalerConfig.behavior. Without it KEDA creates an HPA with no
// behavior, and the controller then applies an older rule (normalizeDesiredReplicas): up to
// max(2×current, 4) a sync, towards the highest recommendation of the last 5 minutes. From 4
// replicas up that matches the default rules here, except that a rate-limited scale-up keeps
// aiming at the highest recent recommendation rather than the latest one.
type ClusterConfig struct {
	// PollInterval is how often the metric values the HPA reads are refreshed (default 30s,
	// KEDA's pollingInterval). KEDA serves values that old when a trigger sets useCachedMetrics;
	// otherwise its metrics server asks the scaler afresh on each HPA request, which
	// PollInterval = SyncPeriod models.
	PollInterval time.Duration
	// SyncPeriod is the HPA controller's sync period (--horizontal-pod-autoscaler-sync-period;
	// default 15s).
	SyncPeriod time.Duration
	// Tolerance is the HPA's tolerance: no change while the usage ratio is within
	// [1-Tolerance, 1+Tolerance] (default 0.1).
	Tolerance float64
	// ScaleUp defaults to: window 0, Max, [Pods 4 per 15s, Percent 100 per 15s].
	ScaleUp ScalingRules
	// ScaleDown defaults to: window 300s, Max, [Percent 100 per 15s].
	ScaleDown ScalingRules
	// Startup is the delay from a pod's creation to its readiness: a pod created at t serves
	// from t+Startup (default 3m).
	Startup time.Duration
	// MinReplicas and MaxReplicas bound spec.replicas: 1 <= MinReplicas <= MaxReplicas
	// (defaults 1 and 100, as in a ScaledObject).
	MinReplicas, MaxReplicas int32
}

// DefaultClusterConfig returns the Kubernetes and KEDA defaults, with replicas from 1 to 100.
func DefaultClusterConfig() ClusterConfig {
	return ClusterConfig{
		PollInterval: 30 * time.Second,
		SyncPeriod:   15 * time.Second,
		Tolerance:    0.1,
		ScaleUp: ScalingRules{
			StabilizationWindow: 0,
			SelectPolicy:        selectMax,
			Policies: []ScalingPolicy{
				{Type: policyPods, Value: 4, Period: 15 * time.Second},
				{Type: policyPercent, Value: 100, Period: 15 * time.Second},
			},
		},
		ScaleDown: ScalingRules{
			StabilizationWindow: 5 * time.Minute,
			SelectPolicy:        selectMax,
			Policies: []ScalingPolicy{
				{Type: policyPercent, Value: 100, Period: 15 * time.Second},
			},
		},
		Startup:     3 * time.Minute,
		MinReplicas: 1,
		MaxReplicas: 100,
	}
}

// Validate reports every problem with the configuration at once (errors.Join), one a line, each
// naming the field and its value: "cluster: MaxReplicas must be >= MinReplicas (got 2 < 5)". The
// limits on windows, periods and policies are the API server's.
func (c ClusterConfig) Validate() error {
	var errs []error
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("cluster: PollInterval must be > 0 (got %v)", c.PollInterval))
	}
	if c.SyncPeriod <= 0 {
		errs = append(errs, fmt.Errorf("cluster: SyncPeriod must be > 0 (got %v)", c.SyncPeriod))
	}
	if !isFinite(c.Tolerance) || c.Tolerance < 0 {
		errs = append(errs, fmt.Errorf("cluster: Tolerance must be a finite number >= 0 (got %v)", c.Tolerance))
	}
	errs = append(errs, c.ScaleUp.problems("ScaleUp")...)
	errs = append(errs, c.ScaleDown.problems("ScaleDown")...)
	if c.Startup < 0 {
		errs = append(errs, fmt.Errorf("cluster: Startup must be >= 0 (got %v)", c.Startup))
	}
	if c.MinReplicas < 1 {
		errs = append(errs, fmt.Errorf("cluster: MinReplicas must be >= 1 (got %d)", c.MinReplicas))
	}
	switch {
	case c.MaxReplicas < 1:
		errs = append(errs, fmt.Errorf("cluster: MaxReplicas must be >= 1 (got %d)", c.MaxReplicas))
	case c.MaxReplicas < c.MinReplicas:
		errs = append(errs, fmt.Errorf("cluster: MaxReplicas must be >= MinReplicas (got %d < %d)", c.MaxReplicas, c.MinReplicas))
	}
	return errors.Join(errs...)
}

// problems lists what is wrong with r, whose field is called name.
func (r ScalingRules) problems(name string) []error {
	var errs []error
	if r.StabilizationWindow < 0 || r.StabilizationWindow > maxStabilizingWindow {
		errs = append(errs, fmt.Errorf("cluster: %s.StabilizationWindow must be between 0s and %v (got %v)",
			name, maxStabilizingWindow, r.StabilizationWindow))
	}
	switch r.SelectPolicy {
	case "", selectMax, selectMin, selectDisabled:
	default:
		errs = append(errs, fmt.Errorf("cluster: %s.SelectPolicy must be %q, %q or %q (got %q)",
			name, selectMax, selectMin, selectDisabled, r.SelectPolicy))
	}
	if len(r.Policies) == 0 {
		errs = append(errs, fmt.Errorf("cluster: %s.Policies must hold at least one policy (got none)", name))
	}
	for i, p := range r.Policies {
		if p.Type != policyPods && p.Type != policyPercent {
			errs = append(errs, fmt.Errorf("cluster: %s.Policies[%d].Type must be %q or %q (got %q)",
				name, i, policyPods, policyPercent, p.Type))
		}
		if p.Value <= 0 {
			errs = append(errs, fmt.Errorf("cluster: %s.Policies[%d].Value must be > 0 (got %d)", name, i, p.Value))
		}
		if p.Period <= 0 || p.Period > maxPolicyPeriod {
			errs = append(errs, fmt.Errorf("cluster: %s.Policies[%d].Period must be > 0s and <= %v (got %v)",
				name, i, maxPolicyPeriod, p.Period))
		}
	}
	return errs
}

// longestPeriod is getLongestPolicyPeriod: how long the HPA keeps a scale event of this
// direction before it lets a newer one take its slot.
func (r ScalingRules) longestPeriod() time.Duration {
	var longest time.Duration
	for _, p := range r.Policies {
		longest = max(longest, p.Period)
	}
	return longest
}

// Metric is one metric of the HPA at one KEDA poll: its total value and its AverageValue target
// (autoscaling/v2 External metric, target type AverageValue), in the metric's own units.
//
// As the HPA sees them, both are rounded to thousandths, because KEDA hands them over as
// milli-quantities; so 0.1+0.2 against a target of 0.1 asks for 3 replicas, not 4.
//
// A metric the HPA could not have used — a NaN, infinite or negative Value, or a Target that is
// not finite or rounds to less than a thousandth — counts as one whose fetch failed, and the
// HPA treats it as computeReplicasForMetrics does: it is left out of the maximum, and if the
// usable metrics would scale down, the sync changes nothing (the failed one might have asked for
// more). With no usable metric at all, the sync changes nothing either.
type Metric struct{ Value, Target float64 }

// Cluster is one workload's HPA, ReplicaSet and pods in simulated time, from its creation at
// start. It is a value-in, value-out model: no clock, no I/O. Not safe for concurrent use.
type Cluster struct {
	cfg   ClusterConfig
	start time.Time
	// now, nextPoll and nextSync are offsets from start; now is where the last Advance left the
	// cluster, and events due at or before it have happened.
	now, nextPoll, nextSync time.Duration
	upLongest, downLongest  time.Duration

	metrics []Metric // as returned by the latest poll; owned by the cluster
	synced  bool     // whether the HPA has reconciled once (and recorded its initial recommendation)

	desired int32 // spec.replicas
	events  int   // changes of spec.replicas

	// recs is the HPA's recommendation history and ups and downs its scale-event histories, kept
	// exactly as horizontal.go keeps them: an entry that has aged out is overwritten by the next
	// new one rather than deleted. The lengths stay bounded (about one entry per sync in the
	// longest window or period), and, unlike pruning, this also reproduces which old events the
	// other direction's longer policy periods can still see.
	recs       []hpaRecommendation
	ups, downs []hpaScaleEvent

	// ready counts pods that serve; pending holds the pods still starting, in batches by creation
	// time, oldest first. Startup is fixed, so creation order is readiness order: pods leave
	// pending from the front as they become ready, and a scale-down removes them from the back.
	ready   int32
	pending []podBatch
}

// hpaRecommendation is timestampedRecommendation: one sync's proposal before stabilization.
type hpaRecommendation struct {
	replicas int32
	at       time.Duration
}

// hpaScaleEvent is timestampedScaleEvent: change is the number of pods added (ups) or removed
// (downs), always positive.
type hpaScaleEvent struct {
	change   int32
	at       time.Duration
	outdated bool
}

// podBatch is n pods created together, ready at readyAt.
type podBatch struct {
	readyAt time.Duration
	n       int32
}

// NewCluster starts a cluster at start with initial replicas (clamped to [MinReplicas,
// MaxReplicas]), all ready at start. It returns the error from cfg.Validate if there is one.
//
// The HPA is taken to be created at start: like the real controller, its first sync records the
// replicas it found as a recommendation, so nothing scales below initial within
// ScaleDown.StabilizationWindow of start.
func NewCluster(cfg ClusterConfig, start time.Time, initial int32) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The cluster keeps its own policies, so a caller reusing its slices cannot change them.
	cfg.ScaleUp.Policies = slices.Clone(cfg.ScaleUp.Policies)
	cfg.ScaleDown.Policies = slices.Clone(cfg.ScaleDown.Policies)
	if cfg.ScaleUp.SelectPolicy == "" {
		cfg.ScaleUp.SelectPolicy = selectMax
	}
	if cfg.ScaleDown.SelectPolicy == "" {
		cfg.ScaleDown.SelectPolicy = selectMax
	}
	initial = min(max(initial, cfg.MinReplicas), cfg.MaxReplicas)
	c := &Cluster{
		cfg:         cfg,
		start:       start,
		upLongest:   cfg.ScaleUp.longestPeriod(),
		downLongest: cfg.ScaleDown.longestPeriod(),
		desired:     initial,
		ready:       initial,
	}
	// Sized for the steady state (at most an entry per sync in the window or period, the
	// initial recommendation and the new one), so that a long run does not grow them bit by bit;
	// capped, so that an odd config (a 1ns sync period) cannot ask for the machine's memory.
	perSync := func(d time.Duration) int { return int(min(d/cfg.SyncPeriod, 1024)) + 3 }
	c.recs = make([]hpaRecommendation, 0, perSync(max(cfg.ScaleUp.StabilizationWindow, cfg.ScaleDown.StabilizationWindow)))
	c.ups = make([]hpaScaleEvent, 0, perSync(c.upLongest))
	c.downs = make([]hpaScaleEvent, 0, perSync(c.downLongest))
	c.pending = make([]podBatch, 0, perSync(cfg.Startup))
	c.metrics = make([]Metric, 0, 4)
	return c, nil
}

// Advance moves the cluster to now. In time order it performs every event due in (previous now,
// now] — the first call also performs those due at start: pods becoming ready, KEDA polls at
// start+k*PollInterval and HPA syncs at start+k*SyncPeriod (k >= 0). At each poll instant t it
// calls poll(t) and keeps a copy of the metrics returned (so poll may reuse its slice); each
// sync uses the metrics of the latest poll. At one instant, pods become ready first, then the
// poll happens, then the sync.
//
// It returns an error, and changes nothing, if now is before the cluster's current time or poll
// is nil. It does not allocate once the cluster's histories have reached their steady size.
func (c *Cluster) Advance(now time.Time, poll func(t time.Time) []Metric) error {
	to := now.Sub(c.start)
	if to < c.now {
		return fmt.Errorf("advance to %v: before the cluster's current time %v", now, c.start.Add(c.now))
	}
	if poll == nil {
		return errors.New("advance: poll is nil")
	}
	for {
		next := min(c.nextPoll, c.nextSync)
		if next > to {
			break
		}
		c.promote(next)
		if c.nextPoll == next {
			c.metrics = append(c.metrics[:0], poll(c.start.Add(next))...)
			c.nextPoll += c.cfg.PollInterval
		}
		if c.nextSync == next {
			c.sync(next)
			c.nextSync += c.cfg.SyncPeriod
		}
	}
	c.promote(to)
	c.now = to
	return nil
}

// Desired returns the replicas the HPA last set (spec.replicas).
func (c *Cluster) Desired() int32 { return c.desired }

// Ready returns the pods ready to serve at the cluster's current time.
func (c *Cluster) Ready() int32 { return c.ready }

// Events returns how many times spec.replicas changed (scaling events).
func (c *Cluster) Events() int { return c.events }

// sync is one reconcileAutoscaler at t, for a target whose spec.replicas is always within
// [MinReplicas, MaxReplicas] (the controller's branches for a target outside them never run).
func (c *Cluster) sync(t time.Duration) {
	current := c.desired
	if !c.synced {
		// recordInitialRecommendation.
		c.recs = append(c.recs, hpaRecommendation{replicas: current, at: t})
		c.synced = true
	}
	proposal, ok := c.proposal(current)
	if !ok {
		return // computeReplicasForMetrics failed: no recommendation is recorded, nothing scales
	}
	stabilized := c.stabilize(t, current, proposal)
	desired := c.limitRate(t, current, stabilized)
	if desired == current {
		return
	}
	c.resize(t, current, desired)
	c.events++
	// storeScaleEvent.
	if desired > current {
		c.ups = storeHPAScaleEvent(c.ups, desired-current, t, c.upLongest)
	} else {
		c.downs = storeHPAScaleEvent(c.downs, current-desired, t, c.downLongest)
	}
}

// proposal is computeReplicasForMetrics: the largest proposal of the usable metrics, and false
// when none is usable or when one is not and the others would scale down.
func (c *Cluster) proposal(current int32) (int32, bool) {
	var best int32
	usable, failed := 0, 0
	for _, m := range c.metrics {
		p, ok := externalAverageValueReplicas(m, current, c.cfg.Tolerance)
		if !ok {
			failed++
			continue
		}
		if usable == 0 || p > best {
			best = p
		}
		usable++
	}
	if usable == 0 || (failed > 0 && best < current) {
		return 0, false
	}
	return best, true
}

// externalAverageValueReplicas is GetExternalPerPodMetricReplicas for one metric with
// statusReplicas = current (every pod counts, ready or not, as in a Deployment's status), on the
// milli-values the HPA reads. It returns false for a metric the HPA could not have used.
func externalAverageValueReplicas(m Metric, current int32, tolerance float64) (int32, bool) {
	if !isFinite(m.Value) || m.Value < 0 || !isFinite(m.Target) || m.Target <= 0 {
		return 0, false
	}
	usage := math.Round(m.Value * thousandthsPerUnit)
	target := math.Round(m.Target * thousandthsPerUnit)
	if target <= 0 || math.IsInf(target, 0) {
		return 0, false // KEDA would write a target of 0, which the API server rejects
	}
	ratio := usage / (target * float64(current))
	if (1-tolerance) <= ratio && ratio <= (1+tolerance) {
		return current, true // Tolerances.isWithin
	}
	replicas := math.Ceil(usage / target)
	if replicas > math.MaxInt32 {
		return math.MaxInt32, true
	}
	return int32(replicas), true
}

// stabilize is stabilizeRecommendationWithBehaviors: it bounds the move from current by the
// lowest recommendation in the scale-up window and the highest in the scale-down window (both
// counting this one, and both windows open at their far end), and records this recommendation.
func (c *Cluster) stabilize(t time.Duration, current, proposal int32) int32 {
	upCutoff := t - c.cfg.ScaleUp.StabilizationWindow
	downCutoff := t - c.cfg.ScaleDown.StabilizationWindow
	up, down := proposal, proposal
	old := -1
	for i, r := range c.recs {
		if r.at > upCutoff {
			up = min(up, r.replicas)
		}
		if r.at > downCutoff {
			down = max(down, r.replicas)
		}
		if r.at < upCutoff && r.at < downCutoff {
			old = i
		}
	}
	stabilized := current
	if stabilized < up {
		stabilized = up
	}
	if stabilized > down {
		stabilized = down
	}
	rec := hpaRecommendation{replicas: proposal, at: t}
	if old >= 0 {
		c.recs[old] = rec
	} else {
		c.recs = append(c.recs, rec)
	}
	return stabilized
}

// limitRate is convertDesiredReplicasWithBehaviorRate: the scaling policies, then MinReplicas
// and MaxReplicas.
func (c *Cluster) limitRate(t time.Duration, current, desired int32) int32 {
	switch {
	case desired > current:
		limit := max(c.scaleUpLimit(t, current), int64(current))
		if allowed := min(int64(c.cfg.MaxReplicas), limit); int64(desired) > allowed {
			return int32(allowed)
		}
	case desired < current:
		limit := min(c.scaleDownLimit(t, current), int64(current))
		if allowed := max(int64(c.cfg.MinReplicas), limit); int64(desired) < allowed {
			return int32(allowed)
		}
	}
	return desired
}

// scaleUpLimit is calculateScaleUpLimitWithScalingRules, in int64 so that no policy overflows.
// Its float expression for Percent is the controller's, rounding included (ceil).
func (c *Cluster) scaleUpLimit(t time.Duration, current int32) int64 {
	r := c.cfg.ScaleUp
	if r.SelectPolicy == selectDisabled {
		return int64(current)
	}
	minimize := r.SelectPolicy == selectMin
	result := int64(math.MinInt32)
	if minimize {
		result = math.MaxInt32
	}
	for _, p := range r.Policies {
		periodStart := c.periodStartReplicas(t, current, p.Period)
		var proposed int64
		switch p.Type {
		case policyPods:
			proposed = periodStart + int64(p.Value)
		case policyPercent:
			// Rounded up, so that a small percentage still adds a pod.
			proposed = int64(math.Ceil(float64(periodStart) * (1 + float64(p.Value)/100)))
		}
		if minimize {
			result = min(result, proposed)
		} else {
			result = max(result, proposed)
		}
	}
	return result
}

// scaleDownLimit is calculateScaleDownLimitWithBehaviors; Percent truncates toward zero, as the
// controller's int32 conversion does.
func (c *Cluster) scaleDownLimit(t time.Duration, current int32) int64 {
	r := c.cfg.ScaleDown
	if r.SelectPolicy == selectDisabled {
		return int64(current)
	}
	// For scaling down, the smallest change ("Min") is the highest limit.
	maximize := r.SelectPolicy == selectMin
	result := int64(math.MaxInt32)
	if maximize {
		result = math.MinInt32
	}
	for _, p := range r.Policies {
		periodStart := c.periodStartReplicas(t, current, p.Period)
		var proposed int64
		switch p.Type {
		case policyPods:
			proposed = periodStart - int64(p.Value)
		case policyPercent:
			proposed = int64(float64(periodStart) * (1 - float64(p.Value)/100))
		}
		if maximize {
			result = max(result, proposed)
		} else {
			result = min(result, proposed)
		}
	}
	return result
}

// periodStartReplicas is the replicas at the start of a policy period ending at t: current, less
// the pods added and plus the pods removed by scale events in (t-period, t].
func (c *Cluster) periodStartReplicas(t time.Duration, current int32, period time.Duration) int64 {
	cutoff := t - period
	return int64(current) - hpaChangeSince(c.ups, cutoff) + hpaChangeSince(c.downs, cutoff)
}

// hpaChangeSince is getReplicasChangePerPeriod: it counts every stored event after cutoff,
// outdated or not, as the controller does.
func hpaChangeSince(events []hpaScaleEvent, cutoff time.Duration) int64 {
	var n int64
	for _, e := range events {
		if e.at > cutoff {
			n += int64(e.change)
		}
	}
	return n
}

// storeHPAScaleEvent is storeScaleEvent for one direction: it marks the events older than the
// direction's longest policy period as outdated and puts the new event in the last outdated slot,
// or appends it when there is none.
func storeHPAScaleEvent(events []hpaScaleEvent, change int32, t, longest time.Duration) []hpaScaleEvent {
	cutoff := t - longest
	old := -1
	for i := range events {
		if events[i].at < cutoff {
			events[i].outdated = true
		}
		if events[i].outdated {
			old = i
		}
	}
	e := hpaScaleEvent{change: change, at: t}
	if old >= 0 {
		events[old] = e
		return events
	}
	return append(events, e)
}

// resize is the ReplicaSet controller acting on a change of spec.replicas at t: new pods are
// created at once and serve from t+Startup; removed pods stop serving at once, the ones still
// starting first (newest first, as the ReplicaSet ranks them), then ready ones.
func (c *Cluster) resize(t time.Duration, from, to int32) {
	c.desired = to
	if to > from {
		c.pending = append(c.pending, podBatch{readyAt: t + c.cfg.Startup, n: to - from})
		return
	}
	remove := from - to
	for remove > 0 && len(c.pending) > 0 {
		last := &c.pending[len(c.pending)-1]
		k := min(remove, last.n)
		last.n -= k
		remove -= k
		if last.n == 0 {
			c.pending = c.pending[:len(c.pending)-1]
		}
	}
	c.ready -= remove
}

// promote marks ready the pods whose start-up has ended by t.
func (c *Cluster) promote(t time.Duration) {
	i := 0
	for i < len(c.pending) && c.pending[i].readyAt <= t {
		c.ready += c.pending[i].n
		i++
	}
	if i > 0 {
		c.pending = c.pending[:copy(c.pending, c.pending[i:])]
	}
}
