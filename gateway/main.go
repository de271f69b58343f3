// Command gateway is Kedastral's KEDA External Scaler: a stateless gRPC server that answers
// KEDA with the replica counts of the capacity plans agents keep in Redis. Run `gateway --help`
// for its configuration.
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
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "gateway: %v\n", err)
		os.Exit(1)
	}
}
