package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/kedastral/kedastral/pkg/plan"
	pb "github.com/kedastral/kedastral/proto/externalscaler"
)

// The workload the demo's agent plans for and its client asks about.
const (
	workload  = "web"
	namespace = "demo"
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kedastral-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	redisAddr, stopRedis, err := startRedis(ctx, dir, o.embeddedRedis)
	if err != nil {
		return err
	}
	defer stopRedis()

	var addrs [3]string
	for i := range addrs {
		if addrs[i], err = freeAddr(); err != nil {
			return err
		}
	}
	grpcAddr, gwHTTP, agentHTTP := addrs[0], addrs[1], addrs[2]
	gw, err := start(o.gatewayBin, filepath.Join(dir, "gateway.log"),
		"KEDASTRAL_REDIS_ADDR="+redisAddr, "KEDASTRAL_GRPC_ADDR="+grpcAddr, "KEDASTRAL_HTTP_ADDR="+gwHTTP)
	if err != nil {
		return err
	}
	defer gw.stop()
	ag, err := start(o.agentBin, filepath.Join(dir, "agent.log"),
		"KEDASTRAL_WORKLOAD="+workload, "KEDASTRAL_NAMESPACE="+namespace,
		"KEDASTRAL_REPLAY_FILE="+o.trace, fmt.Sprintf("KEDASTRAL_REPLAY_SPEED=%g", o.speed),
		"KEDASTRAL_HISTORY="+o.history, fmt.Sprintf("KEDASTRAL_TARGET_PER_POD=%g", o.targetPerPod),
		"KEDASTRAL_REDIS_ADDR="+redisAddr, "KEDASTRAL_HTTP_ADDR="+agentHTTP,
		// One cycle per replayed step, so that every printed line reflects a fresh plan.
		"KEDASTRAL_INTERVAL=1m", "KEDASTRAL_MAX_REPLICAS=50")
	if err != nil {
		return err
	}
	defer ag.stop()

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial gateway: %w", err)
	}
	defer conn.Close()
	keda := pb.NewExternalScalerClient(conn)
	ref := &pb.ScaledObjectRef{Name: workload + "-scaler", Namespace: namespace,
		ScalerMetadata: map[string]string{"workload": workload, "scalerAddress": grpcAddr}}

	fmt.Fprintf(stdout, "redis %s · gateway %s (gRPC) · agent replaying %s at %g× · logs in %s\n",
		redisAddr, grpcAddr, filepath.Base(o.trace), o.speed, dir)
	spec, err := waitForSpec(ctx, keda, ref, ag, gw)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "KEDA GetMetricSpec → metric %q, target %g (the value is a replica count)\n",
		spec.MetricName, spec.TargetSizeFloat)
	unknown := &pb.ScaledObjectRef{Namespace: namespace, ScalerMetadata: map[string]string{"workload": "no-such-app"}}
	if _, err := keda.GetMetricSpec(ctx, unknown); err != nil {
		fmt.Fprintf(stdout, "KEDA GetMetricSpec for an unknown workload → %s: %s\n", status.Code(err), status.Convert(err).Message())
	}
	fmt.Fprintln(stdout)
	return follow(ctx, o, keda, ref, spec.MetricName, "http://"+agentHTTP, ag, stdout)
}

// follow prints one line per replayed step until ctx ends, the replay ends or o.steps lines
// have been printed, then a summary.
func follow(ctx context.Context, o options, keda pb.ExternalScalerClient, ref *pb.ScaledObjectRef,
	metric, agentURL string, ag *proc, stdout io.Writer) error {
	const header = "%-20s %8s %9s %6s %6s %6s %7s\n"
	fmt.Fprintf(stdout, header, "time", "actual", "forecast", "p90", "plan", "keda", "active")
	var (
		lastT           time.Time
		prevFc, prevP90 = math.NaN(), math.NaN()
		lines           int
		absErr, covered float64
		scored          int
		tick            = time.NewTicker(time.Duration(float64(time.Minute) / o.speed / 2))
	)
	defer tick.Stop()
	summary := func() {
		if scored > 0 {
			fmt.Fprintf(stdout, "\n%d steps · forecast MAE %.1f (1 step ahead) · actual ≤ p90 in %.0f%% of steps\n",
				lines, absErr/float64(scored), 100*covered/float64(scored))
		}
	}
	for {
		select {
		case <-ctx.Done():
			summary()
			return nil
		case <-ag.exited:
			summary()
			if ag.err != nil {
				return fmt.Errorf("agent exited: %v\n%s", ag.err, ag.tail())
			}
			fmt.Fprintln(stdout, "replay finished")
			return nil
		case <-tick.C:
		}
		var st agentStatus
		if err := getJSON(ctx, agentURL+"/status", &st); err != nil || st.LastSample == nil {
			continue
		}
		if !st.LastSample.Time.After(lastT) {
			continue
		}
		lastT = st.LastSample.Time
		var p plan.Plan
		if err := getJSON(ctx, agentURL+"/plan", &p); err != nil || len(p.Predicted) == 0 {
			continue
		}
		answer := "-"
		if r, err := keda.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref, MetricName: metric}); err == nil && len(r.MetricValues) == 1 {
			answer = fmt.Sprintf("%g", r.MetricValues[0].MetricValueFloat)
		} else if err != nil {
			answer = status.Code(err).String()
		}
		active := "-"
		if r, err := keda.IsActive(ctx, ref); err == nil {
			active = fmt.Sprint(r.Result)
		} else {
			active = status.Code(err).String()
		}
		planned := "-"
		if st.Replicas != nil {
			planned = fmt.Sprint(*st.Replicas)
		}
		actual := st.LastSample.Value
		fmt.Fprintf(stdout, header, lastT.UTC().Format("2006-01-02 15:04"), fmt.Sprintf("%.0f", actual),
			num(prevFc), num(prevP90), planned, answer, active)
		if !math.IsNaN(prevFc) {
			scored++
			absErr += math.Abs(actual - prevFc)
			if actual <= prevP90 {
				covered++
			}
		}
		prevFc, prevP90 = p.Predicted[0], p.Upper[0]
		if lines++; o.steps > 0 && lines >= o.steps {
			summary()
			return nil
		}
	}
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}

// agentStatus is the part of the agent's /status the demo reads.
type agentStatus struct {
	LastSample *struct {
		Time  time.Time `json:"time"`
		Value float64   `json:"value"`
	} `json:"lastSample"`
	Replicas *int32 `json:"replicas"`
}

// waitForSpec asks the gateway for the metric spec until the agent's first plan is there.
func waitForSpec(ctx context.Context, keda pb.ExternalScalerClient, ref *pb.ScaledObjectRef, procs ...*proc) (*pb.MetricSpec, error) {
	deadline := time.Now().Add(30 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		for _, p := range procs {
			select {
			case <-p.exited:
				return nil, fmt.Errorf("%s exited: %v\n%s", filepath.Base(p.cmd.Path), p.err, p.tail())
			default:
			}
		}
		r, err := keda.GetMetricSpec(ctx, ref)
		if err == nil && len(r.MetricSpecs) == 1 {
			return r.MetricSpecs[0], nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("no plan reached the gateway within 30s: %v", lastErr)
}

// startRedis starts a real redis-server when one is installed, and an embedded
// Redis-protocol server (miniredis) otherwise or when embedded is set, so the demo needs
// nothing installed.
func startRedis(ctx context.Context, dir string, embedded bool) (addr string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil || embedded {
		m := miniredis.NewMiniRedis()
		if err := m.Start(); err != nil {
			return "", nil, fmt.Errorf("start embedded redis: %w", err)
		}
		return m.Addr(), m.Close, nil
	}
	if addr, err = freeAddr(); err != nil {
		return "", nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	p, err := startArgs(bin, []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir},
		filepath.Join(dir, "redis.log"))
	if err != nil {
		return "", nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err := rdb.Ping(ctx).Err(); err == nil {
			return addr, p.stop, nil
		} else if time.Now().After(deadline) {
			p.stop()
			return "", nil, fmt.Errorf("redis-server did not answer within 10s: %v\n%s", err, p.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// proc is a child process whose output goes to a log file.
type proc struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error // valid after exited is closed
}

func start(bin, logPath string, env ...string) (*proc, error) {
	return startArgs(bin, nil, logPath, env...)
}

func startArgs(bin string, args []string, logPath string, env ...string) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), append(env, "KEDASTRAL_LOG_FORMAT=text")...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &proc{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	return p, nil
}

// stop asks the process to shut down (SIGTERM) and kills it if it has not within 10s.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// tail is the end of the process's log, for error messages.
func (p *proc) tail() string {
	b, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-10):], "\n")
}

// freeAddr finds a free loopback port. Another process could take it before ours binds it;
// on a demo machine that race is remote enough.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
