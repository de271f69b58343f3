package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/planstore"
	pb "github.com/kedastral/kedastral/proto/externalscaler"
	"github.com/kedastral/kedastral/test/testserver"
)

var t0 = time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)

// testPlan is a valid plan for shop/<name> starting at t0, one step a minute, with a one-minute
// lead time and minReplicas 0.
func testPlan(name string, generation int64, replicas ...int32) plan.Plan {
	n := len(replicas)
	return plan.Plan{
		Version:     plan.Version,
		Workload:    plan.Workload{Namespace: "shop", Name: name},
		Generation:  generation,
		GeneratedAt: t0.Add(-30 * time.Second),
		Start:       t0,
		Step:        plan.Duration(time.Minute),
		Predicted:   make([]float64, n),
		Upper:       make([]float64, n),
		Replicas:    replicas,
		Policy: plan.Policy{
			TargetPerPod: 10, Headroom: 1, MinReplicas: 0, MaxReplicas: 10,
			LeadTime: plan.Duration(time.Minute),
		},
		Model:      "test",
		ValidUntil: t0.Add(time.Duration(n) * time.Minute),
	}
}

// ref is the ScaledObjectRef KEDA sends for a trigger with metadata md, from namespace shop.
func ref(md ...string) *pb.ScaledObjectRef {
	r := &pb.ScaledObjectRef{Name: "so", Namespace: "shop", ScalerMetadata: map[string]string{}}
	for i := 0; i+1 < len(md); i += 2 {
		r.ScalerMetadata[md[i]] = md[i+1]
	}
	return r
}

// clock is a settable time source for the scaler.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// testGateway is a scaler served over a real loopback gRPC connection, backed by a real
// redis-server through the real plan store.
type testGateway struct {
	client  pb.ExternalScalerClient
	store   *planstore.Store
	rdb     redis.UniversalClient
	redis   *testserver.Redis
	scaler  *scaler
	metrics *metrics
	clock   *clock
}

func startGateway(t *testing.T, recheck time.Duration) *testGateway {
	t.Helper()
	srv := testserver.StartRedis(t)
	rdb := planstore.NewClient(planstore.Options{Addrs: []string{srv.Addr}})
	t.Cleanup(func() { rdb.Close() })
	store := planstore.New(rdb, "")

	m := newMetrics(prometheus.NewRegistry())
	changes := newHub()
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watchDone := make(chan struct{})
	go func() {
		changes.run(store.Watch(watchCtx))
		close(watchDone)
	}()
	sc := newScaler(store, changes, time.Second, m)
	clk := &clock{now: t0.Add(10 * time.Second)}
	sc.now = clk.Now
	sc.recheck = recheck

	gs := newGRPCServer(sc, health.NewServer(), m, slog.New(slog.NewTextHandler(t.Output(), nil)))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(lis) //nolint:errcheck // returns nil after Stop
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		sc.endStreams()
		gs.Stop()
		stopWatch()
		<-watchDone
	})
	waitSubscribed(t, rdb, "kedastral:plans")
	return &testGateway{
		client: pb.NewExternalScalerClient(conn), store: store, rdb: rdb, redis: srv,
		scaler: sc, metrics: m, clock: clk,
	}
}

func (g *testGateway) put(t *testing.T, plans ...plan.Plan) {
	t.Helper()
	for _, p := range plans {
		if err := g.store.Put(t.Context(), p, time.Hour); err != nil {
			t.Fatalf("Put(%v) = %v", p.Workload, err)
		}
	}
}

// waitSubscribed waits until Redis has a subscriber on channel, so that a PUBLISH made next is
// not lost to the race between SUBSCRIBE and PUBLISH on two connections.
func waitSubscribed(t *testing.T, rdb redis.UniversalClient, channel string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		n, err := rdb.PubSubNumSub(t.Context(), channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n[channel] > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no subscriber on %s within 5s", channel)
}

// wantCode checks err's status code and that its message mentions every string in msg.
func wantCode(t *testing.T, call string, err error, code codes.Code, msg ...string) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Fatalf("%s error = %v, want code %v", call, err, code)
	}
	for _, m := range msg {
		if !strings.Contains(status.Convert(err).Message(), m) {
			t.Errorf("%s error = %q, want it to mention %q", call, status.Convert(err).Message(), m)
		}
	}
}

func TestGetMetrics(t *testing.T) {
	g := startGateway(t, time.Hour)
	// now is t0+10s: step 0. The policy's one-minute lead reaches step 1.
	g.put(t, testPlan("api", 1, 1, 2, 6, 3, 1, 1), testPlan("idle", 1, 0, 0, 0))
	if err := g.rdb.Set(t.Context(), g.store.Key(plan.Workload{Namespace: "shop", Name: "junk"}), "{", 0).Err(); err != nil {
		t.Fatal(err)
	}

	tests := map[string]struct {
		req      *pb.GetMetricsRequest
		now      time.Time // default t0+10s
		want     int64
		wantCode codes.Code
		wantMsg  []string
	}{
		"policy lead time": {
			req:  &pb.GetMetricsRequest{ScaledObjectRef: ref("workload", "api"), MetricName: "kedastral-api-desired-replicas"},
			want: 2,
		},
		"empty metric name is accepted": {
			req:  &pb.GetMetricsRequest{ScaledObjectRef: ref("workload", "api")},
			want: 2,
		},
		"lead time override of zero reads the current step": {
			req:  &pb.GetMetricsRequest{ScaledObjectRef: ref("workload", "api", "leadTime", "0s")},
			want: 1,
		},
		"lead time override takes the max over the window": {
			req:  &pb.GetMetricsRequest{ScaledObjectRef: ref("workload", "api", "leadTime", "2m")},
			want: 6,
		},
		"lead time past the plan's end takes the max of what is left": {
			req:  &pb.GetMetricsRequest{ScaledObjectRef: ref("workload", "api", "leadTime", "1h")},
			now:  t0.Add(3*time.Minute + time.Second),
			want: 3,
		},
		"namespace from metadata": {
			req:  &pb.GetMetricsRequest{ScaledObjectRef: &pb.ScaledObjectRef{Name: "so", Namespace: "elsewhere", ScalerMetadata: map[string]string{"workload": "api", "namespace": "shop"}}},
			want: 2,
		},
		"zero replicas": {
			req:  &pb.GetMetricsRequest{ScaledObjectRef: ref("workload", "idle")},
			want: 0,
		},
		"unknown workload": {
			req:      &pb.GetMetricsRequest{ScaledObjectRef: ref("workload", "nope")},
			wantCode: codes.NotFound,
			wantMsg:  []string{"shop/nope"},
		},
		"missing workload metadata": {
			req:      &pb.GetMetricsRequest{ScaledObjectRef: ref()},
			wantCode: codes.InvalidArgument,
			wantMsg:  []string{`"workload" is missing`},
		},
		"missing scaledObjectRef": {
			req:      &pb.GetMetricsRequest{},
			wantCode: codes.InvalidArgument,
		},
		"bad lead time": {
			req:      &pb.GetMetricsRequest{ScaledObjectRef: ref("workload", "api", "leadTime", "soon")},
			wantCode: codes.InvalidArgument,
			wantMsg:  []string{`"leadTime"`, `"soon"`},
		},
		"negative lead time": {
			req:      &pb.GetMetricsRequest{ScaledObjectRef: ref("workload", "api", "leadTime", "-1m")},
			wantCode: codes.InvalidArgument,
			wantMsg:  []string{`"leadTime"`, ">= 0"},
		},
		"another metric": {
			req:      &pb.GetMetricsRequest{ScaledObjectRef: ref("workload", "api"), MetricName: "s0-kedastral-api-desired-replicas"},
			wantCode: codes.InvalidArgument,
			wantMsg:  []string{"s0-kedastral-api-desired-replicas", "kedastral-api-desired-replicas"},
		},
		"expired plan": {
			req:      &pb.GetMetricsRequest{ScaledObjectRef: ref("workload", "api")},
			now:      t0.Add(6 * time.Minute),
			wantCode: codes.Unavailable,
			wantMsg:  []string{"expired"},
		},
		"undecodable plan": {
			req:      &pb.GetMetricsRequest{ScaledObjectRef: ref("workload", "junk")},
			wantCode: codes.Unavailable,
			wantMsg:  []string{"kedastral:plan:{shop/junk}"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = t0.Add(10 * time.Second)
			}
			g.clock.Set(now)
			resp, err := g.client.GetMetrics(t.Context(), tc.req)
			if tc.wantCode != codes.OK {
				wantCode(t, "GetMetrics()", err, tc.wantCode, tc.wantMsg...)
				if resp != nil {
					t.Errorf("GetMetrics() = %v with an error, want no answer", resp)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetMetrics() error = %v", err)
			}
			want := &pb.GetMetricsResponse{MetricValues: []*pb.MetricValue{{
				MetricName:       "kedastral-" + tc.req.GetScaledObjectRef().GetScalerMetadata()["workload"] + "-desired-replicas",
				MetricValue:      tc.want,
				MetricValueFloat: float64(tc.want),
			}}}
			if diff := cmp.Diff(want, resp, protocmp.Transform()); diff != "" {
				t.Errorf("GetMetrics() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsActive(t *testing.T) {
	g := startGateway(t, time.Hour)
	g.put(t, testPlan("api", 1, 1, 2, 3), testPlan("idle", 1, 0, 0, 0), testPlan("later", 1, 0, 0, 4))

	tests := map[string]struct {
		ref      *pb.ScaledObjectRef
		now      time.Time // default t0+10s
		want     bool
		wantCode codes.Code
	}{
		"replicas wanted":                  {ref: ref("workload", "api"), want: true},
		"zero replicas with min 0":         {ref: ref("workload", "idle"), want: false},
		"replicas wanted beyond lead time": {ref: ref("workload", "later"), want: false},
		"replicas wanted within lead time": {ref: ref("workload", "later", "leadTime", "2m"), want: true},
		"expired plan is not inactive":     {ref: ref("workload", "idle"), now: t0.Add(3 * time.Minute), wantCode: codes.Unavailable},
		"unknown workload":                 {ref: ref("workload", "nope"), wantCode: codes.NotFound},
		"missing workload metadata":        {ref: ref("leadTime", "1m"), wantCode: codes.InvalidArgument},
		"no namespace":                     {ref: &pb.ScaledObjectRef{ScalerMetadata: map[string]string{"workload": "api"}}, wantCode: codes.InvalidArgument},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = t0.Add(10 * time.Second)
			}
			g.clock.Set(now)
			resp, err := g.client.IsActive(t.Context(), tc.ref)
			if tc.wantCode != codes.OK {
				wantCode(t, "IsActive()", err, tc.wantCode)
				return
			}
			if err != nil {
				t.Fatalf("IsActive() error = %v", err)
			}
			if resp.GetResult() != tc.want {
				t.Errorf("IsActive() = %v, want %v", resp.GetResult(), tc.want)
			}
		})
	}
}

func TestGetMetricSpec(t *testing.T) {
	g := startGateway(t, time.Hour)
	g.put(t, testPlan("api", 1, 1), testPlan("web", 1, 1))

	resp, err := g.client.GetMetricSpec(t.Context(), ref("workload", "api"))
	if err != nil {
		t.Fatalf("GetMetricSpec() error = %v", err)
	}
	want := &pb.GetMetricSpecResponse{MetricSpecs: []*pb.MetricSpec{{
		MetricName: "kedastral-api-desired-replicas", TargetSize: 1, TargetSizeFloat: 1,
	}}}
	if diff := cmp.Diff(want, resp, protocmp.Transform()); diff != "" {
		t.Errorf("GetMetricSpec() mismatch (-want +got):\n%s", diff)
	}

	// The NotFound message is all a user sees in KEDA's event: it must say what was asked for
	// and what exists.
	_, err = g.client.GetMetricSpec(t.Context(), ref("workload", "apii"))
	wantCode(t, "GetMetricSpec(unknown workload)", err, codes.NotFound, `"apii"`, `"shop"`, "shop/api, shop/web")

	_, err = g.client.GetMetricSpec(t.Context(), ref("namespace", "shop"))
	wantCode(t, "GetMetricSpec(no workload)", err, codes.InvalidArgument, `"workload"`)

	if got := testutil.ToFloat64(g.metrics.requests.WithLabelValues("GetMetricSpec", "NotFound")); got != 1 {
		t.Errorf("requests_total{rpc=GetMetricSpec,code=NotFound} = %v, want 1", got)
	}
}

func TestGetMetricSpecListsAtMostSome(t *testing.T) {
	g := startGateway(t, time.Hour)
	for i := range maxListed + 3 {
		g.put(t, testPlan("app-"+string(rune('a'+i)), 1, 1))
	}
	_, err := g.client.GetMetricSpec(t.Context(), ref("workload", "nope"))
	wantCode(t, "GetMetricSpec(unknown workload)", err, codes.NotFound, "shop/app-a", "and 3 more")
	if strings.Contains(err.Error(), "shop/app-w") {
		t.Errorf("GetMetricSpec() error = %q, want the list capped at %d", err, maxListed)
	}
}

// TestNotFoundListsOncePerTTL checks, on the real Redis's own command counts, that repeated
// NotFound answers (a misconfigured ScaledObject, polled every 30 seconds by KEDA) walk the
// keyspace at most once per knownTTL, and that the list is fresh after it.
func TestNotFoundListsOncePerTTL(t *testing.T) {
	g := startGateway(t, time.Hour)
	g.put(t, testPlan("api", 1, 1))
	scans := func() int {
		t.Helper()
		info, err := g.rdb.Info(t.Context(), "commandstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\n") {
			if rest, ok := strings.CutPrefix(line, "cmdstat_scan:calls="); ok {
				n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
				if err != nil {
					t.Fatalf("commandstats line %q: %v", line, err)
				}
				return n
			}
		}
		return 0
	}

	before := scans()
	for range 3 {
		_, err := g.client.GetMetricSpec(t.Context(), ref("workload", "nope"))
		wantCode(t, "GetMetricSpec(unknown workload)", err, codes.NotFound, "shop/api")
	}
	if got := scans() - before; got != 1 {
		t.Errorf("3 NotFound answers within %v ran %d SCANs, want 1", knownTTL, got)
	}

	g.put(t, testPlan("web", 1, 1))
	g.clock.Set(g.clock.Now().Add(knownTTL))
	_, err := g.client.GetMetricSpec(t.Context(), ref("workload", "nope"))
	wantCode(t, "GetMetricSpec(unknown workload) after the TTL", err, codes.NotFound, "shop/api, shop/web")
	if got := scans() - before; got != 2 {
		t.Errorf("after the TTL: %d SCANs in all, want 2", got)
	}
}

// With Redis gone, answers that depend on the plan fail with Unavailable, never a 0 or an
// inactive that could scale a service to zero.
func TestRedisDown(t *testing.T) {
	g := startGateway(t, time.Hour)
	g.put(t, testPlan("api", 1, 3, 3))
	g.redis.Stop()

	start := time.Now()
	m, err := g.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: ref("workload", "api")})
	wantCode(t, "GetMetrics()", err, codes.Unavailable)
	if m != nil {
		t.Errorf("GetMetrics() = %v, want no value", m)
	}
	a, err := g.client.IsActive(t.Context(), ref("workload", "api"))
	wantCode(t, "IsActive()", err, codes.Unavailable)
	if a != nil {
		t.Errorf("IsActive() = %v, want no answer", a)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("two calls took %v, want each bounded by the 1s request timeout", took)
	}

	// The spec does not depend on the plan, and failing it would leave the HPA without the
	// metric; it is answered.
	if _, err := g.client.GetMetricSpec(t.Context(), ref("workload", "api")); err != nil {
		t.Errorf("GetMetricSpec() error = %v, want the spec", err)
	}
}

func TestStreamIsActive(t *testing.T) {
	g := startGateway(t, time.Hour) // no periodic re-check: only the push can deliver
	g.put(t, testPlan("api", 1, 0, 0, 0))
	stream, err := g.client.StreamIsActive(t.Context(), ref("workload", "api"))
	if err != nil {
		t.Fatal(err)
	}
	recvActive(t, stream, false)

	g.put(t, testPlan("api", 2, 3, 3, 3))
	recvActive(t, stream, true)

	// A plan for another workload does not wake this stream with a repeat.
	g.put(t, testPlan("web", 1, 5))
	g.put(t, testPlan("api", 3, 4, 4, 4)) // still active: nothing to send
	g.put(t, testPlan("api", 4, 0, 0, 0))
	recvActive(t, stream, false)
}

func recvActive(t *testing.T, stream grpc.ServerStreamingClient[pb.IsActiveResponse], want bool) {
	t.Helper()
	got, err := recvWithin(stream, 5*time.Second)
	if err != nil {
		t.Fatalf("StreamIsActive Recv() error = %v, want %v", err, want)
	}
	if got.GetResult() != want {
		t.Fatalf("StreamIsActive Recv() = %v, want %v", got.GetResult(), want)
	}
}

// recvWithin receives the next message or fails after d.
func recvWithin[T any](stream grpc.ServerStreamingClient[T], d time.Duration) (*T, error) {
	type result struct {
		m   *T
		err error
	}
	c := make(chan result, 1)
	go func() {
		m, err := stream.Recv()
		c <- result{m, err}
	}()
	select {
	case r := <-c:
		return r.m, r.err
	case <-time.After(d):
		return nil, errors.New("nothing received in time")
	}
}

func TestStreamIsActiveFaults(t *testing.T) {
	tests := map[string]struct {
		ref      *pb.ScaledObjectRef
		fault    func(g *testGateway)
		wantCode codes.Code
	}{
		"unknown workload at open": {ref: ref("workload", "nope"), wantCode: codes.NotFound},
		"bad metadata at open":     {ref: ref("workload", "api", "leadTime", "x"), wantCode: codes.InvalidArgument},
		"plan expires while open": {
			ref:      ref("workload", "api"),
			fault:    func(g *testGateway) { g.clock.Set(t0.Add(time.Hour)) },
			wantCode: codes.Unavailable,
		},
		"redis goes away while open": {
			ref:      ref("workload", "api"),
			fault:    func(g *testGateway) { g.redis.Stop() },
			wantCode: codes.Unavailable,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := startGateway(t, 20*time.Millisecond)
			g.put(t, testPlan("api", 1, 2, 2, 2))
			stream, err := g.client.StreamIsActive(t.Context(), tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if tc.fault != nil {
				recvActive(t, stream, true)
				tc.fault(g)
			}
			_, err = recvWithin(stream, 5*time.Second)
			wantCode(t, "StreamIsActive Recv()", err, tc.wantCode)
		})
	}
}

func TestStreamMetricSpec(t *testing.T) {
	g := startGateway(t, time.Hour)
	g.put(t, testPlan("api", 1, 1))

	want, err := g.client.GetMetricSpec(t.Context(), ref("workload", "api"))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := g.client.StreamMetricSpec(t.Context(), ref("workload", "api"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := recvWithin(stream, 5*time.Second)
	if err != nil {
		t.Fatalf("StreamMetricSpec Recv() error = %v", err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("StreamMetricSpec first message differs from GetMetricSpec (-want +got):\n%s", diff)
	}

	missing, err := g.client.StreamMetricSpec(t.Context(), ref("workload", "nope"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = recvWithin(missing, 5*time.Second)
	wantCode(t, "StreamMetricSpec(unknown workload) Recv()", err, codes.NotFound, `"nope"`, "shop/api")
}

// Streams end cleanly at shutdown, so that GracefulStop is not held up and KEDA reconnects at
// once (it resets its back-off on a clean end).
func TestStreamsEndOnShutdown(t *testing.T) {
	g := startGateway(t, time.Hour)
	g.put(t, testPlan("api", 1, 1, 1))
	active, err := g.client.StreamIsActive(t.Context(), ref("workload", "api"))
	if err != nil {
		t.Fatal(err)
	}
	recvActive(t, active, true)
	spec, err := g.client.StreamMetricSpec(t.Context(), ref("workload", "api"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recvWithin(spec, 5*time.Second); err != nil {
		t.Fatal(err)
	}

	g.scaler.endStreams()
	if _, err := recvWithin(active, 5*time.Second); !errors.Is(err, io.EOF) {
		t.Errorf("StreamIsActive Recv() after endStreams = %v, want io.EOF", err)
	}
	if _, err := recvWithin(spec, 5*time.Second); !errors.Is(err, io.EOF) {
		t.Errorf("StreamMetricSpec Recv() after endStreams = %v, want io.EOF", err)
	}
}

func FuzzParseMetadata(f *testing.F) {
	f.Add("so", "shop", "api", "", "2m", true)
	f.Add("so", "", "api", "shop", "", false)
	f.Add("so", "shop", "", "", "", false)
	f.Add("so", "shop", "api", "", "-1s", true)
	f.Add("so", "shop", "Api_1", "x/y", "1h2m3.5s", true)
	f.Fuzz(func(t *testing.T, name, namespace, workload, mdNamespace, leadTime string, hasLead bool) {
		md := map[string]string{}
		if workload != "" {
			md[metaWorkload] = workload
		}
		if mdNamespace != "" {
			md[metaNamespace] = mdNamespace
		}
		if hasLead {
			md[metaLeadTime] = leadTime
		}
		got, err := parseMetadata(&pb.ScaledObjectRef{Name: name, Namespace: namespace, ScalerMetadata: md})
		if err != nil {
			if !errors.Is(err, errInvalid) {
				t.Fatalf("parseMetadata() error = %v, want one wrapping errInvalid", err)
			}
			return
		}
		if err := got.workload.Validate(); err != nil {
			t.Errorf("parseMetadata() = %v, an invalid workload: %v", got.workload, err)
		}
		wantNS := mdNamespace
		if wantNS == "" {
			wantNS = namespace
		}
		if got.workload.Name != workload || got.workload.Namespace != wantNS {
			t.Errorf("parseMetadata() workload = %v, want %s/%s", got.workload, wantNS, workload)
		}
		if got.hasLead != hasLead || got.lead < 0 {
			t.Errorf("parseMetadata() lead = %v (set %v), want a lead >= 0 set iff leadTime is given", got.lead, got.hasLead)
		}
	})
}

// TestNotFoundHintOutlivesItsCaller: the workload list is shared by every NotFound answer, so a
// caller who hangs up while it is being made must not leave "context canceled" as the hint for
// the next 30 seconds.
func TestNotFoundHintOutlivesItsCaller(t *testing.T) {
	g := startGateway(t, time.Hour)
	g.put(t, testPlan("api", 1, 1))
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	g.scaler.knownWorkloads(gone)
	if got := g.scaler.knownWorkloads(t.Context()); !strings.Contains(got, "shop/api") {
		t.Errorf("hint after a caller that hung up = %q, want the workloads with plans (shop/api)", got)
	}
}
