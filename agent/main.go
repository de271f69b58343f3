// Command agent is Kedastral's per-workload agent: it reads its workload's metric from
// Prometheus (or replays a recorded trace), forecasts the next minutes, turns the forecast into
// a replica plan and publishes the plan to Redis, where the gateway answers KEDA from it.
//
// It is configured by KEDASTRAL_* environment variables; `agent --help` lists them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kedastral/kedastral/pkg/planstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	planstore.RouteRedisLogs() // process-wide: here, not in run, which tests call
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "agent: %v\n", err)
		os.Exit(1)
	}
}
