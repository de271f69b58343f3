package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/envconf"
	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/planstore"
	"github.com/kedastral/kedastral/test/testserver"
)

// TestLeaseOneAgentPlans runs two agents of one workload against a real Redis, as two pods of
// an app with the agent beside each: one plans, the other stands by without reading the metric
// and reports the stored plan; when the planner stops, the other takes over and publishes
// newer plans.
func TestLeaseOneAgentPlans(t *testing.T) {
	redis := testserver.StartRedis(t)
	w := plan.Workload{Namespace: "demo", Name: "web"}
	type agentProc struct {
		addr    string
		cancel  context.CancelFunc
		stopped chan struct{} // closed when run has returned err
		err     error
	}
	start := func() *agentProc {
		addr := testserver.FreeAddr(t)
		env := map[string]string{
			"KEDASTRAL_WORKLOAD": w.Name, "KEDASTRAL_NAMESPACE": w.Namespace,
			"KEDASTRAL_REPLAY_FILE":  "../test/testdata/nasa_http_1995_07_1min_10d.csv",
			"KEDASTRAL_REPLAY_SPEED": "600", "KEDASTRAL_HISTORY": "1d",
			"KEDASTRAL_REDIS_ADDR": redis.Addr, "KEDASTRAL_TARGET_PER_POD": "20", "KEDASTRAL_HTTP_ADDR": addr,
		}
		ctx, cancel := context.WithCancel(t.Context())
		a := &agentProc{addr: addr, cancel: cancel, stopped: make(chan struct{})}
		go func() {
			a.err = run(ctx, nil, envconf.Map(env), io.Discard, io.Discard)
			close(a.stopped)
		}()
		t.Cleanup(func() {
			cancel()
			<-a.stopped
		})
		return a
	}
	statusOf := func(a *agentProc) status {
		var st status
		getJSON(t, "http://"+a.addr+"/status", &st)
		return st
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 15s", what)
			}
		}
	}

	agents := []*agentProc{start(), start()}
	var st [2]status
	waitFor("plan reported by both agents, one of them standing by", func() bool {
		st[0], st[1] = statusOf(agents[0]), statusOf(agents[1])
		return st[0].Standby != nil && st[1].Standby != nil && st[0].Generation > 0 && st[1].Generation > 0
	})
	if *st[0].Standby == *st[1].Standby {
		t.Fatalf("standby = %v and %v, want exactly one agent planning", *st[0].Standby, *st[1].Standby)
	}
	planner, follower := agents[0], agents[1]
	if *st[0].Standby {
		planner, follower = agents[1], agents[0]
		st[0], st[1] = st[1], st[0]
	}
	// It never read the metric, so the generation it reports is the stored plan's.
	if st[1].LastSample != nil {
		t.Errorf("the standby agent read the metric (last sample %+v), want it idle", st[1].LastSample)
	}
	// A standby judges nothing: its guard metrics are NaN, which max by workload passes over, so
	// that only the holder's judgement can raise an alert.
	metricsOf := func(a *agentProc) string {
		t.Helper()
		resp, err := http.Get("http://" + a.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(body)
	}
	standbyMetrics := []string{
		`kedastral_lease_held{namespace="demo",workload="web"} 0`,
		`kedastral_accuracy_mode{namespace="demo",workload="web"} NaN`,
		`kedastral_headroom_factor{namespace="demo",workload="web"} NaN`,
		`kedastral_upper_exceedance_ratio{namespace="demo",workload="web"} NaN`,
	}
	body := metricsOf(follower)
	for _, m := range standbyMetrics {
		if !strings.Contains(body, m) {
			t.Errorf("the standby agent's /metrics lacks %s", m)
		}
	}

	// The planner stops (its pod goes away): the other takes over.
	planner.cancel()
	<-planner.stopped
	if planner.err != nil {
		t.Fatalf("run() = %v after cancel, want nil", planner.err)
	}
	rdb := planstore.NewClient(planstore.Options{Addrs: []string{redis.Addr}})
	defer rdb.Close()
	last, err := planstore.New(rdb, "").Get(t.Context(), w)
	if err != nil {
		t.Fatal(err)
	}
	waitFor("plan from the agent that took over", func() bool {
		s := statusOf(follower)
		return s.Standby != nil && !*s.Standby && s.LastSample != nil && s.Generation > last.Generation
	})
	if p, err := planstore.New(rdb, "").Get(t.Context(), w); err != nil || p.Generation <= last.Generation {
		t.Errorf("stored plan after the takeover: generation %d, %v; want newer than %d", p.Generation, err, last.Generation)
	}
	if body := metricsOf(follower); !strings.Contains(body, `kedastral_accuracy_mode{namespace="demo",workload="web"} 0`) {
		t.Error("the agent that took over does not report its guard as trusted (kedastral_accuracy_mode 0)")
	}

	// Another agent takes the lease (this one's renewal failed, say): the former holder stands
	// by, and its last judgement no longer counts.
	key := planstore.New(rdb, "").LeaseKey(w)
	if err := rdb.Set(t.Context(), key, "another-agent", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor("the former holder standing by", func() bool {
		s := statusOf(follower)
		return s.Standby != nil && *s.Standby
	})
	body = metricsOf(follower)
	for _, m := range standbyMetrics {
		if !strings.Contains(body, m) {
			t.Errorf("the former holder's /metrics lacks %s", m)
		}
	}
}
