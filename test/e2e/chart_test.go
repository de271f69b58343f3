package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	pb "github.com/kedastral/kedastral/proto/externalscaler"
	"github.com/kedastral/kedastral/test/testserver"
)

// chartValues install the chart with its own Redis, the gateway on mutual TLS, and one agent
// with its ScaledObject. The agent runs on the e2e test's compressed time scale.
const chartValues = `
gateway:
  tls: {secretName: gateway-tls, clientCA: true}
agents:
  - workload: api
    namespace: shop
    prometheusURL: http://prometheus-operated.monitoring.svc.cluster.local:9090
    query: e2e_load
    targetPerPod: 10
    env:
      KEDASTRAL_STEP: 1s
      KEDASTRAL_INTERVAL: 1s
      KEDASTRAL_HISTORY: 10m
      KEDASTRAL_HORIZON: 30s
      KEDASTRAL_LEAD_TIME: 2s
      KEDASTRAL_REFIT_INTERVAL: 10s
      KEDASTRAL_BASIS: point
    scaledObject: {enabled: true, maxReplicaCount: 50, fallbackReplicas: 4}
`

// TestChartWiring renders charts/kedastral and runs what it deploys on this machine: the real
// gateway and agent binaries with exactly the environment the chart gives their containers
// (cluster addresses mapped to loopback ones, the TLS Secret's keys written where the chart
// mounts it), a real redis-server for the chart's Redis Service, and a real prometheus. A
// client then asks the gateway as KEDA would for the rendered ScaledObject: at the address
// its trigger names, with its metadata, verifying the gateway's certificate for that host
// and presenting a client certificate. So the chart's wiring is proved by the parts it wires.
func TestChartWiring(t *testing.T) {
	agentBin, gatewayBin := testserver.Build(t, "agent"), testserver.Build(t, "gateway")
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(chartValues), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testserver.Helm(t), "template", "kedastral", "../../charts/kedastral",
		"--namespace", "kedastral", "--values", values).Output()
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	objs := decodeRendered(t, out)
	gw := lookup(t, objs.deployments, "Deployment", "kedastral/kedastral-gateway")
	agent := lookup(t, objs.deployments, "Deployment", "shop/kedastral-agent-api")
	gwSvc := lookup(t, objs.services, "Service", "kedastral/kedastral-gateway")
	redisSvc := lookup(t, objs.services, "Service", "kedastral/kedastral-redis")
	so := lookup(t, objs.scaledObjects, "ScaledObject", "shop/api")
	if len(so.Spec.Triggers) != 2 {
		t.Fatalf("ScaledObject shop/api has triggers %+v, want Kedastral's and the reactive one", so.Spec.Triggers)
	}
	ext, reactive := so.Spec.Triggers[0], so.Spec.Triggers[1]

	// Cluster names, as the rendered objects give them, and what stands for them here.
	exp := startExporter(t)
	exp.set(30)
	promURL := testserver.StartPrometheus(t, exp.addr)
	redis := testserver.StartRedis(t)
	grpcAddr, gatewayHTTP, agentHTTP := testserver.FreeAddr(t), testserver.FreeAddr(t), testserver.FreeAddr(t)
	redisHost := redisSvc.Name + "." + redisSvc.Namespace + ".svc.cluster.local"
	gwHost := gwSvc.Name + "." + gwSvc.Namespace + ".svc.cluster.local"
	local := map[string]string{
		net.JoinHostPort(redisHost, servicePort(t, redisSvc, "redis")): redis.Addr,
		":" + containerPort(t, gw, "grpc"):                             grpcAddr,
		":" + containerPort(t, gw, "http"):                             gatewayHTTP,
		":" + containerPort(t, agent, "http"):                          agentHTTP,
		reactive.Metadata["serverAddress"]:                             promURL,
	}

	// The TLS Secret the chart mounts, with the keys a kubernetes.io/tls Secret has.
	ca := testserver.NewCA(t, "kedastral-e2e")
	cert, key := ca.Issue(t, false, gwHost)
	secretDir := t.TempDir()
	for name, b := range map[string][]byte{"tls.crt": cert, "tls.key": key, "ca.crt": ca.PEM} {
		if err := os.WriteFile(filepath.Join(secretDir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mounts := map[string]string{}
	for _, m := range gw.Spec.Template.Spec.Containers[0].VolumeMounts {
		for _, v := range gw.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.Secret != nil && v.Secret.SecretName == "gateway-tls" {
				mounts[m.MountPath] = secretDir
			}
		}
	}
	if len(mounts) != 1 {
		t.Fatalf("the gateway mounts Secret gateway-tls %d times, want once", len(mounts))
	}

	testserver.WaitForValue(t, promURL, "e2e_load", 30)
	startProc(t, gatewayBin, localEnv(t, gw.Spec.Template.Spec.Containers[0], local, mounts)...)
	startProc(t, agentBin, localEnv(t, agent.Spec.Template.Spec.Containers[0], local, nil)...)

	// KEDA, as the ScaledObject tells it: the trigger's address and metadata, TLS verified for
	// the trigger's host with the CA (TriggerAuthentication caCert), and a client certificate.
	host, p, err := net.SplitHostPort(ext.Metadata["scalerAddress"])
	if err != nil || host != gwHost || p != servicePort(t, gwSvc, "grpc") || ext.Type != "external" {
		t.Fatalf("Kedastral trigger %+v: want type external at %s:%s, the gateway Service's gRPC port", ext, gwHost, servicePort(t, gwSvc, "grpc"))
	}
	// That port leads to the gateway's gRPC listener.
	for _, sp := range gwSvc.Spec.Ports {
		if sp.Name == "grpc" && sp.TargetPort.String() != "grpc" && sp.TargetPort.String() != containerPort(t, gw, "grpc") {
			t.Fatalf("gateway Service port grpc targets %s, not the gateway's grpc port", sp.TargetPort.String())
		}
	}
	clientCert, clientKey := ca.Issue(t, true)
	pair, err := tls.X509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	creds := credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: host, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	keda := pb.NewExternalScalerClient(conn)
	ref := &pb.ScaledObjectRef{Name: so.Metadata.Name, Namespace: so.Metadata.Namespace, ScalerMetadata: ext.Metadata}
	metric := waitForSpec(t, keda, ref)
	r, err := keda.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: ref, MetricName: metric})
	if err != nil {
		t.Fatalf("GetMetrics: %v", err)
	}
	// 30 of load at 10 per pod, sized for the point forecast of a flat load: 3 replicas (the
	// reactive floor alone asks for 3, so fewer would be wrong; a forecast off by a few percent
	// may round up to 4).
	if len(r.MetricValues) != 1 || r.MetricValues[0].MetricValueFloat < 3 || r.MetricValues[0].MetricValueFloat > 4 {
		t.Errorf("GetMetrics = %v, want one value of 3 or 4 replicas", r.MetricValues)
	}

	// The reactive trigger's query and threshold are the agent's, and the query works.
	if reactive.Metadata["threshold"] != "10" {
		t.Errorf("reactive threshold %q, want the agent's target per pod, 10", reactive.Metadata["threshold"])
	}
	vec, err := testserver.Query(t, promURL, reactive.Metadata["query"])
	if err != nil || len(vec) != 1 || float64(vec[0].Value) != 30 {
		t.Errorf("the reactive trigger's query %q gives %v, %v; want the load, 30", reactive.Metadata["query"], vec, err)
	}
}

// localEnv is a container's environment with every value that names a cluster address replaced
// by its stand-in here, and every path under a mounted Secret moved to where it was written. A
// value that still names a cluster address fails t: the test would otherwise run against
// nothing.
func localEnv(t *testing.T, c corev1.Container, local, mounts map[string]string) []string {
	t.Helper()
	var env []string
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Fatalf("container %s: %s comes from %+v, which this test cannot resolve", c.Name, e.Name, e.ValueFrom)
		}
		v := e.Value
		if l, ok := local[v]; ok {
			v = l
		}
		for dir, here := range mounts {
			if strings.HasPrefix(v, dir+"/") {
				v = filepath.Join(here, strings.TrimPrefix(v, dir+"/"))
			}
		}
		if strings.Contains(v, ".svc") || strings.Contains(v, ".cluster.local") {
			t.Fatalf("container %s: %s=%s names a cluster address with no stand-in", c.Name, e.Name, v)
		}
		env = append(env, e.Name+"="+v)
	}
	return env
}

// servicePort is the number of the Service's port named name.
func servicePort(t *testing.T, svc *corev1.Service, name string) string {
	t.Helper()
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return strconv.Itoa(int(p.Port))
		}
	}
	t.Fatalf("Service %s has no port %s", svc.Name, name)
	return ""
}

// containerPort is the number of the first container's port named name.
func containerPort(t *testing.T, d *appsv1.Deployment, name string) string {
	t.Helper()
	for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
		if p.Name == name {
			return strconv.Itoa(int(p.ContainerPort))
		}
	}
	t.Fatalf("Deployment %s has no container port %s", d.Name, name)
	return ""
}

// renderedObjects are the objects of a rendered chart this test runs, by namespace/name.
type renderedObjects struct {
	deployments   map[string]*appsv1.Deployment
	services      map[string]*corev1.Service
	scaledObjects map[string]*scaledObject
}

type scaledObject struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Triggers []struct {
			Type     string            `json:"type"`
			Metadata map[string]string `json:"metadata"`
		} `json:"triggers"`
	} `json:"spec"`
}

func decodeRendered(t *testing.T, out []byte) renderedObjects {
	t.Helper()
	r := renderedObjects{map[string]*appsv1.Deployment{}, map[string]*corev1.Service{}, map[string]*scaledObject{}}
	for _, doc := range bytes.Split(out, []byte("\n---\n")) {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatalf("rendered chart: %v", err)
		}
		key := head.Metadata.Namespace + "/" + head.Metadata.Name
		var err error
		switch head.Kind {
		case "Deployment":
			d := &appsv1.Deployment{}
			err, r.deployments[key] = yaml.Unmarshal(doc, d), d
		case "Service":
			s := &corev1.Service{}
			err, r.services[key] = yaml.Unmarshal(doc, s), s
		case "ScaledObject":
			s := &scaledObject{}
			err, r.scaledObjects[key] = yaml.Unmarshal(doc, s), s
		}
		if err != nil {
			t.Fatalf("rendered %s %s: %v", head.Kind, key, err)
		}
	}
	return r
}

// lookup returns the rendered object of the kind at key (namespace/name), failing t without one.
func lookup[T any](t *testing.T, objs map[string]T, kind, key string) T {
	t.Helper()
	o, ok := objs[key]
	if !ok {
		t.Fatalf("the chart renders no %s %s", kind, key)
	}
	return o
}
