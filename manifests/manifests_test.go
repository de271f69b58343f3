package manifests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// scaledObject is KEDA's keda.sh/v1alpha1 ScaledObject as of KEDA 2.x
// (apis/keda/v1alpha1/scaledobject_types.go), the fields users set.
type scaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ScaleTargetRef struct {
			APIVersion             string `json:"apiVersion,omitempty"`
			Kind                   string `json:"kind,omitempty"`
			Name                   string `json:"name"`
			EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
		} `json:"scaleTargetRef"`
		PollingInterval       *int32 `json:"pollingInterval,omitempty"`
		InitialCooldownPeriod *int32 `json:"initialCooldownPeriod,omitempty"`
		CooldownPeriod        *int32 `json:"cooldownPeriod,omitempty"`
		IdleReplicaCount      *int32 `json:"idleReplicaCount,omitempty"`
		MinReplicaCount       *int32 `json:"minReplicaCount,omitempty"`
		MaxReplicaCount       *int32 `json:"maxReplicaCount,omitempty"`
		Fallback              *struct {
			FailureThreshold int32  `json:"failureThreshold"`
			Replicas         int32  `json:"replicas"`
			Behavior         string `json:"behavior,omitempty"`
		} `json:"fallback,omitempty"`
		Advanced *struct {
			RestoreToOriginalReplicaCount bool `json:"restoreToOriginalReplicaCount,omitempty"`
			HorizontalPodAutoscalerConfig *struct {
				Name     string                                         `json:"name,omitempty"`
				Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
			} `json:"horizontalPodAutoscalerConfig,omitempty"`
		} `json:"advanced,omitempty"`
		Triggers []struct {
			Type              string            `json:"type"`
			Name              string            `json:"name,omitempty"`
			UseCachedMetrics  bool              `json:"useCachedMetrics,omitempty"`
			Metadata          map[string]string `json:"metadata"`
			MetricType        string            `json:"metricType,omitempty"`
			AuthenticationRef *struct {
				Name string `json:"name"`
				Kind string `json:"kind,omitempty"`
			} `json:"authenticationRef,omitempty"`
		} `json:"triggers"`
	} `json:"spec"`
}

// podMonitor is the Prometheus Operator's monitoring.coreos.com/v1 PodMonitor, the fields the
// chart sets.
type podMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector"`
		PodMetricsEndpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path,omitempty"`
			Interval string `json:"interval,omitempty"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

// prometheusRule is the Prometheus Operator's monitoring.coreos.com/v1 PrometheusRule, whose spec
// is a Prometheus rules file.
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []struct {
			Name     string `json:"name"`
			Interval string `json:"interval,omitempty"`
			Rules    []struct {
				Alert       string            `json:"alert,omitempty"`
				Record      string            `json:"record,omitempty"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels,omitempty"`
				Annotations map[string]string `json:"annotations,omitempty"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// TestManifestsDecodeStrictly decodes every document of every manifest into its API type,
// refusing unknown and duplicate fields, and checks the wiring between them.
func TestManifestsDecodeStrictly(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests found: %v", err)
	}
	kinds := map[string]int{}
	var (
		gateway   *appsv1.Deployment
		app       *appsv1.Deployment
		scaledObj *scaledObject
		services  = map[string]*corev1.Service{}
		monitors  []*podMonitor
	)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range decodeStrictly(t, f, b) {
			kinds[kindOf(obj)]++
			switch o := obj.(type) {
			case *appsv1.Deployment:
				if o.Name == "kedastral-gateway" {
					gateway = o
				}
				for _, c := range o.Spec.Template.Spec.Containers {
					if c.Name == "kedastral-agent" {
						app = o
					}
				}
			case *corev1.Service:
				services[o.Namespace+"/"+o.Name] = o
			case *scaledObject:
				scaledObj = o
			case *podMonitor:
				monitors = append(monitors, o)
			}
		}
	}
	if gateway == nil || app == nil || scaledObj == nil {
		t.Fatalf("want a gateway Deployment, an app with the agent and a ScaledObject; got %v", kinds)
	}
	if r := gateway.Spec.Replicas; r == nil || *r < 2 {
		t.Errorf("gateway replicas = %v, want >= 2 for availability", r)
	}
	for _, c := range gateway.Spec.Template.Spec.Containers {
		// A gRPC probe would fail as soon as the gateway serves TLS.
		if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
			t.Errorf("gateway container %s: readiness probe %+v, want GET /readyz", c.Name, p)
		}
	}
	if svc := services["kedastral/kedastral-gateway"]; svc == nil {
		t.Error("no Service kedastral/kedastral-gateway")
	} else if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		// KEDA balances across the addresses the name resolves to: a virtual IP is one address.
		t.Errorf("gateway Service clusterIP = %q, want None (headless)", svc.Spec.ClusterIP)
	}

	// The ScaledObject must name the app's workload, in the agent's namespace, at the gateway.
	env := map[string]string{}
	for _, c := range app.Spec.Template.Spec.Containers {
		if c.Name == "kedastral-agent" {
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			if c.ReadinessProbe != nil {
				t.Error("the agent has a readiness probe: a failing agent would take the app out of its Service")
			}
		}
	}
	for _, k := range []string{"KEDASTRAL_WORKLOAD", "KEDASTRAL_PROMETHEUS_URL", "KEDASTRAL_QUERY", "KEDASTRAL_REDIS_ADDR", "KEDASTRAL_TARGET_PER_POD"} {
		if env[k] == "" {
			t.Errorf("agent container lacks %s", k)
		}
	}
	if len(scaledObj.Spec.Triggers) != 2 {
		t.Fatalf("ScaledObject has %d triggers, want Kedastral's and the reactive one beside it", len(scaledObj.Spec.Triggers))
	}
	// The reactive trigger must scale on what the agent forecasts, at the agent's target.
	if re := scaledObj.Spec.Triggers[1]; re.Type != "prometheus" || re.Metadata["query"] != env["KEDASTRAL_QUERY"] ||
		re.Metadata["threshold"] != env["KEDASTRAL_TARGET_PER_POD"] || re.Metadata["serverAddress"] != env["KEDASTRAL_PROMETHEUS_URL"] {
		t.Errorf("reactive trigger %+v, want prometheus on the agent's query %q, threshold %q, server %q",
			re, env["KEDASTRAL_QUERY"], env["KEDASTRAL_TARGET_PER_POD"], env["KEDASTRAL_PROMETHEUS_URL"])
	}
	tr := scaledObj.Spec.Triggers[0]
	if tr.Type != "external" || tr.Metadata["workload"] != env["KEDASTRAL_WORKLOAD"] ||
		scaledObj.Spec.ScaleTargetRef.Name != app.Name || scaledObj.Namespace != app.Namespace {
		t.Errorf("ScaledObject trigger %+v targets %s/%s, want an external trigger for workload %q of %s/%s",
			tr, scaledObj.Namespace, scaledObj.Spec.ScaleTargetRef.Name, env["KEDASTRAL_WORKLOAD"], app.Namespace, app.Name)
	}
	if !strings.HasPrefix(tr.Metadata["scalerAddress"], "kedastral-gateway.kedastral.svc.cluster.local:50051") {
		t.Errorf("scalerAddress = %q, want the gateway Service's gRPC port", tr.Metadata["scalerAddress"])
	}
	if scaledObj.Spec.Fallback == nil {
		t.Error("ScaledObject has no fallback: a gateway error would leave the HPA without a value")
	}

	// The PodMonitors scrape the gateway and the agent, at the port each serves /metrics on.
	for _, d := range []struct {
		dep       *appsv1.Deployment
		container string
	}{{gateway, "gateway"}, {app, "kedastral-agent"}} {
		if !scraped(t, monitors, d.dep, d.container) {
			t.Errorf("no PodMonitor scrapes container %s of %s/%s at its KEDASTRAL_HTTP_ADDR port", d.container, d.dep.Namespace, d.dep.Name)
		}
	}
}

// scraped reports whether a PodMonitor in the Deployment's namespace selects its pods at the
// container's port that KEDASTRAL_HTTP_ADDR listens on.
func scraped(t *testing.T, monitors []*podMonitor, d *appsv1.Deployment, container string) bool {
	t.Helper()
	for _, m := range monitors {
		sel, err := metav1.LabelSelectorAsSelector(&m.Spec.Selector)
		if err != nil {
			t.Fatalf("PodMonitor %s: %v", m.Name, err)
		}
		if m.Namespace != d.Namespace || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name != container {
				continue
			}
			addr := ""
			for _, e := range c.Env {
				if e.Name == "KEDASTRAL_HTTP_ADDR" {
					addr = e.Value
				}
			}
			for _, p := range c.Ports {
				for _, ep := range m.Spec.PodMetricsEndpoints {
					if ep.Port == p.Name && ep.Path == "/metrics" && addr == fmt.Sprintf(":%d", p.ContainerPort) {
						return true
					}
				}
			}
		}
	}
	return false
}

// decodeStrictly decodes every YAML document in b (from name) into its API type, refusing
// unknown and duplicate fields, and returns them in order. A kind with no test type fails t.
func decodeStrictly(t *testing.T, name string, b []byte) []any {
	t.Helper()
	var objs []any
	for i, doc := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(bytes.TrimPrefix(doc, []byte("---\n")))) == 0 {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("%s document %d: %v", name, i, err)
		}
		var obj any
		switch tm.APIVersion + "/" + tm.Kind {
		case "v1/Namespace":
			obj = &corev1.Namespace{}
		case "v1/Service":
			obj = &corev1.Service{}
		case "v1/ConfigMap":
			obj = &corev1.ConfigMap{}
		case "apps/v1/Deployment":
			obj = &appsv1.Deployment{}
		case "policy/v1/PodDisruptionBudget":
			obj = &policyv1.PodDisruptionBudget{}
		case "keda.sh/v1alpha1/ScaledObject":
			obj = &scaledObject{}
		case "monitoring.coreos.com/v1/PrometheusRule":
			obj = &prometheusRule{}
		case "monitoring.coreos.com/v1/PodMonitor":
			obj = &podMonitor{}
		default:
			t.Fatalf("%s document %d: no test type for %s %s; add one", name, i, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			t.Errorf("%s document %d (%s): %v", name, i, tm.Kind, err)
			continue
		}
		objs = append(objs, obj)
	}
	return objs
}

// kindOf is the Kind of a decoded object (every type decodeStrictly returns has TypeMeta).
func kindOf(obj any) string {
	return obj.(interface{ GetObjectKind() schema.ObjectKind }).GetObjectKind().GroupVersionKind().Kind
}

// TestAlerts checks alerts.yaml with the real promtool: the rules parse and their PromQL is
// valid (check rules), and each alert fires on the failure it names and stays quiet on a
// healthy workload (test rules, with testdata/alerts_test.yaml). Every alert must carry a
// severity, a summary and a description, and be exercised by the unit tests.
func TestAlerts(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found in PATH (it comes with prometheus; run .ci/deps to install it): %v", err)
	}
	b, err := os.ReadFile("alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rule prometheusRule
	if err := yaml.UnmarshalStrict(b, &rule); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	tests, err := os.ReadFile("testdata/alerts_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	alerts := 0
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts++
			if sev := r.Labels["severity"]; sev != "critical" && sev != "warning" && sev != "info" {
				t.Errorf("%s: severity %q, want critical, warning or info", r.Alert, sev)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: want a summary and a description", r.Alert)
			}
			if !bytes.Contains(tests, []byte("alertname: "+r.Alert+"\n")) {
				t.Errorf("%s is not exercised by testdata/alerts_test.yaml", r.Alert)
			}
		}
	}
	if alerts == 0 {
		t.Fatal("alerts.yaml has no alerts")
	}

	// A plain Prometheus reads the spec as its rules file.
	dir := t.TempDir()
	spec, err := yaml.Marshal(rule.Spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kedastral.rules.yml"), spec, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts_test.yaml"), tests, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "kedastral.rules.yml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestDashboard checks dashboard.json as Grafana reads it: unique panel ids, panels within the
// 24-column grid and not overlapping, every query panel on the datasource variable, and no
// variable used that the dashboard does not define (or Grafana does not). That its queries
// return data from the real agent and gateway is checked end to end (test/e2e).
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID         int    `json:"id"`
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource *struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			GridPos struct{ H, W, X, Y int } `json:"gridPos"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	if dash.UID == "" || dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatalf("dashboard.json: uid %q, title %q, %d panels; want all three", dash.UID, dash.Title, len(dash.Panels))
	}
	defined := map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}
	for _, v := range dash.Templating.List {
		defined[v.Name] = true
	}
	variable := regexp.MustCompile(`\$\{?(\w+)`)
	ids := map[int]bool{}
	type cell struct{ x, y int }
	taken := map[cell]string{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W < 1 || g.H < 1 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[cell{x, y}]; ok {
					t.Errorf("panel %q overlaps %q at column %d, row %d", p.Title, other, x, y)
				}
				taken[cell{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: datasource %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" || tg.RefID == "" {
				t.Errorf("panel %q: query %+v, want an expr and a refId", p.Title, tg)
			}
			for _, m := range variable.FindAllStringSubmatch(tg.Expr, -1) {
				if !defined[m[1]] {
					t.Errorf("panel %q: $%s is not a variable of the dashboard", p.Title, m[1])
				}
			}
		}
	}
}
