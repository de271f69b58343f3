// Package buildinfo says which build of Kedastral is running, for --version, the start-up log
// and the kedastral_build_info metric: with an agent beside every app pod, an operator rolling
// out a new version must be able to tell which pods still run the old one.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
)

// unknown is the version of a binary built without one: `go build` outside `make`, with VCS
// stamping off.
const unknown = "unknown"

// The version is set at link time, as the Prometheus ecosystem does:
//
//	go build -ldflags "-X github.com/prometheus/common/version.Version=v1.2.3 -X github.com/prometheus/common/version.Revision=<commit>"
//
// (`make build` and the Dockerfile do). Without it, the main module's version that
// `go install …@v1.2.3` or VCS stamping records is used.
func init() {
	if version.Version == "" {
		version.Version = unknown
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version.Version = bi.Main.Version
		}
	}
}

// Version is the version this binary was built as, or "unknown".
func Version() string { return version.Version }

// Revision is the commit this binary was built from, or "unknown".
func Revision() string { return version.GetRevision() }

// String is what --version prints for program, on one line.
func String(program string) string {
	return fmt.Sprintf("%s version %s (revision %s, %s, %s/%s)", program, Version(), Revision(),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// Collector exports kedastral_build_info, constantly 1, labelled with the version, revision,
// Go version and platform.
func Collector() prometheus.Collector { return versioncollector.NewCollector("kedastral") }
