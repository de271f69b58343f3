package testserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

const (
	// prometheusStartTimeout bounds the wait for /-/ready. Prometheus replays an empty WAL and
	// starts in about a second; on a loaded CI machine it can take several.
	prometheusStartTimeout = 30 * time.Second
	// prometheusWaitTimeout bounds WaitForValue: with a 1s scrape interval a value shows up
	// within two or three seconds of being exposed.
	prometheusWaitTimeout = 15 * time.Second
)

// StartPrometheus starts prometheus on a free loopback port, scraping the given host:port
// targets every second under the job "test", with its TSDB in t.TempDir(), waits until it is
// ready and returns its base URL (http://127.0.0.1:port). The server is killed when the test
// ends (t.Cleanup), and its log is written to the test log if the test failed.
//
// A missing prometheus binary fails the test: the suite runs against the real server or not at
// all, and .ci/deps installs it.
func StartPrometheus(t testing.TB, targets ...string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("prometheus not found in PATH (run .ci/deps to install it): %v", err)
	}
	// The port is picked by binding :0 and releasing it, so another process can take it before
	// prometheus binds; that shows as an early exit, and a fresh port is tried.
	var errs []error
	for range 3 {
		p, err := startPrometheus(t, bin, targets)
		if err == nil {
			t.Cleanup(func() {
				p.stop()
				if t.Failed() {
					out, _ := os.ReadFile(p.logPath)
					t.Logf("prometheus log:\n%s", out)
				}
			})
			return p.url
		}
		errs = append(errs, err)
	}
	t.Fatalf("start prometheus: %v", errors.Join(errs...))
	return ""
}

type prometheusProcess struct {
	url     string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has exited
}

func startPrometheus(t testing.TB, bin string, targets []string) (*prometheusProcess, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	configPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configPath, []byte(prometheusConfig(targets)), 0o644); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	logPath := filepath.Join(dir, "prometheus.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create log file: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin,
		"--config.file="+configPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	p := &prometheusProcess{url: "http://" + addr, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // the exit status of a killed test server says nothing useful
		close(p.done)
	}()

	deadline := time.Now().Add(prometheusStartTimeout)
	for {
		err := prometheusReady(p.url)
		if err == nil {
			return p, nil
		}
		select {
		case <-p.done:
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("prometheus on %s exited:\n%s", addr, strings.TrimSpace(string(out)))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("prometheus on %s not ready within %v: %w\n%s", addr, prometheusStartTimeout, err, strings.TrimSpace(string(out)))
		}
	}
}

// prometheusConfig scrapes the targets every second. scrape_timeout must not exceed the
// interval, and its default (10s) would.
func prometheusConfig(targets []string) string {
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	if len(targets) > 0 {
		b.WriteString("scrape_configs:\n  - job_name: test\n    static_configs:\n      - targets:\n")
		for _, target := range targets {
			fmt.Fprintf(&b, "          - %q\n", target)
		}
	}
	return b.String()
}

// stop kills the server and waits for it to exit, before t.TempDir removes its files.
func (p *prometheusProcess) stop() {
	_ = p.cmd.Process.Kill() // fails only if the process is already gone, which is the goal
	<-p.done
}

func prometheusReady(base string) error {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(base + "/-/ready")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/-/ready answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// WaitForValue polls the instant query at the Prometheus at base until one of the series it
// returns has the value want, and fails the test if none does within 15s. Tests use it to wait
// for a scrape of a value they just exposed, rather than sleeping.
func WaitForValue(t testing.TB, base, query string, want float64) {
	t.Helper()
	deadline := time.Now().Add(prometheusWaitTimeout)
	var last string
	for {
		values, err := instantQuery(t, base, query)
		if err == nil {
			for _, v := range values {
				if v == want {
					return
				}
			}
			last = fmt.Sprint(values)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %q on %s: no series with value %v within %v; last answer: %s", query, base, want, prometheusWaitTimeout, last)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("query %q on %s: %v", query, base, t.Context().Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// instantQuery returns the values of the series the query returns now.
func instantQuery(t testing.TB, base, query string) ([]float64, error) {
	vec, err := Query(t, base, query)
	if err != nil {
		return nil, err
	}
	values := make([]float64, len(vec))
	for i, s := range vec {
		values[i] = float64(s.Value)
	}
	return values, nil
}

// Query runs an instant query now at the Prometheus at base and returns its series; a result
// that is not a vector is an error.
func Query(t testing.TB, base, query string) (model.Vector, error) {
	client, err := api.NewClient(api.Config{Address: base})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	result, _, _, err := v1.NewAPI(client).Query(ctx, query, time.Now())
	if err != nil {
		return nil, err
	}
	vec, ok := result.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("result is a %s, want a vector", result.Type())
	}
	return vec, nil
}
