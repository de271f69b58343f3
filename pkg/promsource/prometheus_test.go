package promsource

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kedastral/kedastral/test/testserver"
)

// TestRealPrometheus runs Fetch against a real prometheus scraping a tiny exporter every
// second.
func TestRealPrometheus(t *testing.T) {
	reg := prometheus.NewRegistry()
	load := prometheus.NewGauge(prometheus.GaugeOpts{Name: "kedastral_test_load", Help: "The workload's metric."})
	podLoad := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kedastral_test_pod_load", Help: "The metric per pod."}, []string{"pod"})
	reg.MustRegister(load, podLoad)
	load.Set(5)
	podLoad.WithLabelValues("checkout-a").Set(1)
	podLoad.WithLabelValues("checkout-b").Set(2)
	exporter := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(exporter.Close)

	begin := time.Now()
	url := testserver.StartPrometheus(t, exporter.Listener.Addr().String())
	testserver.WaitForValue(t, url, "kedastral_test_load", 5)
	load.Set(9)
	testserver.WaitForValue(t, url, "kedastral_test_load", 9)
	// The 9 was scraped at some instant before now; the grid point that sees it is the next
	// whole second.
	end := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(end))

	fetch := func(t *testing.T, query string, start time.Time, step time.Duration) ([]float64, error) {
		t.Helper()
		src, err := New(Options{URL: url, Timeout: 10 * time.Second}, query)
		if err != nil {
			t.Fatalf("New(%q) error = %v", query, err)
		}
		samples, err := src.Fetch(t.Context(), start, end, step)
		var values []float64
		for i, s := range samples {
			if !s.T.Equal(s.T.Truncate(step)) || s.T.Before(start) || s.T.After(end) {
				t.Errorf("sample %d at %v is not on the %v grid in [%v, %v]", i, s.T, step, start, end)
			}
			if i > 0 && !s.T.After(samples[i-1].T) {
				t.Errorf("sample %d at %v does not follow sample %d at %v", i, s.T, i-1, samples[i-1].T)
			}
			values = append(values, s.V)
		}
		return values, err
	}

	t.Run("gauge values in order", func(t *testing.T) {
		values, err := fetch(t, "kedastral_test_load", begin, time.Second)
		if err != nil {
			t.Fatalf("Fetch() error = %v", err)
		}
		var changes []float64
		for _, v := range values {
			if len(changes) == 0 || changes[len(changes)-1] != v {
				changes = append(changes, v)
			}
		}
		if len(changes) != 2 || changes[0] != 5 || changes[1] != 9 {
			t.Errorf("Fetch() values = %v, want a run of 5 then a run of 9", values)
		}
	})

	t.Run("several series", func(t *testing.T) {
		_, err := fetch(t, "kedastral_test_pod_load", begin, time.Second)
		if !errors.Is(err, ErrSeveralSeries) {
			t.Fatalf("Fetch() error = %v, want one wrapping ErrSeveralSeries", err)
		}
		for _, want := range []string{`pod="checkout-a"`, `pod="checkout-b"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Fetch() error = %q, want it to name %s", err, want)
			}
		}
	})

	t.Run("several series aggregated", func(t *testing.T) {
		values, err := fetch(t, "sum(kedastral_test_pod_load)", begin, time.Second)
		if err != nil || len(values) == 0 || values[len(values)-1] != 3 {
			t.Errorf("Fetch() = %v, %v; want values ending in 3", values, err)
		}
	})

	t.Run("no data", func(t *testing.T) {
		values, err := fetch(t, `kedastral_test_load{job="elsewhere"}`, begin, time.Second)
		if !errors.Is(err, ErrNoData) || values != nil {
			t.Errorf("Fetch() = %v, %v; want nil and ErrNoData", values, err)
		}
	})

	t.Run("server refuses the query", func(t *testing.T) {
		_, err := fetch(t, "sum(kedastral_test_load", begin, time.Second)
		if err == nil || !strings.Contains(err.Error(), "bad_data") || !strings.Contains(err.Error(), "parse error") {
			t.Errorf("Fetch() error = %v, want the server's parse error", err)
		}
	})

	t.Run("chunks stay under the server's limit", func(t *testing.T) {
		// 30s at 1ms is about 30,000 points: three requests, each of which prometheus must
		// accept. vector(1) has a value at every instant.
		start := end.Add(-30 * time.Second)
		first, last := start.Truncate(time.Millisecond), end.Truncate(time.Millisecond)
		if first.Before(start) {
			first = first.Add(time.Millisecond)
		}
		values, err := fetch(t, "vector(1)", start, time.Millisecond)
		if err != nil {
			t.Fatalf("Fetch() error = %v", err)
		}
		if want := int(last.Sub(first)/time.Millisecond) + 1; len(values) != want {
			t.Errorf("Fetch() returned %d samples, want %d", len(values), want)
		}
	})
}
