// Package series holds regularly spaced time series, the form every metric takes once it enters
// Kedastral, and the reader for the CSV traces (timestamp,value) used by replays and backtests.
//
// It depends on the standard library only, so that the pure core (forecast, capacity, plan) can
// build on it without pulling in any transport.
package series

import (
	"fmt"
	"math"
	"time"
)

// Sample is one observed value at one instant.
type Sample struct {
	T time.Time
	V float64
}

// Series is a regular grid: Values[i] is the value at Start + i×Step. A NaN marks a missing
// sample (a gap); models must tolerate NaN in their input and never return it.
//
// A Series is a value; methods that return a Series may share the Values backing array with the
// receiver, so callers that keep a result while appending to the receiver must Clone it.
type Series struct {
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// Len is the number of grid points.
func (s Series) Len() int { return len(s.Values) }

// Time is the instant of grid point i.
func (s Series) Time(i int) time.Time { return s.Start.Add(time.Duration(i) * s.Step) }

// End is the instant just after the last grid point (Start + Len×Step).
func (s Series) End() time.Time { return s.Time(len(s.Values)) }

// Clone returns a copy that shares no memory with s.
func (s Series) Clone() Series {
	s.Values = append([]float64(nil), s.Values...)
	return s
}

// Last returns the last finite value and its index, or ok=false when there is none.
func (s Series) Last() (v float64, i int, ok bool) {
	for i = len(s.Values) - 1; i >= 0; i-- {
		if v = s.Values[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v, i, true
		}
	}
	return 0, -1, false
}

// Tail returns the last n grid points (all of them when n >= Len).
func (s Series) Tail(n int) Series {
	if n >= len(s.Values) {
		return s
	}
	drop := len(s.Values) - n
	return Series{Start: s.Time(drop), Step: s.Step, Values: s.Values[drop:]}
}

// Before returns the grid points strictly before t.
func (s Series) Before(t time.Time) Series {
	if !t.After(s.Start) {
		return Series{Start: s.Start, Step: s.Step}
	}
	n := int((t.Sub(s.Start) + s.Step - 1) / s.Step)
	if n > len(s.Values) {
		n = len(s.Values)
	}
	return Series{Start: s.Start, Step: s.Step, Values: s.Values[:n]}
}

// Buffer accumulates samples onto a regular grid and keeps at most Cap grid points, dropping the
// oldest. It is the agent's history. Not safe for concurrent use.
type Buffer struct {
	step   time.Duration
	cap    int
	start  time.Time // instant of values[0]; zero until the first sample
	values []float64
}

// NewBuffer returns an empty buffer on a grid of step holding at most capacity points. The grid
// is time.Truncate's: multiples of step since Go's zero time, which for steps that divide a day
// are multiples since the Unix epoch too (promsource evaluates queries on the same grid).
func NewBuffer(step time.Duration, capacity int) (*Buffer, error) {
	if step <= 0 {
		return nil, fmt.Errorf("series buffer: step must be > 0 (got %v)", step)
	}
	if capacity < 1 {
		return nil, fmt.Errorf("series buffer: capacity must be >= 1 (got %d)", capacity)
	}
	return &Buffer{step: step, cap: capacity}, nil
}

// Add places samples on the grid: each sample goes to the grid point at or before it, a later
// sample for the same point replaces an earlier one, points never observed stay NaN, and samples
// older than the oldest kept point are ignored. Non-finite values are dropped and counted in
// the result, so one bad sample never costs the others. Samples may arrive in any order.
func (b *Buffer) Add(samples []Sample) (rejected int) {
	for _, smp := range samples {
		if math.IsNaN(smp.V) || math.IsInf(smp.V, 0) {
			rejected++
			continue
		}
		t := smp.T.Truncate(b.step)
		if b.start.IsZero() {
			b.start = t
		}
		if t.Before(b.start) {
			back := int(b.start.Sub(t) / b.step)
			if len(b.values)+back > b.cap {
				continue // older than anything we keep
			}
			grown := make([]float64, back, back+len(b.values))
			for i := range grown {
				grown[i] = math.NaN()
			}
			b.values = append(grown, b.values...)
			b.start = t
		}
		i := int(t.Sub(b.start) / b.step)
		for len(b.values) <= i {
			b.values = append(b.values, math.NaN())
		}
		b.values[i] = smp.V
		if over := len(b.values) - b.cap; over > 0 {
			// Compact rather than reslice so that the backing array does not grow without bound.
			n := copy(b.values, b.values[over:])
			b.values = b.values[:n]
			b.start = b.start.Add(time.Duration(over) * b.step)
		}
	}
	return rejected
}

// Series returns the buffered grid up to (not including) end, padding with NaN up to end so that
// a source that has gone quiet shows as a gap rather than as fresh data. The result shares no
// memory with the buffer.
func (b *Buffer) Series(end time.Time) Series {
	end = end.Truncate(b.step)
	if b.start.IsZero() || !end.After(b.start) {
		return Series{Start: end, Step: b.step}
	}
	n := int(end.Sub(b.start) / b.step) // grid points in [start, end)
	first := max(0, n-b.cap)            // never return more than cap points
	s := Series{Start: b.start.Add(time.Duration(first) * b.step), Step: b.step, Values: make([]float64, n-first)}
	for i := range s.Values {
		if j := first + i; j < len(b.values) {
			s.Values[i] = b.values[j]
		} else {
			s.Values[i] = math.NaN()
		}
	}
	return s
}

// Latest is the instant of the newest grid point that holds a value, or the zero time.
func (b *Buffer) Latest() time.Time {
	for i := len(b.values) - 1; i >= 0; i-- {
		if !math.IsNaN(b.values[i]) {
			return b.start.Add(time.Duration(i) * b.step)
		}
	}
	return time.Time{}
}
