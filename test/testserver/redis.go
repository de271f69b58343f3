package testserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a redis-server process started for one test. Its methods are safe for concurrent
// use. Get one from StartRedis.
type Redis struct {
	// Addr is the server's host:port on the loopback interface. It stays the same across
	// Restart.
	Addr string

	bin, dir string
	port     int

	mu   sync.Mutex
	cmd  *exec.Cmd     // nil while stopped
	done chan struct{} // closed once cmd has exited
}

// redisStartTimeout bounds how long a start waits for a PONG; a loaded CI machine can be slow,
// but a redis-server that is not up within this is broken.
const redisStartTimeout = 10 * time.Second

// StartRedis starts redis-server on a free loopback port with persistence off and its working
// directory in t.TempDir(), and waits until it answers PING. The server is killed when the test
// ends (t.Cleanup); Stop kills it earlier, for tests of what happens when Redis goes away.
//
// A missing redis-server binary fails the test: the suite runs against the real server or not at
// all, and .ci/deps installs it.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found in PATH (run .ci/deps to install it): %v", err)
	}
	// The port is picked by binding :0 and releasing it, so another process can take it before
	// redis-server binds; that shows as an early exit, and a fresh port is tried.
	var errs []error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		r := &Redis{
			Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			bin:  bin,
			dir:  t.TempDir(),
			port: port,
		}
		r.mu.Lock()
		err = r.startLocked()
		r.mu.Unlock()
		if err == nil {
			t.Cleanup(r.Stop)
			return r
		}
		errs = append(errs, err)
	}
	t.Fatalf("start redis-server: %v", errors.Join(errs...))
	return nil
}

// Stop kills the server, as a crash would, and waits for it to exit, so that connections to
// Addr are refused when it returns. Stopping a stopped server does nothing.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
}

// Restart kills the server and starts an empty one on the same address, as when Redis is
// rescheduled without persistence: clients must reconnect, and the data is gone.
func (r *Redis) Restart(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopLocked()
	if err := r.startLocked(); err != nil {
		t.Fatalf("restart redis-server: %v", err)
	}
}

func (r *Redis) stopLocked() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill() // fails only if the process is already gone, which is the goal
	<-r.done
	r.cmd = nil
}

func (r *Redis) startLocked() error {
	logPath := filepath.Join(r.dir, "redis.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor

	cmd := exec.Command(r.bin,
		"--port", strconv.Itoa(r.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", r.dir,
		"--daemonize", "no",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", r.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status of a killed test server says nothing useful
		close(done)
	}()
	r.cmd, r.done = cmd, done

	deadline := time.Now().Add(redisStartTimeout)
	for {
		err := pingRedis(r.Addr)
		if err == nil {
			return nil
		}
		select {
		case <-done:
			r.cmd = nil
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("redis-server on port %d exited: %s", r.port, strings.TrimSpace(string(out)))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.stopLocked()
			return fmt.Errorf("redis-server on %s did not answer PING within %v: %w", r.Addr, redisStartTimeout, err)
		}
	}
}

// pingRedis checks that the server is serving commands, which a successful TCP connect alone
// does not prove (it may still be loading).
func pingRedis(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	return c.Ping(context.Background()).Err()
}
