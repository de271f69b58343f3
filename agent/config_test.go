package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kedastral/kedastral/pkg/envconf"
	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/test/testserver"
)

// baseEnv is a complete, valid Prometheus configuration.
func baseEnv() map[string]string {
	return map[string]string{
		"KEDASTRAL_WORKLOAD":       "checkout",
		"KEDASTRAL_NAMESPACE":      "shop",
		"KEDASTRAL_PROMETHEUS_URL": "http://prometheus.monitoring:9090",
		"KEDASTRAL_QUERY":          `sum(rate(http_requests_total{app="checkout"}[1m]))`,
		"KEDASTRAL_REDIS_ADDR":     "redis:6379",
		"KEDASTRAL_TARGET_PER_POD": "50",
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := loadConfig(envconf.Map(baseEnv()))
	if err != nil {
		t.Fatalf("loadConfig() error = %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"step", c.Step, time.Minute},
		{"interval", c.Interval, 30 * time.Second},
		{"history", c.History, 7 * 24 * time.Hour},
		{"horizon", c.Horizon, 30 * time.Minute},
		{"http addr", c.HTTPAddr, ":8080"},
		{"redis addr", strings.Join(c.Addrs, ","), "redis:6379"},
		{"redis prefix", c.Prefix, "kedastral"},
		{"lead time", c.policy().LeadTime.D(), 3 * time.Minute},
		{"headroom", c.Headroom, 1.0},
		{"basis", c.Basis, "upper"},
		{"accuracy guard", c.Guard, true},
		{"history points", c.historyPoints(), 10080},
		{"horizon steps", c.horizonSteps(), 30},
		{"validity", c.validity(), 2 * time.Minute},
		{"model", c.Model, forecast.DefaultModel},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("loadConfig() %s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.csv")
	if err := os.WriteFile(trace, []byte("timestamp,value\n2026-01-01T00:00:00Z,1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		set   map[string]string
		unset []string
		want  []string
	}{
		"nothing set names every required variable": {
			unset: []string{"KEDASTRAL_WORKLOAD", "KEDASTRAL_PROMETHEUS_URL", "KEDASTRAL_QUERY", "KEDASTRAL_REDIS_ADDR", "KEDASTRAL_TARGET_PER_POD"},
			want: []string{"KEDASTRAL_WORKLOAD is required", "KEDASTRAL_REDIS_ADDR is required",
				"KEDASTRAL_TARGET_PER_POD is required", "KEDASTRAL_PROMETHEUS_URL is required"},
		},
		"every bad value at once": {
			set: map[string]string{
				"KEDASTRAL_STEP": "soon", "KEDASTRAL_HORIZON": "30s", "KEDASTRAL_HISTORY": "1h",
				"KEDASTRAL_MIN_REPLICAS": "5", "KEDASTRAL_MAX_REPLICAS": "2", "KEDASTRAL_HEADROOM": "0.5",
				"KEDASTRAL_QUANTILE": "1.5", "KEDASTRAL_MODEL": "crystal_ball", "KEDASTRAL_TARGET_PER_POD": "-1",
				"KEDASTRAL_NAMESPACE": "Shop", "KEDASTRAL_REDIS_ADDR": "redis", "KEDASTRAL_LOG_LEVEL": "loud",
				"KEDASTRAL_LOG_FORMAT": "xml", "KEDASTRAL_INTERVAL": "0s",
			},
			want: []string{
				`KEDASTRAL_STEP="soon": not a duration`,
				"KEDASTRAL_MAX_REPLICAS must be >= KEDASTRAL_MIN_REPLICAS (got 2 < 5)",
				"KEDASTRAL_HEADROOM must be in [1, 100] (got 0.5)",
				"KEDASTRAL_QUANTILE must be in (0.5, 1) (got 1.5)",
				`KEDASTRAL_MODEL: unknown forecast model "crystal_ball"`,
				"(or http)",
				"KEDASTRAL_TARGET_PER_POD must be > 0 (got -1)",
				`namespace "Shop" is not a valid Kubernetes namespace`,
				`KEDASTRAL_REDIS_ADDR must be a comma-separated list of host:port (got "redis")`,
				`KEDASTRAL_LOG_LEVEL must be debug, info, warn or error (got "loud")`,
				`KEDASTRAL_LOG_FORMAT must be json or text (got "xml")`,
				"KEDASTRAL_INTERVAL must be > 0 (got 0s)",
			},
		},
		"horizon shorter than step": {
			set:  map[string]string{"KEDASTRAL_STEP": "1m", "KEDASTRAL_HORIZON": "30s", "KEDASTRAL_LEAD_TIME": "0s"},
			want: []string{"KEDASTRAL_HORIZON must be >= KEDASTRAL_STEP (got 30s < 1m0s)"},
		},
		"lead time beyond horizon": {
			set:  map[string]string{"KEDASTRAL_LEAD_TIME": "1h"},
			want: []string{"KEDASTRAL_LEAD_TIME must be in (0, KEDASTRAL_HORIZON]", "(got 1h0m0s, horizon 30m0s)"},
		},
		// A zero lead would also make the accuracy guard judge the forecast made 3m ahead (its
		// default) rather than the one capacity was ordered on.
		"lead time zero": {
			set:  map[string]string{"KEDASTRAL_LEAD_TIME": "0s"},
			want: []string{"KEDASTRAL_LEAD_TIME must be in (0, KEDASTRAL_HORIZON]", "(got 0s, horizon 30m0s)"},
		},
		"interval too long for the horizon: plans would expire before the next": {
			set:  map[string]string{"KEDASTRAL_INTERVAL": "10m", "KEDASTRAL_HORIZON": "15m", "KEDASTRAL_LEAD_TIME": "3m"},
			want: []string{"KEDASTRAL_HORIZON must be at least twice KEDASTRAL_INTERVAL", "(got 15m0s, interval 10m0s)"},
		},
		"staleness limit within one step: every other cycle would be stale": {
			set:  map[string]string{"KEDASTRAL_STEP": "10m", "KEDASTRAL_HORIZON": "1h", "KEDASTRAL_MAX_STALENESS": "5m"},
			want: []string{"KEDASTRAL_MAX_STALENESS must be longer than KEDASTRAL_STEP", "(got 5m0s, step 10m0s)"},
		},
		"planner rules, every problem at once": {
			set: map[string]string{
				"KEDASTRAL_BASIS": "mean", "KEDASTRAL_MIN_REPLICAS": "0", "KEDASTRAL_SCALE_DOWN_MAX_FRACTION": "0",
				"KEDASTRAL_SCALE_UP_MAX_FACTOR": "0.5", "KEDASTRAL_LEAD_TIME": "soon", "KEDASTRAL_SCALING_DELAY": "-1s",
				"KEDASTRAL_HPA_TOLERANCE_STEPS": "-0.1",
			},
			want: []string{
				`basis must be "upper" or "point" (got "mean")`, "min replicas 0 needs scale-to-zero enabled",
				"scale-down max fraction must be in (0, 1] (got 0)", "scale-up max factor must be >= 1 (got 0.5)",
				`KEDASTRAL_LEAD_TIME: "soon" is neither a duration such as 3m nor auto`,
				"KEDASTRAL_SCALING_DELAY must be >= 0 (got -1s)",
				"HPA tolerance for steps must be in [0, 0.5) (got -0.1)",
			},
		},
		"bad events name the event and the field": {
			set:  map[string]string{"KEDASTRAL_EVENTS": "name=sale start=tomorrow duration=1h multiplier=2; start=2026-11-27T08:00:00Z duration=1h min=99"},
			want: []string{`KEDASTRAL_EVENTS: event 1 (sale): start "tomorrow" is not an RFC 3339 time`},
		},
		"event above max replicas": {
			set:  map[string]string{"KEDASTRAL_EVENTS": "start=2026-11-27T08:00:00Z duration=1h min=99"},
			want: []string{"asks for min 99 replicas, above max replicas 20"},
		},
		"automatic lead time needs Prometheus": {
			set:   map[string]string{"KEDASTRAL_LEAD_TIME": "auto", "KEDASTRAL_REPLAY_FILE": trace},
			unset: []string{"KEDASTRAL_PROMETHEUS_URL"},
			want:  []string{"KEDASTRAL_LEAD_TIME=auto measures pod start-up in Prometheus: it needs KEDASTRAL_PROMETHEUS_URL"},
		},
		"too many steps": {
			set:  map[string]string{"KEDASTRAL_STEP": "1s", "KEDASTRAL_HORIZON": "24h", "KEDASTRAL_HISTORY": "30d", "KEDASTRAL_LEAD_TIME": "1m"},
			want: []string{"KEDASTRAL_HORIZON / KEDASTRAL_STEP must be <= 10000 steps (got 86400)", "KEDASTRAL_HISTORY / KEDASTRAL_STEP must be <= 1000000 points (got 2592000)"},
		},
		"http model without an endpoint": {
			set:  map[string]string{"KEDASTRAL_MODEL": "http"},
			want: []string{"KEDASTRAL_MODEL=http: KEDASTRAL_MODEL_URL is required"},
		},
		"both sources": {
			set:  map[string]string{"KEDASTRAL_REPLAY_FILE": trace},
			want: []string{"KEDASTRAL_PROMETHEUS_URL and KEDASTRAL_REPLAY_FILE are both set"},
		},
		"replay of a missing file at zero speed": {
			set:   map[string]string{"KEDASTRAL_REPLAY_FILE": "/nonexistent/trace.csv", "KEDASTRAL_REPLAY_SPEED": "0"},
			unset: []string{"KEDASTRAL_PROMETHEUS_URL"},
			want:  []string{"KEDASTRAL_REPLAY_FILE: stat /nonexistent/trace.csv", "KEDASTRAL_REPLAY_SPEED must be in (0, 1000000] (got 0)"},
		},
		"prometheus without a query and with bad connection settings": {
			set: map[string]string{"KEDASTRAL_QUERY": " ", "KEDASTRAL_PROMETHEUS_URL": "ftp://prom",
				"KEDASTRAL_PROMETHEUS_CERT_FILE": "/tmp/cert.pem", "KEDASTRAL_PROMETHEUS_HEADERS": "X-Scope-OrgID"},
			want: []string{"KEDASTRAL_QUERY is required", "KEDASTRAL_PROMETHEUS_URL", "KEDASTRAL_PROMETHEUS_KEY_FILE",
				"KEDASTRAL_PROMETHEUS_HEADERS"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			env := baseEnv()
			for _, k := range tc.unset {
				delete(env, k)
			}
			for k, v := range tc.set {
				env[k] = v
			}
			_, err := loadConfig(envconf.Map(env))
			if err == nil {
				t.Fatalf("loadConfig() error = nil, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("loadConfig() error =\n%s\nwant it to contain %q", err, w)
				}
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "config: ") {
					t.Errorf("error line %q does not start with \"config: \"", line)
				}
			}
		})
	}
}

func TestLoadConfigReportsEachProblemOnce(t *testing.T) {
	env := baseEnv()
	env["KEDASTRAL_STEP"] = "soon"
	delete(env, "KEDASTRAL_TARGET_PER_POD")
	_, err := loadConfig(envconf.Map(env))
	if err == nil {
		t.Fatal("loadConfig() error = nil, want one")
	}
	if n := strings.Count(err.Error(), "KEDASTRAL_STEP"); n != 1 {
		t.Errorf("KEDASTRAL_STEP is reported %d times, want once:\n%s", n, err)
	}
	if n := strings.Count(err.Error(), "KEDASTRAL_TARGET_PER_POD"); n != 1 {
		t.Errorf("KEDASTRAL_TARGET_PER_POD is reported %d times, want once:\n%s", n, err)
	}
}

// TestREADMEDocumentsEveryVariable keeps the README's configuration table in step with the code.
func TestREADMEDocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range envconf.Keys(envPrefix, &Config{}) {
		if !strings.Contains(string(readme), "| `"+key+"` |") {
			t.Errorf("README.md has no table row for %s", key)
		}
	}
}

// TestREADMEDocumentsEveryMetric keeps the README's list of the agent's metrics in step with
// the code, both ways.
func TestREADMEDocumentsEveryMetric(t *testing.T) {
	names := testserver.MetricNames(t, func(reg prometheus.Registerer) {
		newMetrics(reg, plan.Workload{Namespace: "shop", Name: "api"}, func() float64 { return 0 })
	})
	testserver.CheckREADMEMetrics(t, "../README.md", "kedastral_", names, "kedastral_gateway_")
}

// TestEveryAcceptedQuantilePlans: a quantile loadConfig accepts builds a planner, accuracy guard
// included (a low one once made the guard's default rates clash and the agent stop at start).
func TestEveryAcceptedQuantilePlans(t *testing.T) {
	for _, q := range []string{"0.51", "0.6", "0.7", "0.75", "0.9", "0.99"} {
		env := baseEnv()
		env["KEDASTRAL_QUANTILE"] = q
		c, err := loadConfig(envconf.Map(env))
		if err != nil {
			t.Fatalf("KEDASTRAL_QUANTILE=%s: loadConfig() = %v", q, err)
		}
		model, err := forecast.New("naive", forecast.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.planner(model); err != nil {
			t.Errorf("KEDASTRAL_QUANTILE=%s: planner() = %v", q, err)
		}
	}
}
