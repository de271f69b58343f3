package sim

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var clusterStart = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// clusterCheck is the state a cluster must be in once advanced to at (after clusterStart).
type clusterCheck struct {
	at             time.Duration
	desired, ready int32
}

// clusterConfig is DefaultClusterConfig with edit applied.
func clusterConfig(edit func(*ClusterConfig)) ClusterConfig {
	cfg := DefaultClusterConfig()
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

// singleMetric polls one metric whose value is value(seconds since clusterStart). It reuses its
// slice, as a caller is allowed to.
func singleMetric(target float64, value func(sec float64) float64) func(time.Time) []Metric {
	buf := make([]Metric, 1)
	return func(t time.Time) []Metric {
		buf[0] = Metric{Value: value(t.Sub(clusterStart).Seconds()), Target: target}
		return buf
	}
}

// checkCluster advances c to each check's time in turn and compares its state there.
func checkCluster(t *testing.T, c *Cluster, poll func(time.Time) []Metric, checks []clusterCheck) {
	t.Helper()
	for _, ch := range checks {
		if err := c.Advance(clusterStart.Add(ch.at), poll); err != nil {
			t.Fatalf("Advance(+%v) = %v", ch.at, err)
		}
		if gotD, gotR := c.Desired(), c.Ready(); gotD != ch.desired || gotR != ch.ready {
			t.Errorf("at +%v: Desired(), Ready() = %d, %d, want %d, %d", ch.at, gotD, gotR, ch.desired, ch.ready)
		}
	}
}

// clusterPods counts every pod, ready or starting; it must always equal spec.replicas.
func clusterPods(c *Cluster) int32 {
	n := c.ready
	for _, b := range c.pending {
		n += b.n
	}
	return n
}

// TestClusterScenarios checks, against answers worked out by hand from the HPA's rules, the
// replicas asked for and the pods serving over time. Unless a case says otherwise the config is
// the default: polls every 30s, syncs every 15s, tolerance 0.1, scale up by max(+4, +100%) per
// 15s, scale down after a 300s window by up to 100% per 15s, pods ready 3m after creation.
// Polls and syncs at one instant: the poll goes first, so a value that changes at a poll instant
// is acted on by the sync at that instant.
func TestClusterScenarios(t *testing.T) {
	const s = time.Second
	tests := map[string]struct {
		edit       func(*ClusterConfig)
		initial    int32
		target     float64
		value      func(sec float64) float64
		checks     []clusterCheck
		wantEvents int
	}{
		// 50/(10·5) = 1 at every sync: nothing ever changes.
		"flat line": {
			initial: 5, target: 10,
			value:      func(float64) float64 { return 50 },
			checks:     []clusterCheck{{0, 5, 5}, {time.Hour, 5, 5}},
			wantEvents: 0,
		},
		// 2 replicas' worth, then 20 from 60s (seen by the poll at 60s):
		//   60s: ceil(200/10) = 20, limit max(2+4, ceil(2·2)) = 6 → 6 (Pods wins)
		//   75s: the event at 60s is not in (60s, 75s], so the period starts at 6:
		//        limit max(6+4, 12) = 12 → 12 (Percent wins)
		//   90s: limit max(16, 24) = 24 >= 20 → 20
		// Each new batch serves 3m later: 6 at 240s, 12 at 255s, 20 at 270s.
		"step up": {
			initial: 2, target: 10,
			value: func(sec float64) float64 {
				if sec < 60 {
					return 20
				}
				return 200
			},
			checks: []clusterCheck{
				{59 * s, 2, 2}, {60 * s, 6, 2}, {74 * s, 6, 2}, {75 * s, 12, 2}, {90 * s, 20, 2},
				{239 * s, 20, 2}, {240 * s, 20, 6}, {254 * s, 20, 6}, {255 * s, 20, 12},
				{269 * s, 20, 12}, {270 * s, 20, 20}, {time.Hour, 20, 20},
			},
			wantEvents: 3,
		},
		// One more replica's worth each minute: 10·(5 + floor(sec/60)). At n replicas the next
		// minute's ratio is (n+1)/n, outside the 10% band only while n < 10:
		//   60s..300s: 6, 7, 8, 9, 10
		//   360s: 110/100 = 1.1 is inside the band (it is inclusive) → stays 10
		//   420s: 120/100 → 12;  480s: 130/120 = 1.083 → stays;  540s: 140/120 → 14
		//   600s: 150/140 → stays;  660s: 160/140 → 16;  720s: stays;  780s: 180/160 → 18
		// Ready 3m after each rise: 6 at 240s, 7 at 300s, 8 at 360s, 9 at 420s, 10 at 480s,
		// 12 at 600s, 14 at 720s.
		"ramp": {
			initial: 5, target: 10,
			value: func(sec float64) float64 { return 10 * (5 + math.Floor(sec/60)) },
			checks: []clusterCheck{
				{59 * s, 5, 5}, {60 * s, 6, 5}, {239 * s, 8, 5}, {240 * s, 9, 6}, {360 * s, 10, 8},
				{419 * s, 10, 8}, {420 * s, 12, 9}, {480 * s, 12, 10}, {540 * s, 14, 10},
				{600 * s, 14, 12}, {780 * s, 18, 14},
			},
			wantEvents: 9,
		},
		// 10 replicas' worth during [60s, 120s) only, shorter than the 3m start-up:
		//   60s: limit max(6, 4) → 6;  75s: limit max(10, 12) → 10 (the proposal)
		//   90s, 105s: 100/100 → stay 10;  120s: the poll sees 20 again → proposal 2, but the
		//   300s window still holds the 10s recommended at 60s..105s, so it stays 10
		//   405s: the window (105s, 405s] holds only 2s → 2; limit int(10·0) = 0, floor 1 → 2
		// The pods asked for serve at 240s and 255s, after the spike, and go at 405s.
		"spike shorter than start-up": {
			initial: 2, target: 10,
			value: func(sec float64) float64 {
				if sec >= 60 && sec < 120 {
					return 100
				}
				return 20
			},
			checks: []clusterCheck{
				{59 * s, 2, 2}, {60 * s, 6, 2}, {75 * s, 10, 2}, {120 * s, 10, 2}, {239 * s, 10, 2},
				{240 * s, 10, 6}, {255 * s, 10, 10}, {404 * s, 10, 10}, {405 * s, 2, 2},
				{time.Hour, 2, 2},
			},
			wantEvents: 3,
		},
		// The HPA records the replicas it found at its first sync (recordInitialRecommendation),
		// so the proposal of 2 waits until that record leaves the window (0s, 300s].
		"scale down waits a window after the HPA starts": {
			initial: 10, target: 10,
			value:      func(float64) float64 { return 20 },
			checks:     []clusterCheck{{0, 10, 10}, {299 * s, 10, 10}, {300 * s, 2, 2}},
			wantEvents: 1,
		},
		// Polls every 60s; the value rises just after the poll at 0s. The syncs at 15s, 30s and
		// 45s still see the old value; the poll at 60s brings the new one:
		//   60s: ceil(80/10) = 8, limit max(6, 4) → 6;  75s: 80/60 → 8, limit 12 → 8
		"HPA sees only the latest poll": {
			edit:    func(c *ClusterConfig) { c.PollInterval = time.Minute },
			initial: 2, target: 10,
			value: func(sec float64) float64 {
				if sec < 1 {
					return 20
				}
				return 80
			},
			checks:     []clusterCheck{{45 * s, 2, 2}, {59 * s, 2, 2}, {60 * s, 6, 2}, {75 * s, 8, 2}},
			wantEvents: 2,
		},
		// Scale-up disabled: 8 wanted for the first minute, but the limit is the current 4.
		// From 60s 2 is wanted; the 300s window holds the 8s of 15s..45s until 345s (the 8 at 0s
		// leaves at 300s), then it scales down, which stays enabled: 4 → 2.
		"scale up disabled": {
			edit:    func(c *ClusterConfig) { c.ScaleUp.SelectPolicy = "Disabled" },
			initial: 4, target: 10,
			value: func(sec float64) float64 {
				if sec < 60 {
					return 80
				}
				return 20
			},
			checks:     []clusterCheck{{0, 4, 4}, {59 * s, 4, 4}, {344 * s, 4, 4}, {345 * s, 2, 2}},
			wantEvents: 1,
		},
		// Scale-down disabled: 2 is wanted for 10 minutes, the limit stays at 8. Scale-up still
		// works: at 600s 16 is wanted, limit max(12, 16) → 16, serving from 780s.
		"scale down disabled": {
			edit:    func(c *ClusterConfig) { c.ScaleDown.SelectPolicy = "Disabled" },
			initial: 8, target: 10,
			value: func(sec float64) float64 {
				if sec < 600 {
					return 20
				}
				return 160
			},
			checks:     []clusterCheck{{599 * s, 8, 8}, {600 * s, 16, 8}, {780 * s, 16, 16}},
			wantEvents: 1,
		},
		// "Min" takes the smaller of +4 and +100%: 10 → 14 at 0s, then +4 a sync (the event of
		// the previous sync is not in the 15s period) up to 38 at 90s; at 105s 400/380 = 1.05 is
		// inside the tolerance, so it stops short of 40. ("Max" would go 10 → 20 → 40.)
		"scale up Min policy": {
			edit:    func(c *ClusterConfig) { c.ScaleUp.SelectPolicy = "Min" },
			initial: 10, target: 10,
			value: func(float64) float64 { return 400 },
			checks: []clusterCheck{
				{0, 14, 10}, {14 * s, 14, 10}, {15 * s, 18, 10}, {45 * s, 26, 10}, {90 * s, 38, 10},
				{180 * s, 38, 14}, {time.Hour, 38, 38},
			},
			wantEvents: 7,
		},
		// Scale down without a window, "Min" of [-1 pod, -50%] per 15s keeps the larger limit:
		//   0s: max(9, int(10·0.5) = 5) → 9;  15s: max(8, int(4.5) = 4) → 8; ... one a sync
		//   90s: max(3, 2) → 3;  105s: 20/30 → 2, limit max(2, int(1.5) = 1) = 2 → 2
		"scale down Min policy": {
			edit: func(c *ClusterConfig) {
				c.ScaleDown = ScalingRules{SelectPolicy: "Min", Policies: []ScalingPolicy{
					{Type: "Pods", Value: 1, Period: 15 * time.Second},
					{Type: "Percent", Value: 50, Period: 15 * time.Second},
				}}
			},
			initial: 10, target: 10,
			value:      func(float64) float64 { return 20 },
			checks:     []clusterCheck{{0, 9, 9}, {15 * s, 8, 8}, {104 * s, 3, 3}, {105 * s, 2, 2}},
			wantEvents: 8,
		},
		// The same policies under "Max": 0s: min(9, 5) → 5; 15s: min(4, int(5·0.5) = 2) → 2.
		// Percent down truncates: 2.5 gives 2, not 3.
		"scale down Max policy truncates percent": {
			edit: func(c *ClusterConfig) {
				c.ScaleDown = ScalingRules{Policies: []ScalingPolicy{
					{Type: "Pods", Value: 1, Period: 15 * time.Second},
					{Type: "Percent", Value: 50, Period: 15 * time.Second},
				}}
			},
			initial: 10, target: 10,
			value:      func(float64) float64 { return 20 },
			checks:     []clusterCheck{{0, 5, 5}, {14 * s, 5, 5}, {15 * s, 2, 2}},
			wantEvents: 2,
		},
		// +50% per 15s rounds up: ceil(3·1.5) = 5 at 0s, ceil(5·1.5) = 8 at 15s, then 10.
		"percent up rounds up": {
			edit: func(c *ClusterConfig) {
				c.ScaleUp.Policies = []ScalingPolicy{{Type: "Percent", Value: 50, Period: 15 * time.Second}}
			},
			initial: 3, target: 10,
			value:      func(float64) float64 { return 100 },
			checks:     []clusterCheck{{0, 5, 3}, {15 * s, 8, 3}, {30 * s, 10, 3}},
			wantEvents: 3,
		},
		// +2 pods per 60s: 6 at 0s; at 15s..45s the +2 of 0s is in the period, the period starts
		// at 4 and the limit is 6; at 60s it has left (0s is not in (0s, 60s]) → 8; 120s → 10.
		"policy period remembers earlier scale ups": {
			edit: func(c *ClusterConfig) {
				c.ScaleUp.Policies = []ScalingPolicy{{Type: "Pods", Value: 2, Period: time.Minute}}
			},
			initial: 4, target: 10,
			value: func(float64) float64 { return 100 },
			checks: []clusterCheck{
				{0, 6, 4}, {59 * s, 6, 4}, {60 * s, 8, 4}, {119 * s, 8, 4}, {120 * s, 10, 4}, {180 * s, 10, 6},
			},
			wantEvents: 3,
		},
		// +4 pods per 60s, no scale-down window, polls every 15s; 8, then 4, then 12 wanted:
		//   0s: 4+4 → 8;  15s: → 4 (the 4 starting pods go);  30s: the period starts at
		//   current − added + removed = 4 − 4 + 4 = 4, limit 8 → 8;  45s: 8 − 8 + 4 = 4 → stays
		//   60s: the +4 of 0s has left the period: 8 − 4 + 4 = 8, limit 12 → 12
		"pods removed within a period count back": {
			edit: func(c *ClusterConfig) {
				c.PollInterval = 15 * time.Second
				c.ScaleUp.Policies = []ScalingPolicy{{Type: "Pods", Value: 4, Period: time.Minute}}
				c.ScaleDown.StabilizationWindow = 0
			},
			initial: 4, target: 10,
			value: func(sec float64) float64 {
				switch {
				case sec < 15:
					return 80
				case sec < 30:
					return 40
				}
				return 120
			},
			checks: []clusterCheck{
				{0, 8, 4}, {15 * s, 4, 4}, {30 * s, 8, 4}, {59 * s, 8, 4}, {60 * s, 12, 4},
				{180 * s, 12, 4}, {210 * s, 12, 8}, {240 * s, 12, 12},
			},
			wantEvents: 4,
		},
		// The controller overwrites a scale event once it is older than its direction's longest
		// period, and the other direction's longer periods then stop seeing it. Up +4 per 15s,
		// down -1 pod per 60s, no window, polls every 15s; 20 wanted, then 2 from 45s:
		//   0s, 15s, 30s: 4 → 8 → 12 → 16; at 30s the +4 of 0s (older than 15s) is overwritten
		//   45s: period start = 16 − (4@15s + 4@30s) = 8, limit 7 → 7 (pruning only past 60s
		//        would count 4@0s too: 16 − 12 = 4, limit 3)
		//   60s..90s: 7 − added + 9 removed at 45s keeps the limit at 7 or more → stays 7
		//   105s: the −9 of 45s has left the period: limit 6 → 6;  165s: → 5
		// The 9 removed at 45s are all starting pods, as are the next two; the last starting
		// pod (of 0s) serves from 180s.
		"an overwritten scale event no longer counts": {
			edit: func(c *ClusterConfig) {
				c.PollInterval = 15 * time.Second
				c.ScaleUp.Policies = []ScalingPolicy{{Type: "Pods", Value: 4, Period: 15 * time.Second}}
				c.ScaleDown = ScalingRules{Policies: []ScalingPolicy{{Type: "Pods", Value: 1, Period: time.Minute}}}
			},
			initial: 4, target: 10,
			value: func(sec float64) float64 {
				if sec < 45 {
					return 200
				}
				return 20
			},
			checks: []clusterCheck{
				{30 * s, 16, 4}, {45 * s, 7, 4}, {104 * s, 7, 4}, {105 * s, 6, 4}, {164 * s, 6, 4},
				{165 * s, 5, 4}, {180 * s, 5, 5},
			},
			wantEvents: 6,
		},
		// No scale-down window, polls every 15s. 4 → 8 at 60s (serving at 240s), → 12 at 75s
		// (serving at 255s), → 10 at 90s: the 2 pods removed are the newest starting ones, so
		// 4 start serving at 240s, not 2.
		"scale down removes starting pods newest first": {
			edit: func(c *ClusterConfig) {
				c.PollInterval = 15 * time.Second
				c.ScaleDown.StabilizationWindow = 0
			},
			initial: 4, target: 10,
			value: func(sec float64) float64 {
				switch {
				case sec < 60:
					return 40
				case sec < 75:
					return 80
				case sec < 90:
					return 120
				}
				return 100
			},
			checks: []clusterCheck{
				{75 * s, 12, 4}, {90 * s, 10, 4}, {239 * s, 10, 4}, {240 * s, 10, 8}, {254 * s, 10, 8},
				{255 * s, 10, 10},
			},
			wantEvents: 3,
		},
		// 4 → 8 at 60s, then 3 at 75s: the 4 starting pods go, then one ready pod.
		"scale down removes starting pods before ready ones": {
			edit: func(c *ClusterConfig) {
				c.PollInterval = 15 * time.Second
				c.ScaleDown.StabilizationWindow = 0
			},
			initial: 4, target: 10,
			value: func(sec float64) float64 {
				switch {
				case sec < 60:
					return 40
				case sec < 75:
					return 80
				}
				return 30
			},
			checks:     []clusterCheck{{60 * s, 8, 4}, {75 * s, 3, 3}, {240 * s, 3, 3}},
			wantEvents: 2,
		},
		// With no start-up delay, new pods serve at the instant they are created.
		"zero start-up": {
			edit:    func(c *ClusterConfig) { c.Startup = 0 },
			initial: 2, target: 10,
			value:      func(float64) float64 { return 200 },
			checks:     []clusterCheck{{0, 6, 6}, {15 * s, 12, 12}, {30 * s, 20, 20}},
			wantEvents: 3,
		},
		// MaxReplicas caps what the policies allow: 2 → 6 → 10 (limit 12, max 10).
		"max replicas": {
			edit:    func(c *ClusterConfig) { c.MaxReplicas = 10 },
			initial: 2, target: 10,
			value:      func(float64) float64 { return 1000 },
			checks:     []clusterCheck{{0, 6, 2}, {15 * s, 10, 2}, {time.Hour, 10, 10}},
			wantEvents: 2,
		},
		// MinReplicas floors a proposal of 0: after the 300s window, 6 → 3.
		"min replicas": {
			edit:    func(c *ClusterConfig) { c.MinReplicas = 3 },
			initial: 6, target: 10,
			value:      func(float64) float64 { return 0 },
			checks:     []clusterCheck{{299 * s, 6, 6}, {300 * s, 3, 3}, {time.Hour, 3, 3}},
			wantEvents: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := NewCluster(clusterConfig(tc.edit), clusterStart, tc.initial)
			if err != nil {
				t.Fatalf("NewCluster() = %v", err)
			}
			checkCluster(t, c, singleMetric(tc.target, tc.value), tc.checks)
			if got := c.Events(); got != tc.wantEvents {
				t.Errorf("Events() = %d, want %d", got, tc.wantEvents)
			}
			if got, want := clusterPods(c), c.Desired(); got != want {
				t.Errorf("pods = %d, want spec.replicas %d", got, want)
			}
		})
	}
}

// TestClusterTolerance: 10 replicas at 100 against 10 each, then the value changes just after
// 0s; the sync at 15s (polls every 15s, no scale-down window) acts on it or not.
func TestClusterTolerance(t *testing.T) {
	tests := map[string]struct {
		tolerance float64
		value     float64
		want      int32
	}{
		"+5% is within the band":           {tolerance: 0.1, value: 105, want: 10},
		"+10% is within the band":          {tolerance: 0.1, value: 110, want: 10},
		"+15% scales to ceil(11.5)":        {tolerance: 0.1, value: 115, want: 12},
		"-5% is within the band":           {tolerance: 0.1, value: 95, want: 10},
		"-10% is within the band":          {tolerance: 0.1, value: 90, want: 10},
		"-15% scales to ceil(8.5)":         {tolerance: 0.1, value: 85, want: 9},
		"no tolerance: +1% scales to 11":   {tolerance: 0, value: 101, want: 11},
		"tolerance 0.2: +15% does nothing": {tolerance: 0.2, value: 115, want: 10},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := clusterConfig(func(c *ClusterConfig) {
				c.PollInterval = 15 * time.Second
				c.ScaleDown.StabilizationWindow = 0
				c.Tolerance = tc.tolerance
			})
			c, err := NewCluster(cfg, clusterStart, 10)
			if err != nil {
				t.Fatalf("NewCluster() = %v", err)
			}
			poll := singleMetric(10, func(sec float64) float64 {
				if sec < 1 {
					return 100
				}
				return tc.value
			})
			// A scale-down removes ready pods at once; new pods are still starting at 15s.
			checkCluster(t, c, poll, []clusterCheck{{0, 10, 10}, {15 * time.Second, tc.want, min(tc.want, 10)}})
		})
	}
}

// TestClusterMetrics: 10 replicas, polls every 15s, no scale-down window, the same metrics at
// every poll; Desired after the syncs at 0s and 15s.
func TestClusterMetrics(t *testing.T) {
	tenth, fifth := 0.1, 0.2 // variables, so that their sum is the float 0.30000000000000004
	tests := map[string]struct {
		initial int32
		metrics []Metric
		want    int32
	}{
		// Proposals 12 and 15 at 0s: 15. At 15s: 120/150 → 12 and 150/150 → 15: stays 15.
		"the largest proposal wins": {initial: 10, metrics: []Metric{{120, 10}, {150, 10}}, want: 15},
		"lower proposals do not pull down": {
			initial: 10, metrics: []Metric{{20, 10}, {100, 10}}, want: 10,
		},
		"a NaN value is left out":        {initial: 10, metrics: []Metric{{math.NaN(), 10}, {150, 10}}, want: 15},
		"a zero target is left out":      {initial: 10, metrics: []Metric{{100, 0}, {150, 10}}, want: 15},
		"an infinite target is left out": {initial: 10, metrics: []Metric{{100, math.Inf(1)}, {150, 10}}, want: 15},
		// 0.0004 is 0 in thousandths: a target the API server would reject.
		"a target under a thousandth is left out": {
			initial: 10, metrics: []Metric{{100, 0.0004}, {150, 10}}, want: 15,
		},
		// The other metric asks for 2, but a failed one might have asked for more.
		"a failed metric blocks scaling down": {
			initial: 10, metrics: []Metric{{-1, 10}, {20, 10}}, want: 10,
		},
		"no usable metric changes nothing": {
			initial: 10, metrics: []Metric{{math.NaN(), 10}, {math.Inf(1), 10}}, want: 10,
		},
		"no metric changes nothing": {initial: 10, metrics: nil, want: 10},
		// 300 thousandths against 100: 3, where the raw floats would give ceil(3.0000000000000004) = 4.
		"values are read in thousandths": {initial: 1, metrics: []Metric{{tenth + fifth, tenth}}, want: 3},
		// The proposal saturates; the policies still pace it: 10 → 20 → 40.
		"a huge value scales at the policies' pace": {initial: 10, metrics: []Metric{{1e300, 1}}, want: 40},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := clusterConfig(func(c *ClusterConfig) {
				c.PollInterval = 15 * time.Second
				c.ScaleDown.StabilizationWindow = 0
			})
			c, err := NewCluster(cfg, clusterStart, tc.initial)
			if err != nil {
				t.Fatalf("NewCluster() = %v", err)
			}
			poll := func(time.Time) []Metric { return tc.metrics }
			if err := c.Advance(clusterStart.Add(15*time.Second), poll); err != nil {
				t.Fatalf("Advance() = %v", err)
			}
			if got := c.Desired(); got != tc.want {
				t.Errorf("Desired() = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestClusterPollTimes: polls happen at start+k·PollInterval and nowhere else, however the
// cluster is advanced, and an instant is never performed twice.
func TestClusterPollTimes(t *testing.T) {
	const s = time.Second
	tests := map[string]struct {
		steps []time.Duration // successive Advance targets after clusterStart
		want  []time.Duration
	}{
		"one second at a time": {
			steps: func() []time.Duration {
				var d []time.Duration
				for i := range 181 {
					d = append(d, time.Duration(i)*s)
				}
				return d
			}(),
			want: []time.Duration{0, 60 * s, 120 * s, 180 * s},
		},
		"one jump":               {steps: []time.Duration{180 * s}, want: []time.Duration{0, 60 * s, 120 * s, 180 * s}},
		"the same instant twice": {steps: []time.Duration{60 * s, 60 * s}, want: []time.Duration{0, 60 * s}},
		"just before a poll":     {steps: []time.Duration{59 * s, 119 * s}, want: []time.Duration{0, 60 * s}},
		"the start only":         {steps: []time.Duration{0}, want: []time.Duration{0}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := NewCluster(clusterConfig(func(c *ClusterConfig) { c.PollInterval = time.Minute }), clusterStart, 2)
			if err != nil {
				t.Fatalf("NewCluster() = %v", err)
			}
			var got []time.Duration
			poll := func(t time.Time) []Metric {
				got = append(got, t.Sub(clusterStart))
				return []Metric{{Value: 20, Target: 10}}
			}
			for _, d := range tc.steps {
				if err := c.Advance(clusterStart.Add(d), poll); err != nil {
					t.Fatalf("Advance(+%v) = %v", d, err)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("poll times (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClusterAdvanceGranularity: how the caller slices time does not change the outcome. A
// busy workload (a daily wave with a fast ripple) is advanced by steps of several sizes, and its
// state at every 105s (a multiple of each step) matches the run advanced second by second.
func TestClusterAdvanceGranularity(t *testing.T) {
	const horizon = 6 * time.Hour
	type snapshot struct {
		Desired, Ready int32
		Events         int
	}
	run := func(t *testing.T, step time.Duration) []snapshot {
		t.Helper()
		c, err := NewCluster(DefaultClusterConfig(), clusterStart, 3)
		if err != nil {
			t.Fatalf("NewCluster() = %v", err)
		}
		poll := singleMetric(10, busyDemand)
		var snaps []snapshot
		for d := time.Duration(0); d <= horizon; d += step {
			if err := c.Advance(clusterStart.Add(d), poll); err != nil {
				t.Fatalf("Advance(+%v) = %v", d, err)
			}
			if d%(105*time.Second) == 0 {
				snaps = append(snaps, snapshot{c.Desired(), c.Ready(), c.Events()})
			}
			if got, want := clusterPods(c), c.Desired(); got != want {
				t.Fatalf("at +%v: pods = %d, want spec.replicas %d", d, got, want)
			}
		}
		return snaps
	}
	want := run(t, time.Second)
	if last := want[len(want)-1]; last.Events < 20 {
		t.Fatalf("the reference run scaled %d times; the workload is not busy enough to compare", last.Events)
	}
	tests := map[string]struct{ step time.Duration }{
		"7s":   {step: 7 * time.Second},
		"15s":  {step: 15 * time.Second},
		"105s": {step: 105 * time.Second},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(want, run(t, tc.step)); diff != "" {
				t.Errorf("states every 105s (-1s steps +%v steps):\n%s", tc.step, diff)
			}
		})
	}
}

// busyDemand is a daily wave with a 17-minute ripple, in the metric's units (10 per replica):
// roughly 10 to 90 replicas' worth, changing direction often enough to scale both ways.
func busyDemand(sec float64) float64 {
	return 500 + 300*math.Sin(2*math.Pi*sec/86400) + 150*math.Sin(2*math.Pi*sec/1020)
}

// TestClusterHistoryBounded: over days of busy scaling the HPA's histories and the starting pods
// never outgrow the room NewCluster made for them, with the default rules and with the longest
// windows and periods the API allows.
func TestClusterHistoryBounded(t *testing.T) {
	tests := map[string]struct{ edit func(*ClusterConfig) }{
		"defaults": {},
		"longest windows and periods": {edit: func(c *ClusterConfig) {
			c.ScaleUp.StabilizationWindow = time.Hour
			c.ScaleUp.Policies = []ScalingPolicy{{Type: "Pods", Value: 40, Period: 30 * time.Minute}}
			c.ScaleDown.Policies = []ScalingPolicy{{Type: "Percent", Value: 10, Period: time.Minute}}
			c.Startup = 10 * time.Minute
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := NewCluster(clusterConfig(tc.edit), clusterStart, 3)
			if err != nil {
				t.Fatalf("NewCluster() = %v", err)
			}
			caps := [...]int{cap(c.recs), cap(c.ups), cap(c.downs), cap(c.pending)}
			poll := singleMetric(10, busyDemand)
			for d := time.Duration(0); d <= 3*24*time.Hour; d += 15 * time.Second {
				if err := c.Advance(clusterStart.Add(d), poll); err != nil {
					t.Fatalf("Advance(+%v) = %v", d, err)
				}
			}
			if c.Events() < 100 {
				t.Fatalf("Events() = %d; the workload is not busy enough to test the histories", c.Events())
			}
			got := [...]int{cap(c.recs), cap(c.ups), cap(c.downs), cap(c.pending)}
			if got != caps {
				t.Errorf("capacities of recs, ups, downs, pending = %v after 3 days, want %v as made", got, caps)
			}
		})
	}
}

// TestClusterAdvanceAllocs: a step of the steady state allocates nothing.
func TestClusterAdvanceAllocs(t *testing.T) {
	c, err := NewCluster(DefaultClusterConfig(), clusterStart, 3)
	if err != nil {
		t.Fatalf("NewCluster() = %v", err)
	}
	poll := singleMetric(10, busyDemand)
	d := time.Duration(0)
	for ; d <= 24*time.Hour; d += 15 * time.Second {
		if err := c.Advance(clusterStart.Add(d), poll); err != nil {
			t.Fatalf("Advance(+%v) = %v", d, err)
		}
	}
	allocs := testing.AllocsPerRun(2000, func() {
		d += 15 * time.Second
		if err := c.Advance(clusterStart.Add(d), poll); err != nil {
			t.Fatalf("Advance(+%v) = %v", d, err)
		}
	})
	if allocs != 0 {
		t.Errorf("Advance allocates %v times a step, want 0", allocs)
	}
}

func TestClusterAdvanceErrors(t *testing.T) {
	poll := func(time.Time) []Metric { return []Metric{{Value: 200, Target: 10}} }
	tests := map[string]struct {
		first   time.Duration // a valid Advance made before
		to      time.Duration
		nilPoll bool
		wantErr string
	}{
		"backwards":          {first: time.Minute, to: 30 * time.Second, wantErr: "before the cluster's current time"},
		"before the start":   {first: 0, to: -time.Second, wantErr: "before the cluster's current time"},
		"before any advance": {first: -1, to: -time.Nanosecond, wantErr: "before the cluster's current time"},
		"nil poll":           {first: time.Minute, to: 2 * time.Minute, nilPoll: true, wantErr: "poll is nil"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := NewCluster(DefaultClusterConfig(), clusterStart, 2)
			if err != nil {
				t.Fatalf("NewCluster() = %v", err)
			}
			if tc.first >= 0 {
				if err := c.Advance(clusterStart.Add(tc.first), poll); err != nil {
					t.Fatalf("Advance(+%v) = %v", tc.first, err)
				}
			}
			before := [...]int{int(c.Desired()), int(c.Ready()), c.Events()}
			p := poll
			if tc.nilPoll {
				p = nil
			}
			err = c.Advance(clusterStart.Add(tc.to), p)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Advance(+%v) = %v, want an error containing %q", tc.to, err, tc.wantErr)
			}
			if after := [...]int{int(c.Desired()), int(c.Ready()), c.Events()}; after != before {
				t.Errorf("Desired, Ready, Events = %v after the error, want %v as before", after, before)
			}
			// The cluster carries on from where it was.
			if err := c.Advance(clusterStart.Add(tc.first+time.Hour), poll); err != nil {
				t.Errorf("Advance(+%v) after the error = %v", tc.first+time.Hour, err)
			}
		})
	}
}

func TestNewCluster(t *testing.T) {
	tests := map[string]struct {
		edit        func(*ClusterConfig)
		initial     int32
		wantReplica int32
		wantErr     bool
	}{
		"within bounds":     {initial: 7, wantReplica: 7},
		"negative":          {initial: -3, wantReplica: 1},
		"below the minimum": {edit: func(c *ClusterConfig) { c.MinReplicas = 2 }, initial: 0, wantReplica: 2},
		"above the maximum": {initial: 500, wantReplica: 100},
		"invalid config":    {edit: func(c *ClusterConfig) { c.SyncPeriod = 0 }, initial: 1, wantErr: true},
		// Room for the histories is made per sync in the longest window; this must not ask for
		// 3.6e12 entries.
		"nanosecond sync period": {
			edit: func(c *ClusterConfig) {
				c.SyncPeriod = time.Nanosecond
				c.ScaleDown.StabilizationWindow = time.Hour
			},
			initial: 5, wantReplica: 5,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := NewCluster(clusterConfig(tc.edit), clusterStart, tc.initial)
			if tc.wantErr {
				if err == nil || c != nil {
					t.Fatalf("NewCluster() = %v, %v, want nil and an error", c, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewCluster() = %v", err)
			}
			if c.Desired() != tc.wantReplica || c.Ready() != tc.wantReplica || c.Events() != 0 {
				t.Errorf("Desired(), Ready(), Events() = %d, %d, %d, want %d, %d, 0",
					c.Desired(), c.Ready(), c.Events(), tc.wantReplica, tc.wantReplica)
			}
		})
	}
}

// TestNewClusterOwnsPolicies: changing the caller's policies afterwards changes nothing.
func TestNewClusterOwnsPolicies(t *testing.T) {
	cfg := DefaultClusterConfig()
	c, err := NewCluster(cfg, clusterStart, 2)
	if err != nil {
		t.Fatalf("NewCluster() = %v", err)
	}
	cfg.ScaleUp.Policies[0].Value = 1
	cfg.ScaleUp.Policies[1].Value = 1
	// 2 → max(2+4, 4) = 6, as with the policies the cluster was made with (not 3).
	checkCluster(t, c, singleMetric(10, func(float64) float64 { return 200 }), []clusterCheck{{0, 6, 2}})
}

// TestClusterKeepsPolledMetrics: the cluster keeps a copy of what a poll returned, so a caller
// may reuse its slice. The sync at 15s acts on the poll at 0s (value 20: 2 replicas stay), not
// on what the caller later wrote into the slice.
func TestClusterKeepsPolledMetrics(t *testing.T) {
	c, err := NewCluster(DefaultClusterConfig(), clusterStart, 2)
	if err != nil {
		t.Fatalf("NewCluster() = %v", err)
	}
	shared := []Metric{{Value: 20, Target: 10}}
	poll := func(time.Time) []Metric { return shared }
	if err := c.Advance(clusterStart, poll); err != nil {
		t.Fatalf("Advance(+0s) = %v", err)
	}
	shared[0].Value = 1000
	checkCluster(t, c, poll, []clusterCheck{{15 * time.Second, 2, 2}})
}

func TestClusterConfigValidate(t *testing.T) {
	tests := map[string]struct {
		edit     func(*ClusterConfig)
		wantErrs []string
	}{
		"defaults": {},
		"empty select policy means Max": {edit: func(c *ClusterConfig) {
			c.ScaleUp.SelectPolicy = ""
			c.ScaleDown.SelectPolicy = ""
		}},
		"poll interval zero": {
			edit:     func(c *ClusterConfig) { c.PollInterval = 0 },
			wantErrs: []string{"PollInterval must be > 0 (got 0s)"},
		},
		"sync period negative": {
			edit:     func(c *ClusterConfig) { c.SyncPeriod = -time.Second },
			wantErrs: []string{"SyncPeriod must be > 0 (got -1s)"},
		},
		"tolerance negative": {
			edit:     func(c *ClusterConfig) { c.Tolerance = -0.1 },
			wantErrs: []string{"Tolerance must be a finite number >= 0 (got -0.1)"},
		},
		"tolerance NaN": {
			edit:     func(c *ClusterConfig) { c.Tolerance = math.NaN() },
			wantErrs: []string{"Tolerance must be a finite number >= 0 (got NaN)"},
		},
		"start-up negative": {
			edit:     func(c *ClusterConfig) { c.Startup = -time.Minute },
			wantErrs: []string{"Startup must be >= 0 (got -1m0s)"},
		},
		"min replicas zero": {
			edit:     func(c *ClusterConfig) { c.MinReplicas = 0 },
			wantErrs: []string{"MinReplicas must be >= 1 (got 0)"},
		},
		"max replicas zero": {
			edit:     func(c *ClusterConfig) { c.MaxReplicas = 0 },
			wantErrs: []string{"MaxReplicas must be >= 1 (got 0)"},
		},
		"max below min": {
			edit:     func(c *ClusterConfig) { c.MinReplicas, c.MaxReplicas = 5, 2 },
			wantErrs: []string{"MaxReplicas must be >= MinReplicas (got 2 < 5)"},
		},
		"window over an hour": {
			edit:     func(c *ClusterConfig) { c.ScaleDown.StabilizationWindow = 2 * time.Hour },
			wantErrs: []string{"ScaleDown.StabilizationWindow must be between 0s and 1h0m0s (got 2h0m0s)"},
		},
		"unknown select policy": {
			edit:     func(c *ClusterConfig) { c.ScaleUp.SelectPolicy = "max" },
			wantErrs: []string{`ScaleUp.SelectPolicy must be "Max", "Min" or "Disabled" (got "max")`},
		},
		"no policies": {
			edit:     func(c *ClusterConfig) { c.ScaleUp.Policies = nil },
			wantErrs: []string{"ScaleUp.Policies must hold at least one policy (got none)"},
		},
		"a policy wrong three ways": {
			edit: func(c *ClusterConfig) { c.ScaleDown.Policies = []ScalingPolicy{{Type: "pods"}} },
			wantErrs: []string{
				`ScaleDown.Policies[0].Type must be "Pods" or "Percent" (got "pods")`,
				"ScaleDown.Policies[0].Value must be > 0 (got 0)",
				"ScaleDown.Policies[0].Period must be > 0s and <= 30m0s (got 0s)",
			},
		},
		"period over 30 minutes": {
			edit:     func(c *ClusterConfig) { c.ScaleUp.Policies[1].Period = time.Hour },
			wantErrs: []string{"ScaleUp.Policies[1].Period must be > 0s and <= 30m0s (got 1h0m0s)"},
		},
		"every problem at once": {
			edit: func(c *ClusterConfig) {
				c.PollInterval = 0
				c.SyncPeriod = 0
				c.Tolerance = math.Inf(1)
				c.ScaleUp.StabilizationWindow = -time.Second
				c.ScaleUp.Policies[0].Value = -4
				c.ScaleDown.SelectPolicy = "Sometimes"
				c.Startup = -time.Second
				c.MinReplicas, c.MaxReplicas = 3, 2
			},
			wantErrs: []string{
				"PollInterval must be > 0 (got 0s)",
				"SyncPeriod must be > 0 (got 0s)",
				"Tolerance must be a finite number >= 0 (got +Inf)",
				"ScaleUp.StabilizationWindow must be between 0s and 1h0m0s (got -1s)",
				"ScaleUp.Policies[0].Value must be > 0 (got -4)",
				`ScaleDown.SelectPolicy must be "Max", "Min" or "Disabled" (got "Sometimes")`,
				"Startup must be >= 0 (got -1s)",
				"MaxReplicas must be >= MinReplicas (got 2 < 3)",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := clusterConfig(tc.edit).Validate()
			if len(tc.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %d problems", len(tc.wantErrs))
			}
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) || len(joined.Unwrap()) != len(tc.wantErrs) {
				t.Fatalf("Validate() = %q, want exactly %d problems", err, len(tc.wantErrs))
			}
			for _, e := range joined.Unwrap() {
				if !strings.HasPrefix(e.Error(), "cluster: ") {
					t.Errorf("Validate() problem %q, want it to start with %q", e, "cluster: ")
				}
			}
			for _, want := range tc.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate() = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

// BenchmarkCluster simulates 30 days in 15s steps of a workload following a daily wave with a
// fast ripple, as the reactive policy sees it: one op is one 30-day run (172,800 Advance calls).
func BenchmarkCluster(b *testing.B) {
	const (
		days  = 30
		step  = 15 * time.Second
		steps = days * 24 * int(time.Hour/step)
	)
	poll := singleMetric(10, busyDemand)
	var events int
	for b.Loop() {
		c, err := NewCluster(DefaultClusterConfig(), clusterStart, 3)
		if err != nil {
			b.Fatalf("NewCluster() = %v", err)
		}
		for i := range steps + 1 {
			if err := c.Advance(clusterStart.Add(time.Duration(i)*step), poll); err != nil {
				b.Fatalf("Advance() = %v", err)
			}
		}
		events = c.Events()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(steps+1), "ns/advance")
	b.ReportMetric(float64(events), "events/run")
}
