package planstore

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// go-redis writes its own diagnostics (a pool that cannot dial, a PubSub connection dropped and
// redialled) through one logger per process, as plain lines on stderr by default. Next to the
// JSON lines the binaries write, those break a log pipeline that parses every line. RouteRedisLogs
// installs a forwarder into the process's structured log: main calls it once, and each run names
// the logger with SetRedisLogger. Tests, which never call main, keep go-redis's default, so a
// client of one test never writes into another test's log.

// redisLog is the logger the forwarder writes to; nil until a run names one.
var redisLog atomic.Pointer[slog.Logger]

// RouteRedisLogs sends go-redis's diagnostics to the logger named by SetRedisLogger, at Warn
// (before one is named: to stderr, as go-redis would). Call it from main only: it replaces a
// process-wide setting.
func RouteRedisLogs() { redis.SetLogger(redisLogger{}) }

// SetRedisLogger names the logger go-redis's diagnostics go to once RouteRedisLogs has run.
func SetRedisLogger(log *slog.Logger) { redisLog.Store(log) }

// redisLogger implements go-redis's logging interface.
type redisLogger struct{}

func (redisLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, v...))
	if log := redisLog.Load(); log != nil {
		log.WarnContext(ctx, msg, "component", "go-redis")
		return
	}
	fmt.Fprintln(os.Stderr, msg)
}
