package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/series"
)

// clock tells the agent what time it is on the data's time line, and how that maps to the wall
// clock the gateway and KEDA live on. Live, the two are the same. A replay runs a recorded trace
// faster than real time: the agent then thinks in the trace's time and publishes its plans in
// wall time (a 1-minute step at speed 300 becomes 200 ms), so that the real gateway can answer
// for them with its real clock.
type clock interface {
	// Now is the current instant on the data's time line.
	Now() time.Time
	// Wall maps an instant on the data's time line to the wall clock.
	Wall(t time.Time) time.Time
	// Real maps a duration on the data's time line to wall-clock time.
	Real(d time.Duration) time.Duration
}

// wallClock is the live clock: data time is wall time.
type wallClock struct{}

func (wallClock) Now() time.Time                     { return time.Now() }
func (wallClock) Wall(t time.Time) time.Time         { return t }
func (wallClock) Real(d time.Duration) time.Duration { return d }

// replayClock runs the trace's time line at speed× the wall clock from (simStart, wallStart).
type replayClock struct {
	simStart, wallStart time.Time
	speed               float64
	now                 func() time.Time // the wall clock; a parameter for tests
}

func (c replayClock) Now() time.Time {
	return c.simStart.Add(time.Duration(float64(c.now().Sub(c.wallStart)) * c.speed))
}

func (c replayClock) Wall(t time.Time) time.Time {
	return c.wallStart.Add(c.Real(t.Sub(c.simStart)))
}

func (c replayClock) Real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.speed)
}

// toWall re-expresses a plan made on the data's time line on the wall clock.
func toWall(c clock, p plan.Plan) plan.Plan {
	p.GeneratedAt = c.Wall(p.GeneratedAt)
	p.Start = c.Wall(p.Start)
	p.ValidUntil = c.Wall(p.ValidUntil)
	p.Step = plan.Duration(c.Real(p.Step.D()))
	p.Policy.LeadTime = plan.Duration(c.Real(p.Policy.LeadTime.D()))
	return p
}

// replay serves a recorded trace as if it were being observed live: Fetch returns only samples
// at or before the clock's now, so the agent can no more see the future than it could live.
type replay struct {
	samples []series.Sample
	clock   replayClock
}

// newReplay loads the trace and starts its clock so that `history` of data (at most half the
// trace) lies before the replayed now, letting the agent back-fill as it would from Prometheus.
func newReplay(path string, speed float64, history time.Duration, wallNow func() time.Time) (*replay, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open replay trace: %w", err)
	}
	defer f.Close()
	samples, err := series.ReadCSV(f)
	if err != nil {
		return nil, fmt.Errorf("read replay trace %s: %w", path, err)
	}
	first, last := samples[0].T, samples[len(samples)-1].T
	start := first.Add(min(history, last.Sub(first)/2))
	return &replay{
		samples: samples,
		clock:   replayClock{simStart: start, wallStart: wallNow(), speed: speed, now: wallNow},
	}, nil
}

// Fetch returns the trace's samples in [start, end], never later than the replayed now.
func (r *replay) Fetch(_ context.Context, start, end time.Time, _ time.Duration) ([]series.Sample, error) {
	if now := r.clock.Now(); end.After(now) {
		end = now
	}
	i := sort.Search(len(r.samples), func(i int) bool { return !r.samples[i].T.Before(start) })
	j := sort.Search(len(r.samples), func(i int) bool { return r.samples[i].T.After(end) })
	if i >= j {
		return nil, nil
	}
	return r.samples[i:j:j], nil
}

// done reports whether the replayed now has passed the end of the trace.
func (r *replay) done() bool {
	return r.clock.Now().After(r.samples[len(r.samples)-1].T)
}
