// Package planstore keeps capacity plans in Redis: agents Put the plan of each workload they
// forecast, gateways Get it to answer KEDA, and Watch tells gateways which plan changed.
//
// Layout, for a prefix P (default "kedastral"):
//
//	P:plan:{namespace/name}   the plan, encoded by plan.Marshal, with a TTL
//	P:plans                   Pub/Sub channel; each message is a "namespace/name" whose plan changed
//	P:lease:{namespace/name}  the agent that plans for the workload, with a TTL (Lease)
//
// The workload in each key is a Cluster hash tag, so the one-key script that writes a plan works
// on Redis Cluster as well as on a single Redis or under Sentinel.
package planstore

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kedastral/kedastral/pkg/plan"
)

// DefaultPrefix is the key prefix New uses when given none.
const DefaultPrefix = "kedastral"

// maxGeneration is the largest generation Put accepts. The write script compares generations as
// Lua numbers, which are doubles: above 2^53 two different generations can compare equal.
const maxGeneration = 1 << 53

var (
	// ErrNotFound is returned by Get when Redis holds no plan for the workload: none was ever
	// written, or its TTL ran out because no agent refreshed it.
	ErrNotFound = errors.New("plan not found")
	// ErrStale is returned by Put when Redis already holds a plan for the workload whose
	// generation is the same or newer: a slower or restarted agent must not roll a plan back.
	ErrStale = errors.New("plan generation is not newer than the stored one")
)

// putScript writes a plan unless the stored one is at least as new, and announces the change, in
// one step: two agents racing cannot interleave between the check and the write, and a gateway
// never hears of a plan that was not written. A stored value that does not decode to an object
// with a numeric generation does not block the write, so a fresh plan heals a corrupt key.
//
//go:embed put.lua
var putScript string

// Store reads and writes plans in Redis. It is safe for concurrent use; it holds no state of its
// own beyond the client, which the caller owns and closes.
type Store struct {
	client  redis.UniversalClient
	prefix  string
	channel string
	put     *redis.Script
}

// New returns a Store that keeps its keys under prefix ("" means DefaultPrefix). The prefix must
// not contain '{' or '}', which would move the Cluster hash tag out of the workload.
func New(client redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{
		client:  client,
		prefix:  prefix,
		channel: prefix + ":plans",
		put:     redis.NewScript(putScript),
	}
}

// Key is the Redis key holding w's plan, for operators reading Redis directly and for error
// messages.
func (s *Store) Key(w plan.Workload) string {
	return s.prefix + ":plan:{" + w.String() + "}"
}

// Put stores p for p.Workload, replacing the current plan if p.Generation is newer, and
// publishes the workload on the change channel. The key expires after ttl, so that a plan whose
// agent stopped disappears (Get then returns ErrNotFound). Pick ttl beyond p.ValidUntil: in
// between, readers see the plan as expired, which says more than a missing plan does.
//
// It returns an error wrapping ErrStale, and changes nothing, when the stored plan's generation is
// the same or newer. p must be valid (plan.Marshal checks) with a generation of at most 2^53.
func (s *Store) Put(ctx context.Context, p plan.Plan, ttl time.Duration) error {
	if ttl < time.Millisecond {
		return fmt.Errorf("put plan for %s: ttl must be >= 1ms (got %v)", p.Workload, ttl)
	}
	if p.Generation > maxGeneration {
		return fmt.Errorf("put plan for %s: generation %d is above 2^53, which Redis scripts cannot compare exactly",
			p.Workload, p.Generation)
	}
	b, err := plan.Marshal(p)
	if err != nil {
		return fmt.Errorf("put plan: %w", err)
	}
	key := s.Key(p.Workload)
	res, err := s.put.Run(ctx, s.client, []string{key},
		b, p.Generation, ttl.Milliseconds(), s.channel, p.Workload.String()).Int64Slice()
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if len(res) != 2 {
		return fmt.Errorf("put %s: script answered %v, want [written, stored generation]", key, res)
	}
	if res[0] == 0 {
		return fmt.Errorf("put %s: %w (generation %d, stored %d)", key, ErrStale, p.Generation, res[1])
	}
	return nil
}

// Get returns the plan stored for w. It returns an error wrapping ErrNotFound when there is none.
// A stored value that does not decode, or that holds another workload's plan, is an error naming
// the key: it is never reported as missing, which would hide a broken writer.
//
// Get does not check whether the plan has expired; plan.ReplicasAt does.
func (s *Store) Get(ctx context.Context, w plan.Workload) (plan.Plan, error) {
	if err := w.Validate(); err != nil {
		return plan.Plan{}, fmt.Errorf("get plan: %w", err)
	}
	key := s.Key(w)
	b, err := s.client.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return plan.Plan{}, fmt.Errorf("%s: %w", w, ErrNotFound)
	}
	if err != nil {
		return plan.Plan{}, fmt.Errorf("get %s: %w", key, err)
	}
	p, err := plan.Unmarshal(b)
	if err != nil {
		return plan.Plan{}, fmt.Errorf("read %s: %w", key, err)
	}
	if p.Workload != w {
		return plan.Plan{}, fmt.Errorf("read %s: it holds the plan for %s", key, p.Workload)
	}
	return p, nil
}

// scanCount is the COUNT hint for each SCAN call: how many keys Redis looks at per round trip.
const scanCount = 500

// List returns every workload that has a plan, sorted by namespace then name; the caller owns the
// slice. Keys under the prefix that do not name a valid workload are skipped. On Redis Cluster
// every master is scanned. List walks the whole keyspace with SCAN, so it is for diagnostics
// (telling a user which workloads exist), not for a hot path.
func (s *Store) List(ctx context.Context) ([]plan.Workload, error) {
	match := escapeGlob(s.prefix) + ":plan:{*}"
	var (
		mu  sync.Mutex
		set = make(map[plan.Workload]struct{}) // SCAN may return a key more than once
	)
	scan := func(ctx context.Context, c scanner) error {
		it := c.Scan(ctx, 0, match, scanCount).Iterator()
		for it.Next(ctx) {
			w, ok := s.workloadOf(it.Val())
			if !ok {
				continue
			}
			mu.Lock()
			set[w] = struct{}{}
			mu.Unlock()
		}
		return it.Err()
	}
	var err error
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, s.client)
	}
	if err != nil {
		return nil, fmt.Errorf("list plans matching %q: %w", match, err)
	}
	out := make([]plan.Workload, 0, len(set))
	for w := range set {
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b plan.Workload) int {
		return cmp.Or(strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// scanner is the part of a client List needs; both the universal client and each cluster
// master's client have it.
type scanner interface {
	Scan(ctx context.Context, cursor uint64, match string, count int64) *redis.ScanCmd
}

// workloadOf parses a key written by Put back into its workload.
func (s *Store) workloadOf(key string) (plan.Workload, bool) {
	rest, ok := strings.CutPrefix(key, s.prefix+":plan:{")
	if !ok {
		return plan.Workload{}, false
	}
	rest, ok = strings.CutSuffix(rest, "}")
	if !ok {
		return plan.Workload{}, false
	}
	return parseWorkload(rest)
}

// parseWorkload parses "namespace/name", the form Workload.String writes.
func parseWorkload(s string) (plan.Workload, bool) {
	ns, name, ok := strings.Cut(s, "/")
	w := plan.Workload{Namespace: ns, Name: name}
	if !ok || w.Validate() != nil {
		return plan.Workload{}, false
	}
	return w, true
}

// escapeGlob quotes the characters SCAN MATCH treats as pattern syntax.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\*?[]^`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Watch subscribes to plan changes and delivers the workload of every plan Put writes from then
// on, until ctx ends; then the channel is closed. It returns at once, without waiting for Redis.
//
// Notifications are hints, not a log. Redis Pub/Sub delivers at most once: changes made while
// the subscription is down (go-redis reconnects by itself) are never delivered, and go-redis
// drops messages the reader has not taken within a minute. A reader must therefore Get the plan
// it is told about rather than trust the order of notifications, and must re-read what it cares
// about periodically anyway. One subscription per process is enough; fan it out in memory.
func (s *Store) Watch(ctx context.Context) <-chan plan.Workload {
	out := make(chan plan.Workload)
	sub := s.client.Subscribe(ctx) // no channel yet: subscribing does I/O, done below
	go func() {
		defer close(out)
		defer sub.Close() // ends go-redis's receive loop; the error is about a conn we drop anyway
		// A failed SUBSCRIBE is not fatal: go-redis remembers the channel and subscribes again
		// each time the receive loop behind Channel reconnects.
		_ = sub.Subscribe(ctx, s.channel)
		msgs := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-msgs:
				if !ok {
					return
				}
				w, ok := parseWorkload(m.Payload)
				if !ok {
					continue // not written by Put; nothing to re-read
				}
				select {
				case out <- w:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}
