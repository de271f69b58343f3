package promsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/kedastral/kedastral/test/testserver"
)

// vectorAnswer is the JSON body of a successful instant query at t0 returning one series per
// value, labelled pod="pod-<i>".
func vectorAnswer(warnings []string, values ...float64) string {
	type result struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	results := []result{}
	for i, v := range values {
		results = append(results, result{
			Metric: map[string]string{"pod": fmt.Sprintf("pod-%d", i)},
			Value:  [2]any{t0.Unix(), strconv.FormatFloat(v, 'f', -1, 64)},
		})
	}
	body, err := json.Marshal(map[string]any{
		"status":   "success",
		"warnings": warnings,
		"data":     map[string]any{"resultType": "vector", "result": results},
	})
	if err != nil {
		panic(err)
	}
	return string(body)
}

// seconds returns durations of the given seconds.
func seconds(s ...float64) []time.Duration {
	var d []time.Duration
	for _, v := range s {
		d = append(d, time.Duration(v*float64(time.Second)))
	}
	return d
}

func TestStartupQuery(t *testing.T) {
	tests := map[string]struct {
		namespace, workload string
		want                string
	}{
		"deployment": {
			namespace: "shop", workload: "api",
			want: `min by (namespace, pod, uid) (min_over_time(kube_pod_status_ready_time{namespace="shop", pod=~"api-[a-z0-9]+-[a-z0-9]+"}[7d]))` +
				` - max by (namespace, pod, uid) (last_over_time(kube_pod_created{namespace="shop", pod=~"api-[a-z0-9]+-[a-z0-9]+"}[7d]))` +
				` and on (namespace, pod, uid) last_over_time(kube_pod_owner{namespace="shop", pod=~"api-[a-z0-9]+-[a-z0-9]+", owner_kind="ReplicaSet"}[7d])`,
		},
		"regex metacharacters are escaped": {
			namespace: "shop", workload: "web.v2",
			want: `pod=~"web\\.v2-[a-z0-9]+-[a-z0-9]+"`,
		},
		"quotes and backslashes are escaped": {
			namespace: `sh"op\`, workload: `a"b`,
			want: `{namespace="sh\"op\\", pod=~"a\"b-[a-z0-9]+-[a-z0-9]+"}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := StartupQuery(tc.namespace, tc.workload)
			if !strings.Contains(got, tc.want) {
				t.Errorf("StartupQuery(%q, %q) = %s, want it to contain %s", tc.namespace, tc.workload, got, tc.want)
			}
		})
	}
}

func TestStartupTimesErrors(t *testing.T) {
	tests := map[string]struct {
		handler     http.HandlerFunc
		wantIs      error
		wantBad     *BadStartupTimesError
		wantAPIType v1.ErrorType // when set, a *v1.Error of this type must be in the chain
		wantMsg     []string
	}{
		"no series": {
			handler: reply(200, vectorAnswer(nil)),
			wantIs:  ErrNoData,
			wantMsg: []string{"at 2026-11-26T12:00:00Z: start-up times need kube-state-metrics v2.8.1 or later", "kube_pod_status_ready_time", ": no data"},
		},
		"no usable value": {
			handler: reply(200, vectorAnswer(nil, math.NaN(), -2, math.Inf(1), 1e10)),
			wantBad: &BadStartupTimesError{Query: testQuery, Count: 4, First: `{pod="pod-0"} => NaN`},
			wantMsg: []string{"none of its 4 series is a start-up time"},
		},
		"matrix instead of vector": {
			handler: reply(200, answer(nil, stream{values: []float64{30}})),
			wantMsg: []string{"result is a matrix, want a vector"},
		},
		"native histogram": {
			handler: reply(200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"histogram":[1795694400,{"count":"1","sum":"1","buckets":[]}]}]}}`),
			wantMsg: []string{`series {pod="a"} holds a native histogram, want a float`},
		},
		"503 with prometheus's timeout": {
			handler:     reply(503, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`),
			wantAPIType: v1.ErrServer,
			wantMsg:     []string{"at 2026-11-26T12:00:00Z: server_error: server error: 503: timeout: query timed out in expression evaluation"},
		},
		"400 bad data": {
			handler:     reply(400, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected <EOF>"}`),
			wantAPIType: v1.ErrBadData,
			wantMsg:     []string{`bad_data: invalid parameter "query": 1:5: parse error: unexpected <EOF>`},
		},
		"422 execution": {
			handler:     reply(422, `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}`),
			wantAPIType: v1.ErrExec,
			wantMsg:     []string{"execution: query processing would load too many samples into memory"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src, srv := serve(t, Options{BasicAuthUsername: "kedastral", BasicAuthPassword: "hunter2"}, tc.handler)
			got, err := src.StartupTimes(t.Context(), testQuery, t0)
			if err == nil {
				t.Fatalf("StartupTimes() = %v, nil error; want an error", got)
			}
			if got != nil {
				t.Errorf("StartupTimes() = %v, want nil with error %v", got, err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("StartupTimes() error = %v, want one wrapping %v", err, tc.wantIs)
			}
			var bad *BadStartupTimesError
			if errors.As(err, &bad) != (tc.wantBad != nil) {
				t.Errorf("StartupTimes() error = %v, want *BadStartupTimesError: %v", err, tc.wantBad != nil)
			} else if diff := cmp.Diff(tc.wantBad, bad); diff != "" {
				t.Errorf("StartupTimes() *BadStartupTimesError mismatch (-want +got):\n%s", diff)
			}
			if tc.wantAPIType != "" {
				var apiErr *v1.Error
				if !errors.As(err, &apiErr) || apiErr.Type != tc.wantAPIType {
					t.Errorf("StartupTimes() error = %v, want a *v1.Error of type %s in its chain", err, tc.wantAPIType)
				}
			}
			msg := err.Error()
			want := append(tc.wantMsg, fmt.Sprintf("query %q", testQuery))
			if tc.wantBad == nil {
				want = append(want, fmt.Sprintf("query %q on %s", testQuery, srv.URL))
			}
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("StartupTimes() error = %q, want it to contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("StartupTimes() error = %q shows the password", msg)
			}
		})
	}
}

func TestStartupTimesValues(t *testing.T) {
	tests := map[string]struct {
		body         string
		want         []time.Duration
		wantNoData   bool
		wantWarnings []string
	}{
		"sorted": {
			body: vectorAnswer(nil, 75, 30, 45, 30),
			want: seconds(30, 30, 45, 75),
		},
		"zero and fractions": {
			body: vectorAnswer(nil, 1.5, 0, 0.001),
			want: []time.Duration{0, time.Millisecond, 1500 * time.Millisecond},
		},
		"values that are not durations are dropped without an error when some are": {
			body: vectorAnswer(nil, math.NaN(), 40, -2, math.Inf(1), math.Inf(-1), 1e10, 35),
			want: seconds(35, 40),
		},
		"warnings": {
			body:         vectorAnswer([]string{"partial response: store unavailable", "partial response: store unavailable"}, 30),
			want:         seconds(30),
			wantWarnings: []string{"partial response: store unavailable"},
		},
		"no series with warnings": {
			body:         vectorAnswer([]string{"partial response: store unavailable"}),
			wantNoData:   true,
			wantWarnings: []string{"partial response: store unavailable"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src, _ := serve(t, Options{}, reply(200, tc.body))
			got, err := src.StartupTimes(t.Context(), testQuery, t0)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("StartupTimes() mismatch (-want +got):\n%s", diff)
			}
			if errors.Is(err, ErrNoData) != tc.wantNoData {
				t.Errorf("StartupTimes() error = %v, want ErrNoData: %v", err, tc.wantNoData)
			}
			var warn *WarningsError
			if errors.As(err, &warn) != (tc.wantWarnings != nil) {
				t.Errorf("StartupTimes() error = %v, want *WarningsError: %v", err, tc.wantWarnings != nil)
			} else if warn != nil {
				if diff := cmp.Diff(tc.wantWarnings, warn.Warnings); diff != "" {
					t.Errorf("StartupTimes() warnings mismatch (-want +got):\n%s", diff)
				}
			}
			if !tc.wantNoData && tc.wantWarnings == nil && err != nil {
				t.Errorf("StartupTimes() error = %v, want nil", err)
			}
		})
	}
}

func TestStartupTimesRequest(t *testing.T) {
	var (
		mu   sync.Mutex
		form map[string][]string
		path string
	)
	src, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		form, path = r.Form, r.URL.Path
		mu.Unlock()
		reply(200, vectorAnswer(nil, 30))(w, r)
	})
	query := StartupQuery("shop", "api")
	if _, err := src.StartupTimes(t.Context(), query, t0.Add(1500*time.Millisecond)); err != nil {
		t.Fatalf("StartupTimes() error = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if path != "/api/v1/query" {
		t.Errorf("request path = %s, want /api/v1/query", path)
	}
	if got := form["query"]; len(got) != 1 || got[0] != query {
		t.Errorf("query parameter = %q, want %q", got, query)
	}
	if got, want := form["time"], fmt.Sprintf("%d.5", t0.Unix()+1); len(got) != 1 || got[0] != want {
		t.Errorf("time parameter = %q, want %q", got, want)
	}
}

func TestStartupTimesArguments(t *testing.T) {
	src, err := New(Options{URL: "http://127.0.0.1:1"}, testQuery)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	if got, err := src.StartupTimes(t.Context(), " ", t0); got != nil || err == nil || !strings.Contains(err.Error(), "query is empty") {
		t.Errorf("StartupTimes(\" \") = %v, %v; want an error saying the query is empty", got, err)
	}
}

func TestStartupTimesTimeout(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	tests := map[string]struct {
		timeout    time.Duration // Options.Timeout
		ctxTimeout time.Duration
		wantMsg    string
	}{
		"request timeout":  {timeout: 100 * time.Millisecond, ctxTimeout: 10 * time.Second, wantMsg: "no answer within 100ms"},
		"context deadline": {timeout: 10 * time.Second, ctxTimeout: 100 * time.Millisecond, wantMsg: "context deadline exceeded"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src, srv := serve(t, Options{Timeout: tc.timeout}, slow)
			ctx, cancel := context.WithTimeout(t.Context(), tc.ctxTimeout)
			defer cancel()
			begin := time.Now()
			_, err := src.StartupTimes(ctx, testQuery, time.Time{})
			if elapsed := time.Since(begin); elapsed > 5*time.Second {
				t.Errorf("StartupTimes() took %v, want it to give up after about 100ms", elapsed)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("StartupTimes() error = %v, want one wrapping %v", err, context.DeadlineExceeded)
			}
			for _, want := range []string{tc.wantMsg, fmt.Sprintf("query %q on %s at the server's current time", testQuery, srv.URL)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("StartupTimes() error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestStartupQuantile(t *testing.T) {
	ten := seconds(75, 30, 55, 35, 40, 70, 45, 50, 60, 65) // 30, 35, ..., 75 shuffled
	tests := map[string]struct {
		d       []time.Duration
		q       float64
		want    time.Duration
		wantErr string
	}{
		"p90 of 10 is the 9th":           {d: ten, q: 0.9, want: 70 * time.Second},
		"p95 of 10 is the 10th":          {d: ten, q: 0.95, want: 75 * time.Second},
		"p100 is the slowest":            {d: ten, q: 1, want: 75 * time.Second},
		"p50 of 10 is the 5th":           {d: ten, q: 0.5, want: 50 * time.Second},
		"p70 of 10 is the 7th, not 8th":  {d: ten, q: 0.7, want: 60 * time.Second},
		"tiny q is the fastest":          {d: ten, q: 1e-12, want: 30 * time.Second},
		"one pod":                        {d: seconds(42), q: 0.9, want: 42 * time.Second},
		"p90 of 11 is the 10th":          {d: seconds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), q: 0.9, want: 10 * time.Second},
		"no durations":                   {d: nil, q: 0.9, wantErr: "no durations"},
		"q zero":                         {d: ten, q: 0, wantErr: "q must be in (0, 1] (got 0)"},
		"q negative":                     {d: ten, q: -0.5, wantErr: "(got -0.5)"},
		"q above one":                    {d: ten, q: 1.1, wantErr: "(got 1.1)"},
		"q not a number":                 {d: ten, q: math.NaN(), wantErr: "(got NaN)"},
		"q given as a percentage, wrong": {d: ten, q: 90, wantErr: "(got 90)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := slices.Clone(tc.d)
			got, err := StartupQuantile(tc.d, tc.q)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("StartupQuantile(%v, %v) = %v, %v; want an error containing %q", tc.d, tc.q, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("StartupQuantile(%v, %v) = %v, %v; want %v", tc.d, tc.q, got, err, tc.want)
			}
			if !slices.Equal(tc.d, before) {
				t.Errorf("StartupQuantile modified its input: %v, was %v", tc.d, before)
			}
		})
	}
}

// TestStartupTimesRealPrometheus runs the default query on a real prometheus scraping two
// replicas of a stand-in kube-state-metrics, whose pods include every kind that must not be
// counted, pods that have gone, and a pod whose readiness flapped.
func TestStartupTimesRealPrometheus(t *testing.T) {
	ksm := testserver.StartKSM(t)
	replica := httptest.NewServer(ksm.Handler())
	t.Cleanup(replica.Close)

	base := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	var (
		pods []testserver.Pod
		want []time.Duration // start-ups of shop/api that count
	)
	add := func(p testserver.Pod, startup time.Duration) {
		p.Created = base.Add(time.Duration(len(pods)) * time.Minute)
		p.UID = fmt.Sprintf("uid-%d", len(pods))
		if startup != 0 {
			p.Ready = p.Created.Add(startup)
		}
		pods = append(pods, p)
	}
	// shop/api: 10 pods over two ReplicaSets (a rollout), starting in 30s, 35s, ..., 75s.
	suffixes := []string{"x7k2p", "b9m4q", "c2d8w", "f5g6h", "j7k8l", "m9n2p", "q4r5s", "t6v7w", "x8z9b", "d4f5g"}
	for i, sfx := range suffixes {
		rs := "api-7d9f8c6b5"
		if i >= 5 {
			rs = "api-5c4b8d9f7"
		}
		startup := time.Duration(30+5*i) * time.Second
		add(testserver.Pod{Namespace: "shop", Name: rs + "-" + sfx, OwnerKind: "ReplicaSet", OwnerName: rs}, startup)
		want = append(want, startup)
	}
	gone := pods[2]    // deleted once scraped: must still count
	flapped := pods[7] // ready again much later once scraped: its first readiness counts
	distractors := []struct {
		pod     testserver.Pod
		startup time.Duration
	}{
		// A Deployment whose name starts with "api-".
		{testserver.Pod{Namespace: "shop", Name: "api-worker-6b7c8d9f4-k2l3m", OwnerKind: "ReplicaSet", OwnerName: "api-worker-6b7c8d9f4"}, 500 * time.Second},
		{testserver.Pod{Namespace: "shop", Name: "api-worker-6b7c8d9f4-n4p5q", OwnerKind: "ReplicaSet", OwnerName: "api-worker-6b7c8d9f4"}, 510 * time.Second},
		// The same Deployment in another namespace.
		{testserver.Pod{Namespace: "staging", Name: "api-7d9f8c6b5-r6s7t", OwnerKind: "ReplicaSet", OwnerName: "api-7d9f8c6b5"}, 900 * time.Second},
		// Pods whose names match the pattern, of other kinds of workload.
		{testserver.Pod{Namespace: "shop", Name: "api-db-0", OwnerKind: "StatefulSet", OwnerName: "api-db"}, 700 * time.Second},
		{testserver.Pod{Namespace: "shop", Name: "api-29384756-v8w9x", OwnerKind: "Job", OwnerName: "api-29384756"}, 800 * time.Second},
		{testserver.Pod{Namespace: "shop", Name: "api-static-pod"}, 850 * time.Second},
		// A pod of shop/api that is not ready yet, and one whose kubelet's clock is behind.
		{testserver.Pod{Namespace: "shop", Name: "api-5c4b8d9f7-h8j9k", OwnerKind: "ReplicaSet", OwnerName: "api-5c4b8d9f7"}, 0},
		{testserver.Pod{Namespace: "shop", Name: "api-5c4b8d9f7-l2m3n", OwnerKind: "ReplicaSet", OwnerName: "api-5c4b8d9f7"}, -2 * time.Second},
		// For escaping: a Deployment "web.v2", and one that "web.v2" would match as a regex.
		{testserver.Pod{Namespace: "shop", Name: "web.v2-6d5c4b7f8-p3q4r", OwnerKind: "ReplicaSet", OwnerName: "web.v2-6d5c4b7f8"}, 12 * time.Second},
		{testserver.Pod{Namespace: "shop", Name: "webxv2-6d5c4b7f8-s5t6v", OwnerKind: "ReplicaSet", OwnerName: "webxv2-6d5c4b7f8"}, 99 * time.Second},
	}
	for _, d := range distractors {
		add(d.pod, d.startup)
	}
	for _, p := range pods {
		ksm.SetPod(p)
	}

	url := testserver.StartPrometheus(t, ksm.Addr, replica.Listener.Addr().String())
	testserver.WaitForValue(t, url, "count(kube_pod_created)", float64(2*len(pods)))
	ksm.DeletePod(gone.Namespace, gone.Name)
	flapped.Ready = flapped.Created.Add(4 * time.Hour) // the Ready condition's new lastTransitionTime
	ksm.SetPod(flapped)
	testserver.WaitForValue(t, url, "count(kube_pod_created)", float64(2*(len(pods)-1)))
	testserver.WaitForValue(t, url, fmt.Sprintf("max(kube_pod_status_ready_time{pod=%q})", flapped.Name), float64(flapped.Ready.Unix()))

	src, err := New(Options{URL: url, Timeout: 10 * time.Second}, "up")
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}

	t.Run("the workload's pods only", func(t *testing.T) {
		query := StartupQuery("shop", "api")
		got, err := src.StartupTimes(t.Context(), query, time.Now())
		if err != nil {
			t.Fatalf("StartupTimes(%s) error = %v", query, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("StartupTimes(%s) mismatch (-want +got):\n%s", query, diff)
		}
		p90, err := StartupQuantile(got, 0.9)
		if err != nil || p90 != 70*time.Second {
			t.Errorf("StartupQuantile(%v, 0.9) = %v, %v; want 1m10s", got, p90, err)
		}
	})

	t.Run("regex metacharacters in the name", func(t *testing.T) {
		query := StartupQuery("shop", "web.v2")
		got, err := src.StartupTimes(t.Context(), query, time.Now())
		if err != nil || !slices.Equal(got, seconds(12)) {
			t.Errorf("StartupTimes(%s) = %v, %v; want [12s]", query, got, err)
		}
	})

	t.Run("no pods", func(t *testing.T) {
		for _, tc := range []struct{ namespace, workload string }{
			{"shop", "checkout"},
			{"shop", "api-db"}, // a StatefulSet
			{`sh"op\`, `a"b\`}, // still a valid query
		} {
			query := StartupQuery(tc.namespace, tc.workload)
			got, err := src.StartupTimes(t.Context(), query, time.Now())
			if !errors.Is(err, ErrNoData) || got != nil {
				t.Errorf("StartupTimes(%s) = %v, %v; want nil and ErrNoData", query, got, err)
			}
		}
	})

	t.Run("only values that are not durations", func(t *testing.T) {
		// The 11 ready pods of shop/api, the one with a clock behind included, all below zero.
		query := "(" + StartupQuery("shop", "api") + ") - 1e6"
		got, err := src.StartupTimes(t.Context(), query, time.Now())
		var bad *BadStartupTimesError
		if !errors.As(err, &bad) || bad.Count != 11 || got != nil {
			t.Errorf("StartupTimes(%s) = %v, %v; want nil and a *BadStartupTimesError counting 11", query, got, err)
		}
	})

	t.Run("at an instant before the first scrape", func(t *testing.T) {
		query := StartupQuery("shop", "api")
		got, err := src.StartupTimes(t.Context(), query, base)
		if !errors.Is(err, ErrNoData) || got != nil {
			t.Errorf("StartupTimes(%s) at %v = %v, %v; want nil and ErrNoData", query, base, got, err)
		}
	})

	t.Run("server refuses the query", func(t *testing.T) {
		_, err := src.StartupTimes(t.Context(), "min by (pod) (kube_pod_created", time.Now())
		if err == nil || !strings.Contains(err.Error(), "bad_data") || !strings.Contains(err.Error(), "parse error") {
			t.Errorf("StartupTimes() error = %v, want the server's parse error", err)
		}
	})

	t.Run("scalar result", func(t *testing.T) {
		_, err := src.StartupTimes(t.Context(), "scalar(count(kube_pod_created))", time.Now())
		if err == nil || !strings.Contains(err.Error(), "result is a scalar, want a vector") {
			t.Errorf("StartupTimes() error = %v, want one saying the result is a scalar", err)
		}
	})
}
