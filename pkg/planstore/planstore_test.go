package planstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/test/testserver"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)

// testPlan is a valid four-step plan for namespace/name.
func testPlan(namespace, name string, generation int64) plan.Plan {
	return plan.Plan{
		Version:     plan.Version,
		Workload:    plan.Workload{Namespace: namespace, Name: name},
		Generation:  generation,
		GeneratedAt: t0,
		Start:       t0,
		Step:        plan.Duration(time.Minute),
		Predicted:   []float64{10, 20, 30, 40},
		Upper:       []float64{12, 24, 36, 48},
		Replicas:    []int32{1, 2, 3, 4},
		Policy: plan.Policy{
			TargetPerPod: 10, Headroom: 1.2, MinReplicas: 1, MaxReplicas: 10,
			LeadTime: plan.Duration(2 * time.Minute),
		},
		Model:      "seasonal-naive",
		ValidUntil: t0.Add(4 * time.Minute),
	}
}

// newStore starts a Redis of its own, so that tests may stop it.
func newStore(t *testing.T, prefix string) (*Store, redis.UniversalClient, *testserver.Redis) {
	t.Helper()
	srv := testserver.StartRedis(t)
	client := NewClient(Options{Addrs: []string{srv.Addr}})
	t.Cleanup(func() { client.Close() })
	return New(client, prefix), client, srv
}

func TestPutGet(t *testing.T) {
	api, web := plan.Workload{Namespace: "shop", Name: "api"}, plan.Workload{Namespace: "shop", Name: "web"}
	tests := map[string]struct {
		puts        []plan.Plan
		wantPutErrs []error // one per put; nil entries for success
		get         plan.Workload
		want        plan.Plan
		wantErr     error
	}{
		"round trip": {
			puts:        []plan.Plan{testPlan("shop", "api", 1)},
			wantPutErrs: []error{nil},
			get:         api,
			want:        testPlan("shop", "api", 1),
		},
		"missing workload": {
			get:     api,
			wantErr: ErrNotFound,
		},
		"newer generation replaces": {
			puts:        []plan.Plan{testPlan("shop", "api", 1), testPlan("shop", "api", 2)},
			wantPutErrs: []error{nil, nil},
			get:         api,
			want:        testPlan("shop", "api", 2),
		},
		"older generation is stale": {
			puts:        []plan.Plan{testPlan("shop", "api", 5), testPlan("shop", "api", 4)},
			wantPutErrs: []error{nil, ErrStale},
			get:         api,
			want:        testPlan("shop", "api", 5),
		},
		"equal generation is stale": {
			puts:        []plan.Plan{testPlan("shop", "api", 5), withReplicas(testPlan("shop", "api", 5), 9)},
			wantPutErrs: []error{nil, ErrStale},
			get:         api,
			want:        testPlan("shop", "api", 5),
		},
		"another workload does not clobber": {
			puts:        []plan.Plan{testPlan("shop", "api", 7), testPlan("shop", "web", 1)},
			wantPutErrs: []error{nil, nil},
			get:         api,
			want:        testPlan("shop", "api", 7),
		},
		"another workload's generation does not make a put stale": {
			puts:        []plan.Plan{testPlan("shop", "api", 7), testPlan("shop", "web", 1)},
			wantPutErrs: []error{nil, nil},
			get:         web,
			want:        testPlan("shop", "web", 1),
		},
	}
	s, _, _ := newStore(t, "")
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := New(s.client, "test-"+strings.ReplaceAll(name, " ", "-"))
			for i, p := range tc.puts {
				err := s.Put(t.Context(), p, time.Hour)
				if !errors.Is(err, tc.wantPutErrs[i]) || (err != nil) != (tc.wantPutErrs[i] != nil) {
					t.Fatalf("Put(#%d, generation %d) = %v, want %v", i, p.Generation, err, tc.wantPutErrs[i])
				}
			}
			got, err := s.Get(t.Context(), tc.get)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Get(%v) = %v, want %v", tc.get, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get(%v) = %v", tc.get, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Get(%v) mismatch (-want +got):\n%s", tc.get, diff)
			}
		})
	}
}

func withReplicas(p plan.Plan, r int32) plan.Plan {
	p.Replicas = []int32{r, r, r, r}
	return p
}

func TestPutRefusesBadInput(t *testing.T) {
	invalid := testPlan("shop", "api", 1)
	invalid.Replicas = nil
	tests := map[string]struct {
		plan plan.Plan
		ttl  time.Duration
		want string
	}{
		"zero ttl":           {plan: testPlan("shop", "api", 1), ttl: 0, want: "ttl must be >= 1ms"},
		"generation too big": {plan: testPlan("shop", "api", 1<<53+1), ttl: time.Hour, want: "above 2^53"},
		"invalid plan":       {plan: invalid, ttl: time.Hour, want: "plan has no steps"},
	}
	s, _, _ := newStore(t, "")
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := s.Put(t.Context(), tc.plan, tc.ttl)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Put() = %v, want an error containing %q", err, tc.want)
			}
			if _, err := s.Get(t.Context(), tc.plan.Workload); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get() after a refused Put = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestTTLExpiry(t *testing.T) {
	s, client, _ := newStore(t, "")
	p := testPlan("shop", "api", 1)
	const ttl = 200 * time.Millisecond
	if err := s.Put(t.Context(), p, ttl); err != nil {
		t.Fatalf("Put() = %v", err)
	}
	if left := client.PTTL(t.Context(), s.Key(p.Workload)).Val(); left <= 0 || left > ttl {
		t.Errorf("PTTL(%s) = %v, want in (0, %v]", s.Key(p.Workload), left, ttl)
	}
	if _, err := s.Get(t.Context(), p.Workload); err != nil {
		t.Fatalf("Get() before the TTL = %v", err)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	if _, err := s.Get(t.Context(), p.Workload); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get() after the TTL = %v, want ErrNotFound", err)
	}
}

func TestGetCorrupt(t *testing.T) {
	wrongWorkload, err := plan.Marshal(testPlan("shop", "web", 1))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		stored string
		want   string
	}{
		"not json":          {stored: "{oops", want: "decode plan"},
		"unknown version":   {stored: `{"version": 99}`, want: "unsupported plan version"},
		"invalid plan":      {stored: `{"version": 1}`, want: "invalid plan"},
		"another workload":  {stored: string(wrongWorkload), want: "holds the plan for shop/web"},
		"empty value":       {stored: "", want: "decode plan"},
		"trailing garbage":  {stored: string(wrongWorkload) + "x", want: "decode plan"},
		"json but an array": {stored: "[1]", want: "decode plan"},
	}
	s, client, _ := newStore(t, "")
	w := plan.Workload{Namespace: "shop", Name: "api"}
	key := s.Key(w)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := client.Set(t.Context(), key, tc.stored, 0).Err(); err != nil {
				t.Fatal(err)
			}
			_, err := s.Get(t.Context(), w)
			if err == nil || errors.Is(err, ErrNotFound) {
				t.Fatalf("Get() = %v, want a decode error", err)
			}
			for _, want := range []string{key, tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Get() = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

// A corrupt value must not wedge the key: the next plan an agent writes replaces it.
func TestPutReplacesCorrupt(t *testing.T) {
	s, client, _ := newStore(t, "")
	p := testPlan("shop", "api", 1)
	if err := client.Set(t.Context(), s.Key(p.Workload), `{"generation": "x"`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), p, time.Hour); err != nil {
		t.Fatalf("Put() over a corrupt value = %v", err)
	}
	got, err := s.Get(t.Context(), p.Workload)
	if err != nil {
		t.Fatalf("Get() = %v", err)
	}
	if got.Generation != 1 {
		t.Errorf("Get().Generation = %d, want 1", got.Generation)
	}
}

func TestList(t *testing.T) {
	tests := map[string]struct {
		prefix string
	}{
		"default prefix":            {prefix: ""},
		"prefix with glob syntax":   {prefix: "team[a]*?"},
		"prefix shared with others": {prefix: "kedastral-b"},
	}
	s, client, _ := newStore(t, "")
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := client.FlushAll(t.Context()).Err(); err != nil {
				t.Fatal(err)
			}
			s := New(s.client, tc.prefix)
			for _, p := range []plan.Plan{testPlan("zoo", "a", 1), testPlan("shop", "web", 1), testPlan("shop", "api", 1)} {
				if err := s.Put(t.Context(), p, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			// Keys that must not be listed: other prefixes, and keys under ours that Put would
			// never write.
			other := New(s.client, s.prefix+"x")
			if err := other.Put(t.Context(), testPlan("other", "app", 1), time.Hour); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{s.prefix + ":plan:{Bad_NS/x}", s.prefix + ":plan:{noslash}", s.prefix + ":plans-x"} {
				if err := client.Set(t.Context(), k, "junk", 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.List(t.Context())
			if err != nil {
				t.Fatalf("List() = %v", err)
			}
			want := []plan.Workload{{Namespace: "shop", Name: "api"}, {Namespace: "shop", Name: "web"}, {Namespace: "zoo", Name: "a"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("List() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWatch(t *testing.T) {
	s, client, _ := newStore(t, "")
	ctx, cancel := context.WithCancel(t.Context())
	changes := s.Watch(ctx)
	waitSubscribed(t, client, s.channel)

	for _, p := range []plan.Plan{testPlan("shop", "api", 1), testPlan("shop", "web", 1)} {
		if err := s.Put(t.Context(), p, time.Hour); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-changes:
			if got != p.Workload {
				t.Errorf("Watch() delivered %v, want %v", got, p.Workload)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Watch() delivered nothing within 5s of Put(%v)", p.Workload)
		}
	}

	// A refused write changes nothing and announces nothing.
	if err := s.Put(t.Context(), testPlan("shop", "api", 1), time.Hour); !errors.Is(err, ErrStale) {
		t.Fatalf("Put(same generation) = %v, want ErrStale", err)
	}
	// Messages that do not name a workload are ignored rather than delivered.
	if err := client.Publish(t.Context(), s.channel, "not a workload").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-changes:
		t.Errorf("Watch() delivered %v after a refused Put and a junk message, want nothing", got)
	case <-time.After(200 * time.Millisecond):
	}

	cancel()
	select {
	case _, ok := <-changes:
		if ok {
			t.Error("Watch() delivered a value after ctx ended, want the channel closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch() channel still open 5s after ctx ended")
	}
}

// go-redis resubscribes by itself when Redis comes back, and Watch keeps delivering.
func TestWatchSurvivesRestart(t *testing.T) {
	s, client, srv := newStore(t, "")
	changes := s.Watch(t.Context())
	waitSubscribed(t, client, s.channel)

	srv.Restart(t)
	waitSubscribed(t, client, s.channel)
	p := testPlan("shop", "api", 1)
	if err := s.Put(t.Context(), p, time.Hour); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-changes:
		if got != p.Workload {
			t.Errorf("Watch() delivered %v, want %v", got, p.Workload)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch() delivered nothing within 5s of a Put after Redis restarted")
	}
}

// waitSubscribed waits until Redis has a subscriber on channel, so that a following PUBLISH is
// not lost to the race between SUBSCRIBE and PUBLISH on two connections.
func waitSubscribed(t *testing.T, client redis.UniversalClient, channel string) {
	t.Helper()
	const wait = 10 * time.Second // go-redis notices a dead subscription within a few seconds
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		n, err := client.PubSubNumSub(t.Context(), channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n[channel] > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no subscriber on %s within %v", channel, wait)
}

// With Redis gone, reads fail promptly with an error, never with ErrNotFound: a gateway must not
// mistake an outage for a missing plan.
func TestRedisDown(t *testing.T) {
	s, _, srv := newStore(t, "")
	p := testPlan("shop", "api", 1)
	if err := s.Put(t.Context(), p, time.Hour); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.Get(ctx, p.Workload)
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Get() with Redis down = %v, want a connection error", err)
	}
	if _, err := s.List(ctx); err == nil {
		t.Error("List() with Redis down = nil error, want one")
	}
	if err := s.Put(ctx, testPlan("shop", "api", 2), time.Hour); err == nil || errors.Is(err, ErrStale) {
		t.Errorf("Put() with Redis down = %v, want a connection error", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("calls with Redis down took %v, want them bounded by the 1s context", took)
	}
}
