package testserver

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// KSM stands in for kube-state-metrics: an HTTP server on a loopback port whose metrics page
// holds the pod series Kedastral reads, for the pods a test declares, named, labelled and
// valued as kube-state-metrics v2.8.1 and later export them. Point StartPrometheus at Addr.
// Its methods are safe for concurrent use, and a scrape sees each change whole. Get one from
// StartKSM.
type KSM struct {
	// Addr is the server's host:port on the loopback interface.
	Addr string

	mu      sync.Mutex // held by SetPod, DeletePod and each scrape
	created *prometheus.GaugeVec
	ready   *prometheus.GaugeVec
	owner   *prometheus.GaugeVec
	handler http.Handler
}

// Pod is a pod as kube-state-metrics sees it.
type Pod struct {
	Namespace, Name, UID string
	// OwnerKind and OwnerName are the pod's controller, e.g. "ReplicaSet" and "api-7d9f8c6b5";
	// both empty for a pod without one, which kube-state-metrics reports as "<none>".
	OwnerKind, OwnerName string
	// Created is metadata.creationTimestamp: kube_pod_created.
	Created time.Time
	// Ready is when the Ready condition last became True: kube_pod_status_ready_time. Zero
	// while the pod is not ready, when kube-state-metrics exports no such series.
	Ready time.Time
}

// StartKSM starts a KSM exposing no pods yet. The server is closed when the test ends.
func StartKSM(t testing.TB) *KSM {
	t.Helper()
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, append([]string{"namespace", "pod", "uid"}, labels...))
	}
	k := &KSM{
		created: gauge("kube_pod_created", "Unix creation timestamp"),
		ready:   gauge("kube_pod_status_ready_time", "Readiness achieved time in unix timestamp for a pod."),
		owner:   gauge("kube_pod_owner", "Information about the Pod's owner.", "owner_kind", "owner_name", "owner_is_controller"),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(k.created, k.ready, k.owner)
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	k.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		defer k.mu.Unlock()
		metrics.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(k.handler)
	t.Cleanup(srv.Close)
	k.Addr = srv.Listener.Addr().String()
	return k
}

// Handler serves the metrics page. Serve it from a second server to act as a second
// kube-state-metrics replica, whose series differ only in their instance label.
func (k *KSM) Handler() http.Handler { return k.handler }

// SetPod adds the pod, or replaces the series of the pod with its namespace and name. Times
// are exported in whole seconds, as kube-state-metrics does.
func (k *KSM) SetPod(p Pod) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.deleteLocked(p.Namespace, p.Name)
	k.created.WithLabelValues(p.Namespace, p.Name, p.UID).Set(float64(p.Created.Unix()))
	if !p.Ready.IsZero() {
		k.ready.WithLabelValues(p.Namespace, p.Name, p.UID).Set(float64(p.Ready.Unix()))
	}
	kind, name, controller := p.OwnerKind, p.OwnerName, "true"
	if kind == "" && name == "" {
		kind, name, controller = "<none>", "<none>", "<none>"
	}
	k.owner.WithLabelValues(p.Namespace, p.Name, p.UID, kind, name, controller).Set(1)
}

// DeletePod removes the pod's series, as when the pod is deleted.
func (k *KSM) DeletePod(namespace, name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.deleteLocked(namespace, name)
}

func (k *KSM) deleteLocked(namespace, name string) {
	match := prometheus.Labels{"namespace": namespace, "pod": name}
	for _, v := range []*prometheus.GaugeVec{k.created, k.ready, k.owner} {
		v.DeletePartialMatch(match)
	}
}
