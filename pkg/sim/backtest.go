// Package sim evaluates Kedastral offline on recorded traces: rolling-origin backtests of the
// forecasting models, and closed-loop scaling simulations. It runs the same model code
// the agent runs, on data time, with no look-ahead: at each origin a model sees only the window
// of history before it.
package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/series"
)

// BacktestConfig is a rolling-origin evaluation, with the meanings of the Kedastral project's
// backtest flags, so that its users can compare directly.
type BacktestConfig struct {
	// Window is the history a model sees at each origin.
	Window time.Duration
	// Horizon is how far ahead each origin forecasts.
	Horizon time.Duration
	// Stride is the distance between origins.
	Stride time.Duration
	// Quantile is the upper quantile evaluated, in (0.5, 1).
	Quantile float64
	// Report lists the lead times reported (those within Horizon and at least one step).
	Report []time.Duration
}

// DefaultReport are the lead times reported by default.
var DefaultReport = []time.Duration{5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour}

// Validate reports every problem with the configuration for a series of the given step.
func (c BacktestConfig) Validate(step time.Duration) error {
	var errs []error
	if step <= 0 {
		errs = append(errs, fmt.Errorf("step must be > 0 (got %v)", step))
		return errors.Join(errs...)
	}
	if c.Window < step {
		errs = append(errs, fmt.Errorf("window must be >= the step %v (got %v)", step, c.Window))
	}
	if c.Horizon < step {
		errs = append(errs, fmt.Errorf("horizon must be >= the step %v (got %v)", step, c.Horizon))
	}
	if c.Stride < step {
		errs = append(errs, fmt.Errorf("stride must be >= the step %v (got %v)", step, c.Stride))
	}
	if !(c.Quantile > 0.5 && c.Quantile < 1) {
		errs = append(errs, fmt.Errorf("quantile must be in (0.5, 1) (got %v)", c.Quantile))
	}
	return errors.Join(errs...)
}

// Row is one forecast step of one origin, as --forecasts-out writes it.
type Row struct {
	Origin, Target time.Time
	H              int // 1-based steps ahead
	Actual         float64
	Point, Upper   float64
	Model          string
}

// Stats are the errors at one lead time over all origins.
type Stats struct {
	Lead time.Duration `json:"lead"`
	// N is the number of forecasts scored (origins whose actual at this lead was present).
	N int `json:"n"`
	// Scaled is how many of them MASE and Pinball average over: those whose window had an
	// in-sample error to scale by (a window that never changed has none). With none, MASE and
	// Pinball are 0 and mean nothing.
	Scaled int `json:"scaled"`
	// MASE is the mean absolute error scaled, origin by origin, by the in-sample one-day
	// seasonal-naive mean absolute error of the window the model saw (one-step naive when the
	// window is shorter than two days). Below 1: better than that baseline was in-sample.
	MASE  float64 `json:"mase"`
	SMAPE float64 `json:"smape"` // percent, 0–200
	MAE   float64 `json:"mae"`
	RMSE  float64 `json:"rmse"`
	// Coverage is the share of actuals at or below the upper quantile.
	Coverage float64 `json:"coverage"`
	// Pinball is the mean pinball (quantile) loss of the upper quantile, scaled like MASE.
	Pinball float64 `json:"pinball"`
}

// Result is one model's backtest.
type Result struct {
	Model   string  `json:"model"`
	Origins int     `json:"origins"`
	Stats   []Stats `json:"stats"`
	// Coverage is the share of all actuals (every lead) at or below the upper quantile.
	Coverage float64 `json:"coverage"`
	// Fits counts refits; FitSeconds is the mean duration of a Forecast call that refit, and
	// PredictSeconds of one that did not (the agent's per-cycle cost).
	Fits           int     `json:"fits"`
	FitSeconds     float64 `json:"fitSeconds"`
	PredictSeconds float64 `json:"predictSeconds"`
}

// Backtest evaluates the model made by newModel on s. progress, when not nil, is called after
// each origin with the count done and the total; rows, when not nil, receives every forecast
// step. It returns when done or when ctx ends (with ctx's error).
func Backtest(ctx context.Context, s series.Series, newModel func() (forecast.Model, error), cfg BacktestConfig,
	progress func(done, total int), rows func(Row) error) (Result, error) {
	if err := cfg.Validate(s.Step); err != nil {
		return Result{}, err
	}
	model, err := newModel()
	if err != nil {
		return Result{}, err
	}
	g, err := cfg.grid(s)
	if err != nil {
		return Result{}, err
	}
	window, horizon, origins, leads, reported := g.window, g.horizon, g.origins, g.leads, g.reported

	type acc struct {
		n, scaled, covered      int
		ase, smape, ae, se, pin float64
	}
	accs := make([]acc, len(leads))
	var covered, scored, fits int
	var fitTime, predictTime time.Duration
	var lastFit time.Time
	info, reportsFits := model.(interface{ Info() forecast.FitInfo })

	for i, o := range origins {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		hist := series.Series{Start: s.Time(o - window), Step: s.Step, Values: s.Values[o-window : o]}
		began := time.Now()
		fc, err := model.Forecast(hist, horizon, cfg.Quantile)
		took := time.Since(began)
		if err != nil {
			if errors.Is(err, forecast.ErrNoData) {
				continue // nothing to forecast from: the agent would not publish either
			}
			return Result{}, fmt.Errorf("origin %s: %w", s.Time(o).Format(time.RFC3339), err)
		}
		if reportsFits && !info.Info().FittedAt.Equal(lastFit) {
			lastFit = info.Info().FittedAt
			fits++
			fitTime += took
		} else {
			predictTime += took
		}
		scale := mase(hist.Values, g.seasonLag)
		for h := range horizon {
			a := s.Values[o+h]
			if !isFinite(a) {
				continue
			}
			scored++
			if a <= fc.Upper[h] {
				covered++
			}
			if rows != nil {
				if err := rows(Row{Origin: s.Time(o), Target: s.Time(o + h), H: h + 1, Actual: a,
					Point: fc.Point[h], Upper: fc.Upper[h], Model: model.Name()}); err != nil {
					return Result{}, err
				}
			}
		}
		for j, h := range leads {
			a := s.Values[o+h]
			if !isFinite(a) {
				continue
			}
			p, u := fc.Point[h], fc.Upper[h]
			ac := &accs[j]
			ac.n++
			d := a - p
			ac.ae += math.Abs(d)
			ac.se += d * d
			if scale > 0 {
				ac.scaled++
				ac.ase += math.Abs(d) / scale
				ac.pin += pinball(a, u, cfg.Quantile) / scale
			}
			if den := math.Abs(a) + math.Abs(p); den > 0 {
				ac.smape += 200 * math.Abs(d) / den
			}
			if a <= u {
				ac.covered++
			}
		}
		if progress != nil {
			progress(i+1, len(origins))
		}
	}

	r := Result{Model: model.Name(), Origins: len(origins), Fits: fits}
	for j, ac := range accs {
		st := Stats{Lead: reported[j], N: ac.n, Scaled: ac.scaled}
		if ac.n > 0 {
			n := float64(ac.n)
			st.SMAPE, st.MAE, st.RMSE = ac.smape/n, ac.ae/n, math.Sqrt(ac.se/n)
			st.Coverage = float64(ac.covered) / n
		}
		if ac.scaled > 0 {
			// Over the scaled forecasts only: counting the others as errors of 0 would flatter.
			st.MASE, st.Pinball = ac.ase/float64(ac.scaled), ac.pin/float64(ac.scaled)
		}
		r.Stats = append(r.Stats, st)
	}
	if scored > 0 {
		r.Coverage = float64(covered) / float64(scored)
	}
	if fits > 0 {
		r.FitSeconds = fitTime.Seconds() / float64(fits)
	}
	if n := len(origins) - fits; n > 0 {
		r.PredictSeconds = predictTime.Seconds() / float64(n)
	}
	return r, nil
}

// backtestGrid is where a backtest of a series scores: its origins and reported leads.
type backtestGrid struct {
	window, horizon int   // in steps
	origins         []int // index of the first step forecast from each origin
	leads           []int // 0-based step index of each reported lead
	reported        []time.Duration
	seasonLag       int // the lag of MASE's in-sample naive forecast, in steps
}

// grid lays out the backtest of s: an error when s is shorter than one window and horizon.
func (c BacktestConfig) grid(s series.Series) (backtestGrid, error) {
	g := backtestGrid{window: int(c.Window / s.Step), horizon: int(c.Horizon / s.Step)}
	stride := int(c.Stride / s.Step)
	for o := g.window; o+g.horizon <= s.Len(); o += stride {
		g.origins = append(g.origins, o)
	}
	if len(g.origins) == 0 {
		return backtestGrid{}, fmt.Errorf("the series (%d points of %v) is shorter than window + horizon (%v + %v)",
			s.Len(), s.Step, c.Window, c.Horizon)
	}
	for _, l := range c.Report {
		if h := int(l / s.Step); h >= 1 && h <= g.horizon && time.Duration(h)*s.Step == l {
			g.leads = append(g.leads, h-1)
			g.reported = append(g.reported, l)
		}
	}
	g.seasonLag = int(24 * time.Hour / s.Step)
	if g.window < 2*g.seasonLag {
		g.seasonLag = 1
	}
	return g, nil
}

// HindsightRadii are the radii, in steps, that Hindsight tries.
var HindsightRadii = []int{1, 2, 3, 5, 8, 12}

// Reference is how a reference that is not a forecast scores at one lead time.
type Reference struct {
	Lead time.Duration `json:"lead"`
	// Radius is the radius, in steps, that scored best at this lead.
	Radius int     `json:"radius"`
	N      int     `json:"n"`
	MASE   float64 `json:"mase"` // scaled as Stats.MASE, origin by origin
	MAE    float64 `json:"mae"`
}

// Hindsight scores, at the origins and leads Backtest scores, a reference that looks ahead and
// is therefore not a forecast: for each target, the mean of the actual values within r steps
// either side of it, the target itself excluded and the future included, with the r of
// HindsightRadii that scores the lowest MASE at each lead. It stands for a forecaster that knew
// the local level around each target exactly, but not the noise about it. A forecast near it
// has little left to gain from a better level; one below it forecasts more than a level (a
// cron job's spike, the shape of a ramp). It is a reference to read the forecasts' errors by,
// not a bound: nothing forbids a forecast to beat it.
func Hindsight(s series.Series, cfg BacktestConfig) ([]Reference, error) {
	if err := cfg.Validate(s.Step); err != nil {
		return nil, err
	}
	g, err := cfg.grid(s)
	if err != nil {
		return nil, err
	}
	scales := make([]float64, len(g.origins))
	for i, o := range g.origins {
		scales[i] = mase(s.Values[o-g.window:o], g.seasonLag)
	}
	out := make([]Reference, len(g.leads))
	for j, h := range g.leads {
		out[j] = Reference{Lead: g.reported[j], MASE: math.Inf(1)}
		for _, r := range HindsightRadii {
			var ae, ase float64
			var n, scaled int
			for i, o := range g.origins {
				t := o + h
				a, m := s.Values[t], centredMean(s.Values, t, r)
				if !isFinite(a) || !isFinite(m) {
					continue
				}
				n++
				ae += math.Abs(a - m)
				if scales[i] > 0 {
					scaled++
					ase += math.Abs(a-m) / scales[i]
				}
			}
			if scaled > 0 && ase/float64(scaled) < out[j].MASE {
				out[j] = Reference{Lead: g.reported[j], Radius: r, N: n, MASE: ase / float64(scaled), MAE: ae / float64(n)}
			}
		}
		if math.IsInf(out[j].MASE, 1) {
			out[j].MASE = 0 // nothing to scale by, as Stats.MASE with Scaled 0
		}
	}
	return out, nil
}

// centredMean is the mean of the finite values of v within r places either side of i, v[i]
// excluded; NaN when there are none.
func centredMean(v []float64, i, r int) float64 {
	sum, n := 0.0, 0
	for k := max(0, i-r); k <= min(len(v)-1, i+r); k++ {
		if k != i && isFinite(v[k]) {
			sum += v[k]
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// mase returns the in-sample mean absolute error of the lag-lag naive forecast over v (the MASE
// denominator), or 0 when it cannot be computed.
func mase(v []float64, lag int) float64 {
	sum, n := 0.0, 0
	for i := lag; i < len(v); i++ {
		if isFinite(v[i]) && isFinite(v[i-lag]) {
			sum += math.Abs(v[i] - v[i-lag])
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// pinball is the quantile loss of forecast u of the q-quantile for actual a.
func pinball(a, u, q float64) float64 {
	if a > u {
		return q * (a - u)
	}
	return (1 - q) * (u - a)
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// InferStep returns the most common spacing between consecutive samples.
func InferStep(samples []series.Sample) (time.Duration, error) {
	if len(samples) < 2 {
		return 0, errors.New("need at least two samples to infer the step")
	}
	counts := map[time.Duration]int{}
	for i := 1; i < len(samples); i++ {
		counts[samples[i].T.Sub(samples[i-1].T)]++
	}
	steps := make([]time.Duration, 0, len(counts))
	for d := range counts {
		steps = append(steps, d)
	}
	slices.Sort(steps)
	best := steps[0]
	for _, d := range steps {
		if counts[d] > counts[best] {
			best = d
		}
	}
	return best, nil
}
