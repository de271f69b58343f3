package planstore

import (
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/plan"
)

// TestLease walks a lease through its life on a real Redis: taken, renewed, refused to another,
// released only by its holder, taken over after its term, and kept apart from plans.
func TestLease(t *testing.T) {
	s, client, _ := newStore(t, "")
	api, web := plan.Workload{Namespace: "shop", Name: "api"}, plan.Workload{Namespace: "shop", Name: "web"}
	const ttl = 300 * time.Millisecond
	lease := func(w plan.Workload, holder string, want bool) {
		t.Helper()
		got, err := s.Lease(t.Context(), w, holder, ttl)
		if err != nil || got != want {
			t.Fatalf("Lease(%s, %s) = %v, %v; want %v", w, holder, got, err, want)
		}
	}

	lease(api, "pod-a", true)  // free: taken
	lease(api, "pod-b", false) // held by another
	lease(web, "pod-b", true)  // another workload's lease is its own
	time.Sleep(ttl / 2)
	lease(api, "pod-a", true) // renewed: a full term again
	if left := client.PTTL(t.Context(), s.LeaseKey(api)).Val(); left <= ttl/2 || left > ttl {
		t.Errorf("PTTL after renewal = %v, want in (%v, %v]", left, ttl/2, ttl)
	}

	if err := s.Release(t.Context(), api, "pod-b"); err != nil {
		t.Fatal(err)
	}
	lease(api, "pod-b", false) // releasing a lease one does not hold changes nothing
	if err := s.Release(t.Context(), api, "pod-a"); err != nil {
		t.Fatal(err)
	}
	lease(api, "pod-b", true) // released: taken at once

	time.Sleep(ttl + 50*time.Millisecond)
	lease(api, "pod-c", true) // pod-b stopped renewing: its term ran out

	if ws, err := s.List(t.Context()); err != nil || len(ws) != 0 {
		t.Errorf("List() = %v, %v; want no plans (leases are not plans)", ws, err)
	}
	if _, err := s.Lease(t.Context(), api, "", ttl); err == nil || !strings.Contains(err.Error(), "empty holder") {
		t.Errorf("Lease(empty holder) = %v, want an error", err)
	}
	if _, err := s.Lease(t.Context(), api, "pod-a", 0); err == nil {
		t.Error("Lease(ttl 0) = nil error, want one")
	}
}
