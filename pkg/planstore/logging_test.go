package planstore

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// TestRedisLoggerForwards checks that a go-redis diagnostic becomes one structured record at
// Warn, with its text as the message.
func TestRedisLoggerForwards(t *testing.T) {
	var out strings.Builder
	SetRedisLogger(slog.New(slog.NewJSONHandler(&out, nil)))
	t.Cleanup(func() { SetRedisLogger(nil) })

	redisLogger{}.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %s\n", 5, "refused")

	var rec struct {
		Level, Msg, Component string
	}
	if err := json.Unmarshal([]byte(out.String()), &rec); err != nil {
		t.Fatalf("log output %q is not one JSON record: %v", out.String(), err)
	}
	want := "redis: connection pool: failed to dial after 5 attempts: refused"
	if rec.Level != "WARN" || rec.Msg != want || rec.Component != "go-redis" {
		t.Errorf("record = %+v, want level WARN, msg %q, component go-redis", rec, want)
	}
}
