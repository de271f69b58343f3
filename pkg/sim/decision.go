package sim

import "time"

// PolicyKind names one of the three ways the simulator scales a workload.
type PolicyKind int

const (
	// Reactive is KEDA + HPA on the observed metric alone.
	Reactive PolicyKind = iota
	// Predictive is Kedastral: the agent's plans through the gateway's rule, with the reactive
	// trigger beside it, as a user's ScaledObject would have them.
	Predictive
	// Oracle knows the future demand exactly; it is the limit under the same start-up delay and
	// HPA rules.
	Oracle
	// NumPolicies is the number of policies.
	NumPolicies
)

// Policies lists every policy, in the order of their columns in tables and CSV.
var Policies = [NumPolicies]PolicyKind{Reactive, Predictive, Oracle}

func (k PolicyKind) String() string {
	switch k {
	case Reactive:
		return "reactive"
	case Predictive:
		return "predictive"
	case Oracle:
		return "oracle"
	}
	return "unknown"
}

// Decision is one simulated tick, as --decisions-out writes it: the demand at Time and, for
// each policy, the replicas the HPA has asked for and those ready to serve at Time. Every figure
// the simulator reports is a sum over these rows.
type Decision struct {
	Time   time.Time
	Demand float64
	// Forecast and Upper are what the predictive policy's latest plan, made before Time,
	// forecast for this step; NaN when no plan covered it.
	Forecast float64
	Upper    float64
	Desired  [NumPolicies]int32
	Ready    [NumPolicies]int32
}
