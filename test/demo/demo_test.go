package main

import (
	"bytes"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kedastral/kedastral/test/testserver"
)

// TestDemo runs the demo as `make demo` does, with the real binaries, against both Redis
// flavours, and checks the lines it prints: the gateway's answer to KEDA matches the plan.
func TestDemo(t *testing.T) {
	agent, gateway := testserver.Build(t, "agent"), testserver.Build(t, "gateway")
	for name, extra := range map[string][]string{
		"redis-server":   nil,
		"embedded redis": {"--embedded-redis"},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			args := append([]string{"--agent", agent, "--gateway", gateway, "--trace", "../testdata/nasa_http_1995_07_1min_10d.csv",
				"--speed", "600", "--steps", "12"}, extra...)
			if err := run(t.Context(), args, &out, io.Discard); err != nil {
				t.Fatalf("run() = %v\n%s", err, out.String())
			}
			text := out.String()
			for _, want := range []string{`metric "kedastral-web-desired-replicas", target 1`, "unknown workload → NotFound", "12 steps · forecast MAE"} {
				if !strings.Contains(text, want) {
					t.Errorf("demo output lacks %q:\n%s", want, text)
				}
			}
			// time  actual forecast p90 plan keda active
			line := regexp.MustCompile(`(?m)^1995-07-\d\d \d\d:\d\d\s+(\d+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(true|false)$`)
			rows := line.FindAllStringSubmatch(text, -1)
			if len(rows) != 12 {
				t.Fatalf("demo printed %d step lines, want 12:\n%s", len(rows), text)
			}
			agree := 0
			for _, r := range rows {
				plan, _ := strconv.Atoi(r[4])
				keda, _ := strconv.Atoi(r[5])
				if plan < 1 || keda < 1 {
					t.Errorf("line %q: plan and keda must be >= 1", r[0])
				}
				if plan == keda {
					agree++
				}
			}
			// The plan column is read from the agent a moment before the gateway is asked, so a
			// new plan can land in between; most lines must still agree.
			if agree < 9 {
				t.Errorf("gateway answer matched the plan on %d of 12 lines, want >= 9:\n%s", agree, text)
			}
		})
	}
}

func TestDemoFlags(t *testing.T) {
	var stderr strings.Builder
	err := run(t.Context(), []string{"--speed", "0", "--steps", "-1", "--agent", "/nonexistent"}, io.Discard, &stderr)
	if err == nil {
		t.Fatal("run(bad flags) = nil, want an error")
	}
	for _, want := range []string{"--speed must be > 0", "--steps must be >= 0", "/nonexistent"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("run(bad flags) = %q, want it to contain %q", err, want)
		}
	}
}
