package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kedastral/kedastral/pkg/capacity"
	"github.com/kedastral/kedastral/pkg/envconf"
	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/planstore"
	"github.com/kedastral/kedastral/pkg/promsource"
	"github.com/kedastral/kedastral/pkg/series"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// fakeClock is a live clock (data time = wall time) stopped at now.
type fakeClock struct{ now time.Time }

var _ clock = (*fakeClock)(nil)

func (c *fakeClock) Now() time.Time                     { return c.now }
func (c *fakeClock) Wall(t time.Time) time.Time         { return t }
func (c *fakeClock) Real(d time.Duration) time.Duration { return d }

// fakeSource serves samples from a slice, or fails with err.
type fakeSource struct {
	samples []series.Sample
	err     error // returned instead of samples when set
	extra   error // returned along with the samples when set
	calls   [][2]time.Time
}

var _ source = (*fakeSource)(nil)

func (s *fakeSource) Fetch(_ context.Context, start, end time.Time, _ time.Duration) ([]series.Sample, error) {
	s.calls = append(s.calls, [2]time.Time{start, end})
	if s.err != nil {
		return nil, s.err
	}
	var out []series.Sample
	for _, smp := range s.samples {
		if !smp.T.Before(start) && !smp.T.After(end) {
			out = append(out, smp)
		}
	}
	return out, s.extra
}

// fakeStore keeps plans in a map, like planstore.Store does in Redis.
type fakeStore struct {
	mu    sync.Mutex
	plans map[plan.Workload]plan.Plan
	err   error // returned by every call when set
}

var _ planStore = (*fakeStore)(nil)

func (s *fakeStore) Put(_ context.Context, p plan.Plan, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if prev, ok := s.plans[p.Workload]; ok && p.Generation <= prev.Generation {
		return planstore.ErrStale
	}
	if s.plans == nil {
		s.plans = map[plan.Workload]plan.Plan{}
	}
	s.plans[p.Workload] = p
	return nil
}

func (s *fakeStore) Get(_ context.Context, w plan.Workload) (plan.Plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return plan.Plan{}, s.err
	}
	p, ok := s.plans[w]
	if !ok {
		return plan.Plan{}, planstore.ErrNotFound
	}
	return p, nil
}

// ramp is one sample a minute for n minutes up to end, value = minute index × 10.
func ramp(end time.Time, n int) []series.Sample {
	out := make([]series.Sample, n)
	for i := range out {
		out[i] = series.Sample{T: end.Add(time.Duration(i-n+1) * time.Minute), V: float64(i * 10)}
	}
	return out
}

func newTestAgent(t *testing.T, src source, store planStore, clk clock) *agent {
	t.Helper()
	env := baseEnv()
	env["KEDASTRAL_HISTORY"] = "1h"
	env["KEDASTRAL_HORIZON"] = "10m"
	env["KEDASTRAL_LEAD_TIME"] = "2m"
	env["KEDASTRAL_TARGET_PER_POD"] = "100"
	env["KEDASTRAL_HEADROOM"] = "1"
	env["KEDASTRAL_SCALE_DOWN_WINDOW"] = "0s" // replicas follow each step's forecast
	cfg, err := loadConfig(envconf.Map(env))
	if err != nil {
		t.Fatal(err)
	}
	model, err := forecast.New(forecast.SeasonalNaive, forecast.Options{})
	if err != nil {
		t.Fatal(err)
	}
	buf, err := series.NewBuffer(cfg.Step, cfg.historyPoints())
	if err != nil {
		t.Fatal(err)
	}
	pl, err := cfg.planner(model)
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{
		cfg: cfg, src: src, store: store, clock: clk, history: buf, planner: pl,
		log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	a.metrics = newMetrics(prometheus.NewRegistry(), cfg.workload(), func() float64 { return 0 })
	return a
}

func TestCyclePublishes(t *testing.T) {
	now := t0.Add(20 * time.Second)
	src := &fakeSource{samples: ramp(t0, 30)} // last value 290 at t0
	store := &fakeStore{}
	a := newTestAgent(t, src, store, &fakeClock{now: now})

	if err := a.cycle(t.Context()); err != nil {
		t.Fatalf("cycle() error = %v", err)
	}
	p, err := store.Get(t.Context(), a.cfg.workload())
	if err != nil {
		t.Fatalf("no plan published: %v", err)
	}
	// Less than a day of history: seasonal naive repeats the last value, 290; capacity is sized
	// for the upper quantile, which the cold-start band puts above it.
	if p.Generation != now.UnixMilli() || p.Predicted[0] != 290 || len(p.Replicas) != 10 {
		t.Errorf("published plan = gen %d predicted %v, want gen %d (now in ms), 10 steps of 290",
			p.Generation, p.Predicted, now.UnixMilli())
	}
	for i, r := range p.Replicas {
		if want := int32(math.Ceil(p.Upper[i] / 100)); r != want || p.Upper[i] <= 290 {
			t.Errorf("step %d: %d replicas for upper %v, want %d and upper above 290", i, r, p.Upper[i], want)
		}
	}
	if !p.Start.Equal(t0.Add(time.Minute)) {
		t.Errorf("plan start = %v, want the step after the newest sample (%v)", p.Start, t0.Add(time.Minute))
	}
	if first := src.calls[0]; !first[0].Equal(now.Add(-time.Hour).Truncate(time.Minute)) {
		t.Errorf("first fetch started at %v, want a back-fill of the whole history from %v", first[0], now.Add(-time.Hour).Truncate(time.Minute))
	}

	// The next cycle reads only from the newest sample on, and publishes the next generation.
	a.clock = &fakeClock{now: now.Add(30 * time.Second)}
	if err := a.cycle(t.Context()); err != nil {
		t.Fatalf("second cycle() error = %v", err)
	}
	if second := src.calls[1]; !second[0].Equal(t0) {
		t.Errorf("second fetch started at %v, want the newest sample's time %v", second[0], t0)
	}
	if p, _ := store.Get(t.Context(), a.cfg.workload()); p.Generation != now.Add(30*time.Second).UnixMilli() {
		t.Errorf("second plan generation = %d, want %d", p.Generation, now.Add(30*time.Second).UnixMilli())
	}
	s := a.snapshot()
	if s.LastSample == nil || s.LastSample.Value != 290 || s.LastError != "" {
		t.Errorf("snapshot() = %+v, want last sample 290 and no error", s)
	}
}

func TestCycleFailures(t *testing.T) {
	promDown := errors.New("dial tcp 10.0.0.1:9090: connection refused")
	tests := map[string]struct {
		src        *fakeSource
		store      *fakeStore
		now        time.Time
		wantStage  string
		wantErr    string
		wantPlan   bool
		wantReject float64
	}{
		"prometheus down, no history": {
			src: &fakeSource{err: promDown}, store: &fakeStore{}, now: t0,
			wantStage: stageStale, wantErr: "connection refused",
		},
		"data too old to plan from": {
			src: &fakeSource{samples: ramp(t0, 10)}, store: &fakeStore{}, now: t0.Add(6 * time.Minute),
			wantStage: stageStale, wantErr: "newest sample is 6m0s old (KEDASTRAL_MAX_STALENESS 5m0s): not publishing",
		},
		"redis down": {
			src: &fakeSource{samples: ramp(t0, 10)}, store: &fakeStore{err: errors.New("dial tcp: connection refused")}, now: t0,
			wantStage: stagePublish, wantErr: "publish plan: dial tcp: connection refused",
		},
		"bad samples dropped, the rest planned from": {
			src: &fakeSource{samples: ramp(t0, 10), extra: errors.Join(
				&promsource.BadSamplesError{Query: "q", Count: 2, First: t0},
				&promsource.WarningsError{Query: "q", Warnings: []string{"partial response"}})},
			store: &fakeStore{}, now: t0, wantPlan: true, wantReject: 2,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := newTestAgent(t, tc.src, tc.store, &fakeClock{now: tc.now})
			err := a.cycle(t.Context())
			if tc.wantErr == "" && err != nil {
				t.Fatalf("cycle() error = %v, want nil", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("cycle() error = %v, want it to contain %q", err, tc.wantErr)
			}
			if tc.wantStage != "" {
				if got := testutil.ToFloat64(a.metrics.cycleErrors.WithLabelValues(tc.wantStage)); got != 1 {
					t.Errorf("cycle_errors_total{stage=%q} = %v, want 1", tc.wantStage, got)
				}
			}
			if got := testutil.ToFloat64(a.metrics.samplesRejected); got != tc.wantReject {
				t.Errorf("samples_rejected_total = %v, want %v", got, tc.wantReject)
			}
			tc.store.err = nil
			_, err = tc.store.Get(t.Context(), a.cfg.workload())
			if gotPlan := err == nil; gotPlan != tc.wantPlan {
				t.Errorf("plan published = %v, want %v", gotPlan, tc.wantPlan)
			}
		})
	}
}

func TestCycleKeepsPlanningThroughShortPrometheusOutage(t *testing.T) {
	src := &fakeSource{samples: ramp(t0, 10)}
	store := &fakeStore{}
	clk := &fakeClock{now: t0}
	a := newTestAgent(t, src, store, clk)
	if err := a.cycle(t.Context()); err != nil {
		t.Fatal(err)
	}
	src.err = errors.New("prometheus: 503 service unavailable")
	clk.now = t0.Add(2 * time.Minute)
	err := a.cycle(t.Context())
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("cycle() error = %v, want the fetch error reported", err)
	}
	if p, _ := store.Get(t.Context(), a.cfg.workload()); !p.GeneratedAt.Equal(clk.now) {
		t.Errorf("plan generated at %v after a short outage, want %v (still planning from recent history)", p.GeneratedAt, clk.now)
	}
}

func TestCycleGenerations(t *testing.T) {
	store := &fakeStore{}
	w := plan.Workload{Namespace: "shop", Name: "checkout"}
	clk := &fakeClock{now: t0}
	first := newTestAgent(t, &fakeSource{samples: ramp(t0, 10)}, store, clk)
	// Two cycles within one millisecond still get increasing generations.
	for range 2 {
		if err := first.cycle(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := store.Get(t.Context(), w); p.Generation != t0.UnixMilli()+1 {
		t.Errorf("generation = %d, want %d", p.Generation, t0.UnixMilli()+1)
	}

	// A second agent of the same workload (the app's next replica) a little later: its plan is
	// newer and replaces the first agent's; the first agent's next plan, made earlier than
	// that, is superseded without an error.
	second := newTestAgent(t, &fakeSource{samples: ramp(t0, 10)}, store, &fakeClock{now: t0.Add(time.Second)})
	if err := second.cycle(t.Context()); err != nil {
		t.Fatalf("second agent cycle() error = %v", err)
	}
	if err := first.cycle(t.Context()); err != nil {
		t.Fatalf("superseded cycle() error = %v, want nil", err)
	}
	if got := testutil.ToFloat64(first.metrics.superseded); got != 1 {
		t.Errorf("plans_superseded_total = %v, want 1", got)
	}
	if p, _ := store.Get(t.Context(), w); p.Generation != t0.Add(time.Second).UnixMilli() {
		t.Errorf("stored generation = %d, want the second agent's %d", p.Generation, t0.Add(time.Second).UnixMilli())
	}
}

func TestRunRetriesAndStops(t *testing.T) {
	store := &fakeStore{err: errors.New("redis down")}
	a := newTestAgent(t, &fakeSource{samples: ramp(t0, 10)}, store, &fakeClock{now: t0})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nil) }()
	time.Sleep(1500 * time.Millisecond) // the first retry comes after 1s of back-off
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v, want nil after cancel", err)
	}
	if got := testutil.ToFloat64(a.metrics.cycleErrors.WithLabelValues(stagePublish)); got < 2 {
		t.Errorf("publish errors = %v, want >= 2 (the agent must keep retrying)", got)
	}
}

// fakeStartup returns fixed start-up times, or an error.
type fakeStartup struct {
	times []time.Duration
	err   error
	query string
	calls int
}

func (f *fakeStartup) StartupTimes(_ context.Context, query string, _ time.Time) ([]time.Duration, error) {
	f.calls++
	f.query = query
	return f.times, f.err
}

func TestCycleMeasuresLeadTime(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 30, 0, time.UTC)
	t0 := now.Truncate(time.Minute)
	tests := map[string]struct {
		startup  *fakeStartup
		wantLead time.Duration
	}{
		// p90 of 30..75s by nearest rank is the 9th: 70s; plus the 45s scaling delay.
		"p90 of the measured start-ups plus the scaling delay": {
			startup:  &fakeStartup{times: []time.Duration{30e9, 35e9, 40e9, 45e9, 50e9, 55e9, 60e9, 65e9, 70e9, 75e9}},
			wantLead: 115 * time.Second,
		},
		"start-ups that came with server warnings are used": {
			startup: &fakeStartup{times: []time.Duration{30e9, 35e9, 40e9, 45e9, 50e9, 55e9, 60e9, 65e9, 70e9, 75e9},
				err: &promsource.WarningsError{Query: "q", Warnings: []string{"partial response"}}},
			wantLead: 115 * time.Second,
		},
		"a failed measurement keeps the configured lead": {
			startup:  &fakeStartup{err: errors.New("no kube-state-metrics")},
			wantLead: 2 * time.Minute,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			store := &fakeStore{}
			a := newTestAgent(t, &fakeSource{samples: ramp(t0, 30)}, store, &fakeClock{now: now})
			a.startup = tc.startup
			if err := a.cycle(t.Context()); err != nil {
				t.Fatalf("cycle() error = %v", err)
			}
			p, err := store.Get(t.Context(), a.cfg.workload())
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Policy.LeadTime.D(); got != tc.wantLead {
				t.Errorf("published lead time = %v, want %v", got, tc.wantLead)
			}
			if want := `kube_pod_status_ready_time{namespace="shop"`; !strings.Contains(tc.startup.query, want) {
				t.Errorf("start-up query %q does not select the workload's namespace (%s)", tc.startup.query, want)
			}
			// Within the hour it is not measured again.
			if err := a.cycle(t.Context()); err != nil || tc.startup.calls != 1 {
				t.Errorf("second cycle: err %v, %d measurements, want 1", err, tc.startup.calls)
			}
		})
	}
}

// TestCycleReportsAccuracyGuard drives the agent through a forecast that keeps missing low and
// checks that the fallback shows in the plan, the metrics and the log.
func TestCycleReportsAccuracyGuard(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 30, 0, time.UTC)
	t0 := now.Truncate(time.Minute)
	store := &fakeStore{}
	a := newTestAgent(t, &fakeSource{samples: ramp(t0, 30)}, store, &fakeClock{now: now})
	var logs strings.Builder
	a.log = slog.New(slog.NewTextHandler(&logs, nil))
	// The guard has judged 100 forecasts of 100 that came in at 300: it has fallen back.
	h := series.Series{Start: t0.Add(-200 * time.Minute), Step: time.Minute}
	for range 100 {
		a.planner.Accuracy.Record(h.End(), time.Minute, []float64{100, 100, 100})
		h.Values = append(h.Values, 300)
		a.planner.Accuracy.Observe(h)
	}
	if err := a.cycle(t.Context()); err != nil {
		t.Fatalf("cycle() error = %v", err)
	}
	if got := testutil.ToFloat64(a.metrics.accuracyMode); got != float64(capacity.Fallback) {
		t.Errorf("kedastral_accuracy_mode = %v, want %d (fallback)", got, capacity.Fallback)
	}
	if got := testutil.ToFloat64(a.metrics.headroomFactor); got != 2 {
		t.Errorf("kedastral_headroom_factor = %v, want 2 (3× misses, capped)", got)
	}
	if !strings.Contains(logs.String(), "planning from the observed value alone") || !strings.Contains(logs.String(), "to=fallback") {
		t.Errorf("log does not say the guard fell back:\n%s", logs.String())
	}
	// Fallen back: every step is the last value (290) × headroom 1 × factor 2 ÷ 100.
	p, err := store.Get(t.Context(), a.cfg.workload())
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range p.Replicas {
		if r != 6 {
			t.Fatalf("step %d asks for %d replicas, want 6 (ceil(290 × 2 / 100)): %v", i, r, p.Replicas)
		}
	}
}
