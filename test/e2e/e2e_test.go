// Package e2e runs Kedastral's whole path with real parts only: a real prometheus scraping an
// exporter that replays a recorded trace, a real redis-server, the agent and gateway binaries,
// and a client asking the gateway exactly as KEDA does.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"sigs.k8s.io/yaml"

	"github.com/kedastral/kedastral/pkg/series"
	pb "github.com/kedastral/kedastral/proto/externalscaler"
	"github.com/kedastral/kedastral/test/testserver"
)

const (
	targetPerPod = 10.0
	// The replay: a daytime rise of the NASA HTTP trace, in 10-minute means, one per second.
	traceFrom  = "1995-07-03T08:00:00Z"
	traceTo    = "1995-07-03T18:00:00Z"
	traceMean  = 10 * time.Minute
	replayTick = time.Second
)

// TestPathFollowsLoad replays a real load rise through prometheus, the agent, redis and the
// gateway, and checks that the replica counts the gateway gives KEDA follow the load.
func TestPathFollowsLoad(t *testing.T) {
	load := loadTrace(t)
	agentBin := testserver.Build(t, "agent")
	gatewayBin := testserver.Build(t, "gateway")

	exp := startExporter(t)
	// Prometheus scrapes the agent and the gateway too, as in a cluster, for the alerts and the
	// dashboard to be checked against their real metrics.
	grpcAddr, gatewayHTTP, agentHTTP := testserver.FreeAddr(t), testserver.FreeAddr(t), testserver.FreeAddr(t)
	promURL := testserver.StartPrometheus(t, exp.addr, agentHTTP, gatewayHTTP)
	redis := testserver.StartRedis(t)

	startProc(t, gatewayBin,
		"KEDASTRAL_REDIS_ADDR="+redis.Addr, "KEDASTRAL_GRPC_ADDR="+grpcAddr, "KEDASTRAL_HTTP_ADDR="+gatewayHTTP)

	exp.set(load[0])
	testserver.WaitForValue(t, promURL, "e2e_load", load[0])
	startProc(t, agentBin,
		"KEDASTRAL_WORKLOAD=api", "KEDASTRAL_NAMESPACE=shop",
		"KEDASTRAL_PROMETHEUS_URL="+promURL, "KEDASTRAL_QUERY=e2e_load",
		"KEDASTRAL_REDIS_ADDR="+redis.Addr, "KEDASTRAL_HTTP_ADDR="+agentHTTP,
		"KEDASTRAL_STEP=1s", "KEDASTRAL_INTERVAL=1s", "KEDASTRAL_HISTORY=10m", "KEDASTRAL_HORIZON=30s",
		// The replay compresses hours of load into a minute at a 1-second step, so the model is
		// refitted on the same compressed scale (6h at 1m is 360 steps; 10s is 10 here).
		"KEDASTRAL_LEAD_TIME=2s", "KEDASTRAL_MAX_STALENESS=10s", "KEDASTRAL_REFIT_INTERVAL=10s",
		fmt.Sprintf("KEDASTRAL_TARGET_PER_POD=%g", targetPerPod), "KEDASTRAL_HEADROOM=1",
		// Sized for the point forecast, so that the replicas to expect are load ÷ target.
		"KEDASTRAL_BASIS=point",
		"KEDASTRAL_MIN_REPLICAS=1", "KEDASTRAL_MAX_REPLICAS=50")

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	keda := pb.NewExternalScalerClient(conn)
	ref := &pb.ScaledObjectRef{Name: "api", Namespace: "shop",
		ScalerMetadata: map[string]string{"workload": "api", "scalerAddress": grpcAddr}}
	metric := waitForSpec(t, keda, ref)

	// Unknown workloads get a clear error, never a number.
	_, err = keda.GetMetrics(t.Context(), &pb.GetMetricsRequest{MetricName: "kedastral-nope-desired-replicas",
		ScaledObjectRef: &pb.ScaledObjectRef{Namespace: "shop", ScalerMetadata: map[string]string{"workload": "nope"}}})
	if status.Code(err) != codes.NotFound {
		t.Errorf("GetMetrics(unknown workload) = %v, want NotFound", err)
	}

	// Replay: one value a second; ask the gateway as KEDA's polling loop does, twice a second.
	type obs struct{ load, replicas float64 }
	var observed []obs
	ctx, cancel := context.WithTimeout(t.Context(), time.Duration(len(load)+5)*replayTick)
	defer cancel()
	go func() {
		for _, v := range load[1:] {
			select {
			case <-ctx.Done():
				return
			case <-time.After(replayTick):
				exp.set(v)
			}
		}
	}()
	poll := time.NewTicker(replayTick / 2)
	defer poll.Stop()
	for ctx.Err() == nil {
		<-poll.C
		r, err := keda.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref, MetricName: metric})
		// The replay's own deadline can expire in the middle of a call; gRPC may report it
		// before the context's timer has fired.
		if ctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded {
			break
		}
		if err != nil {
			t.Fatalf("GetMetrics during the replay: %v", err)
		}
		v := r.MetricValues[0]
		if v.MetricValueFloat < 1 || float64(v.MetricValue) != v.MetricValueFloat {
			t.Fatalf("GetMetrics = %v, want a whole number of replicas >= 1 in both fields", v)
		}
		active, err := keda.IsActive(ctx, ref)
		if ctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded {
			break
		}
		if err == nil && !active.Result {
			t.Errorf("IsActive = false while the plan asks for %v replicas", v.MetricValueFloat)
		}
		observed = append(observed, obs{load: exp.get(), replicas: v.MetricValueFloat})
	}

	// The replicas must follow the load: high where it is high, low where it is low.
	n := len(observed)
	if n < len(load) {
		t.Fatalf("only %d observations over a %d-step replay", n, len(load))
	}
	early, late := observed[:n/5], observed[n-n/5:]
	meanOf := func(o []obs, f func(obs) float64) float64 {
		s := 0.0
		for _, x := range o {
			s += f(x)
		}
		return s / float64(len(o))
	}
	rep := func(o obs) float64 { return o.replicas }
	ld := func(o obs) float64 { return o.load }
	t.Logf("first fifth: load %.0f, replicas %.1f; last fifth: load %.0f, replicas %.1f",
		meanOf(early, ld), meanOf(early, rep), meanOf(late, ld), meanOf(late, rep))
	if wantEarly := math.Ceil(meanOf(early, ld) / targetPerPod); math.Abs(meanOf(early, rep)-wantEarly) > 1.5 {
		t.Errorf("replicas while load is low = %.1f, want about %v", meanOf(early, rep), wantEarly)
	}
	if wantLate := math.Ceil(meanOf(late, ld) / targetPerPod); math.Abs(meanOf(late, rep)-wantLate) > 1.5 {
		t.Errorf("replicas while load is high = %.1f, want about %v", meanOf(late, rep), wantLate)
	}
	if c := correlation(observed, ld, rep); c < 0.8 {
		t.Errorf("correlation of replicas with load = %.2f, want >= 0.8", c)
	}

	// KEDA also holds a StreamIsActive stream open; open and close one, so that the stream
	// metrics the dashboard shows exist.
	sctx, scancel := context.WithCancel(t.Context())
	stream, err := keda.StreamIsActive(sctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("StreamIsActive: %v", err)
	}
	scancel()
	testserver.WaitForValue(t, promURL, `sum(kedastral_gateway_streams_open{rpc="StreamIsActive"})`, 0)

	checkObservability(t, promURL, agentHTTP, gatewayHTTP)
}

// checkObservability checks manifests/alerts.yaml and manifests/dashboard.json against the
// running agent and gateway (at addrs) and the Prometheus at promURL that scrapes them: every
// kedastral_ metric they name is one the binaries export (a renamed metric would leave an alert
// that never fires, a panel that stays empty); every alert expression evaluates; and every
// dashboard query evaluates to data.
func checkObservability(t *testing.T, promURL string, addrs ...string) {
	t.Helper()
	rulesYAML, err := os.ReadFile("../../manifests/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dashJSON, err := os.ReadFile("../../manifests/dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert string `json:"alert"`
					Expr  string `json:"expr"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(rulesYAML, &rules); err != nil {
		t.Fatalf("manifests/alerts.yaml: %v", err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dashJSON, &dash); err != nil {
		t.Fatalf("manifests/dashboard.json: %v", err)
	}

	var exported bytes.Buffer
	for _, a := range addrs {
		resp, err := http.Get("http://" + a + "/metrics")
		if err != nil {
			t.Fatalf("scrape %s: %v", a, err)
		}
		_, err = exported.ReadFrom(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("scrape %s: %v", a, err)
		}
	}
	names := map[string]bool{}
	for _, line := range strings.Split(exported.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names[strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0]] = true
	}
	metric := regexp.MustCompile(`kedastral_[a-z_]+`)
	for file, text := range map[string][]byte{"alerts.yaml": rulesYAML, "dashboard.json": dashJSON} {
		queried := metric.FindAllString(string(text), -1)
		if len(queried) == 0 {
			t.Errorf("manifests/%s names no kedastral_ metric", file)
		}
		for _, q := range queried {
			if !names[q] {
				t.Errorf("manifests/%s names %s, which neither the agent nor the gateway exports", file, q)
			}
		}
	}

	alerts := 0
	for _, g := range rules.Spec.Groups {
		for _, r := range g.Rules {
			alerts++
			if _, err := testserver.Query(t, promURL, r.Expr); err != nil {
				t.Errorf("alert %s: %v", r.Alert, err)
			}
		}
	}
	// Grafana's variables, as a user viewing this workload would set them.
	vars := strings.NewReplacer("$namespace", "shop", "$workload", "api", "$__rate_interval", "1m")
	panels := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			panels++
			q := vars.Replace(tg.Expr)
			if vec, err := testserver.Query(t, promURL, q); err != nil {
				t.Errorf("dashboard panel %q: %s: %v", p.Title, q, err)
			} else if len(vec) == 0 {
				t.Errorf("dashboard panel %q: %s: no data", p.Title, q)
			}
		}
	}
	t.Logf("%d alert expressions and %d dashboard queries evaluated on the scraped agent and gateway", alerts, panels)
}

func correlation[T any](xs []T, fx, fy func(T) float64) float64 {
	var sx, sy, sxx, syy, sxy float64
	n := float64(len(xs))
	for _, v := range xs {
		x, y := fx(v), fy(v)
		sx, sy, sxx, syy, sxy = sx+x, sy+y, sxx+x*x, syy+y*y, sxy+x*y
	}
	return (n*sxy - sx*sy) / math.Sqrt((n*sxx-sx*sx)*(n*syy-sy*sy))
}

// loadTrace returns the replayed values: traceMean means of the NASA trace over [from, to).
func loadTrace(t *testing.T) []float64 {
	t.Helper()
	f, err := os.Open("../testdata/nasa_http_1995_07_1min_10d.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	samples, err := series.ReadCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := time.Parse(time.RFC3339, traceFrom)
	to, _ := time.Parse(time.RFC3339, traceTo)
	var out []float64
	for b := from; b.Before(to); b = b.Add(traceMean) {
		sum, n := 0.0, 0
		for _, s := range samples {
			if !s.T.Before(b) && s.T.Before(b.Add(traceMean)) {
				sum, n = sum+s.V, n+1
			}
		}
		out = append(out, sum/float64(n))
	}
	return out
}

type exporter struct {
	addr  string
	gauge prometheus.Gauge
	mu    sync.Mutex
	value float64
}

func (e *exporter) set(v float64) {
	e.mu.Lock()
	e.value = v
	e.mu.Unlock()
	e.gauge.Set(v)
}

func (e *exporter) get() float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.value
}

// startExporter serves a gauge e2e_load on a free loopback port for prometheus to scrape.
func startExporter(t *testing.T) *exporter {
	t.Helper()
	reg := prometheus.NewRegistry()
	e := &exporter{gauge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "e2e_load", Help: "Replayed load."})}
	reg.MustRegister(e.gauge)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	e.addr = ln.Addr().String()
	return e
}

// startProc runs a binary with the given environment until the test ends, and logs its output
// if the test failed.
func startProc(t *testing.T, bin string, env ...string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), append(env, "KEDASTRAL_LOG_FORMAT=text")...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("%s exited with %v on interrupt, want a clean stop", bin, err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("%s did not stop within 15s of an interrupt", bin)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", bin, out.String())
		}
	})
}

func waitForSpec(t *testing.T, keda pb.ExternalScalerClient, ref *pb.ScaledObjectRef) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := keda.GetMetricSpec(t.Context(), ref)
		if err == nil {
			if len(r.MetricSpecs) != 1 || r.MetricSpecs[0].TargetSizeFloat != 1 || r.MetricSpecs[0].TargetSize != 1 {
				t.Fatalf("GetMetricSpec = %v, want one metric with target 1", r)
			}
			return r.MetricSpecs[0].MetricName
		}
		if time.Now().After(deadline) {
			t.Fatalf("no plan reached the gateway within 30s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
