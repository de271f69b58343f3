package buildinfo

import (
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/version"
)

func TestString(t *testing.T) {
	defer func(v, r string) { version.Version, version.Revision = v, r }(version.Version, version.Revision)
	version.Version, version.Revision = "v1.2.3", "0123abc"
	want := "agent version v1.2.3 (revision 0123abc, " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")"
	if got := String("agent"); got != want {
		t.Errorf("String(agent) = %q, want %q", got, want)
	}
}

// TestVersionWithoutLinkFlags: a test binary is built without -X, so init must have filled in
// something a user can read.
func TestVersionWithoutLinkFlags(t *testing.T) {
	if v := Version(); v == "" {
		t.Error("Version() is empty without link-time flags, want \"unknown\" or the module's version")
	}
}

func TestCollector(t *testing.T) {
	defer func(v, r string) { version.Version, version.Revision = v, r }(version.Version, version.Revision)
	version.Version, version.Revision = "v1.2.3", "0123abc"
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(Collector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) != 1 || families[0].GetName() != "kedastral_build_info" {
		t.Fatalf("gathered %v, want kedastral_build_info alone", families)
	}
	labels := map[string]string{}
	for _, l := range families[0].GetMetric()[0].GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	if labels["version"] != "v1.2.3" || labels["revision"] != "0123abc" || labels["goversion"] != runtime.Version() {
		t.Errorf("labels %v, want version v1.2.3, revision 0123abc, goversion %s", labels, runtime.Version())
	}
}
