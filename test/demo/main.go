// Command demo runs Kedastral's whole path on one machine with nothing installed: a Redis
// (redis-server when there is one, an embedded Redis-protocol server otherwise), the real
// gateway binary, the real agent binary replaying a recorded trace at high speed, and a client
// that asks the gateway for the workload's replicas exactly as KEDA does. It prints one line per
// replayed step, and stops after one replayed day (--steps) or cleanly on Ctrl-C, with the
// forecast's error and the p90's coverage.
//
//	make demo                       # builds the binaries and runs this
//	bin/demo --speed 600 --steps 100
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	agentBin, gatewayBin string
	trace                string
	speed                float64
	steps                int
	history              string
	targetPerPod         float64
	embeddedRedis        bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `demo — Kedastral end to end on one machine: Redis, the gateway, the agent replaying a real
trace, and a client speaking KEDA's External Scaler protocol. One line per replayed step:

  time      the replayed instant (trace time)
  actual    the load observed at that instant
  forecast  what the agent forecast for that instant one step earlier, and its p90
  plan      replicas the agent's plan asks for now (the most over the lead window)
  keda      what the gateway answered GetMetrics, as KEDA would ask it
  active    what the gateway answered IsActive

Flags:`)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.agentBin, "agent", "bin/agent", "path of the agent binary")
	fs.StringVar(&o.gatewayBin, "gateway", "bin/gateway", "path of the gateway binary")
	fs.StringVar(&o.trace, "trace", "test/testdata/nasa_http_1995_07_1min_10d.csv", "trace to replay (CSV timestamp,value)")
	fs.Float64Var(&o.speed, "speed", 300, "replayed seconds per real second (300: a 1-minute step every 200ms)")
	fs.IntVar(&o.steps, "steps", 1440, "stop after this many steps (1440: one replayed day of the default trace, about 5 minutes at the default speed; 0: at the end of the trace or on Ctrl-C)")
	fs.StringVar(&o.history, "history", "2d", "history the agent back-fills before the replay starts")
	fs.Float64Var(&o.targetPerPod, "target-per-pod", 15, "requests per minute one replica handles")
	fs.BoolVar(&o.embeddedRedis, "embedded-redis", false, "use the embedded Redis-protocol server even when redis-server is installed")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []string
	if !(o.speed > 0) {
		errs = append(errs, fmt.Sprintf("--speed must be > 0 (got %v)", o.speed))
	}
	if o.steps < 0 {
		errs = append(errs, fmt.Sprintf("--steps must be >= 0 (got %d)", o.steps))
	}
	if !(o.targetPerPod > 0) {
		errs = append(errs, fmt.Sprintf("--target-per-pod must be > 0 (got %v)", o.targetPerPod))
	}
	for _, p := range []string{o.agentBin, o.gatewayBin, o.trace} {
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, fmt.Sprintf("%v (run `make build` first, or from the project root)", err))
		}
	}
	if len(errs) > 0 {
		return o, errors.New(strings.Join(errs, "\n"))
	}
	return o, nil
}
