package main

import (
	"context"
	"log/slog"
	"path"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kedastral/kedastral/pkg/buildinfo"
	pb "github.com/kedastral/kedastral/proto/externalscaler"
)

// metrics are the gateway's own Prometheus metrics.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	streams  *prometheus.GaugeVec
	planAge  prometheus.Histogram
}

// newMetrics registers the gateway's metrics with reg. It panics if they are registered twice,
// which is a programming error.
func newMetrics(reg prometheus.Registerer) *metrics {
	const ns, sub = "kedastral", "gateway"
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "gRPC calls answered, by method and status code; a stream counts once, when it ends.",
		}, []string{"rpc", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "request_duration_seconds",
			Help:    "Time to answer unary gRPC calls, by method. Streams are left out: they live as long as KEDA keeps them.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5ms to 4s, past the default request timeout
		}, []string{"rpc"}),
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "streams_open",
			Help: "gRPC streams open now, by method.",
		}, []string{"rpc"}),
		planAge: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "plan_age_seconds",
			Help:    "Age of each plan an answer to KEDA was computed from (now - generatedAt); it grows when agents fall behind.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200},
		}),
	}
	reg.MustRegister(buildinfo.Collector(), m.requests, m.duration, m.streams, m.planAge)
	return m
}

// Log attribute keys.
const (
	keyRPC          = "rpc"
	keyCode         = "code"
	keyScaledObject = "scaledObject"
	keyError        = "error"
	keyDuration     = "duration"
)

// unaryInterceptor turns handler errors into status codes (toStatus), then counts, times and
// logs each call. It is the only place unary errors are logged.
func (m *metrics) unaryInterceptor(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		err = toStatus(err)
		took := time.Since(start)
		rpc := path.Base(info.FullMethod)
		m.requests.WithLabelValues(rpc, status.Code(err).String()).Inc()
		m.duration.WithLabelValues(rpc).Observe(took.Seconds())
		logResult(ctx, log, rpc, req, took, err)
		return resp, err
	}
}

// streamInterceptor is unaryInterceptor for streams, which are counted when they end and
// gauged while open.
func (m *metrics) streamInterceptor(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		rpc := path.Base(info.FullMethod)
		open := m.streams.WithLabelValues(rpc)
		open.Inc()
		defer open.Dec()
		rs := &recordingStream{ServerStream: ss}
		err := toStatus(handler(srv, rs))
		m.requests.WithLabelValues(rpc, status.Code(err).String()).Inc()
		logResult(ss.Context(), log, rpc, rs.req, time.Since(start), err)
		return err
	}
}

// recordingStream keeps the request of a server-streaming call, for the log.
type recordingStream struct {
	grpc.ServerStream
	req any
}

func (s *recordingStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.req = m
	}
	return err
}

// logResult logs failed calls: requests the user must fix at warn, the gateway's own trouble at
// error. Successes are not logged; KEDA calls every polling interval, and the metrics count them.
func logResult(ctx context.Context, log *slog.Logger, rpc string, req any, took time.Duration, err error) {
	if err == nil {
		return
	}
	code := status.Code(err)
	level := slog.LevelError
	switch code {
	case codes.InvalidArgument, codes.NotFound:
		level = slog.LevelWarn
	case codes.Canceled:
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{
		slog.String(keyRPC, rpc),
		slog.String(keyCode, code.String()),
		slog.Duration(keyDuration, took),
		slog.String(keyError, status.Convert(err).Message()),
	}
	if ref := scaledObjectOf(req); ref.GetName() != "" || ref.GetNamespace() != "" {
		attrs = append(attrs, slog.String(keyScaledObject, ref.GetNamespace()+"/"+ref.GetName()))
	}
	log.LogAttrs(ctx, level, "call failed", attrs...)
}

// scaledObjectOf finds the ScaledObject a request is about, if it is an External Scaler request.
func scaledObjectOf(req any) *pb.ScaledObjectRef {
	switch r := req.(type) {
	case *pb.ScaledObjectRef:
		return r
	case *pb.GetMetricsRequest:
		return r.GetScaledObjectRef()
	}
	return nil
}
