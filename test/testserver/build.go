package testserver

import (
	"os/exec"
	"path"
	"path/filepath"
	"testing"
)

// Build compiles the main package pkg (a path relative to the module root, e.g. "agent") into
// t.TempDir() and returns the binary's path. End-to-end tests run the binaries users run, not
// the packages in-process.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	// go test puts its own GOROOT/bin first on the test's PATH, so this is the same toolchain.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not found in PATH: %v", err)
	}
	out := filepath.Join(t.TempDir(), path.Base(pkg))
	cmd := exec.Command(goBin, "build", "-o", out, "github.com/kedastral/kedastral/"+pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}
