package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kedastral/kedastral/pkg/envconf"
	"github.com/kedastral/kedastral/pkg/series"
	"github.com/kedastral/kedastral/test/testserver"
)

// TestExport exports a metric a real prometheus scraped from a real endpoint, first with the
// agent's environment alone, then with flags overriding it, and reads the CSV back as the
// backtest does.
func TestExport(t *testing.T) {
	reg := prometheus.NewRegistry()
	load := prometheus.NewGauge(prometheus.GaugeOpts{Name: "export_load"})
	reg.MustRegister(load)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: time.Second}
	go srv.Serve(lis)
	t.Cleanup(func() { srv.Close() })
	load.Set(7) // before the first scrape: the export must hold 7s, then 9s, nothing else
	promURL := testserver.StartPrometheus(t, lis.Addr().String())
	testserver.WaitForValue(t, promURL, "export_load", 7)
	time.Sleep(2 * time.Second) // a few scrapes of 7
	load.Set(9)
	testserver.WaitForValue(t, promURL, "export_load", 9)
	// Long enough that the last even second before end (the 2s export below) is after the
	// first scrape of 9.
	time.Sleep(3 * time.Second)
	end := time.Now().Truncate(time.Second)

	env := envconf.Map(map[string]string{
		"KEDASTRAL_PROMETHEUS_URL": promURL, "KEDASTRAL_QUERY": "export_load", "KEDASTRAL_STEP": "1s",
		// The agent's other required variables are not needed to export.
	})
	var out, log strings.Builder
	args := []string{"export", "--range", "1m", "--end", end.Format(time.RFC3339)}
	if err := run(t.Context(), args, env, &out, &log); err != nil {
		t.Fatalf("export: %v", err)
	}
	samples, err := series.ReadCSV(strings.NewReader(out.String()))
	if err != nil {
		t.Fatalf("read the export back: %v\n%s", err, out.String())
	}
	var sevens, nines int
	for i, s := range samples {
		if !s.T.Equal(s.T.Truncate(time.Second)) || s.T.After(end) || s.T.Before(end.Add(-time.Minute)) {
			t.Errorf("sample %d at %v: want whole seconds within the minute before %v", i, s.T, end)
		}
		switch {
		case s.V == 7 && nines == 0:
			sevens++
		case s.V == 9:
			nines++
		default:
			t.Errorf("sample %d = %v at %v: want 7s, then 9s", i, s.V, s.T)
		}
	}
	if sevens < 2 || nines < 1 || samples[len(samples)-1].V != 9 {
		t.Errorf("export holds %d sevens and %d nines, ending with %v: want a few 7s, then 9s to the end", sevens, nines, samples[len(samples)-1].V)
	}
	if want := "values every 1s"; !strings.Contains(log.String(), want) {
		t.Errorf("stderr = %q, want a summary with %q", log.String(), want)
	}

	// Flags override the environment, and --output writes a file.
	file := filepath.Join(t.TempDir(), "trace.csv")
	args = []string{"export", "--prometheus-url", promURL, "--query", "2 * export_load", "--step", "2s",
		"--range", "1m", "--end", end.Format(time.RFC3339), "--output", file}
	out.Reset()
	if err := run(t.Context(), args, envconf.Map(map[string]string{"KEDASTRAL_PROMETHEUS_URL": "http://nowhere.invalid"}), &out, &log); err != nil {
		t.Fatalf("export with flags: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("stdout = %q with --output, want nothing", out.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doubled, err := series.ReadCSV(strings.NewReader(string(b)))
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	if last := doubled[len(doubled)-1]; last.V != 18 || last.T.Unix()%2 != 0 {
		t.Errorf("last sample of 2 * export_load at 2s = %+v, want 18 on an even second", last)
	}
}

// TestExportErrors checks that every bad input is reported at once, by name, and that an
// unreachable Prometheus is an error naming it.
func TestExportErrors(t *testing.T) {
	nowhere := "http://" + testserver.FreeAddr(t) // nothing listens there
	for name, tc := range map[string]struct {
		env    map[string]string
		args   []string
		want   []string
		absent string // a second report of the same problem
	}{
		"nothing configured": {
			want: []string{"--query (or KEDASTRAL_QUERY) is required", "--prometheus-url (or KEDASTRAL_PROMETHEUS_URL) is required"},
		},
		"bad values everywhere": {
			env:  map[string]string{"KEDASTRAL_PROMETHEUS_TIMEOUT": "soon", "KEDASTRAL_QUERY": "up"},
			args: []string{"--prometheus-url", "ftp://x", "--range", "-1h", "--step", "1.5ms", "--end", "yesterday"},
			want: []string{`KEDASTRAL_PROMETHEUS_TIMEOUT="soon"`, "KEDASTRAL_PROMETHEUS_URL must be an http or https URL",
				`--range "-1h" must be a positive duration`, `--step "1.5ms" must be a positive duration of whole milliseconds`,
				`--end: timestamp "yesterday"`},
		},
		"bad KEDASTRAL_STEP, reported once": {
			env:    map[string]string{"KEDASTRAL_STEP": "abc", "KEDASTRAL_QUERY": "up", "KEDASTRAL_PROMETHEUS_URL": nowhere},
			want:   []string{`KEDASTRAL_STEP="abc"`},
			absent: "--step",
		},
		"too many points": {
			env:  map[string]string{"KEDASTRAL_QUERY": "up", "KEDASTRAL_PROMETHEUS_URL": nowhere},
			args: []string{"--range", "30d", "--step", "1s"},
			want: []string{"--range / --step must be <= 1000000 points (got 2592000)"},
		},
		"unexpected argument": {
			env:  map[string]string{"KEDASTRAL_QUERY": "up", "KEDASTRAL_PROMETHEUS_URL": nowhere},
			args: []string{"trace.csv"},
			want: []string{`export: unexpected arguments ["trace.csv"]`},
		},
		"unreachable prometheus": {
			env:  map[string]string{"KEDASTRAL_QUERY": "up", "KEDASTRAL_PROMETHEUS_URL": nowhere, "KEDASTRAL_PROMETHEUS_TIMEOUT": "2s"},
			args: []string{"--range", "1h"},
			want: []string{"export: ", nowhere},
		},
	} {
		t.Run(name, func(t *testing.T) {
			var out strings.Builder
			err := run(t.Context(), append([]string{"export"}, tc.args...), envconf.Map(tc.env), &out, &out)
			if err == nil {
				t.Fatalf("export = nil error, want one containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("export error = %q, want it to contain %q", err, w)
				}
			}
			if tc.absent != "" && strings.Contains(err.Error(), tc.absent) {
				t.Errorf("export error = %q, want no %q in it", err, tc.absent)
			}
		})
	}
}
