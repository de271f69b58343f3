package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/test/testserver"
)

// TestLeadTimeAuto runs the agent with KEDASTRAL_LEAD_TIME=auto against a real Prometheus that
// scrapes kube-state-metrics-shaped pod series, and checks that the plan it publishes looks
// ahead by the p90 of the workload's pod start-ups plus the scaling delay.
func TestLeadTimeAuto(t *testing.T) {
	agentBin := testserver.Build(t, "agent")
	ksm := testserver.StartKSM(t)
	now := time.Now().Add(-time.Hour).Truncate(time.Second)
	// Ten pods of shop/api starting in 30, 35, ..., 75 s: p90 (nearest rank) is 70 s. A pod of
	// another workload with a longer start-up must not count.
	for i := range 10 {
		ksm.SetPod(testserver.Pod{Namespace: "shop", Name: fmt.Sprintf("api-7d4b9c-%05d", i), UID: fmt.Sprint("uid-", i),
			OwnerKind: "ReplicaSet", OwnerName: "api-7d4b9c", Created: now, Ready: now.Add(time.Duration(30+5*i) * time.Second)})
	}
	ksm.SetPod(testserver.Pod{Namespace: "shop", Name: "api-worker-5f6d7-aaaaa", UID: "uid-w", OwnerKind: "ReplicaSet",
		OwnerName: "api-worker-5f6d7", Created: now, Ready: now.Add(10 * time.Minute)})
	exp := startExporter(t)
	promURL := testserver.StartPrometheus(t, exp.addr, ksm.Addr)
	redis := testserver.StartRedis(t)

	exp.set(42)
	testserver.WaitForValue(t, promURL, "e2e_load", 42)
	testserver.WaitForValue(t, promURL, `count(kube_pod_created{namespace="shop"})`, 11)
	httpAddr := testserver.FreeAddr(t)
	startProc(t, agentBin,
		"KEDASTRAL_WORKLOAD=api", "KEDASTRAL_NAMESPACE=shop",
		"KEDASTRAL_PROMETHEUS_URL="+promURL, "KEDASTRAL_QUERY=e2e_load",
		"KEDASTRAL_REDIS_ADDR="+redis.Addr, "KEDASTRAL_HTTP_ADDR="+httpAddr,
		"KEDASTRAL_STEP=1s", "KEDASTRAL_INTERVAL=1s", "KEDASTRAL_HISTORY=1m", "KEDASTRAL_HORIZON=5m",
		"KEDASTRAL_LEAD_TIME=auto", "KEDASTRAL_SCALING_DELAY=45s", "KEDASTRAL_MAX_STALENESS=10s",
		"KEDASTRAL_TARGET_PER_POD=10")

	const want = 70*time.Second + 45*time.Second
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		resp, err := http.Get("http://" + httpAddr + "/plan")
		if err != nil {
			last = err.Error()
			continue
		}
		var p plan.Plan
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if err != nil {
			last = fmt.Sprintf("status %d: %v", resp.StatusCode, err)
			continue
		}
		if got := p.Policy.LeadTime.D(); got == want {
			return
		}
		last = fmt.Sprintf("plan looks ahead %v", p.Policy.LeadTime.D())
	}
	t.Fatalf("no plan with a lead time of %v (p90 start-up 70s + 45s) within 30s; last: %s", want, last)
}
