package testserver

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricNames returns, sorted, the names of the metrics that register registers on a
// registerer: every metric it describes, including vectors that have no series yet (which a
// scrape would not show).
func MetricNames(t testing.TB, register func(prometheus.Registerer)) []string {
	t.Helper()
	var rec describer
	register(&rec)
	slices.Sort(rec.names)
	return slices.Compact(rec.names)
}

// describer is a prometheus.Registerer that records the names its collectors describe.
type describer struct{ names []string }

// fqName is the name in a Desc's String(), the only place client_golang shows it.
var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names = append(d.names, m[1])
		}
	}
	return nil
}

func (d *describer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		d.Register(c)
	}
}

func (d *describer) Unregister(prometheus.Collector) bool { return false }

// CheckREADMEMetrics fails t unless the README at path names every metric in names (in
// backquotes) and every backquoted name in it that starts with prefix, other than those starting
// with one of the prefixes in skip, is among names: the README's lists of metrics stay in step
// with the code both ways.
func CheckREADMEMetrics(t testing.TB, path, prefix string, names []string, skip ...string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	if len(names) == 0 {
		t.Fatal("no metric names to look for")
	}
	for _, n := range names {
		if !strings.Contains(readme, "`"+n) {
			t.Errorf("%s does not name the metric %s", path, n)
		}
	}
	mentioned := regexp.MustCompile("`("+regexp.QuoteMeta(prefix)+`[a-z_]+)`).FindAllStringSubmatch(readme, -1)
	for _, m := range mentioned {
		name := m[1]
		if slices.ContainsFunc(skip, func(s string) bool { return strings.HasPrefix(name, s) }) {
			continue
		}
		if !slices.Contains(names, name) && !slices.Contains(names, strings.TrimSuffix(name, "_bucket")) {
			t.Errorf("%s names the metric %s, which the code does not export", path, name)
		}
	}
}
