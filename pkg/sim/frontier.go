package sim

import (
	"encoding/json"
	"math"
	"slices"
)

// Fraction is a share that may be unknown (NaN). It encodes as a JSON number, or null when
// unknown, since JSON has no NaN.
type Fraction float64

func (f Fraction) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

func (f *Fraction) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = Fraction(math.NaN())
		return nil
	}
	return json.Unmarshal(b, (*float64)(f))
}

// Frontier is the cost–service frontier of a policy's settings: the settings no other setting
// beats on both replica-hours and unserved demand, by increasing cost (and so decreasing
// unserved demand). A single setting can always be made to look good; comparing frontiers is
// the honest comparison of two policies.
func Frontier(outcomes []Outcome) []Outcome {
	f := slices.Clone(outcomes)
	slices.SortFunc(f, func(a, b Outcome) int {
		if a.ReplicaHours != b.ReplicaHours {
			if a.ReplicaHours < b.ReplicaHours {
				return -1
			}
			return 1
		}
		switch {
		case a.Unserved < b.Unserved:
			return -1
		case a.Unserved > b.Unserved:
			return 1
		}
		return 0
	})
	out := f[:0]
	for _, o := range f {
		if len(out) == 0 || o.Unserved < out[len(out)-1].Unserved {
			out = append(out, o)
		}
	}
	return out
}

// UnservedAt is the unserved demand the frontier reaches at a cost of replicaHours,
// interpolated linearly between settings: a point on the line between two settings is what
// running each of them for its share of the time would give, since replica-hours and unserved
// demand add up over time, so the line is reachable with the settings run, not a guess. Above the frontier's dearest setting it is that
// setting's (spending more could only help, so this is conservative); below its cheapest
// setting it is unknown: ok is false.
func UnservedAt(front []Outcome, replicaHours float64) (unserved float64, ok bool) {
	if len(front) == 0 || replicaHours < front[0].ReplicaHours {
		return math.NaN(), false
	}
	for i := 1; i < len(front); i++ {
		a, b := front[i-1], front[i]
		if replicaHours <= b.ReplicaHours {
			f := (replicaHours - a.ReplicaHours) / (b.ReplicaHours - a.ReplicaHours)
			return a.Unserved + f*(b.Unserved-a.Unserved), true
		}
	}
	return front[len(front)-1].Unserved, true
}

// CostAt is the replica-hours the frontier needs to leave no more than unserved demand
// unserved, interpolated linearly. Above the cheapest setting's unserved demand it is that
// setting's cost (conservative); below the best setting's it is unknown: ok is false.
func CostAt(front []Outcome, unserved float64) (replicaHours float64, ok bool) {
	if len(front) == 0 || unserved < front[len(front)-1].Unserved {
		return math.NaN(), false
	}
	if unserved >= front[0].Unserved {
		return front[0].ReplicaHours, true
	}
	for i := 1; i < len(front); i++ {
		a, b := front[i-1], front[i]
		if unserved >= b.Unserved {
			f := (a.Unserved - unserved) / (a.Unserved - b.Unserved)
			return a.ReplicaHours + f*(b.ReplicaHours-a.ReplicaHours), true
		}
	}
	return math.NaN(), false // unreachable: the last setting's unserved was checked above
}

// Comparison is Kedastral's predictive frontier against one reactive setting.
type Comparison struct {
	Reactive Outcome `json:"reactive"`
	// UnservedReduction is 1 − (predictive unserved at the reactive setting's replica-hours) ÷
	// (its unserved): the share of unserved demand Kedastral removes at equal cost. NaN when
	// not comparable (outside the predictive sweep, or nothing unserved to remove).
	UnservedReduction Fraction `json:"unservedReduction"`
	// CostSaving is 1 − (predictive replica-hours at the reactive setting's unserved demand) ÷
	// (its replica-hours): the share of cost Kedastral saves at equal service. NaN when not
	// comparable.
	CostSaving Fraction `json:"costSaving"`
	// UnservedReductionBound and CostSavingBound mark a figure that is a bound, not an
	// interpolation: the reactive setting costs more than the frontier's dearest setting, or
	// leaves more unserved than its cheapest, so the frontier's end stands in for a setting
	// the sweep did not run. The true figure is at least the one given.
	UnservedReductionBound bool `json:"unservedReductionBound,omitempty"`
	CostSavingBound        bool `json:"costSavingBound,omitempty"`
}

// Compare puts each reactive setting against the predictive frontier.
func Compare(reactive, predictive []Outcome) []Comparison {
	front := Frontier(predictive)
	out := make([]Comparison, len(reactive))
	for i, r := range reactive {
		c := Comparison{Reactive: r, UnservedReduction: Fraction(math.NaN()), CostSaving: Fraction(math.NaN())}
		if u, ok := UnservedAt(front, r.ReplicaHours); ok && r.Unserved > 0 {
			c.UnservedReduction = Fraction(1 - u/r.Unserved)
			c.UnservedReductionBound = r.ReplicaHours > front[len(front)-1].ReplicaHours
		}
		if h, ok := CostAt(front, r.Unserved); ok && r.ReplicaHours > 0 {
			c.CostSaving = Fraction(1 - h/r.ReplicaHours)
			c.CostSavingBound = r.Unserved > front[0].Unserved
		}
		out[i] = c
	}
	return out
}

// Median is the median of the finite values of v (NaN when there are none).
func Median(v []float64) float64 {
	var f []float64
	for _, x := range v {
		if isFinite(x) {
			f = append(f, x)
		}
	}
	if len(f) == 0 {
		return math.NaN()
	}
	slices.Sort(f)
	if n := len(f); n%2 == 1 {
		return f[n/2]
	} else {
		return (f[n/2-1] + f[n/2]) / 2
	}
}

// Recommend picks, among the predictive settings' outcomes pred, the two a team running the
// reactive setting current would consider switching to: sameService, the cheapest setting that
// leaves no more demand unserved than current does, and sameCost, the one that leaves the least
// unserved (the cheaper of equals) for no more replica-hours than current uses. Each is an index
// into pred, or -1 when no setting qualifies. Unlike CostAt and UnservedAt it interpolates
// nothing: it names settings that were run.
func Recommend(current Outcome, pred []Outcome) (sameService, sameCost int) {
	sameService, sameCost = -1, -1
	for i, o := range pred {
		if o.Unserved <= current.Unserved &&
			(sameService < 0 || o.ReplicaHours < pred[sameService].ReplicaHours ||
				(o.ReplicaHours == pred[sameService].ReplicaHours && o.Unserved < pred[sameService].Unserved)) {
			sameService = i
		}
		if o.ReplicaHours <= current.ReplicaHours &&
			(sameCost < 0 || o.Unserved < pred[sameCost].Unserved ||
				(o.Unserved == pred[sameCost].Unserved && o.ReplicaHours < pred[sameCost].ReplicaHours)) {
			sameCost = i
		}
	}
	return sameService, sameCost
}
