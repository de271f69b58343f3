package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/test/testserver"
)

// TestRedisOutageLogsStructured runs the agent binary against a Redis address nothing listens
// on: go-redis's own complaints must reach the log as JSON records like every other line, not
// as the plain lines go-redis prints by default, which a log pipeline parsing JSON chokes on.
func TestRedisOutageLogsStructured(t *testing.T) {
	agentBin := testserver.Build(t, "agent")
	var stderr bytes.Buffer
	cmd := exec.Command(agentBin)
	cmd.Env = append(os.Environ(),
		"KEDASTRAL_WORKLOAD=api", "KEDASTRAL_REPLAY_FILE=../testdata/nasa_http_1995_07_1min_10d.csv",
		"KEDASTRAL_REPLAY_SPEED=600", "KEDASTRAL_TARGET_PER_POD=10",
		"KEDASTRAL_REDIS_ADDR="+testserver.FreeAddr(t), "KEDASTRAL_HTTP_ADDR="+testserver.FreeAddr(t),
		"KEDASTRAL_LOG_FORMAT=json")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A few publish attempts, each failing to dial.
	time.Sleep(4 * time.Second)
	_ = cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Errorf("agent exited with %v on interrupt, want a clean stop", err)
	}

	fromRedis := 0
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if rec["component"] == "go-redis" {
			fromRedis++
			if rec["level"] != "WARN" || !strings.Contains(rec["msg"].(string), "dial") {
				t.Errorf("go-redis record %v, want level WARN and its dial error as the message", rec)
			}
		}
	}
	if fromRedis == 0 {
		t.Errorf("no go-redis record in the agent's log:\n%s", stderr.String())
	}
}
