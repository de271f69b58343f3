package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kedastral/kedastral/pkg/envconf"
	"github.com/kedastral/kedastral/pkg/planstore"
	"github.com/kedastral/kedastral/test/testserver"
)

// defaults is the configuration with only the required variable set.
var defaults = config{
	GRPCAddr:        ":50051",
	HTTPAddr:        ":8080",
	Options:         planstore.Options{Addrs: []string{"redis:6379"}, Prefix: "kedastral"},
	LogLevel:        "info",
	LogFormat:       "json",
	RequestTimeout:  2 * time.Second,
	ShutdownTimeout: 10 * time.Second,
}

func TestLoadConfig(t *testing.T) {
	tests := map[string]struct {
		env     map[string]string
		want    config
		wantErr []string // each must be a line of the error, in any order
	}{
		"defaults": {
			env:  map[string]string{"KEDASTRAL_REDIS_ADDR": "redis:6379"},
			want: defaults,
		},
		"empty values take the defaults": {
			env:  map[string]string{"KEDASTRAL_REDIS_ADDR": "redis:6379", "KEDASTRAL_GRPC_ADDR": "", "KEDASTRAL_REQUEST_TIMEOUT": ""},
			want: defaults,
		},
		"everything set, sentinel": {
			env: map[string]string{
				"KEDASTRAL_GRPC_ADDR":         "127.0.0.1:9000",
				"KEDASTRAL_HTTP_ADDR":         "127.0.0.1:9001",
				"KEDASTRAL_REDIS_ADDR":        "s1:26379, s2:26379,s3:26379",
				"KEDASTRAL_REDIS_USERNAME":    "gateway",
				"KEDASTRAL_REDIS_PASSWORD":    "secret",
				"KEDASTRAL_REDIS_DB":          "3",
				"KEDASTRAL_REDIS_MASTER_NAME": "plans",
				"KEDASTRAL_REDIS_TLS":         "true",
				"KEDASTRAL_REDIS_PREFIX":      "team-a",
				"KEDASTRAL_LOG_LEVEL":         "DEBUG",
				"KEDASTRAL_LOG_FORMAT":        "text",
				"KEDASTRAL_REQUEST_TIMEOUT":   "500ms",
				"KEDASTRAL_SHUTDOWN_TIMEOUT":  "1m",
			},
			want: config{
				GRPCAddr: "127.0.0.1:9000", HTTPAddr: "127.0.0.1:9001",
				Options: planstore.Options{Addrs: []string{"s1:26379", "s2:26379", "s3:26379"},
					Username: "gateway", Password: "secret", DB: 3, MasterName: "plans", TLS: true, Prefix: "team-a"},
				LogLevel: "DEBUG", LogFormat: "text",
				RequestTimeout: 500 * time.Millisecond, ShutdownTimeout: time.Minute,
			},
		},
		"cluster": {
			env:  map[string]string{"KEDASTRAL_REDIS_ADDR": "n1:6379,n2:6379"},
			want: func() config { c := defaults; c.Addrs = []string{"n1:6379", "n2:6379"}; return c }(),
		},
		"redis address missing": {
			env:     map[string]string{},
			wantErr: []string{"config: KEDASTRAL_REDIS_ADDR is required"},
		},
		"every problem at once": {
			env: map[string]string{
				"KEDASTRAL_GRPC_ADDR":        "50051",
				"KEDASTRAL_HTTP_ADDR":        ":50051x",
				"KEDASTRAL_REDIS_ADDR":       "n1:6379,n2,:6379",
				"KEDASTRAL_REDIS_DB":         "2",
				"KEDASTRAL_REDIS_TLS":        "yes please",
				"KEDASTRAL_REDIS_PREFIX":     "a{b}",
				"KEDASTRAL_LOG_LEVEL":        "loud",
				"KEDASTRAL_LOG_FORMAT":       "xml",
				"KEDASTRAL_REQUEST_TIMEOUT":  "0s",
				"KEDASTRAL_SHUTDOWN_TIMEOUT": "soon",
			},
			wantErr: []string{
				`config: KEDASTRAL_GRPC_ADDR must be [host]:port (got "50051"`,
				`config: KEDASTRAL_HTTP_ADDR must be [host]:port (got ":50051x"`,
				`config: KEDASTRAL_REDIS_ADDR must be a comma-separated list of host:port (got "n2"`,
				`config: KEDASTRAL_REDIS_ADDR must be a comma-separated list of host:port (got ":6379"`,
				`config: KEDASTRAL_REDIS_DB must be 0 with Redis Cluster`,
				`config: KEDASTRAL_REDIS_TLS="yes please"`,
				`config: KEDASTRAL_REDIS_PREFIX must be non-empty, without braces`,
				`config: KEDASTRAL_LOG_LEVEL must be debug, info, warn or error (got "loud")`,
				`config: KEDASTRAL_LOG_FORMAT must be json or text (got "xml")`,
				`config: KEDASTRAL_REQUEST_TIMEOUT must be > 0 (got 0s)`,
				`config: KEDASTRAL_SHUTDOWN_TIMEOUT="soon"`, // and no second line about its zero value
			},
		},
		"same address twice": {
			env:     map[string]string{"KEDASTRAL_REDIS_ADDR": "redis:6379", "KEDASTRAL_GRPC_ADDR": ":8080"},
			wantErr: []string{`config: KEDASTRAL_HTTP_ADDR must differ from KEDASTRAL_GRPC_ADDR (got ":8080" for both)`},
		},
		"negative db": {
			env:     map[string]string{"KEDASTRAL_REDIS_ADDR": "redis:6379", "KEDASTRAL_REDIS_DB": "-1"},
			wantErr: []string{"config: KEDASTRAL_REDIS_DB must be >= 0 (got -1)"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := loadConfig(func(k string) string { return tc.env[k] })
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("loadConfig() = %+v, want errors %q", got, tc.wantErr)
				}
				lines := strings.Split(err.Error(), "\n")
				if len(lines) != len(tc.wantErr) {
					t.Errorf("loadConfig() reported %d problems, want %d:\n%s", len(lines), len(tc.wantErr), err)
				}
				for _, want := range tc.wantErr {
					found := false
					for _, l := range lines {
						found = found || strings.HasPrefix(l, want)
					}
					if !found {
						t.Errorf("loadConfig() error has no line starting %q:\n%s", want, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("loadConfig() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("loadConfig() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestREADMEDocumentsEveryVariable keeps the README's configuration table in step with the code.
func TestREADMEDocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range envconf.Keys(envPrefix, &config{}) {
		if !strings.Contains(string(readme), "| `"+key+"` |") {
			t.Errorf("README.md has no table row for %s", key)
		}
	}
}

// TestREADMEDocumentsEveryMetric keeps the README's list of the gateway's metrics in step with
// the code, both ways.
func TestREADMEDocumentsEveryMetric(t *testing.T) {
	names := testserver.MetricNames(t, func(reg prometheus.Registerer) { newMetrics(reg) })
	testserver.CheckREADMEMetrics(t, "../README.md", "kedastral_gateway_", names)
}
