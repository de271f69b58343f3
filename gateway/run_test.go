package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/kedastral/kedastral/pkg/buildinfo"
	"github.com/kedastral/kedastral/pkg/planstore"
	pb "github.com/kedastral/kedastral/proto/externalscaler"
	"github.com/kedastral/kedastral/test/testserver"
)

func TestRunHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		t.Run(arg, func(t *testing.T) {
			var out bytes.Buffer
			// No environment at all: help must not need a valid configuration.
			if err := run(t.Context(), []string{arg}, func(string) string { return "" }, &out); err != nil {
				t.Fatalf("run(%s) = %v, want nil", arg, err)
			}
			for _, want := range []string{
				"KEDA", "kedastral-<workload>-desired-replicas",
				"KEDASTRAL_GRPC_ADDR", "KEDASTRAL_HTTP_ADDR", "KEDASTRAL_REDIS_ADDR", "KEDASTRAL_REDIS_USERNAME",
				"KEDASTRAL_REDIS_PASSWORD", "KEDASTRAL_REDIS_DB", "KEDASTRAL_REDIS_MASTER_NAME", "KEDASTRAL_REDIS_TLS",
				"KEDASTRAL_REDIS_PREFIX", "KEDASTRAL_LOG_LEVEL", "KEDASTRAL_LOG_FORMAT", "KEDASTRAL_REQUEST_TIMEOUT",
				"KEDASTRAL_SHUTDOWN_TIMEOUT",
			} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("run(%s) printed no %q:\n%s", arg, want, out.String())
				}
			}
		})
	}
}

// TestRunVersion: --version needs no configuration and names the build.
func TestRunVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"--version"}, func(string) string { return "" }, &out); err != nil {
		t.Fatalf("run(--version) = %v, want nil", err)
	}
	if want := buildinfo.String("gateway") + "\n"; out.String() != want {
		t.Errorf("run(--version) printed %q, want %q", out.String(), want)
	}
}

func TestRunRefusesBadStart(t *testing.T) {
	tests := map[string]struct {
		args    []string
		env     map[string]string
		wantErr string
	}{
		"unknown flag":        {args: []string{"--port=1"}, wantErr: "flag provided but not defined"},
		"positional argument": {args: []string{"serve"}, wantErr: `unexpected arguments ["serve"]`},
		"bad configuration":   {env: map[string]string{"KEDASTRAL_LOG_FORMAT": "xml"}, wantErr: "config: KEDASTRAL_REDIS_ADDR is required"},
		"unusable listen address": {
			env:     map[string]string{"KEDASTRAL_REDIS_ADDR": "127.0.0.1:1", "KEDASTRAL_GRPC_ADDR": "127.0.0.1:0", "KEDASTRAL_HTTP_ADDR": "256.0.0.1:80"},
			wantErr: "listen for HTTP",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := run(t.Context(), tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("run() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestRun runs the gateway as main does, against a real Redis, and checks that it serves gRPC
// and HTTP and that it stops cleanly when its context ends.
func TestRun(t *testing.T) {
	srv := testserver.StartRedis(t)
	rdb := planstore.NewClient(planstore.Options{Addrs: []string{srv.Addr}})
	t.Cleanup(func() { rdb.Close() })
	now := time.Now().UTC()
	p := testPlan("api", 1, 4, 4, 4)
	p.GeneratedAt, p.Start, p.ValidUntil = now.Add(-time.Second), now.Add(-time.Second), now.Add(2*time.Minute)
	if err := planstore.New(rdb, "").Put(t.Context(), p, time.Hour); err != nil {
		t.Fatal(err)
	}

	env := map[string]string{
		"KEDASTRAL_REDIS_ADDR":       srv.Addr,
		"KEDASTRAL_GRPC_ADDR":        "127.0.0.1:0",
		"KEDASTRAL_HTTP_ADDR":        "127.0.0.1:0",
		"KEDASTRAL_SHUTDOWN_TIMEOUT": "2s",
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &logLines{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, out) }()
	serving := out.wait(t, "serving", done)
	grpcAddr, httpAddr := serving["grpc"].(string), serving["http"].(string)

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, service := range []string{"", "externalscaler.ExternalScaler"} {
		h, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health Check(%q) = %v, %v, want SERVING", service, h, err)
		}
	}
	m, err := pb.NewExternalScalerClient(conn).GetMetrics(t.Context(), &pb.GetMetricsRequest{
		ScaledObjectRef: &pb.ScaledObjectRef{Name: "so", Namespace: "shop", ScalerMetadata: map[string]string{"workload": "api"}},
		MetricName:      "kedastral-api-desired-replicas",
	})
	if err != nil || m.GetMetricValues()[0].GetMetricValueFloat() != 4 {
		t.Errorf("GetMetrics() = %v, %v, want 4", m, err)
	}
	stream, err := pb.NewExternalScalerClient(conn).StreamIsActive(t.Context(),
		&pb.ScaledObjectRef{Name: "so", Namespace: "shop", ScalerMetadata: map[string]string{"workload": "api"}})
	if err != nil {
		t.Fatal(err)
	}
	recvActive(t, stream, true)

	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ok",
		"/metrics": `kedastral_gateway_requests_total{code="OK",rpc="GetMetrics"} 1`,
	} {
		body, code := httpGet(t, "http://"+httpAddr+path)
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d, body without %q:\n%s", path, code, want, body)
		}
	}

	// The open stream must not hold shutdown up: it ends, and run returns nil well within the
	// shutdown timeout.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() = %v, want nil after its context ended", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run() did not return within 5s of its context ending")
	}
	if _, err := recvWithin(stream, time.Second); err == nil {
		t.Error("StreamIsActive still open after run returned")
	}
}

func httpGet(t *testing.T, url string) (string, int) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return string(b), resp.StatusCode
}

// logLines collects JSON log lines written by run, for a test to wait on.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// wait returns the first log record with message msg, failing if run ends or 10s pass first.
func (l *logLines) wait(t *testing.T, msg string, done <-chan error) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("run() returned %v before logging %q", err, msg)
		default:
		}
		l.mu.Lock()
		sc := bufio.NewScanner(bytes.NewReader(bytes.Clone(l.buf.Bytes())))
		l.mu.Unlock()
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == msg {
				return rec
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("run() did not log %q within 10s", msg)
	return nil
}

// TestServeGRPCStoppedBeforeServing: a shutdown that arrives while the gateway is starting (a
// pod deleted as it starts) is a clean stop, however the stop and Serve interleave.
func TestServeGRPCStoppedBeforeServing(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for range 50 {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := serveGRPC(ctx, grpc.NewServer(), lis, time.Second, func() {}); err != nil {
			t.Fatalf("serveGRPC after a shutdown during start-up = %v, want nil", err)
		}
	}
}
