// Package plan holds the capacity plan one agent publishes for one workload: what it forecast,
// how many replicas each step of the horizon needs, and the policy that turned one into the
// other. It owns the plan's wire encoding and the rule the gateway answers KEDA with.
//
// It depends on the standard library only: the agent, the gateway and the simulator all share
// it, and none of them should drag the others' dependencies along.
package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"
)

// Version is the encoding version this package writes. Unmarshal refuses any other: a gateway
// must not guess at the meaning of a plan written by a newer agent.
const Version = 1

var (
	// ErrExpired is returned when a plan is asked about an instant at or after its ValidUntil,
	// or past its last step: the agent that wrote it has stopped refreshing it.
	ErrExpired = errors.New("plan expired")
	// ErrUnsupportedVersion is returned by Unmarshal for a plan whose version this build does
	// not know.
	ErrUnsupportedVersion = errors.New("unsupported plan version")
)

// MaxGeneration is the largest generation a plan may carry: stores compare generations in
// Lua, whose numbers are doubles, exact only up to 2^53.
const MaxGeneration = 1 << 53

// Workload names the Kubernetes workload a plan is for.
type Workload struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (w Workload) String() string { return w.Namespace + "/" + w.Name }

// dns1123 is the shape of Kubernetes namespace and object names (RFC 1123 label, and the
// subdomain form for names).
var (
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// Validate reports whether the workload's namespace and name are valid Kubernetes names.
func (w Workload) Validate() error {
	var errs []error
	if len(w.Namespace) > 63 || !dns1123Label.MatchString(w.Namespace) {
		errs = append(errs, fmt.Errorf("namespace %q is not a valid Kubernetes namespace", w.Namespace))
	}
	if len(w.Name) > 253 || !dns1123Subdomain.MatchString(w.Name) {
		errs = append(errs, fmt.Errorf("name %q is not a valid Kubernetes name", w.Name))
	}
	return errors.Join(errs...)
}

// Policy is what the agent was told when it turned the forecast into replicas.
type Policy struct {
	// TargetPerPod is the metric value one replica handles (> 0).
	TargetPerPod float64 `json:"targetPerPod"`
	// Headroom multiplies the forecast before dividing by TargetPerPod (>= 1).
	Headroom float64 `json:"headroom"`
	// MinReplicas and MaxReplicas clamp every step (0 <= min <= max).
	MinReplicas int32 `json:"minReplicas"`
	MaxReplicas int32 `json:"maxReplicas"`
	// LeadTime is how far ahead the gateway looks when answering: pod start-up plus scaling
	// delay. KEDA trigger metadata may override it per ScaledObject.
	LeadTime Duration `json:"leadTime"`
}

// Plan is the capacity plan for one workload. Step i covers [Start + i×Step, Start + (i+1)×Step).
// Predicted, Upper and Replicas have one entry per step and the same length.
//
// A Plan is a value; its slices are owned by whoever built or decoded it.
type Plan struct {
	Version  int      `json:"version"`
	Workload Workload `json:"workload"`
	// Generation increases with every plan published for this workload, in [1, MaxGeneration].
	Generation  int64     `json:"generation"`
	GeneratedAt time.Time `json:"generatedAt"`
	Start       time.Time `json:"start"`
	Step        Duration  `json:"step"`
	Predicted   []float64 `json:"predicted"`
	Upper       []float64 `json:"upper"`
	Replicas    []int32   `json:"replicas"`
	Policy      Policy    `json:"policy"`
	Model       string    `json:"model"`
	// ValidUntil is when the plan stops being trustworthy if the agent has not replaced it.
	ValidUntil time.Time `json:"validUntil"`
}

// End is the instant just after the last step.
func (p Plan) End() time.Time { return p.Start.Add(time.Duration(len(p.Replicas)) * p.Step.D()) }

// Validate reports every problem with the plan at once.
func (p Plan) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if p.Version != Version {
		errs = append(errs, fmt.Errorf("%w %d (this build reads %d)", ErrUnsupportedVersion, p.Version, Version))
	}
	if err := p.Workload.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("workload: %w", err))
	}
	if p.Generation < 1 || p.Generation > MaxGeneration {
		add("generation must be in [1, 2^53] (got %d)", p.Generation)
	}
	if p.Start.IsZero() {
		add("start is missing")
	}
	if p.GeneratedAt.IsZero() {
		add("generatedAt is missing")
	}
	if p.Step <= 0 {
		add("step must be > 0 (got %v)", p.Step.D())
	}
	if len(p.Replicas) == 0 {
		add("plan has no steps")
	}
	if len(p.Predicted) != len(p.Replicas) || len(p.Upper) != len(p.Replicas) {
		add("predicted, upper and replicas must have one entry per step (got %d, %d, %d)",
			len(p.Predicted), len(p.Upper), len(p.Replicas))
	}
	for i, v := range p.Predicted {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			add("predicted[%d] = %v, want a finite value >= 0", i, v)
			break
		}
	}
	for i, v := range p.Upper {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			add("upper[%d] = %v, want a finite value >= 0", i, v)
			break
		}
	}
	pol := p.Policy
	if !(pol.TargetPerPod > 0) || math.IsInf(pol.TargetPerPod, 0) {
		add("policy.targetPerPod must be > 0 (got %v)", pol.TargetPerPod)
	}
	if !(pol.Headroom >= 1) || math.IsInf(pol.Headroom, 0) {
		add("policy.headroom must be >= 1 (got %v)", pol.Headroom)
	}
	if pol.MinReplicas < 0 || pol.MaxReplicas < pol.MinReplicas {
		add("policy must have 0 <= minReplicas <= maxReplicas (got %d, %d)", pol.MinReplicas, pol.MaxReplicas)
	}
	if pol.LeadTime < 0 {
		add("policy.leadTime must be >= 0 (got %v)", pol.LeadTime.D())
	}
	for i, r := range p.Replicas {
		if r < pol.MinReplicas || r > pol.MaxReplicas {
			add("replicas[%d] = %d is outside [%d, %d]", i, r, pol.MinReplicas, pol.MaxReplicas)
			break
		}
	}
	if !p.ValidUntil.After(p.GeneratedAt) {
		add("validUntil (%s) must be after generatedAt (%s)",
			p.ValidUntil.Format(time.RFC3339Nano), p.GeneratedAt.Format(time.RFC3339Nano))
	}
	if p.Model == "" {
		add("model is missing")
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid plan for %s: %w", p.Workload, errors.Join(errs...))
}

// ReplicasAt is the rule the gateway answers KEDA with: the largest number of replicas any step
// overlapping [now, now+lead] asks for, so that pods started now are ready when the load
// arrives. It returns ErrExpired when now is at or after ValidUntil or after the plan's last
// step, because an old plan must never be mistaken for a current answer. An instant before the
// plan's first step is answered from the first step.
func (p Plan) ReplicasAt(now time.Time, lead time.Duration) (int32, error) {
	if !now.Before(p.ValidUntil) || !now.Before(p.End()) {
		return 0, fmt.Errorf("%w: plan for %s valid until %s, ends %s, asked at %s", ErrExpired, p.Workload,
			p.ValidUntil.UTC().Format(time.RFC3339), p.End().UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if lead < 0 {
		lead = 0
	}
	step := p.Step.D()
	from := 0
	if now.After(p.Start) {
		from = int(now.Sub(p.Start) / step)
	}
	to := len(p.Replicas) - 1
	if last := now.Add(lead); last.Before(p.End()) {
		to = int(last.Sub(p.Start) / step)
		if to < from {
			to = from
		}
	}
	best := p.Replicas[from]
	for _, r := range p.Replicas[from+1 : to+1] {
		best = max(best, r)
	}
	return best, nil
}

// Marshal encodes a valid plan. It stamps the current Version.
func Marshal(p Plan) ([]byte, error) {
	p.Version = Version
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(p)
}

// Unmarshal decodes and validates a plan. Unknown fields are refused along with unknown
// versions: both mean a writer this build does not understand.
func Unmarshal(b []byte) (Plan, error) {
	// json.Unmarshal also refuses trailing data, so the decoder below sees exactly one value.
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return Plan{}, fmt.Errorf("decode plan: %w", err)
	}
	if head.Version == nil {
		return Plan{}, errors.New("decode plan: version is missing")
	}
	if *head.Version != Version {
		return Plan{}, fmt.Errorf("decode plan: %w %d (this build reads %d)", ErrUnsupportedVersion, *head.Version, Version)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return Plan{}, fmt.Errorf("decode plan: %w", err)
	}
	if err := p.Validate(); err != nil {
		return Plan{}, fmt.Errorf("decode plan: %w", err)
	}
	return p, nil
}

// Duration is a time.Duration that encodes as a Go duration string ("1m0s"), so that plans read
// well in redis-cli and in /plan.
type Duration time.Duration

// D converts back to a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"1m30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
