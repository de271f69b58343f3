package capacity

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// Mode is how far the planner trusts the forecast right now.
type Mode int

const (
	// Trusted: the upper quantile is exceeded about as often as calibrated; plan from it as
	// configured.
	Trusted Mode = iota
	// Widened: actuals exceed the upper quantile more often than calibrated; the headroom is
	// multiplied by the factor that would have covered them.
	Widened
	// Fallback: the forecast is badly wrong (below the actuals most of the time); plan from the
	// last observed value alone, with the headroom widened as above, until it recovers.
	Fallback
)

func (m Mode) String() string {
	switch m {
	case Trusted:
		return "trusted"
	case Widened:
		return "widened"
	case Fallback:
		return "fallback"
	}
	return "unknown"
}

// AccuracyConfig tunes the accuracy guard. The zero value of each field selects its default.
type AccuracyConfig struct {
	// Quantile is the nominal quantile of the forecast's upper band, in (0.5, 1): a calibrated
	// band is exceeded by a fraction 1 − Quantile of the actuals.
	Quantile float64
	// Lead is how far ahead of its target the judged forecast was made: the forecast capacity
	// was ordered on. Default 3m.
	Lead time.Duration
	// Window is how many recent comparisons the guard judges by. Default 120.
	Window int
	// MinSamples is how many comparisons it needs before it judges at all. Default 30.
	MinSamples int
	// WidenAbove is the exceedance rate above which the headroom widens. Default
	// 2 × (1 − Quantile): twice the calibrated rate.
	WidenAbove float64
	// FallbackAbove is the exceedance rate at or above which the plan falls back to the
	// reactive floor. Default 0.5: the "upper" band is no better than a median; for a quantile
	// of 0.75 or less, whose widening rate is already 0.5 or more, halfway from that rate to 1.
	FallbackAbove float64
	// MaxWiden caps the headroom factor. Default 2.
	MaxWiden float64
}

func (c AccuracyConfig) withDefaults() AccuracyConfig {
	if c.Lead == 0 {
		c.Lead = 3 * time.Minute
	}
	if c.Window == 0 {
		c.Window = 120
	}
	if c.MinSamples == 0 {
		c.MinSamples = 30
	}
	if c.WidenAbove == 0 {
		c.WidenAbove = 2 * (1 - c.Quantile)
	}
	if c.FallbackAbove == 0 {
		c.FallbackAbove = 0.5
		if c.WidenAbove >= 0.5 {
			c.FallbackAbove = (1 + c.WidenAbove) / 2
		}
	}
	if c.MaxWiden == 0 {
		c.MaxWiden = 2
	}
	return c
}

// Validate reports every problem with the configuration (after defaults).
func (c AccuracyConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if !(c.Quantile > 0.5 && c.Quantile < 1) {
		errs = append(errs, fmt.Errorf("accuracy guard: quantile must be in (0.5, 1) (got %v)", c.Quantile))
	}
	if c.Lead < 0 {
		errs = append(errs, fmt.Errorf("accuracy guard: lead must be >= 0 (got %v)", c.Lead))
	}
	if c.Window < 1 || c.MinSamples < 1 || c.MinSamples > c.Window {
		errs = append(errs, fmt.Errorf("accuracy guard: need 1 <= min samples <= window (got %d, %d)", c.MinSamples, c.Window))
	}
	if !(c.WidenAbove > 0 && c.WidenAbove < c.FallbackAbove && c.FallbackAbove <= 1) {
		errs = append(errs, fmt.Errorf("accuracy guard: need 0 < widen rate < fallback rate <= 1 (got %v, %v)", c.WidenAbove, c.FallbackAbove))
	}
	if !(c.MaxWiden >= 1) || math.IsInf(c.MaxWiden, 0) {
		errs = append(errs, fmt.Errorf("accuracy guard: max widen must be >= 1 (got %v)", c.MaxWiden))
	}
	return errors.Join(errs...)
}

// slack is how far above the band an actual may be and still count as covered: a near-perfect
// forecast of a smooth series has a band a hair wide, and missing it by a hair is not being
// wrong.
const slack = 0.01

// Accuracy is the accuracy guard: it keeps the forecasts capacity was ordered on, compares them
// with the actuals as they arrive, and says how far to trust the next forecast. It is pure (the
// caller passes the data) but stateful; not safe for concurrent use.
type Accuracy struct {
	cfg     AccuracyConfig
	pending []judged // forecasts awaiting their actual, by target time
	ratios  []float64
	next    int // ring position in ratios
	full    bool
	lastAt  time.Time // origin of the last forecast recorded
	mode    Mode
	scratch []float64
}

// judged is one forecast awaiting its actual.
type judged struct {
	target time.Time
	upper  float64
}

// AccuracyStatus is the guard's judgement.
type AccuracyStatus struct {
	Mode Mode
	// Factor multiplies the headroom (1 when Trusted).
	Factor float64
	// Exceedance is the fraction of the judged actuals above the upper band; Samples how many
	// were judged.
	Exceedance float64
	Samples    int
}

// NewAccuracy returns a guard with no evidence yet (Trusted).
func NewAccuracy(cfg AccuracyConfig) (*Accuracy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Accuracy{cfg: cfg, ratios: make([]float64, cfg.Window)}, nil
}

// Observe resolves the pending forecasts whose target the history now covers. A target whose
// actual is missing (a gap) is dropped without judgement.
func (a *Accuracy) Observe(history series.Series) {
	end := history.End()
	n := 0
	for _, p := range a.pending {
		if !p.target.Before(end) {
			a.pending[n] = p
			n++
			continue
		}
		off := p.target.Sub(history.Start)
		if off < 0 || off%history.Step != 0 {
			continue // before the history kept, or off its grid
		}
		v := history.Values[off/history.Step]
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			continue
		}
		r := math.Inf(1)
		switch {
		case p.upper > 0:
			r = v / p.upper
		case v == 0:
			r = 0
		}
		a.ratios[a.next] = r
		a.next = (a.next + 1) % len(a.ratios)
		a.full = a.full || a.next == 0
	}
	a.pending = a.pending[:n]
	a.mode = a.judge().Mode
}

// Record remembers the forecast made at origin start (the first step of upper) for the step
// Lead ahead, once per origin.
func (a *Accuracy) Record(start time.Time, step time.Duration, upper []float64) {
	if !start.After(a.lastAt) || len(upper) == 0 || step <= 0 {
		return
	}
	a.lastAt = start
	h := min(len(upper)-1, int((a.cfg.Lead+step-1)/step))
	a.pending = append(a.pending, judged{target: start.Add(time.Duration(h) * step), upper: upper[h]})
}

// SetLead changes which forecast is judged, when the lead time changes (KEDASTRAL_LEAD_TIME=auto
// measures it). Forecasts already recorded keep their targets.
func (a *Accuracy) SetLead(lead time.Duration) {
	if lead >= 0 {
		a.cfg.Lead = lead
	}
}

// Status is the guard's current judgement.
func (a *Accuracy) Status() AccuracyStatus { return a.judge() }

func (a *Accuracy) judge() AccuracyStatus {
	n := a.next
	if a.full {
		n = len(a.ratios)
	}
	st := AccuracyStatus{Mode: Trusted, Factor: 1, Samples: n}
	if n == 0 {
		return st
	}
	exceeded := 0
	for _, r := range a.ratios[:n] {
		if r > 1+slack {
			exceeded++
		}
	}
	st.Exceedance = float64(exceeded) / float64(n)
	if n < a.cfg.MinSamples {
		return st
	}
	// Hysteresis: once fallen back, the forecast must be back within the widening threshold
	// before it is trusted again, so that the plan does not flap at the boundary.
	switch {
	case st.Exceedance >= a.cfg.FallbackAbove,
		a.mode == Fallback && st.Exceedance > a.cfg.WidenAbove:
		st.Mode = Fallback
	case st.Exceedance > a.cfg.WidenAbove:
		st.Mode = Widened
	default:
		return st
	}
	// The factor that would have put the calibrated share of the recent actuals under the band.
	// A fallen-back plan keeps it too: the forecast is ignored, not the evidence that load runs
	// above expectations.
	a.scratch = append(a.scratch[:0], a.ratios[:n]...)
	slices.Sort(a.scratch)
	k := a.scratch[min(n-1, int(math.Ceil(a.cfg.Quantile*float64(n)))-1)]
	st.Factor = min(a.cfg.MaxWiden, max(1, k))
	return st
}
