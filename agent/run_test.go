package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/buildinfo"
	"github.com/kedastral/kedastral/pkg/envconf"
	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/planstore"
	"github.com/kedastral/kedastral/test/testserver"
)

func TestRunHelp(t *testing.T) {
	var out strings.Builder
	if err := run(t.Context(), []string{"--help"}, envconf.Map(nil), &out, io.Discard); err != nil {
		t.Fatalf("run(--help) = %v", err)
	}
	for _, want := range []string{"KEDASTRAL_WORKLOAD", "KEDASTRAL_QUERY", "KEDASTRAL_REPLAY_SPEED", "KEDASTRAL_LEAD_TIME", "7d"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help output lacks %q", want)
		}
	}
	if err := run(t.Context(), []string{"--frobnicate"}, envconf.Map(nil), io.Discard, io.Discard); err == nil {
		t.Error("run(--frobnicate) = nil, want an error")
	}
}

// TestRunVersion: --version needs no configuration and names the build.
func TestRunVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		var out strings.Builder
		if err := run(t.Context(), []string{arg}, envconf.Map(nil), &out, io.Discard); err != nil {
			t.Fatalf("run(%s) = %v", arg, err)
		}
		if want := buildinfo.String("agent") + "\n"; out.String() != want {
			t.Errorf("run(%s) printed %q, want %q", arg, out.String(), want)
		}
	}
}

// TestRunReplayToRedis runs the whole agent on a replayed trace against a real redis-server and
// checks what reaches Redis and what the HTTP endpoints say.
func TestRunReplayToRedis(t *testing.T) {
	redis := testserver.StartRedis(t)
	httpAddr := testserver.FreeAddr(t)
	env := map[string]string{
		"KEDASTRAL_WORKLOAD":       "web",
		"KEDASTRAL_NAMESPACE":      "demo",
		"KEDASTRAL_REPLAY_FILE":    "../test/testdata/nasa_http_1995_07_1min_10d.csv",
		"KEDASTRAL_REPLAY_SPEED":   "600",
		"KEDASTRAL_HISTORY":        "1d",
		"KEDASTRAL_REDIS_ADDR":     redis.Addr,
		"KEDASTRAL_TARGET_PER_POD": "20",
		"KEDASTRAL_HTTP_ADDR":      httpAddr,
		"KEDASTRAL_EVENTS":         "name=sale start=2030-11-27T08:00:00+01:00 duration=6h multiplier=1.5",
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	var logs bytes.Buffer // written by the agent's one log handler, read after run returns
	go func() { done <- run(ctx, nil, envconf.Map(env), io.Discard, &logs) }()

	// Wait for a plan, and then for a newer one.
	var st status
	var firstGen int64
	deadline := time.Now().Add(10 * time.Second)
	for firstGen == 0 || st.Generation <= firstGen {
		if time.Now().After(deadline) {
			t.Fatalf("no second plan after 10s; last status %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
		getJSON(t, "http://"+httpAddr+"/status", &st)
		if firstGen == 0 {
			firstGen = st.Generation
		}
	}
	if st.LastSample == nil || st.Replicas == nil || *st.Replicas < 1 {
		t.Errorf("status = %+v, want a last sample and replicas >= 1", st)
	}
	// The replay starts one day into the trace and never shows the agent a later sample.
	if st.LastSample.Time.After(st.SourceTime) || st.SourceTime.Before(time.Date(1995, 7, 2, 4, 0, 0, 0, time.UTC)) {
		t.Errorf("status source time %v, last sample %v: want the replay a day into the trace, no sample from the future",
			st.SourceTime, st.LastSample.Time)
	}

	rdb := planstore.NewClient(planstore.Options{Addrs: []string{redis.Addr}})
	defer rdb.Close()
	p, err := planstore.New(rdb, "").Get(t.Context(), plan.Workload{Namespace: "demo", Name: "web"})
	if err != nil {
		t.Fatalf("plan not in Redis: %v", err)
	}
	// Kept past its expiry, so that the gateway can say it expired rather than that there is none.
	if ttl, err := rdb.PTTL(t.Context(), planstore.New(rdb, "").Key(p.Workload)).Result(); err != nil || ttl <= time.Until(p.ValidUntil)+keepExpired-time.Minute {
		t.Errorf("plan key TTL %v, %v; want about %v past its expiry at %v", ttl, err, keepExpired, p.ValidUntil)
	}
	// Published in wall time: a 1-minute step replayed at 600× is 100ms.
	if p.Step.D() != 100*time.Millisecond || p.Policy.LeadTime.D() != 300*time.Millisecond || p.GeneratedAt.Before(time.Now().Add(-time.Minute)) {
		t.Errorf("plan step %v, lead %v, generated %v: want 100ms, 300ms and a wall-clock time", p.Step.D(), p.Policy.LeadTime.D(), p.GeneratedAt)
	}
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"kedastral_predicted_value{", "kedastral_desired_replicas{", "kedastral_forecast_age_seconds{", "kedastral_cycle_duration_seconds_count{"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() = %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run() did not return within 10s of cancel")
	}
	// The events as the agent understood them, so that a user can check them.
	if want := `"events":"name=sale start=2030-11-27T08:00:00+01:00 duration=6h0m0s multiplier=1.5"`; !strings.Contains(logs.String(), want) {
		t.Errorf("the log lacks %s:\n%s", want, logs.String())
	}
}

// TestRunSurvivesRedisOutage checks that the agent keeps running with Redis unreachable and says
// why on /readyz. (Publishing again once Redis is back is TestRunRetriesAndStops's retry loop.)
func TestRunSurvivesRedisOutage(t *testing.T) {
	addr := testserver.FreeAddr(t) // nothing listens here yet
	httpAddr := testserver.FreeAddr(t)
	env := map[string]string{
		"KEDASTRAL_WORKLOAD": "web", "KEDASTRAL_NAMESPACE": "demo",
		"KEDASTRAL_REPLAY_FILE": "../test/testdata/nasa_http_1995_07_1min_10d.csv", "KEDASTRAL_REPLAY_SPEED": "60",
		"KEDASTRAL_HISTORY": "1d", "KEDASTRAL_REDIS_ADDR": addr, "KEDASTRAL_TARGET_PER_POD": "20",
		"KEDASTRAL_HTTP_ADDR": httpAddr,
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, envconf.Map(env), io.Discard, io.Discard) }()
	time.Sleep(1500 * time.Millisecond)
	resp, err := http.Get("http://" + httpAddr + "/readyz")
	if err != nil {
		t.Fatalf("agent not serving while Redis is down: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "publish") {
		t.Errorf("/readyz = %d %q, want 503 naming the publish failure", resp.StatusCode, body)
	}
	select {
	case err := <-done:
		t.Fatalf("run() returned %v while Redis was down, want it to keep running", err)
	default:
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return // not up yet
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(fmt.Errorf("decode %s: %w", url, err))
	}
}

// TestRunWithHTTPModel runs the agent with a bring-your-own model: the plan carries the
// endpoint's forecast.
func TestRunWithHTTPModel(t *testing.T) {
	redis := testserver.StartRedis(t)
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Horizon int `json:"horizon"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		point := make([]float64, req.Horizon)
		for i := range point {
			point[i] = 77
		}
		json.NewEncoder(w).Encode(map[string]any{"point": point})
	}))
	defer model.Close()
	env := map[string]string{
		"KEDASTRAL_WORKLOAD": "web", "KEDASTRAL_NAMESPACE": "demo",
		"KEDASTRAL_REPLAY_FILE": "../test/testdata/nasa_http_1995_07_1min_10d.csv", "KEDASTRAL_REPLAY_SPEED": "600",
		"KEDASTRAL_HISTORY": "1d", "KEDASTRAL_REDIS_ADDR": redis.Addr, "KEDASTRAL_TARGET_PER_POD": "10",
		"KEDASTRAL_HEADROOM": "1", "KEDASTRAL_HTTP_ADDR": testserver.FreeAddr(t),
		"KEDASTRAL_MODEL": "http", "KEDASTRAL_MODEL_URL": model.URL,
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go run(ctx, nil, envconf.Map(env), io.Discard, io.Discard)

	rdb := planstore.NewClient(planstore.Options{Addrs: []string{redis.Addr}})
	defer rdb.Close()
	store := planstore.New(rdb, "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := store.Get(t.Context(), plan.Workload{Namespace: "demo", Name: "web"})
		if err == nil {
			if p.Model != "http" || p.Predicted[0] != 77 || p.Replicas[0] != 8 {
				t.Errorf("plan model %q, predicted %v, replicas %v: want http, 77, ceil(77/10) = 8", p.Model, p.Predicted[0], p.Replicas[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no plan from the http model within 10s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
