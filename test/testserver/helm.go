package testserver

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Helm returns the path of the helm binary `make test` builds into bin/ (or of one in PATH),
// failing t when there is none.
func Helm(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0) // test/testserver/helm.go
	bin := filepath.Join(filepath.Dir(file), "..", "..", "bin", "helm")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	bin, err := exec.LookPath("helm")
	if err != nil {
		t.Fatalf("helm is neither in bin/ nor in PATH (make test builds it: make bin/helm): %v", err)
	}
	return bin
}
