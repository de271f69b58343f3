package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/kedastral/kedastral/pkg/buildinfo"
	"github.com/kedastral/kedastral/pkg/capacity"
	"github.com/kedastral/kedastral/pkg/envconf"
	"github.com/kedastral/kedastral/pkg/planstore"
	"github.com/kedastral/kedastral/pkg/promsource"
	"github.com/kedastral/kedastral/pkg/series"
)

const usageHeader = `agent — Kedastral's per-workload forecasting agent.

Every KEDASTRAL_INTERVAL it reads the workload's metric (KEDASTRAL_QUERY) from Prometheus, or
from a replayed CSV trace, forecasts KEDASTRAL_HORIZON ahead with an upper quantile, turns the
forecast into replicas and publishes the plan to Redis. Each step asks for
ceil(max(upper quantile, last observed value) × headroom / target per pod), clamped to
[min, max], with known events (KEDASTRAL_EVENTS) merged in; an accuracy guard widens the
headroom, or plans from the observed value alone, while the forecast misses more often than
calibrated. The gateway answers KEDA with the most replicas the plan asks for over the next
KEDASTRAL_LEAD_TIME (auto: measured pod start-up from kube-state-metrics). It serves /metrics,
/healthz, /readyz, /plan and /status on KEDASTRAL_HTTP_ADDR.

Usage: agent [--help | --version]
       agent backtest --input FILE.csv [flags]   (forecast accuracy; agent backtest --help)
       agent backtest --simulate --input FILE.csv [flags]
                                                 (scaling simulation; agent backtest --simulate --help)
       agent export [flags] > FILE.csv           (the metric's history from Prometheus as a trace;
                                                 agent export --help)

Configuration (environment variables):

`

// run is the agent's whole life: parse arguments and configuration, wire the parts and run them
// until ctx ends. It returns nil on a clean shutdown, and when a replayed trace is exhausted.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "backtest" {
		return runBacktest(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "export" {
		return runExport(ctx, args[1:], getenv, stdout, stderr)
	}
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help", "help":
			fmt.Fprint(stdout, usageHeader)
			return envconf.Usage(stdout, envPrefix, &Config{})
		case "-version", "--version", "version":
			_, err := fmt.Fprintln(stdout, buildinfo.String("agent"))
			return err
		default:
			return fmt.Errorf("unknown argument %q (the agent is configured by environment variables; see --help)", a)
		}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	planstore.SetRedisLogger(log)

	var (
		startup startupSource
		src     source
		clk     clock = wallClock{}
		isEnd   func() bool
	)
	if cfg.ReplayFile != "" {
		r, err := newReplay(cfg.ReplayFile, cfg.ReplaySpeed, cfg.History, time.Now)
		if err != nil {
			return err
		}
		src, clk, isEnd = r, r.clock, r.done
		log.Info("replaying trace", "file", cfg.ReplayFile, "speed", cfg.ReplaySpeed, "from", r.clock.simStart)
	} else {
		opts, _ := cfg.promOptions() // already validated
		s, err := promsource.New(opts, cfg.Query)
		if err != nil {
			return err
		}
		src = s
		if _, auto, _ := cfg.leadTime(); auto {
			startup = s
		}
	}

	model, err := cfg.model(ctx)
	if err != nil {
		return err
	}
	planner, err := cfg.planner(model)
	if err != nil {
		return err
	}
	history, err := series.NewBuffer(cfg.Step, cfg.historyPoints())
	if err != nil {
		return err
	}
	rdb := planstore.NewClient(cfg.Options)
	defer rdb.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	store := planstore.New(rdb, cfg.Prefix)
	a := &agent{
		cfg:     cfg,
		src:     src,
		store:   store,
		clock:   clk,
		planner: planner,
		history: history,
		log:     log,
	}
	if cfg.Lease {
		a.lease, a.holder = store, holderName()
	}
	a.metrics = newMetrics(reg, cfg.workload(), func() float64 {
		if r := a.snapshot().Replicas; r != nil {
			return float64(*r)
		}
		return math.NaN()
	})
	a.metrics.leadTime.Set(a.planner.Policy.LeadTime.D().Seconds())
	a.startup = startup

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on KEDASTRAL_HTTP_ADDR: %w", err)
	}
	srv := &http.Server{Handler: a.handler(reg), ReadHeaderTimeout: 5 * time.Second}
	log.Info("agent started", "version", buildinfo.Version(), "model", cfg.Model,
		"http", ln.Addr().String(), "step", cfg.Step, "interval", cfg.Interval, "horizon", cfg.Horizon)
	if ev := a.planner.Rules.Events; len(ev) > 0 {
		// As understood, in one line, so that a user can check KEDASTRAL_EVENTS was read right.
		log.Info("scheduled events", "count", len(ev), "events", capacity.FormatEvents(ev))
	}

	// The cycle ends the group when a replay is exhausted, so it cancels the group's context;
	// the HTTP server then shuts down with it.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := a.Run(gctx, isEnd); err != nil {
			return err
		}
		return errDone
	})
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx)
	})
	if err := g.Wait(); err != nil && !errors.Is(err, errDone) {
		return err
	}
	log.Info("agent stopped")
	return nil
}

// holderName names this agent in the workload's lease: the host (the pod) and a random part,
// so that two agents on one host, or a restarted one, are told apart.
func holderName() string {
	host, _ := os.Hostname() // "" is fine: the random part alone is unique enough
	b := make([]byte, 6)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return host + "/" + hex.EncodeToString(b)
}

// errDone ends the errgroup when the cycle loop returns, which it does only on shutdown or at
// the end of a replay.
var errDone = errors.New("cycle loop finished")

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	level, _ := cfg.logLevel() // already validated
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(h).With("workload", cfg.workload().String())
}
