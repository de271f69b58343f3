package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/kedastral/kedastral/pkg/buildinfo"
	"github.com/kedastral/kedastral/pkg/planstore"
	pb "github.com/kedastral/kedastral/proto/externalscaler"
)

// run is the whole gateway: it reads its configuration through getenv, serves until ctx ends,
// then shuts down gracefully and returns nil. Logs and --help go to stdout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the problem is returned, and help is printed below
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return printHelp(stdout)
		}
		return fmt.Errorf("%w (see --help)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q: the gateway is configured through KEDASTRAL_* variables (see --help)", fs.Args())
	}
	if *showVersion {
		_, err := fmt.Fprintln(stdout, buildinfo.String("gateway"))
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(stdout, cfg.LogLevel, cfg.LogFormat)
	planstore.SetRedisLogger(log)
	return serve(ctx, cfg, log)
}

// serve wires the gateway together and runs it until ctx ends.
func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	opts := cfg.Options
	// Every read is bounded by RequestTimeout through its context; a dial must not outlast it
	// either, or a dead Redis host would hold a connection slot past the answer.
	opts.DialTimeout = cfg.RequestTimeout
	client := planstore.NewClient(opts)
	defer client.Close() // nothing to do about an error closing connections we are done with
	store := planstore.New(client, cfg.Prefix)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := newMetrics(reg)
	changes := newHub()
	sc := newScaler(store, changes, cfg.RequestTimeout, m)

	var serverOpts []grpc.ServerOption
	if cfg.TLSCertFile != "" {
		files, err := newTLSFiles(cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLSClientCAFile, log)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		serverOpts = append(serverOpts, grpc.Creds(credentials.NewTLS(files.config())))
	}

	// Listen before serving so that a bad or busy address fails start-up with a clear error,
	// and so that connections arriving early queue instead of being refused.
	grpcLis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("listen for gRPC: %w", err)
	}
	httpLis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		grpcLis.Close()
		return fmt.Errorf("listen for HTTP: %w", err)
	}

	hs := health.NewServer()
	gs := newGRPCServer(sc, hs, m, log, serverOpts...)
	var ready atomic.Bool
	hsrv := &http.Server{
		Handler:           newHTTPHandler(reg, &ready),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	g, gctx := errgroup.WithContext(ctx)
	grpcDone := make(chan struct{})
	g.Go(func() error {
		// One Redis subscription for the whole process, fanned out to the streams.
		changes.run(store.Watch(gctx))
		return nil
	})
	g.Go(func() error {
		defer close(grpcDone)
		return serveGRPC(gctx, gs, grpcLis, cfg.ShutdownTimeout, func() {
			// Stop advertising first, so that load balancers and probes move new work away
			// while the calls in flight drain; then end the streams, which would otherwise
			// hold GracefulStop until the deadline.
			ready.Store(false)
			hs.Shutdown()
			sc.endStreams()
		})
	})
	g.Go(func() error {
		// HTTP outlives gRPC, so /readyz reports the drain and /metrics can be scraped until
		// the end.
		return serveHTTP(gctx, hsrv, httpLis, grpcDone, cfg.ShutdownTimeout)
	})

	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(pb.ExternalScaler_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	ready.Store(true)
	log.Info("serving",
		slog.String("version", buildinfo.Version()),
		slog.String("grpc", grpcLis.Addr().String()),
		slog.String("http", httpLis.Addr().String()),
		slog.String("redis", strings.Join(cfg.Addrs, ",")),
		slog.String("redisPrefix", cfg.Prefix),
		slog.Bool("tls", cfg.TLSCertFile != ""),
		slog.Bool("mutualTLS", cfg.TLSClientCAFile != ""),
	)
	err = g.Wait()
	log.Info("stopped")
	return err
}

// newGRPCServer builds the gRPC server with the External Scaler and health services behind the
// interceptors that map errors to status codes, count and log.
func newGRPCServer(sc *scaler, hs *health.Server, m *metrics, log *slog.Logger, opts ...grpc.ServerOption) *grpc.Server {
	gs := grpc.NewServer(append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(m.unaryInterceptor(log)),
		grpc.ChainStreamInterceptor(m.streamInterceptor(log)),
	}, opts...)...)
	pb.RegisterExternalScalerServer(gs, sc)
	healthpb.RegisterHealthServer(gs, hs)
	return gs
}

// serveGRPC serves until ctx ends, then calls drain, stops gracefully, and cuts whatever is
// still open after timeout. It returns nil after a shutdown caused by ctx.
func serveGRPC(ctx context.Context, gs *grpc.Server, lis net.Listener, timeout time.Duration, drain func()) error {
	served := make(chan error, 1)
	go func() { served <- gs.Serve(lis) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve gRPC: %w", err)
	case <-ctx.Done():
	}
	drain()
	stopped := make(chan struct{})
	go func() {
		gs.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-stopped:
	case <-timer.C:
		gs.Stop()
		<-stopped
	}
	// nil once Stop or GracefulStop has run, or ErrServerStopped when that happened before Serve
	// began (a shutdown during start-up): either way a clean stop.
	if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve gRPC: %w", err)
	}
	return nil
}

// serveHTTP serves until ctx ends and after closes, then shuts down within timeout.
func serveHTTP(ctx context.Context, srv *http.Server, lis net.Listener, after <-chan struct{}, timeout time.Duration) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve HTTP: %w", err)
	case <-ctx.Done():
	}
	<-after
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down HTTP: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve HTTP: %w", err)
	}
	return nil
}

// newHTTPHandler serves the metrics and the probes. Readiness does not depend on Redis on
// purpose: every replica shares the same Redis, so failing readiness would empty the Service,
// and KEDA would get "connection refused" instead of an Unavailable status that says what is
// wrong (and that engages the ScaledObject's fallback just the same).
func newHTTPHandler(reg *prometheus.Registry, ready *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	return mux
}

// logLevels are the values KEDASTRAL_LOG_LEVEL takes.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// newLogger builds the logger for a validated level and format.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevels[strings.ToLower(level)]}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
