// Package testserver starts the real servers Kedastral talks to in production — redis-server and
// prometheus — on random loopback ports for tests, and stops them when the test ends. A missing
// binary fails the test (make test installs them through .ci/deps); nothing is skipped.
package testserver

import (
	"fmt"
	"net"
	"testing"
)

// freePort finds a free loopback port by binding :0 and releasing it. Another process can take
// it before the server binds it; the starters treat that as an early exit and try again.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddr returns a free loopback host:port for a server the test starts itself.
func FreeAddr(t testing.TB) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}
