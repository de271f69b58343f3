package planstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kedastral/kedastral/pkg/plan"
)

// A workload's lease, P:lease:{namespace/name}, names the one agent of the workload that plans
// for it. Several agents run when the agent is a container in every pod of the app; without the
// lease each would fetch, forecast and publish the same plan, each with its own back-fill.

// leaseScript takes or renews the lease: it succeeds when the key is free or already holds
// holder, and then sets it to holder with the TTL. Check and write are one step, so two agents
// cannot both take a free lease.
var leaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`)

// releaseScript deletes the lease if holder still holds it: an agent that lost it (it expired
// while the agent was stalled) must not delete its successor's.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// LeaseKey is the Redis key of w's lease.
func (s *Store) LeaseKey(w plan.Workload) string {
	return s.prefix + ":lease:{" + w.String() + "}"
}

// Lease makes holder w's planning agent for ttl, or extends its term, and reports whether holder
// holds the lease now. It is false, with no error, while another holder's term runs; a holder
// that stops renewing loses the lease when ttl has passed.
func (s *Store) Lease(ctx context.Context, w plan.Workload, holder string, ttl time.Duration) (bool, error) {
	if ttl < time.Millisecond {
		return false, fmt.Errorf("lease %s: ttl must be >= 1ms (got %v)", w, ttl)
	}
	if holder == "" {
		return false, fmt.Errorf("lease %s: empty holder", w)
	}
	key := s.LeaseKey(w)
	n, err := leaseScript.Run(ctx, s.client, []string{key}, holder, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", key, err)
	}
	return n == 1, nil
}

// Release ends holder's lease on w, if it holds it, so that another agent takes over at once
// instead of when the term runs out.
func (s *Store) Release(ctx context.Context, w plan.Workload, holder string) error {
	key := s.LeaseKey(w)
	if err := releaseScript.Run(ctx, s.client, []string{key}, holder).Err(); err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	return nil
}
