package promsource

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// startupLookback is how far back StartupQuery looks for pods. A week holds a weekly cycle of
// scale-ups and most teams' release cadence, and is within Prometheus's default retention (15d).
// The cost grows with the samples of the workload's own pods in the window (the selectors
// carry the pod-name regex), not with the rest of the namespace.
const startupLookback = "7d"

// needsKSM says what a start-up query needs from the server, for ErrNoData.
const needsKSM = "start-up times need kube-state-metrics v2.8.1 or later scraped by this server " +
	"(kube_pod_created, kube_pod_status_ready_time, and kube_pod_owner for the default query), " +
	"with the namespace and pod labels it sets kept as they are (honor_labels), " +
	"and a pod of the workload that became ready in the last " + startupLookback

// StartupQuery is the default PromQL for the start-up seconds of each pod of a Deployment (or an
// Argo Rollout, whose pods are named the same way): one series per pod, labelled namespace, pod
// and uid, whose value is the seconds from the pod's creation to its first readiness. It reads
// kube-state-metrics:
//
//   - kube_pod_created is the pod's metadata.creationTimestamp, and
//   - kube_pod_status_ready_time is the lastTransitionTime of its Ready condition, exported
//     while that condition is True (kube-state-metrics v2.8.1 and later; v2.8.0 exported it
//     for a False condition too, which this query would read as a start-up of about 0s).
//
// Creation to ready is what a scale-up waits for: scheduling, a node scale-up if one is needed,
// image pull, init containers, start-up and readiness probes. It leaves out what comes before
// the pod exists (the scaler's polling interval, the ReplicaSet controller) and after it is
// ready (endpoint propagation).
//
// The pods are the namespace's pods named <workload>-<hash>-<suffix>, the names a Deployment's
// ReplicaSets give them (neither the pod-template hash nor the suffix holds a dash, so the pods
// of a Deployment "api-worker" are not those of "api"), and owned by a ReplicaSet, which leaves
// out a StatefulSet "api-db" (pod api-db-0) or a CronJob "api" (pod api-29384756-x7k2p) whose
// pods happen to match. The name filter sits in every selector so that Prometheus loads only
// this workload's series; a join on kube_pod_owner alone would load the whole namespace's.
// Kubernetes cuts the generated part of a pod name to 58 characters, so the pods of a
// Deployment whose name is longer than 46 characters (58 less a hash of up to 10 and two
// dashes) may not carry it whole, and the query may find none of them: write the query by
// hand then.
//
// Each series is taken over the last 7 days ([7d] range functions), so that pods that have
// since gone, such as those of a scale-down or an earlier rollout, still count. Of the ready
// times seen, the earliest (min_over_time) is the pod's first readiness: a pod that became
// unready and ready again (a failed probe, a node that went NotReady) is measured by its
// start-up, not by its recovery, unless it is older than the window and recovered within it.
// The aggregations by (namespace, pod, uid) merge the copies scraped from several
// kube-state-metrics replicas. A pod that never became ready (crash-looping, or deleted while
// starting) has no ready time and is left out, which makes the estimate optimistic where that
// is common.
//
// kube-state-metrics exports whole seconds, so each value is good to about a second, and may
// be negative when the kubelet's clock is behind the API server's; StartupTimes drops those.
//
// namespace and workload are matched exactly: they are quoted as PromQL strings, and workload
// is escaped in the pod-name regex, so any value gives a valid query. They should be non-empty;
// checking that is the caller's configuration's job.
func StartupQuery(namespace, workload string) string {
	sel := fmt.Sprintf("namespace=%s, pod=~%s",
		strconv.Quote(namespace), strconv.Quote(regexp.QuoteMeta(workload)+"-[a-z0-9]+-[a-z0-9]+"))
	return fmt.Sprintf("min by (namespace, pod, uid) (min_over_time(kube_pod_status_ready_time{%[1]s}[%[2]s]))"+
		" - max by (namespace, pod, uid) (last_over_time(kube_pod_created{%[1]s}[%[2]s]))"+
		` and on (namespace, pod, uid) last_over_time(kube_pod_owner{%[1]s, owner_kind="ReplicaSet"}[%[2]s])`,
		sel, startupLookback)
}

// BadStartupTimesError reports that every series of a start-up query had a value that is not a
// duration: NaN, ±Inf, negative, or too large for a time.Duration. StartupTimes returns it, and
// no durations, only when no series had a usable value; otherwise it drops such values
// silently, as noise such as clock skew between nodes.
type BadStartupTimesError struct {
	Query string
	Count int    // series dropped, all of those returned
	First string // the first series dropped and its value, e.g. {pod="api-7d9f8-x7k2p"} => -2
}

func (e *BadStartupTimesError) Error() string {
	return fmt.Sprintf("query %q: none of its %d series is a start-up time (NaN, ±Inf or negative seconds), e.g. %s", e.Query, e.Count, e.First)
}

// StartupTimes evaluates query, such as StartupQuery's, as an instant query at the instant at
// (the server's current time if at is zero), and returns the value of each series as a
// duration of that many seconds, one per pod, in ascending order. Values that are not a
// duration (NaN, ±Inf, negative) are dropped.
//
// Options.Timeout bounds the request, and ctx bounds it too.
//
// On failure StartupTimes returns nil durations and an error naming the query and the server:
//   - ErrNoData (wrapped) when the query produces no series, with what the default query needs
//     from the server;
//   - a *BadStartupTimesError when it produces series but none with a usable value;
//   - otherwise an error from the request (unreachable server, timeout, an HTTP error status
//     with the server's message, a result that is not a vector), with client_golang's
//     *v1.Error in its chain when the server answered.
//
// Warnings from the server come back as a *WarningsError, joined with the error above or
// along with the durations, which are then valid; find it with errors.As. A caller that uses
// the durations whenever there are some, and falls back otherwise, is right in every case.
//
// The returned slice belongs to the caller.
func (s *Source) StartupTimes(ctx context.Context, query string, at time.Time) ([]time.Duration, error) {
	if strings.TrimSpace(query) == "" {
		return nil, errors.New("start-up times: query is empty")
	}
	vec, warnings, err := s.queryInstant(ctx, query, at)
	if err != nil {
		return nil, err
	}
	var (
		times []time.Duration
		bad   *BadStartupTimesError
	)
	for _, smp := range vec {
		if smp.Histogram != nil {
			return nil, fmt.Errorf("query %q on %s: series %s holds a native histogram, want a float", query, s.url, smp.Metric)
		}
		d, ok := secondsDuration(float64(smp.Value))
		if !ok {
			if bad == nil {
				bad = &BadStartupTimesError{Query: query, First: fmt.Sprintf("%s => %v", smp.Metric, smp.Value)}
			}
			bad.Count++
			continue
		}
		times = append(times, d)
	}
	slices.Sort(times)

	var errs []error
	switch {
	case len(vec) == 0:
		errs = append(errs, fmt.Errorf("query %q on %s at %s: %s: %w", query, s.url, instant(at), needsKSM, ErrNoData))
	case len(times) == 0:
		errs = append(errs, bad)
	}
	if len(warnings) > 0 {
		var distinct []string
		for _, w := range warnings {
			if !slices.Contains(distinct, w) {
				distinct = append(distinct, w)
			}
		}
		errs = append(errs, &WarningsError{Query: query, Warnings: distinct})
	}
	return times, errors.Join(errs...)
}

// secondsDuration converts a value in seconds to a duration, reporting whether it is one: not
// NaN, infinite, negative or beyond time.Duration's 292 years.
func secondsDuration(sec float64) (time.Duration, bool) {
	ns := math.Round(sec * float64(time.Second))
	if math.IsNaN(ns) || ns < 0 || ns >= math.MaxInt64 { // ±Inf fail the range checks
		return 0, false
	}
	return time.Duration(ns), true
}

// queryInstant runs one instant query, bounded by the source's timeout, and returns its vector.
func (s *Source) queryInstant(ctx context.Context, query string, at time.Time) (model.Vector, v1.Warnings, error) {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	v, warn, infos, err := s.api.Query(rctx, query, at)
	warn = withInfos(warn, infos)
	if err != nil {
		return nil, nil, fmt.Errorf("query %q on %s at %s: %w", query, s.url, instant(at), s.explain(ctx, err))
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, nil, fmt.Errorf("query %q on %s: result is a %s, want a vector", query, s.url, valueType(v))
	}
	return vec, warn, nil
}

// instant names the evaluation time of an instant query for an error message.
func instant(at time.Time) string {
	if at.IsZero() {
		return "the server's current time"
	}
	return stamp(at)
}

// StartupQuantile returns the q-quantile of the durations d, such as StartupTimes's, by the
// nearest rank: the smallest of d such that at least a fraction q of d is no longer than it.
// It is always one of d, never an interpolation between two pods, so that a p90 (q = 0.9) is a
// start-up time a pod really had, and 90% of the pods were ready within it: of 10 pods, the
// 9th fastest. d need not be sorted, and is not modified.
//
// It returns an error if d is empty or q is not in (0, 1].
func StartupQuantile(d []time.Duration, q float64) (time.Duration, error) {
	if len(d) == 0 {
		return 0, errors.New("start-up quantile: no durations")
	}
	if !(q > 0 && q <= 1) { // also refuses NaN
		return 0, fmt.Errorf("start-up quantile: q must be in (0, 1] (got %v)", q)
	}
	sorted := slices.Sorted(slices.Values(d))
	// The epsilon keeps a whole q·n, such as 0.7·10 computed as 7.000000000000001, from
	// rounding up to the next rank.
	rank := int(math.Ceil(q*float64(len(sorted)) - 1e-9))
	return sorted[max(rank, 1)-1], nil
}
