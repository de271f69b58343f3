package main

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kedastral/kedastral/pkg/buildinfo"
	"github.com/kedastral/kedastral/pkg/plan"
)

// metrics are the agent's Prometheus metrics. Every one carries the workload's namespace and
// name as constant labels, so that agents of many workloads aggregate cleanly.
type metrics struct {
	predicted       prometheus.Gauge
	upper           prometheus.Gauge
	observed        prometheus.Gauge
	generation      prometheus.Gauge
	cycleDuration   prometheus.Histogram
	cycleErrors     *prometheus.CounterVec
	samplesRejected prometheus.Counter
	superseded      prometheus.Counter
	accuracyMode    prometheus.Gauge
	headroomFactor  prometheus.Gauge
	exceedance      prometheus.Gauge
	leadTime        prometheus.Gauge
	leaseHeld       prometheus.Gauge
	lastPublish     atomic.Int64 // wall-clock UnixNano of the last published plan; 0 = never
}

// newMetrics registers the agent's metrics on reg. replicasNow reports what the published plan
// asks for at the moment of a scrape (NaN when there is no valid plan), since that changes as
// time moves through the plan even when no new plan arrives.
func newMetrics(reg prometheus.Registerer, w plan.Workload, replicasNow func() float64) *metrics {
	labels := prometheus.Labels{"namespace": w.Namespace, "workload": w.Name}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "kedastral", Name: name, Help: help, ConstLabels: labels})
	}
	m := &metrics{
		predicted:  gauge("predicted_value", "Point forecast of the metric for the plan's first step."),
		upper:      gauge("predicted_upper_value", "Upper-quantile forecast of the metric for the plan's first step."),
		observed:   gauge("observed_value", "Newest observed value of the metric."),
		generation: gauge("plan_generation", "Generation of the last published plan."),
		cycleDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "kedastral", Name: "cycle_duration_seconds", ConstLabels: labels,
			Help:    "Duration of one fetch-forecast-publish cycle.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
		}),
		cycleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kedastral", Name: "cycle_errors_total", ConstLabels: labels,
			Help: "Failed cycles by stage (fetch, stale, forecast, publish).",
		}, []string{"stage"}),
		samplesRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kedastral", Name: "samples_rejected_total", ConstLabels: labels,
			Help: "Samples dropped because they were NaN or infinite.",
		}),
		superseded: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "kedastral", Name: "plans_superseded_total", ConstLabels: labels,
			Help: "Plans not stored because another agent of the workload had stored a newer one.",
		}),
		accuracyMode: gauge("accuracy_mode",
			"Accuracy guard: 0 trusted, 1 widened (the forecast is exceeded more often than calibrated, headroom widened), 2 fallback (planning from the observed value alone, headroom widened); NaN while standing by."),
		headroomFactor: gauge("headroom_factor", "Factor the accuracy guard multiplies the headroom by (1 unless widened); NaN while standing by."),
		exceedance: gauge("upper_exceedance_ratio",
			"Share of recent actuals above the upper-quantile forecast made a lead time before them (calibrated: 1 - quantile); NaN while standing by."),
	}
	m.headroomFactor.Set(1)
	m.leaseHeld = gauge("lease_held", "1 while this agent plans for the workload (it holds the lease, or KEDASTRAL_LEASE is off), 0 while it stands by for another; the other metrics then describe the plan that agent stored.")
	m.leaseHeld.Set(1)
	m.leadTime = gauge("lead_time_seconds", "Lead time the gateway looks ahead by: configured, or measured pod start-up p90 plus scaling delay with KEDASTRAL_LEAD_TIME=auto.")
	forecastAge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "kedastral", Name: "forecast_age_seconds", ConstLabels: labels,
		Help: "Seconds since the workload's plan was published (by this agent, or by the lease holder while this one stands by); -1 before the first.",
	}, func() float64 {
		t := m.lastPublish.Load()
		if t == 0 {
			return -1
		}
		return time.Since(time.Unix(0, t)).Seconds()
	})
	desired := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "kedastral", Name: "desired_replicas", ConstLabels: labels,
		Help: "Replicas the published plan asks for now (max over the lead window), as the gateway answers KEDA; NaN without a valid plan.",
	}, replicasNow)
	for _, s := range []string{stageFetch, stageStale, stageForecast, stagePublish} {
		m.cycleErrors.WithLabelValues(s) // so that rate() works from the first error on
	}
	reg.MustRegister(buildinfo.Collector(), m.predicted, m.upper, m.observed, m.generation, m.cycleDuration,
		m.cycleErrors, m.samplesRejected, m.superseded, m.accuracyMode, m.headroomFactor, m.exceedance, m.leadTime, m.leaseHeld,
		forecastAge, desired)
	return m
}

// handler serves the agent's HTTP endpoints.
func (a *agent) handler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	// readyz says whether a valid plan is published. It is for monitoring, not for a readiness
	// probe: the agent runs in the application's pod, and failing the pod's readiness would take
	// the application out of its Service.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		s := a.snapshot()
		if s.Replicas == nil {
			msg := "no valid plan published"
			if s.LastError != "" {
				msg += ": " + s.LastError
			}
			http.Error(w, msg, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /plan", func(w http.ResponseWriter, _ *http.Request) {
		s := a.snapshot()
		if s.Published == nil {
			http.Error(w, "no plan published yet", http.StatusServiceUnavailable)
			return
		}
		b, err := plan.Marshal(*s.Published)
		if err != nil { // cannot happen: the plan was validated before it was published
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(a.snapshot())
	})
	return mux
}
