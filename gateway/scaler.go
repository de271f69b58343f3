package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/planstore"
	pb "github.com/kedastral/kedastral/proto/externalscaler"
)

// Trigger metadata keys. KEDA passes every key of the trigger's metadata through unchanged.
const (
	metaWorkload  = "workload"
	metaNamespace = "namespace"
	metaLeadTime  = "leadTime"
)

// errInvalid marks a request KEDA will keep sending unchanged until the user fixes the
// ScaledObject: missing or malformed trigger metadata, or a metric this trigger does not serve.
var errInvalid = errors.New("invalid request")

// target is what a request asks about, parsed from its ScaledObjectRef.
type target struct {
	workload plan.Workload
	// lead overrides the plan's policy.leadTime when hasLead is set.
	lead    time.Duration
	hasLead bool
}

// parseMetadata reads the target out of a ScaledObjectRef: the workload from
// scalerMetadata["workload"], its namespace from scalerMetadata["namespace"] or else the
// ScaledObject's, and an optional scalerMetadata["leadTime"] (a Go duration >= 0). Every error
// wraps errInvalid and names the key at fault. A nil ref is missing everything.
func parseMetadata(ref *pb.ScaledObjectRef) (target, error) {
	md := ref.GetScalerMetadata()
	name := md[metaWorkload]
	if name == "" {
		return target{}, fmt.Errorf("%w: trigger metadata %q is missing; set it to the workload the agent plans for", errInvalid, metaWorkload)
	}
	ns := md[metaNamespace]
	if ns == "" {
		ns = ref.GetNamespace()
	}
	if ns == "" {
		return target{}, fmt.Errorf("%w: no namespace for workload %q: set trigger metadata %q or the ScaledObject's namespace",
			errInvalid, name, metaNamespace)
	}
	t := target{workload: plan.Workload{Namespace: ns, Name: name}}
	if err := t.workload.Validate(); err != nil {
		return target{}, fmt.Errorf("%w: trigger metadata: %w", errInvalid, err)
	}
	if s, ok := md[metaLeadTime]; ok {
		d, err := time.ParseDuration(s)
		if err != nil {
			return target{}, fmt.Errorf("%w: trigger metadata %q = %q is not a duration like \"90s\" or \"2m\"", errInvalid, metaLeadTime, s)
		}
		if d < 0 {
			return target{}, fmt.Errorf("%w: trigger metadata %q = %q must be >= 0", errInvalid, metaLeadTime, s)
		}
		t.lead, t.hasLead = d, true
	}
	return t, nil
}

// metricName is the one metric a trigger gets. Its value is a replica count against a target of
// 1, and the name says so, because "replicas with target 1" surprises people reading the HPA.
func metricName(w plan.Workload) string { return "kedastral-" + w.Name + "-desired-replicas" }

// metricSpec is the answer to GetMetricSpec and StreamMetricSpec. An AverageValue target of 1
// makes the HPA's desired replicas ceil(value / 1): the plan's replica count itself.
func metricSpec(t target) *pb.GetMetricSpecResponse {
	return &pb.GetMetricSpecResponse{MetricSpecs: []*pb.MetricSpec{{
		MetricName:      metricName(t.workload),
		TargetSize:      1,
		TargetSizeFloat: 1,
	}}}
}

// toStatus is the one place errors become gRPC status codes. Unavailable covers every case in
// which no trustworthy plan can be read (Redis down or slow, plan expired or undecodable): KEDA
// counts it toward the ScaledObject's fallback, where a made-up 0 could scale a service to
// zero. Errors that already carry a status pass through.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(interface{ GRPCStatus() *status.Status }); ok {
		return err
	}
	code := codes.Unavailable
	switch {
	case errors.Is(err, errInvalid):
		code = codes.InvalidArgument
	case errors.Is(err, planstore.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	return status.Error(code, err.Error())
}

// planReader is what the scaler needs from the plan store.
type planReader interface {
	Get(ctx context.Context, w plan.Workload) (plan.Plan, error)
	List(ctx context.Context) ([]plan.Workload, error)
}

var _ planReader = (*planstore.Store)(nil)

// defaultRecheck is how often an open stream re-reads its plan without being told of a change:
// Pub/Sub notifications can be lost, and nothing announces that a plan has expired.
const defaultRecheck = 5 * time.Second

// maxListed caps how many existing workloads a NotFound message lists.
const maxListed = 20

// scaler implements KEDA's External Scaler service over the plan store. It is safe for
// concurrent use. Its methods return plain errors; the interceptors newGRPCServer installs turn
// them into status codes with toStatus.
type scaler struct {
	pb.UnimplementedExternalScalerServer

	plans   planReader
	changes *hub
	timeout time.Duration // bounds each store call
	metrics *metrics

	// now and recheck are fields so that tests can move time and speed up streams.
	now     func() time.Time
	recheck time.Duration

	streamsDone chan struct{} // closed by endStreams
	endOnce     sync.Once

	// known is the last description of the workloads with plans (knownWorkloads).
	known struct {
		mu   sync.Mutex
		at   time.Time
		text string
	}
}

func newScaler(plans planReader, changes *hub, timeout time.Duration, m *metrics) *scaler {
	return &scaler{
		plans:       plans,
		changes:     changes,
		timeout:     timeout,
		metrics:     m,
		now:         time.Now,
		recheck:     defaultRecheck,
		streamsDone: make(chan struct{}),
	}
}

// endStreams makes every open stream, and any opened later, end cleanly, so that a graceful
// stop is not held up by KEDA's long-lived streams. KEDA reconnects, to another replica.
func (s *scaler) endStreams() { s.endOnce.Do(func() { close(s.streamsDone) }) }

// replicas reads t's plan and returns the replicas it asks for now over the lead time, with the
// plan's age. It fails for a missing, undecodable or expired plan and for a Redis that does not
// answer within the timeout.
func (s *scaler) replicas(ctx context.Context, t target) (int32, time.Duration, error) {
	gctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	p, err := s.plans.Get(gctx, t.workload)
	if err != nil {
		return 0, 0, s.timedOut(ctx, err)
	}
	lead := p.Policy.LeadTime.D()
	if t.hasLead {
		lead = t.lead
	}
	now := s.now()
	r, err := p.ReplicasAt(now, lead)
	if err != nil {
		return 0, 0, err
	}
	return r, now.Sub(p.GeneratedAt), nil
}

// timedOut says so when it was the store timeout, not the caller, that ended a store call:
// go-redis reports only the deadline, which reads as if KEDA had given up.
func (s *scaler) timedOut(caller context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && caller.Err() == nil {
		return fmt.Errorf("no answer from Redis within %v: %w", s.timeout, err)
	}
	return err
}

// GetMetrics answers with the replicas the plan asks for over [now, now+lead]: the largest step
// in that window, so that pods started now are ready when the load arrives. Both the integer and
// the float field carry it, for KEDA releases before and after the float fields.
func (s *scaler) GetMetrics(ctx context.Context, req *pb.GetMetricsRequest) (*pb.GetMetricsResponse, error) {
	t, err := parseMetadata(req.GetScaledObjectRef())
	if err != nil {
		return nil, err
	}
	name := metricName(t.workload)
	// KEDA strips its "s<index>-" prefix and sends the name GetMetricSpec gave; other clients
	// may leave it empty.
	if m := req.GetMetricName(); m != "" && m != name {
		return nil, fmt.Errorf("%w: metric %q is not served for workload %s; its metric is %q", errInvalid, m, t.workload, name)
	}
	r, age, err := s.replicas(ctx, t)
	if err != nil {
		return nil, err
	}
	s.metrics.planAge.Observe(age.Seconds())
	return &pb.GetMetricsResponse{MetricValues: []*pb.MetricValue{{
		MetricName:       name,
		MetricValue:      int64(r),
		MetricValueFloat: float64(r),
	}}}, nil
}

// IsActive is true when the plan asks for at least one replica over [now, now+lead]. Faults are
// errors, never false: false lets KEDA scale the workload to zero.
func (s *scaler) IsActive(ctx context.Context, ref *pb.ScaledObjectRef) (*pb.IsActiveResponse, error) {
	t, err := parseMetadata(ref)
	if err != nil {
		return nil, err
	}
	r, age, err := s.replicas(ctx, t)
	if err != nil {
		return nil, err
	}
	s.metrics.planAge.Observe(age.Seconds())
	return &pb.IsActiveResponse{Result: r >= 1}, nil
}

// GetMetricSpec answers with the trigger's one metric once Redis confirms a plan exists, so that
// a misspelt workload shows in KEDA's events. When Redis cannot be asked it answers anyway: the
// spec does not depend on the plan, and KEDA builds the HPA without the metric when this call
// fails and does not ask again until the ScaledObject changes. GetMetrics reports the outage.
func (s *scaler) GetMetricSpec(ctx context.Context, ref *pb.ScaledObjectRef) (*pb.GetMetricSpecResponse, error) {
	t, err := parseMetadata(ref)
	if err != nil {
		return nil, err
	}
	if err := s.checkExists(ctx, t); err != nil {
		return nil, err
	}
	return metricSpec(t), nil
}

// StreamMetricSpec sends the same spec as GetMetricSpec when it opens, then holds the stream
// until KEDA closes it or the gateway shuts down: the spec depends only on the workload's name,
// so it never changes. Opening fails with NotFound while the workload has no plan; KEDA retries
// with back-off, and the first retry after the agent's first plan completes the HPA.
func (s *scaler) StreamMetricSpec(ref *pb.ScaledObjectRef, stream grpc.ServerStreamingServer[pb.GetMetricSpecResponse]) error {
	t, err := parseMetadata(ref)
	if err != nil {
		return err
	}
	ctx := stream.Context()
	if err := s.checkExists(ctx, t); err != nil {
		return err
	}
	if err := stream.Send(metricSpec(t)); err != nil {
		return sendErr(ctx, err)
	}
	select {
	case <-ctx.Done():
	case <-s.streamsDone:
	}
	return nil
}

// checkExists returns an error only when Redis says t's workload has no plan: a NotFound that
// names the workload, its namespace and the workloads that do have plans.
func (s *scaler) checkExists(ctx context.Context, t target) error {
	gctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	_, err := s.plans.Get(gctx, t.workload)
	if !errors.Is(err, planstore.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("workload %q in namespace %q: %w; %s", t.workload.Name, t.workload.Namespace, planstore.ErrNotFound, s.knownWorkloads(ctx))
}

// knownTTL is how long the list of workloads with plans that a NotFound message names is reused.
// Listing walks Redis's whole keyspace (SCAN), and a misconfigured ScaledObject asks again at
// every KEDA poll, from every gateway replica: a hint must not cost a shared Redis that much.
const knownTTL = 30 * time.Second

// knownWorkloads describes the workloads that have plans, for a NotFound message, listing them
// at most once per knownTTL. The listing is shared by every caller, so it runs on its own
// deadline rather than on the context of the caller who happened to ask first (a client that
// hangs up must not leave "context canceled" as everyone's hint), and a failed one is not kept.
func (s *scaler) knownWorkloads(ctx context.Context) string {
	s.known.mu.Lock()
	defer s.known.mu.Unlock()
	if now := s.now(); s.known.text != "" && now.Sub(s.known.at) < knownTTL && !now.Before(s.known.at) {
		return s.known.text
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	var known string
	switch ws, lerr := s.plans.List(lctx); {
	case lerr != nil:
		return fmt.Sprintf("the existing plans could not be listed: %v", s.timedOut(context.Background(), lerr))
	case len(ws) == 0:
		known = "no workload has a plan yet: is an agent running and writing to this Redis and prefix?"
	default:
		names := make([]string, 0, min(len(ws), maxListed))
		for _, w := range ws[:min(len(ws), maxListed)] {
			names = append(names, w.String())
		}
		known = "workloads with plans: " + strings.Join(names, ", ")
		if len(ws) > maxListed {
			known += fmt.Sprintf(" and %d more", len(ws)-maxListed)
		}
	}
	s.known.text, s.known.at = known, s.now()
	return known
}

// StreamIsActive sends the current activity when it opens, and again whenever it changes: on
// each notification that the workload's plan changed, and every recheck interval, which also
// catches lost notifications and plans that expire. A fault ends the stream with its status
// rather than being reported as inactive; KEDA logs it and reconnects. The stream ends cleanly
// when KEDA closes it or the gateway shuts down.
func (s *scaler) StreamIsActive(ref *pb.ScaledObjectRef, stream grpc.ServerStreamingServer[pb.IsActiveResponse]) error {
	t, err := parseMetadata(ref)
	if err != nil {
		return err
	}
	ctx := stream.Context()
	// Subscribe before the first read, so that a change landing between the two is not missed.
	changed, unsubscribe := s.changes.subscribe(t.workload)
	defer unsubscribe()
	ticker := time.NewTicker(s.recheck)
	defer ticker.Stop()

	var sent, last bool
	for {
		r, age, err := s.replicas(ctx, t)
		if err != nil {
			if ctx.Err() != nil {
				return nil // KEDA went away mid-read
			}
			return err
		}
		if active := r >= 1; !sent || active != last {
			if err := stream.Send(&pb.IsActiveResponse{Result: active}); err != nil {
				return sendErr(ctx, err)
			}
			s.metrics.planAge.Observe(age.Seconds())
			sent, last = true, active
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.streamsDone:
			return nil
		case <-changed:
		case <-ticker.C:
		}
	}
}

// sendErr is the result of a stream whose Send failed: nothing to report if the client left.
func sendErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
