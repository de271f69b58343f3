package manifests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/kedastral/kedastral/test/testserver"
)

const chartDir = "../charts/kedastral"

// helm runs helm (testserver.Helm) and returns its standard output.
func helm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(testserver.Helm(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// render is `helm template` of the chart as release kedastral in namespace kedastral.
func render(t *testing.T, args ...string) []any {
	t.Helper()
	out, err := helm(t, append([]string{"template", "kedastral", chartDir, "--namespace", "kedastral"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return decodeStrictly(t, "helm template", out)
}

// rendered indexes rendered objects by kind and namespace/name.
type rendered map[string]any

func byKey(objs []any) rendered {
	r := rendered{}
	for _, o := range objs {
		m := o.(interface{ GetNamespace() string })
		n := o.(interface{ GetName() string })
		r[kindOf(o)+" "+m.GetNamespace()+"/"+n.GetName()] = o
	}
	return r
}

func get[T any](t *testing.T, r rendered, key string) T {
	t.Helper()
	o, ok := r[key].(T)
	if !ok {
		keys := make([]string, 0, len(r))
		for k := range r {
			keys = append(keys, k)
		}
		t.Fatalf("the chart renders no %s; it renders %v", key, keys)
	}
	return o
}

func envOf(c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

// checkVariables fails t for a KEDASTRAL_ variable the README's configuration tables do not
// list (those tables are checked against the code by the agent's and the gateway's tests).
func checkVariables(t *testing.T, who string, env map[string]string) {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for k := range env {
		if !bytes.Contains(readme, []byte("| `"+k+"` |")) {
			t.Errorf("%s sets %s, which is not a Kedastral variable", who, k)
		}
	}
}

func chartAppVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil || c.AppVersion == "" {
		t.Fatalf("Chart.yaml: appVersion %q, %v", c.AppVersion, err)
	}
	return c.AppVersion
}

// TestChartDefaults: with no values, the chart passes helm lint and installs what
// manifests/gateway.yaml and redis.yaml do: two gateways behind a headless Service, kept
// available through drains, reading the chart's own Redis.
func TestChartDefaults(t *testing.T) {
	if out, err := helm(t, "lint", "--strict", chartDir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := helm(t, "lint", "--strict", chartDir, "--values", "testdata/chart-values.yaml"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	r := byKey(render(t))
	if len(r) != 5 {
		t.Errorf("the chart renders %d objects by default, want 5 (gateway Deployment, Service, PDB; Redis Deployment, Service)", len(r))
	}
	gw := get[*appsv1.Deployment](t, r, "Deployment kedastral/kedastral-gateway")
	if n := gw.Spec.Replicas; n == nil || *n < 2 {
		t.Errorf("gateway replicas %v, want >= 2", n)
	}
	c := gw.Spec.Template.Spec.Containers[0]
	if want := "ghcr.io/kedastral/gateway:" + chartAppVersion(t); c.Image != want {
		t.Errorf("gateway image %q, want %q", c.Image, want)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
		t.Errorf("gateway readiness probe %+v, want GET /readyz", p)
	}
	env := envOf(c)
	checkVariables(t, "the gateway", env)
	svc := get[*corev1.Service](t, r, "Service kedastral/kedastral-gateway")
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("gateway Service clusterIP %q, want None (headless, so KEDA balances over every pod)", svc.Spec.ClusterIP)
	}
	if len(svc.Spec.Ports) == 0 || svc.Spec.Ports[0].Port != 50051 || env["KEDASTRAL_GRPC_ADDR"] != ":50051" {
		t.Errorf("gateway Service ports %+v and KEDASTRAL_GRPC_ADDR %q, want gRPC on 50051", svc.Spec.Ports, env["KEDASTRAL_GRPC_ADDR"])
	}
	for k, v := range svc.Spec.Selector {
		if gw.Spec.Template.Labels[k] != v {
			t.Errorf("gateway Service selects %s=%s, which the gateway pods do not carry", k, v)
		}
	}
	get[*appsv1.Deployment](t, r, "Deployment kedastral/kedastral-redis")
	redis := get[*corev1.Service](t, r, "Service kedastral/kedastral-redis")
	if want := "kedastral-redis.kedastral.svc.cluster.local:6379"; env["KEDASTRAL_REDIS_ADDR"] != want || redis.Spec.Ports[0].Port != 6379 {
		t.Errorf("gateway KEDASTRAL_REDIS_ADDR %q (Redis Service port %d), want %q", env["KEDASTRAL_REDIS_ADDR"], redis.Spec.Ports[0].Port, want)
	}
	get[*policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget kedastral/kedastral-gateway")
}

// TestChartEverything renders every option: an external Redis, gateway TLS with client
// verification, an agent with its ScaledObject, the alerts and the dashboard.
func TestChartEverything(t *testing.T) {
	r := byKey(render(t, "--values", "testdata/chart-values.yaml"))
	if _, ok := r["Deployment kedastral/kedastral-redis"]; ok {
		t.Error("the chart renders its own Redis with redis.enabled false")
	}

	gw := get[*appsv1.Deployment](t, r, "Deployment kedastral/kedastral-gateway")
	c := gw.Spec.Template.Spec.Containers[0]
	env := envOf(c)
	checkVariables(t, "the gateway", env)
	if env["KEDASTRAL_REDIS_ADDR"] != "redis.prod:6379" || env["KEDASTRAL_LOG_LEVEL"] != "debug" {
		t.Errorf("gateway env %v, want KEDASTRAL_REDIS_ADDR redis.prod:6379 and KEDASTRAL_LOG_LEVEL debug", env)
	}
	// The TLS files are the Secret's keys, where the Secret is mounted.
	if len(c.VolumeMounts) != 1 || len(gw.Spec.Template.Spec.Volumes) != 1 ||
		gw.Spec.Template.Spec.Volumes[0].Secret == nil || gw.Spec.Template.Spec.Volumes[0].Secret.SecretName != "gw-tls" {
		t.Fatalf("gateway mounts %+v from volumes %+v, want Secret gw-tls", c.VolumeMounts, gw.Spec.Template.Spec.Volumes)
	}
	dir := c.VolumeMounts[0].MountPath
	for k, file := range map[string]string{"KEDASTRAL_TLS_CERT_FILE": "tls.crt", "KEDASTRAL_TLS_KEY_FILE": "tls.key", "KEDASTRAL_TLS_CLIENT_CA_FILE": "ca.crt"} {
		if want := filepath.Join(dir, file); env[k] != want {
			t.Errorf("gateway %s = %q, want %q", k, env[k], want)
		}
	}

	app := get[*appsv1.Deployment](t, r, "Deployment shop/kedastral-agent-checkout")
	ac := app.Spec.Template.Spec.Containers[0]
	aenv := envOf(ac)
	checkVariables(t, "the agent", aenv)
	for k, want := range map[string]string{
		"KEDASTRAL_WORKLOAD": "checkout", "KEDASTRAL_NAMESPACE": "shop", "KEDASTRAL_TARGET_PER_POD": "50",
		"KEDASTRAL_REDIS_ADDR": "redis.prod:6379", "KEDASTRAL_HEADROOM": "1.1", "KEDASTRAL_MAX_REPLICAS": "40",
		"KEDASTRAL_QUERY": `sum(rate(http_requests_total{namespace="shop", app="checkout"}[1m]))`,
	} {
		if aenv[k] != want {
			t.Errorf("agent %s = %q, want %q", k, aenv[k], want)
		}
	}
	if ac.ReadinessProbe != nil {
		t.Error("the agent has a readiness probe; its /readyz is for monitoring")
	}

	// The ScaledObject asks the gateway for the agent's workload, and scales reactively on the
	// agent's own query and target beside it.
	so := get[*scaledObject](t, r, "ScaledObject shop/checkout")
	if len(so.Spec.Triggers) != 2 || so.Spec.Fallback == nil || so.Spec.ScaleTargetRef.Name != "checkout" {
		t.Fatalf("ScaledObject %+v, want two triggers and a fallback for Deployment checkout", so.Spec)
	}
	// The HPA's behavior reaches KEDA as given (decoded strictly as autoscaling/v2).
	window, tolerance := int32(600), resource.MustParse("0.02")
	behavior := &autoscalingv2.HorizontalPodAutoscalerBehavior{
		ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window},
		ScaleUp:   &autoscalingv2.HPAScalingRules{Tolerance: &tolerance},
	}
	if a := so.Spec.Advanced; a == nil || a.HorizontalPodAutoscalerConfig == nil ||
		!equality.Semantic.DeepEqual(a.HorizontalPodAutoscalerConfig.Behavior, behavior) {
		t.Errorf("ScaledObject advanced %+v, want the HPA behavior of the values (scale-down window 600s, scale-up tolerance 0.02)", a)
	}
	gwSvc := get[*corev1.Service](t, r, "Service kedastral/kedastral-gateway")
	ext, re := so.Spec.Triggers[0], so.Spec.Triggers[1]
	if want := gwSvc.Name + "." + gwSvc.Namespace + ".svc.cluster.local:50051"; ext.Type != "external" ||
		ext.Metadata["scalerAddress"] != want || ext.Metadata["workload"] != aenv["KEDASTRAL_WORKLOAD"] ||
		ext.Metadata["namespace"] != aenv["KEDASTRAL_NAMESPACE"] {
		t.Errorf("Kedastral trigger %+v, want external at %s for %s/%s", ext, want, aenv["KEDASTRAL_NAMESPACE"], aenv["KEDASTRAL_WORKLOAD"])
	}
	if re.Type != "prometheus" || re.Metadata["query"] != aenv["KEDASTRAL_QUERY"] ||
		re.Metadata["threshold"] != aenv["KEDASTRAL_TARGET_PER_POD"] || re.Metadata["serverAddress"] != aenv["KEDASTRAL_PROMETHEUS_URL"] {
		t.Errorf("reactive trigger %+v, want prometheus on the agent's query, target and server", re)
	}

	// The PodMonitor scrapes the gateway and the agent (else the alerts have no data): it
	// selects their pods, in their namespaces, at a port they serve /metrics on.
	pm := get[*podMonitor](t, r, "PodMonitor kedastral/kedastral")
	if len(pm.Spec.PodMetricsEndpoints) != 1 || pm.Spec.PodMetricsEndpoints[0].Path != "/metrics" || pm.Labels["release"] != "prom" {
		t.Fatalf("PodMonitor %+v, want one /metrics endpoint and the labels of podMonitor.labels", pm)
	}
	sel, err := metav1.LabelSelectorAsSelector(&pm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*appsv1.Deployment{gw, app} {
		c := d.Spec.Template.Spec.Containers[0]
		if !sel.Matches(labels.Set(d.Spec.Template.Labels)) || !slices.Contains(pm.Spec.NamespaceSelector.MatchNames, d.Namespace) {
			t.Errorf("the PodMonitor (%s in %v) does not select %s/%s", sel, pm.Spec.NamespaceSelector.MatchNames, d.Namespace, d.Name)
		}
		served := false
		for _, p := range c.Ports {
			if p.Name == pm.Spec.PodMetricsEndpoints[0].Port && envOf(c)["KEDASTRAL_HTTP_ADDR"] == fmt.Sprintf(":%d", p.ContainerPort) {
				served = true
			}
		}
		if !served {
			t.Errorf("%s: no container port %q on KEDASTRAL_HTTP_ADDR %q, where /metrics is served", d.Name, pm.Spec.PodMetricsEndpoints[0].Port, envOf(c)["KEDASTRAL_HTTP_ADDR"])
		}
	}

	// The alerts and the dashboard are manifests/' own.
	var want prometheusRule
	b, err := os.ReadFile("alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, &want); err != nil {
		t.Fatal(err)
	}
	rule := get[*prometheusRule](t, r, "PrometheusRule kedastral/kedastral")
	if diff := cmp.Diff(want.Spec, rule.Spec); diff != "" {
		t.Errorf("the chart's PrometheusRule differs from manifests/alerts.yaml (make chart-files) (-want +got):\n%s", diff)
	}
	if rule.Labels["release"] != "prom" {
		t.Errorf("PrometheusRule labels %v, want prometheusRule.labels (release: prom) among them", rule.Labels)
	}
	dash, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	cm := get[*corev1.ConfigMap](t, r, "ConfigMap kedastral/kedastral-dashboard")
	if got := cm.Data["kedastral.json"]; got != strings.TrimRight(string(dash), "\n") {
		t.Error("the chart's dashboard differs from manifests/dashboard.json (make chart-files)")
	}
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap labels %v, want grafana_dashboard: \"1\" for Grafana's sidecar", cm.Labels)
	}
}

// TestChartPlanBounds: the agent plans within the ScaledObject's bounds unless its env says
// otherwise. A plan capped below maxReplicaCount would leave the replicas above it to the
// reactive trigger alone, and a minReplicaCount of 0 is scale to zero, which the agent must be
// told of (it refuses a minimum of 0 without it).
func TestChartPlanBounds(t *testing.T) {
	agent := []string{"--set", "agents[0].workload=checkout", "--set", "agents[0].prometheusURL=http://prometheus:9090",
		"--set", "agents[0].query=sum(up)", "--set", "agents[0].targetPerPod=50",
		"--set", "agents[0].scaledObject.enabled=true", "--set", "agents[0].scaledObject.maxReplicaCount=40",
		"--set", "agents[0].scaledObject.fallbackReplicas=4"}
	tests := map[string]struct {
		set     []string
		wantEnv map[string]string // "" for a variable that must not be set
		wantMin int32
	}{
		"from the ScaledObject": {
			set:     []string{"agents[0].scaledObject.minReplicaCount=2"},
			wantEnv: map[string]string{"KEDASTRAL_MIN_REPLICAS": "2", "KEDASTRAL_MAX_REPLICAS": "40", "KEDASTRAL_SCALE_TO_ZERO": ""},
			wantMin: 2,
		},
		"min unset is 1": {
			wantEnv: map[string]string{"KEDASTRAL_MIN_REPLICAS": "1", "KEDASTRAL_MAX_REPLICAS": "40"},
			wantMin: 1,
		},
		"min 0 is scale to zero": {
			set:     []string{"agents[0].scaledObject.minReplicaCount=0"},
			wantEnv: map[string]string{"KEDASTRAL_MIN_REPLICAS": "0", "KEDASTRAL_SCALE_TO_ZERO": "true"},
			wantMin: 0,
		},
		"env wins": {
			set:     []string{"agents[0].scaledObject.minReplicaCount=0", "agents[0].env.KEDASTRAL_MAX_REPLICAS=30", "agents[0].env.KEDASTRAL_SCALE_TO_ZERO=false", "agents[0].env.KEDASTRAL_MIN_REPLICAS=1"},
			wantEnv: map[string]string{"KEDASTRAL_MIN_REPLICAS": "1", "KEDASTRAL_MAX_REPLICAS": "30", "KEDASTRAL_SCALE_TO_ZERO": "false"},
			wantMin: 0,
		},
		"extraEnv wins too": {
			set:     []string{"agents[0].extraEnv[0].name=KEDASTRAL_MAX_REPLICAS", "agents[0].extraEnv[0].value=30"},
			wantEnv: map[string]string{"KEDASTRAL_MIN_REPLICAS": "1", "KEDASTRAL_MAX_REPLICAS": "30"},
			wantMin: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := slices.Clone(agent)
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			r := byKey(render(t, args...))
			c := get[*appsv1.Deployment](t, r, "Deployment kedastral/kedastral-agent-checkout").Spec.Template.Spec.Containers[0]
			seen := map[string]int{}
			for _, e := range c.Env {
				if seen[e.Name]++; seen[e.Name] == 2 {
					t.Errorf("the agent's env sets %s twice", e.Name)
				}
			}
			env := envOf(c)
			for k, want := range tc.wantEnv {
				if got, ok := env[k]; got != want || ok != (want != "") {
					t.Errorf("agent %s = %q (set: %v), want %q", k, got, ok, want)
				}
			}
			so := get[*scaledObject](t, r, "ScaledObject kedastral/checkout")
			if so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount != tc.wantMin {
				t.Errorf("ScaledObject minReplicaCount = %v, want %d", so.Spec.MinReplicaCount, tc.wantMin)
			}
		})
	}
}

// TestChartRefusesBadValues: a missing value that the gateway or an agent could not run without
// stops `helm install` with a message naming it, rather than deploying pods that crash.
func TestChartRefusesBadValues(t *testing.T) {
	agent := []string{"--set", "agents[0].workload=api", "--set", "agents[0].prometheusURL=http://prom:9090",
		"--set", "agents[0].query=sum(rate(x[1m]))", "--set", "agents[0].targetPerPod=5"}
	tests := map[string]struct {
		args []string
		want string
	}{
		"external Redis without an address": {
			args: []string{"--set", "redis.enabled=false"},
			want: "redis.address is required when redis.enabled is false",
		},
		"agent without a query": {
			args: []string{"--set", "agents[0].workload=api", "--set", "agents[0].prometheusURL=http://prom:9090", "--set", "agents[0].targetPerPod=5"},
			want: "agents[0].query is required (agent api)",
		},
		"agent without a workload": {
			args: []string{"--set", "agents[0].query=up"},
			want: "agents[0].workload is required",
		},
		// values.schema.json: a misspelt or mistyped value is named, not ignored.
		"misspelt value": {
			args: []string{"--set", "agent.workload=api"},
			want: "additional properties 'agent' not allowed",
		},
		"target per pod not a number": {
			args: []string{"--set", "agents[0].workload=api", "--set", "agents[0].targetPerPod=fifty"},
			want: "/agents/0/targetPerPod': got string, want number",
		},
		"a variable that is not Kedastral's": {
			args: []string{"--set", "gateway.env.LOG_LEVEL=debug"},
			want: "invalid propertyName 'LOG_LEVEL'",
		},
		"ScaledObject without a fallback": {
			args: append(slices.Clone(agent), "--set", "agents[0].scaledObject.enabled=true", "--set", "agents[0].scaledObject.maxReplicaCount=10"),
			want: "agents[0].scaledObject.fallbackReplicas is required (agent api)",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := helm(t, append([]string{"template", "kedastral", chartDir}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template: %v; want an error saying %q", err, tc.want)
			}
		})
	}
	// And the same agent, complete, renders.
	if _, err := helm(t, append([]string{"template", "kedastral", chartDir}, agent...)...); err != nil {
		t.Errorf("a complete agent: %v", err)
	}
}

// TestChartFilesMatchManifests: the chart carries copies of the alerts and the dashboard (Helm
// reads only files inside the chart); `make chart-files` refreshes them.
func TestChartFilesMatchManifests(t *testing.T) {
	for _, f := range []string{"alerts.yaml", "dashboard.json"} {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(chartDir, "files", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("charts/kedastral/files/%s differs from manifests/%s: run make chart-files", f, f)
		}
	}
}
