package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/kedastral/kedastral/pkg/capacity"
	"github.com/kedastral/kedastral/pkg/envconf"
	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/series"
	"github.com/kedastral/kedastral/pkg/sim"
)

const simulateUsage = `agent backtest --simulate — replay a trace through KEDA + HPA + pods, three ways.

Simulates, in data time, the workload scaled by: reactive KEDA (the HPA on the observed metric,
AverageValue target = target per pod × utilisation); Kedastral (the agent re-plans at every new
sample from what it could have seen — the same model and planner code as live — and KEDA reads
the gateway's answer, the max over the lead window, beside a reactive trigger on the same
metric, at utilisation --beside); and an oracle that knows the future demand exactly. All three
go through the same HPA (sync, tolerance, scale-up policy, scale-down stabilisation) and the
same pod start-up delay.

Figures per policy: unserved demand (Σ max(0, demand − ready pods × target) ÷ Σ demand),
under-provisioned minutes, replica-hours (pods that exist, starting or ready), peak replicas,
scaling events. With --sweep, each policy is run at many settings and Kedastral's
cost–service frontier is compared with each reactive setting at equal cost (unserved demand at
the same replica-hours) and at equal service (replica-hours at the same unserved demand). It
then names, against the reactive setting you run (--utilisation), the cheapest Kedastral
setting that serves as well and the best-served one that costs no more, with the agent's
environment for each.

Usage: agent backtest --simulate --input FILE.csv [flags]

Flags:
`

type simulateFlags struct {
	inputs                          []string
	step, warmup, window, horizon   string
	model, format, decisionsOut     string
	plot, refit, periods, events    string
	startup, lead, poll, sync       string
	upPeriod, downStab, downWindow  string
	sweepReactive, sweepQ, sweepH   string
	sweepOracle, sweepBeside        string
	basis                           string
	target, quantile, headroom      float64
	beside, oracleBeside            float64
	utilisation, tolerance          float64
	downFraction, upFactor          float64
	upPods, upPercent, minR, maxR   int
	observeLag, oracleLevel         int
	guard, sweep, progress, simFlag bool
	steps, sweepSteps               bool
}

// wantsSimulate reports whether backtest args ask for --simulate.
func wantsSimulate(args []string) bool {
	for _, a := range args {
		switch a {
		case "--simulate", "-simulate", "--simulate=true", "-simulate=true":
			return true
		}
	}
	return false
}

// runSimulate is `agent backtest --simulate`.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f simulateFlags
	fs := flag.NewFlagSet("agent backtest --simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, simulateUsage)
		fs.PrintDefaults()
	}
	fs.BoolVar(&f.simFlag, "simulate", true, "run the scaling simulation (this mode)")
	fs.Func("input", "trace: CSV timestamp,value (required; repeat for several traces and a summary)", func(v string) error {
		f.inputs = append(f.inputs, v)
		return nil
	})
	fs.StringVar(&f.step, "step", "", "grid step (default: the trace's most common spacing)")
	fs.StringVar(&f.warmup, "warmup", "7d", "start of the trace used only as the agent's history (halved for traces shorter than twice it)")
	fs.StringVar(&f.window, "window", "7d", "history the agent keeps (KEDASTRAL_HISTORY)")
	fs.StringVar(&f.horizon, "horizon", "30m", "how far each plan reaches (KEDASTRAL_HORIZON)")
	fs.StringVar(&f.model, "model", forecast.DefaultModel, "forecasting model: "+strings.Join(forecast.Names(), ", "))
	fs.StringVar(&f.refit, "refit", forecast.DefaultRefitEvery.String(), "refit interval, in data time (KEDASTRAL_REFIT_INTERVAL)")
	fs.StringVar(&f.periods, "periods", "", "pin the seasonal periods, e.g. 24h,7d (KEDASTRAL_PERIODS)")
	fs.Float64Var(&f.target, "target", 0, "demand one ready pod serves (default: the trace's median ÷ 10, so the median load needs 10 replicas;\n"+
		"its mean ÷ 10 when the median is 0)")
	fs.IntVar(&f.minR, "min", 1, "min replicas (HPA and plan)")
	fs.IntVar(&f.maxR, "max", 1000, "max replicas (HPA and plan)")
	fs.StringVar(&f.startup, "startup", "3m", "pod start-up delay: a pod asked for at t serves from t + this")
	fs.StringVar(&f.lead, "lead", "", "Kedastral's and the oracle's lead time (default: --startup + --poll + --sync)")
	fs.StringVar(&f.poll, "poll", "30s", "KEDA polling interval")
	fs.StringVar(&f.sync, "sync", "15s", "HPA sync period")
	fs.Float64Var(&f.tolerance, "tolerance", 0.1, "HPA tolerance")
	fs.IntVar(&f.observeLag, "observe-lag", 0, "steps after its timestamp that a sample becomes observable, to every policy but the oracle:\n"+
		"0 takes the value at T as known at T (a reading taken at T); 1 suits a trace whose value at T is the\n"+
		"total or mean over [T, T+step), which exists only once the step has ended")
	fs.IntVar(&f.upPods, "scale-up-pods", 4, "HPA scale-up policy: pods per --scale-up-period")
	fs.IntVar(&f.upPercent, "scale-up-percent", 100, "HPA scale-up policy: percent per --scale-up-period (the larger policy applies)")
	fs.StringVar(&f.upPeriod, "scale-up-period", "15s", "HPA scale-up policy period")
	fs.StringVar(&f.downStab, "scale-down-stabilization", "300s", "HPA scale-down stabilisation window")
	fs.Float64Var(&f.utilisation, "utilisation", 1, "reactive target utilisation: its AverageValue target is --target × this")
	fs.Float64Var(&f.quantile, "quantile", 0.9, "upper quantile Kedastral sizes for (KEDASTRAL_QUANTILE)")
	fs.Float64Var(&f.headroom, "headroom", 1, "Kedastral's headroom (KEDASTRAL_HEADROOM)")
	fs.Float64Var(&f.beside, "beside", 1, "target utilisation of the reactive trigger beside Kedastral's in the ScaledObject: its threshold is --target × this")
	fs.Float64Var(&f.oracleBeside, "oracle-beside", 0, "target utilisation of a reactive trigger beside the oracle too (0: none). At 1, the oracle, like Kedastral\n"+
		"with its reactive floor, never asks for less than reactive scaling at utilisation 1: what perfect foresight buys under that floor")
	fs.IntVar(&f.oracleLevel, "oracle-level", 0, "let the oracle know only the mean of the demand at this many steps either side of each moment, its own\n"+
		"left out (0: the demand itself): what a forecast that knew the local level exactly, but not the noise about it, could do")
	fs.StringVar(&f.basis, "basis", string(capacity.BasisUpper), "upper or point (KEDASTRAL_BASIS)")
	fs.StringVar(&f.downWindow, "scale-down-window", "0s", "KEDASTRAL_SCALE_DOWN_WINDOW")
	fs.Float64Var(&f.downFraction, "scale-down-max-fraction", 1, "KEDASTRAL_SCALE_DOWN_MAX_FRACTION")
	fs.Float64Var(&f.upFactor, "scale-up-max-factor", 4, "KEDASTRAL_SCALE_UP_MAX_FACTOR")
	fs.BoolVar(&f.guard, "accuracy-guard", true, "KEDASTRAL_ACCURACY_GUARD")
	fs.BoolVar(&f.steps, "steps", false, "round Kedastral's plan up to steps of the HPA's --tolerance (KEDASTRAL_HPA_TOLERANCE_STEPS set to it)")
	fs.StringVar(&f.events, "events", "", "KEDASTRAL_EVENTS")
	fs.BoolVar(&f.sweep, "sweep", false, "run every policy at many settings and compare the frontiers at equal cost and equal service")
	fs.StringVar(&f.sweepReactive, "sweep-utilisation", "1,0.9,0.8,0.7,0.6,0.5", "with --sweep: reactive target utilisations")
	fs.StringVar(&f.sweepQ, "sweep-quantile", "0,0.8,0.9,0.95,0.99", "with --sweep: Kedastral quantiles (0: size for the point forecast)")
	fs.StringVar(&f.sweepH, "sweep-headroom", "1,1.02,1.05,1.1,1.15,1.2,1.25,1.35,1.5,1.75,2",
		"with --sweep: Kedastral headrooms (the oracle's grid from 1 up: fine below 1.1, where the HPA's tolerance decides)")
	fs.StringVar(&f.sweepBeside, "sweep-beside", "0,0.9", "with --sweep: Kedastral quantiles (0: the point forecast) also run at headroom 1 with the reactive trigger beside\n"+
		"at each --sweep-utilisation below 1: a team that runs reactive scaling with a margin keeps it when it adds Kedastral (empty: none)")
	fs.BoolVar(&f.sweepSteps, "sweep-steps", true, "with --sweep: run every Kedastral and oracle setting both with and without --steps")
	fs.StringVar(&f.sweepOracle, "sweep-oracle-headroom", "0.5,0.6,0.7,0.8,0.85,0.9,0.95,1,1.02,1.05,1.1,1.15,1.2,1.25,1.35,1.5,1.75,2",
		"with --sweep: oracle headrooms (its frontier: the most any forecast could buy; fine, so that the bound is not a coarse grid's,\n"+
			"and below 1, short of the need on purpose, so that it reaches as cheap as reactive scaling at utilisation 1 does)")
	fs.StringVar(&f.format, "format", "text", "text or json")
	fs.StringVar(&f.decisionsOut, "decisions-out", "", "write one row per simulated 15s tick to this CSV (one --input only; forecast and upper empty\n"+
		"before the first plan, demand empty in a gap of the trace): "+decisionsHeader)
	fs.StringVar(&f.plot, "plot", "", "draw demand, forecast band and each policy's ready capacity to this .png or .svg (one --input only)")
	fs.BoolVar(&f.progress, "progress", true, "show progress on stderr")
	if done, err := parseFlags(fs, args, "simulate"); done || err != nil {
		return err
	}
	job, err := f.parse(fs)
	if err != nil {
		return err
	}

	reports := make([]simReport, len(f.inputs))
	errs := make([]error, len(f.inputs))
	bar := newProgress(stderr, f.progress, len(f.inputs), "simulate")
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, input := range f.inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			reports[i], errs[i] = job.run(ctx, input, func(done, total int) { bar.update(i, done, total) })
		}()
	}
	wg.Wait()
	bar.finish()
	// As in backtest: the traces that could be simulated are reported, and those that could not
	// are named in the error returned after them.
	failed := errors.Join(errs...)
	if ctx.Err() != nil {
		return failed
	}
	var done []simReport
	for i, r := range reports {
		if errs[i] == nil {
			done = append(done, r)
		}
	}
	if reports = done; len(reports) == 0 {
		return failed
	}
	if f.decisionsOut != "" {
		if err := writeDecisions(f.decisionsOut, reports[0].decisions); err != nil {
			return err
		}
	}
	if f.plot != "" {
		r := reports[0]
		title := fmt.Sprintf("%s — target %.4g per pod, start-up %s", filepath.Base(r.Input), r.TargetPerPod, r.Startup)
		if err := writePlot(f.plot, title, r.decisions, r.TargetPerPod); err != nil {
			return err
		}
	}
	var sum *simSummary
	if len(reports) > 1 && f.sweep {
		s := summarizeSim(reports)
		sum = &s
	}
	if f.format == "json" {
		return errors.Join(failed, writeJSON(stdout, reports, sum))
	}
	for _, r := range reports {
		if err := r.writeText(stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
	}
	if sum != nil {
		return errors.Join(failed, sum.writeText(stdout))
	}
	return failed
}

// simJob is the parsed flags: everything but the per-trace choices (target, warmup).
type simJob struct {
	step, warmup time.Duration
	cfg          sim.ScalingConfig
	model        string
	opts         forecast.Options
	target       float64
	keepDecision bool
}

func (f simulateFlags) parse(fs *flag.FlagSet) (simJob, error) {
	var errs []error
	// A duration that does not parse is reported here and read as the flag's default, so that
	// the checks below do not report it a second time as zero.
	dur := func(name, v string) time.Duration {
		d, err := envconf.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s %q: %w", name, v, err))
			d, _ = envconf.ParseDuration(fs.Lookup(name).DefValue)
		}
		return d
	}
	floats := func(name, v string) []float64 {
		var out []float64
		for p := range strings.SplitSeq(v, ",") {
			x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("--%s: %q is not a number", name, p))
				continue
			}
			out = append(out, x)
		}
		return out
	}
	if len(f.inputs) == 0 {
		errs = append(errs, errors.New("--input is required"))
	}
	if (f.decisionsOut != "" || f.plot != "") && len(f.inputs) > 1 {
		errs = append(errs, errors.New("--decisions-out and --plot take one --input"))
	}
	j := simJob{model: f.model, target: f.target, keepDecision: f.decisionsOut != "" || f.plot != ""}
	if f.step != "" {
		j.step = dur("step", f.step)
	}
	j.warmup = dur("warmup", f.warmup)
	j.opts = forecast.Options{RefitEvery: dur("refit", f.refit)}
	if f.periods != "" {
		for p := range strings.SplitSeq(f.periods, ",") {
			j.opts.Periods = append(j.opts.Periods, dur("periods", strings.TrimSpace(p)))
		}
	}
	if !slices.Contains(forecast.Names(), f.model) {
		errs = append(errs, fmt.Errorf("--model %q is not one of: %s", f.model, strings.Join(forecast.Names(), ", ")))
	}
	if f.target < 0 || math.IsNaN(f.target) || math.IsInf(f.target, 0) {
		errs = append(errs, fmt.Errorf("--target must be > 0 (got %v)", f.target))
	}
	if f.format != "text" && f.format != "json" {
		errs = append(errs, fmt.Errorf("--format must be text or json (got %q)", f.format))
	}
	if f.minR < 1 || f.maxR < f.minR || f.maxR > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("need 1 <= --min <= --max (got %d, %d)", f.minR, f.maxR))
	}
	cl := sim.DefaultClusterConfig()
	cl.PollInterval, cl.SyncPeriod, cl.Tolerance = dur("poll", f.poll), dur("sync", f.sync), f.tolerance
	cl.Startup = dur("startup", f.startup)
	cl.MinReplicas, cl.MaxReplicas = int32(max(0, min(f.minR, math.MaxInt32))), int32(max(0, min(f.maxR, math.MaxInt32)))
	upPeriod := dur("scale-up-period", f.upPeriod)
	cl.ScaleUp.Policies = []sim.ScalingPolicy{{Type: "Pods", Value: int32(f.upPods), Period: upPeriod},
		{Type: "Percent", Value: int32(f.upPercent), Period: upPeriod}}
	cl.ScaleDown.StabilizationWindow = dur("scale-down-stabilization", f.downStab)
	lead := cl.Startup + cl.PollInterval + cl.SyncPeriod
	if f.lead != "" {
		lead = dur("lead", f.lead)
	}
	events, err := capacity.ParseEvents(f.events)
	if err != nil {
		errs = append(errs, fmt.Errorf("--events: %w", err))
	}
	j.cfg = sim.ScalingConfig{
		Cluster: cl, Tick: 15 * time.Second, Window: dur("window", f.window), Horizon: dur("horizon", f.horizon),
		Policy: plan.Policy{Headroom: 1, MinReplicas: cl.MinReplicas, MaxReplicas: cl.MaxReplicas, LeadTime: plan.Duration(lead)},
		// Each setting says what it sizes for (quantile 0: the point forecast), so that a sweep's
		// quantiles mean what their labels say whatever --basis is; --basis point makes the
		// default setting's quantile 0.
		Rules: capacity.Rules{Basis: capacity.BasisUpper, DownWindow: dur("scale-down-window", f.downWindow),
			DownMaxFraction: f.downFraction, UpMaxFactor: f.upFactor, Events: events},
		ObserveLag:   f.observeLag,
		Guard:        f.guard,
		Reactive:     []float64{f.utilisation},
		Predictive:   []sim.Setting{{Quantile: f.quantile, Headroom: f.headroom, Steps: f.steps}},
		Oracle:       []float64{1},
		OracleBeside: f.oracleBeside, // ScalingConfig.Validate names a bad value
		OracleLevel:  f.oracleLevel,
	}
	switch {
	case !(f.beside > 0 && f.beside <= 1):
		errs = append(errs, fmt.Errorf("--beside must be in (0, 1] (got %v)", f.beside))
	case f.beside != 1:
		j.cfg.Predictive[0].Beside = f.beside
	}
	switch capacity.Basis(f.basis) {
	case capacity.BasisPoint:
		j.cfg.Predictive[0].Quantile = 0
	case capacity.BasisUpper:
	default:
		errs = append(errs, fmt.Errorf("--basis must be upper or point (got %q)", f.basis))
	}
	if f.sweep {
		for _, u := range floats("sweep-utilisation", f.sweepReactive) {
			if u != f.utilisation {
				j.cfg.Reactive = append(j.cfg.Reactive, u)
			}
		}
		for _, h := range floats("sweep-oracle-headroom", f.sweepOracle) {
			if h != 1 {
				j.cfg.Oracle = append(j.cfg.Oracle, h)
			}
		}
		// Steps of a zero tolerance change nothing: no point running every setting twice.
		stepsVariants := []bool{f.steps}
		if f.sweepSteps && f.tolerance > 0 {
			stepsVariants = []bool{false, true}
		}
		j.cfg.OracleSteps = len(stepsVariants) == 2
		for _, q := range floats("sweep-quantile", f.sweepQ) {
			for _, h := range floats("sweep-headroom", f.sweepH) {
				for _, steps := range stepsVariants {
					if st := (sim.Setting{Quantile: q, Headroom: h, Steps: steps}); st != j.cfg.Predictive[0] {
						j.cfg.Predictive = append(j.cfg.Predictive, st)
					}
				}
			}
		}
		if strings.TrimSpace(f.sweepBeside) != "" {
			for _, q := range floats("sweep-beside", f.sweepBeside) {
				for _, u := range j.cfg.Reactive {
					if st := (sim.Setting{Quantile: q, Headroom: 1, Beside: u}); u < 1 && st != j.cfg.Predictive[0] {
						j.cfg.Predictive = append(j.cfg.Predictive, st)
					}
				}
			}
		}
	}
	// What depends on the trace (its step, the target per pod, the warmup) is checked per
	// trace; the rest now, so that a typo fails before minutes of forecasting.
	probe := j.cfg
	probe.TargetPerPod = 1
	if err := probe.Validate(0); err != nil {
		errs = append(errs, unjoin(err)...)
	}
	if len(errs) > 0 {
		return simJob{}, fmt.Errorf("simulate: %w", errors.Join(errs...))
	}
	return j, nil
}

// simReport is one trace's simulation.
type simReport struct {
	Input        string           `json:"input"`
	Points       int              `json:"points"`
	Step         string           `json:"step"`
	Warmup       string           `json:"warmup"`
	Simulated    string           `json:"simulated"`
	TargetPerPod float64          `json:"targetPerPod"`
	Startup      string           `json:"startup"`
	Lead         string           `json:"lead"`
	Model        string           `json:"model"`
	Note         string           `json:"note,omitempty"`
	Reactive     []sim.Outcome    `json:"reactive"`
	Predictive   []sim.Outcome    `json:"predictive"`
	Oracle       sim.Outcome      `json:"oracle"`
	Comparisons  []sim.Comparison `json:"comparisons"`
	// OracleSweep and OracleComparisons are the oracle's settings and its frontier against
	// each reactive setting, with --sweep: what perfect foresight buys under the same rules.
	OracleSweep       []sim.Outcome    `json:"oracleSweep,omitempty"`
	OracleComparisons []sim.Comparison `json:"oracleComparisons,omitempty"`
	// Advice, with --sweep, names the settings to switch to from the reactive one (--utilisation).
	Advice *simAdvice `json:"advice,omitempty"`
	// ForecastSeconds and SimulateSeconds are how long the agent's forecasts and the cluster
	// simulations of every setting took.
	ForecastSeconds float64 `json:"forecastSeconds"`
	SimulateSeconds float64 `json:"simulateSeconds"`

	decisions []sim.Decision
}

func (j simJob) run(ctx context.Context, input string, progress func(done, total int)) (simReport, error) {
	s, step, err := readTrace(input, j.step)
	if err != nil {
		return simReport{}, fmt.Errorf("simulate: %w", err)
	}
	cfg := j.cfg
	cfg.TargetPerPod = j.target
	var notes []string
	if cfg.TargetPerPod == 0 {
		var why string
		cfg.TargetPerPod, why, err = defaultTarget(s.Values)
		if err != nil {
			return simReport{}, fmt.Errorf("simulate: %s: %w", input, err)
		}
		if why != "" {
			notes = append(notes, why)
		}
	}
	warmup := j.warmup
	if span := time.Duration(s.Len()) * step; span < 2*warmup {
		warmup = (span / 2).Truncate(step)
		notes = append(notes, fmt.Sprintf("the trace is shorter than twice the %s warmup: warmup %s", shortDuration(j.warmup), shortDuration(warmup)))
	}
	note := strings.Join(notes, "; ")
	cfg.Warmup = warmup
	if err := cfg.Validate(step); err != nil {
		return simReport{}, fmt.Errorf("simulate: %s: %w", input, err)
	}
	newModel := func() (forecast.Model, error) { return forecast.New(j.model, j.opts) }
	res, err := sim.Scale(ctx, s, newModel, cfg, progress)
	if err != nil {
		return simReport{}, fmt.Errorf("simulate %s: %w", input, err)
	}
	r := simReport{
		Input: input, Points: s.Len(), Step: shortDuration(step), Warmup: shortDuration(warmup),
		Simulated: shortDuration(res.End.Sub(res.Start)), TargetPerPod: cfg.TargetPerPod,
		Startup: shortDuration(cfg.Cluster.Startup), Lead: shortDuration(cfg.Policy.LeadTime.D()), Model: res.Model, Note: note,
		Reactive: res.Reactive, Predictive: res.Predictive, Oracle: res.Oracle,
		Comparisons:     sim.Compare(res.Reactive, res.Predictive),
		ForecastSeconds: res.ForecastSeconds, SimulateSeconds: res.SimulateSeconds,
	}
	if len(res.OracleSweep) > 1 {
		r.OracleSweep, r.OracleComparisons = res.OracleSweep, sim.Compare(res.Reactive, res.OracleSweep)
	}
	if len(res.Predictive) > 1 {
		r.Advice = advise(res.Reactive[0], res.Predictive, cfg)
	}
	if j.keepDecision {
		r.decisions = res.Decisions
	}
	return r, nil
}

// simAdvice is what a sweep suggests to a team that runs the reactive setting Against today.
type simAdvice struct {
	Against sim.Outcome `json:"against"`
	// SameService is the cheapest Kedastral setting that leaves no more demand unserved, and
	// SameCost the best-served one that uses no more replica-hours; nil when none does.
	SameService *simChoice `json:"sameService,omitempty"`
	SameCost    *simChoice `json:"sameCost,omitempty"`
}

// simChoice is a Kedastral setting the sweep ran, and how to configure it.
type simChoice struct {
	Outcome sim.Outcome `json:"outcome"`
	// Env is the agent's environment for it (KEDASTRAL_NAME=value).
	Env []string `json:"env"`
	// Trigger is the threshold of the reactive trigger beside Kedastral's in the ScaledObject.
	Trigger float64 `json:"trigger"`
}

// advise picks, from the predictive outcomes pred of cfg.Predictive's settings, the ones to
// suggest instead of the reactive outcome current (sim.Recommend).
func advise(current sim.Outcome, pred []sim.Outcome, cfg sim.ScalingConfig) *simAdvice {
	a := &simAdvice{Against: current}
	choice := func(i int) *simChoice {
		if i < 0 {
			return nil
		}
		st := cfg.Predictive[i]
		var env []string
		if st.Quantile == 0 {
			env = append(env, "KEDASTRAL_BASIS=point")
		} else {
			env = append(env, "KEDASTRAL_BASIS=upper", "KEDASTRAL_QUANTILE="+fmtFloat(st.Quantile))
		}
		env = append(env, "KEDASTRAL_HEADROOM="+fmtFloat(st.Headroom))
		if st.Steps {
			env = append(env, "KEDASTRAL_HPA_TOLERANCE_STEPS="+fmtFloat(cfg.Cluster.Tolerance))
		}
		if lead := cfg.Policy.LeadTime.D(); lead > 0 {
			env = append(env, "KEDASTRAL_LEAD_TIME="+shortDuration(lead))
		}
		return &simChoice{Outcome: pred[i], Env: env, Trigger: cfg.TargetPerPod * st.BesideUtilisation()}
	}
	service, cost := sim.Recommend(current, pred)
	a.SameService, a.SameCost = choice(service), choice(cost)
	return a
}

// writeText writes the advice as a few lines.
func (a simAdvice) writeText(w io.Writer) {
	fmt.Fprintf(w, "\ninstead of reactive %s (%.3f%% unserved, %.1f replica-hours; --utilisation names the one you run):\n",
		a.Against.Setting, a.Against.Unserved*100, a.Against.ReplicaHours)
	line := func(what string, c *simChoice, none string) {
		if c == nil {
			fmt.Fprintf(w, "  %s: none; %s\n", what, none)
			return
		}
		o := c.Outcome
		fmt.Fprintf(w, "  %s: %s, %.3f%% unserved, %.1f replica-hours (%+.1f%%)\n      %s, reactive trigger threshold %s\n",
			what, o.Setting, o.Unserved*100, o.ReplicaHours, (o.ReplicaHours/a.Against.ReplicaHours-1)*100,
			strings.Join(c.Env, " "), fmtFloat(c.Trigger))
	}
	line("as well served, for the least", a.SameService, "every setting leaves more unserved")
	line("the best served, for no more", a.SameCost, "every setting costs more (Kedastral never plans below reactive scaling at the target per pod)")
}

// readTrace reads a CSV trace onto a regular grid of step (inferred when 0).
func readTrace(input string, step time.Duration) (series.Series, time.Duration, error) {
	file, err := os.Open(input)
	if err != nil {
		return series.Series{}, 0, err
	}
	samples, err := series.ReadCSV(file)
	file.Close()
	if err != nil {
		return series.Series{}, 0, fmt.Errorf("read %s: %w", input, err)
	}
	if step == 0 {
		if step, err = sim.InferStep(samples); err != nil {
			return series.Series{}, 0, fmt.Errorf("%s: %w", input, err)
		}
	}
	s, err := series.Grid(samples, step)
	if err != nil {
		return series.Series{}, 0, fmt.Errorf("%s: %w", input, err)
	}
	return s, step, nil
}

func pct[F ~float64](f F) string {
	v := float64(f)
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", v*100)
}

// atLeast is pct with "≥" before a bound (sim.Comparison's *Bound).
func atLeast(f sim.Fraction, bound bool) string {
	if bound && !math.IsNaN(float64(f)) {
		return "≥" + pct(f)
	}
	return pct(f)
}

func (r simReport) writeText(w io.Writer) error {
	fmt.Fprintf(w, "%s: %d points of %s; warmup %s, simulated %s; target %.4g per pod; start-up %s, lead %s; model %s\n",
		r.Input, r.Points, r.Step, r.Warmup, r.Simulated, r.TargetPerPod, r.Startup, r.Lead, r.Model)
	if r.Note != "" {
		fmt.Fprintf(w, "note: %s\n", r.Note)
	}
	fmt.Fprintf(w, "forecasting %.1fs, simulating %d settings %.1fs\n\n", r.ForecastSeconds, len(r.Reactive)+len(r.Predictive)+max(1, len(r.OracleSweep)), r.SimulateSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tsetting\tunserved\tunder-provisioned min\treplica-hours\tpeak\tevents\tguard fallback\t")
	row := func(o sim.Outcome) {
		guard := ""
		if o.Policy == sim.Predictive.String() {
			guard = pct(o.Fallback)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3f%%\t%.0f\t%.1f\t%d\t%d\t%s\t\n", o.Policy, o.Setting, o.Unserved*100, o.UnderMinutes,
			o.ReplicaHours, o.PeakReplicas, o.Events, guard)
	}
	row(r.Reactive[0])
	row(r.Predictive[0])
	row(r.Oracle)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Reactive) == 1 && len(r.Predictive) == 1 {
		return nil
	}
	fmt.Fprintf(w, "\nsweep: %d reactive, %d predictive and %d oracle settings; Kedastral's frontier, and the oracle's, against each reactive setting:\n",
		len(r.Reactive), len(r.Predictive), max(1, len(r.OracleSweep)))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\t\t\tKedastral\t\toracle\t\t")
	fmt.Fprintln(tw, "reactive\tunserved\treplica-hours\tless unserved at equal cost\tfewer replica-hours at equal unserved\tless unserved at equal cost\tfewer replica-hours at equal unserved\t")
	for i, c := range r.Comparisons {
		oc := sim.Comparison{UnservedReduction: sim.Fraction(math.NaN()), CostSaving: sim.Fraction(math.NaN())}
		if i < len(r.OracleComparisons) {
			oc = r.OracleComparisons[i]
		}
		fmt.Fprintf(tw, "%s\t%.3f%%\t%.1f\t%s\t%s\t%s\t%s\t\n", c.Reactive.Setting, c.Reactive.Unserved*100, c.Reactive.ReplicaHours,
			atLeast(c.UnservedReduction, c.UnservedReductionBound), atLeast(c.CostSaving, c.CostSavingBound),
			atLeast(oc.UnservedReduction, oc.UnservedReductionBound), atLeast(oc.CostSaving, oc.CostSavingBound))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	bounded := func(c sim.Comparison) bool { return c.UnservedReductionBound || c.CostSavingBound }
	if slices.ContainsFunc(r.Comparisons, bounded) || slices.ContainsFunc(r.OracleComparisons, bounded) {
		fmt.Fprintln(w, "(≥: a bound, where the reactive setting lies beyond the frontier's dearest or cheapest setting, which stands in for it)")
	}
	if r.Advice != nil {
		r.Advice.writeText(w)
	}
	fmt.Fprintln(w, "\nKedastral's frontier:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "setting\tunserved\treplica-hours\tguard fallback\t")
	for _, o := range sim.Frontier(r.Predictive) {
		fmt.Fprintf(tw, "%s\t%.3f%%\t%.1f\t%s\t\n", o.Setting, o.Unserved*100, o.ReplicaHours, pct(o.Fallback))
	}
	return tw.Flush()
}

// simSummary is the comparison over several traces.
type simSummary struct {
	Traces []simSummaryRow `json:"traces"`
	// Median over the traces of each trace's median over the reactive settings.
	UnservedReduction sim.Fraction `json:"unservedReduction"`
	CostSaving        sim.Fraction `json:"costSaving"`
	// The same for the oracle's frontier.
	OracleUnservedReduction sim.Fraction `json:"oracleUnservedReduction"`
	OracleCostSaving        sim.Fraction `json:"oracleCostSaving"`
	// The same four over only the comparisons that are not bounds (sim.Comparison's *Bound):
	// where each frontier reaches the reactive setting's cost or unserved demand.
	UnservedReductionReached       sim.Fraction `json:"unservedReductionReached"`
	CostSavingReached              sim.Fraction `json:"costSavingReached"`
	OracleUnservedReductionReached sim.Fraction `json:"oracleUnservedReductionReached"`
	OracleCostSavingReached        sim.Fraction `json:"oracleCostSavingReached"`
	// WorseThanReactive counts the traces where Kedastral's frontier leaves more unserved
	// demand than some reactive setting at its cost, and OracleWorseThanReactive those where
	// even the oracle's does.
	WorseThanReactive       int `json:"worseThanReactive"`
	OracleWorseThanReactive int `json:"oracleWorseThanReactive"`
}

type simSummaryRow struct {
	Input string `json:"input"`
	// Kedastral's frontier against the reactive settings, and the oracle's (all NaN without an
	// oracle sweep).
	frontierSummary
	Oracle frontierSummary `json:"oracle"`
	// The default settings against the oracle: unserved demand and replica-hours of each.
	PredictiveUnserved     float64 `json:"predictiveUnserved"`
	OracleUnserved         float64 `json:"oracleUnserved"`
	PredictiveReplicaHours float64 `json:"predictiveReplicaHours"`
	OracleReplicaHours     float64 `json:"oracleReplicaHours"`
}

func summarizeSim(reports []simReport) simSummary {
	var s simSummary
	var red, save, ored, osave, redR, saveR, oredR, osaveR []float64
	for _, r := range reports {
		row := simSummaryRow{Input: filepath.Base(r.Input),
			frontierSummary: summarizeFrontier(r.Comparisons), Oracle: summarizeFrontier(r.OracleComparisons),
			PredictiveUnserved: r.Predictive[0].Unserved, OracleUnserved: r.Oracle.Unserved,
			PredictiveReplicaHours: r.Predictive[0].ReplicaHours, OracleReplicaHours: r.Oracle.ReplicaHours}
		if row.WorstReduction < 0 {
			s.WorseThanReactive++
		}
		if row.Oracle.WorstReduction < 0 {
			s.OracleWorseThanReactive++
		}
		red = append(red, float64(row.UnservedReduction))
		save = append(save, float64(row.CostSaving))
		ored = append(ored, float64(row.Oracle.UnservedReduction))
		osave = append(osave, float64(row.Oracle.CostSaving))
		redR = append(redR, float64(row.UnservedReductionReached))
		saveR = append(saveR, float64(row.CostSavingReached))
		oredR = append(oredR, float64(row.Oracle.UnservedReductionReached))
		osaveR = append(osaveR, float64(row.Oracle.CostSavingReached))
		s.Traces = append(s.Traces, row)
	}
	s.UnservedReduction, s.CostSaving = sim.Fraction(sim.Median(red)), sim.Fraction(sim.Median(save))
	s.OracleUnservedReduction, s.OracleCostSaving = sim.Fraction(sim.Median(ored)), sim.Fraction(sim.Median(osave))
	s.UnservedReductionReached, s.CostSavingReached = sim.Fraction(sim.Median(redR)), sim.Fraction(sim.Median(saveR))
	s.OracleUnservedReductionReached, s.OracleCostSavingReached = sim.Fraction(sim.Median(oredR)), sim.Fraction(sim.Median(osaveR))
	return s
}

// frontierSummary is one frontier against every reactive setting of a trace: the medians over
// the comparable settings, and the least favourable reduction; and the medians over those
// comparisons only that are not bounds (*Reached; NaN when every one is).
type frontierSummary struct {
	UnservedReduction        sim.Fraction `json:"unservedReduction"`
	WorstReduction           sim.Fraction `json:"worstReduction"`
	CostSaving               sim.Fraction `json:"costSaving"`
	UnservedReductionReached sim.Fraction `json:"unservedReductionReached"`
	CostSavingReached        sim.Fraction `json:"costSavingReached"`
}

// summarizeFrontier sums up a frontier's comparisons with the reactive settings (all NaN when
// none is comparable).
func summarizeFrontier(cs []sim.Comparison) frontierSummary {
	var rs, ss, rsR, ssR []float64
	worst := math.NaN()
	for _, c := range cs {
		rs = append(rs, float64(c.UnservedReduction))
		ss = append(ss, float64(c.CostSaving))
		if !c.UnservedReductionBound {
			rsR = append(rsR, float64(c.UnservedReduction))
		}
		if !c.CostSavingBound {
			ssR = append(ssR, float64(c.CostSaving))
		}
		if u := float64(c.UnservedReduction); !math.IsNaN(u) && !(u >= worst) {
			worst = u
		}
	}
	return frontierSummary{UnservedReduction: sim.Fraction(sim.Median(rs)), WorstReduction: sim.Fraction(worst),
		CostSaving: sim.Fraction(sim.Median(ss)), UnservedReductionReached: sim.Fraction(sim.Median(rsR)),
		CostSavingReached: sim.Fraction(sim.Median(ssR))}
}

func (s simSummary) writeText(w io.Writer) error {
	fmt.Fprintln(w, "summary: Kedastral against reactive KEDA at equal cost and at equal service (median over the reactive settings),")
	fmt.Fprintln(w, "the oracle's frontier the same way (what perfect foresight buys under the same rules), and the default settings against the oracle")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tKedastral\t\t\toracle\t\t\t\t\t")
	fmt.Fprintln(tw, "trace\tless unserved at equal cost\tworst\tfewer replica-hours at equal unserved\tless unserved at equal cost\tworst\tfewer replica-hours at equal unserved\tunserved kedastral / oracle\treplica-hours kedastral / oracle\t")
	for _, r := range s.Traces {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.3f%% / %.3f%%\t%.0f / %.0f\t\n", r.Input, pct(r.UnservedReduction), pct(r.WorstReduction),
			pct(r.CostSaving), pct(r.Oracle.UnservedReduction), pct(r.Oracle.WorstReduction), pct(r.Oracle.CostSaving),
			r.PredictiveUnserved*100, r.OracleUnserved*100, r.PredictiveReplicaHours, r.OracleReplicaHours)
	}
	fmt.Fprintf(tw, "median\t%s\t\t%s\t%s\t\t%s\t\t\t\n", pct(s.UnservedReduction), pct(s.CostSaving),
		pct(s.OracleUnservedReduction), pct(s.OracleCostSaving))
	if err := tw.Flush(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "\nworse than reactive (at some reactive setting's cost) on %d of %d traces; the oracle on %d\n",
		s.WorseThanReactive, len(s.Traces), s.OracleWorseThanReactive); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "over only the reactive settings each frontier reaches (no bounds): Kedastral %s less unserved at equal cost, %s fewer replica-hours at equal unserved; the oracle %s, %s\n",
		pct(s.UnservedReductionReached), pct(s.CostSavingReached), pct(s.OracleUnservedReductionReached), pct(s.OracleCostSavingReached))
	return err
}

// optFloat formats v, or nothing for NaN: a gap in the trace, or a step no plan covered.
func optFloat(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return fmtFloat(v)
}

// decisionsHeader is the header of --decisions-out.
const decisionsHeader = "time,demand,forecast,upper,desired_reactive,ready_reactive,desired_predictive,ready_predictive,desired_oracle,ready_oracle"

func writeDecisions(path string, rows []sim.Decision) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("decisions-out: %w", err)
	}
	w := csv.NewWriter(f)
	w.Write(strings.Split(decisionsHeader, ","))
	rec := make([]string, 10)
	for _, d := range rows {
		rec[0] = d.Time.UTC().Format(time.RFC3339)
		rec[1], rec[2], rec[3] = optFloat(d.Demand), optFloat(d.Forecast), optFloat(d.Upper)
		for k := range sim.Policies {
			rec[4+2*k] = strconv.Itoa(int(d.Desired[k]))
			rec[5+2*k] = strconv.Itoa(int(d.Ready[k]))
		}
		w.Write(rec)
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		return fmt.Errorf("decisions-out %s: %w", path, err)
	}
	return nil
}

// defaultTarget is the target per pod when --target is not given: the trace's median ÷ 10, so
// the median load needs 10 replicas (the benchmark rule). A sparse load — tweets about
// a quiet subject, a disk written to in bursts — can have a median of 0, which would make every
// pod infinitely large; its mean ÷ 10 is used instead, and why is said, so that a multi-trace
// run does not lose the trace. Only a trace with no positive load at all has no default.
func defaultTarget(values []float64) (target float64, why string, err error) {
	if t := sim.Median(values) / 10; t > 0 {
		return t, "", nil
	}
	var sum float64
	n := 0
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			sum += v
			n++
		}
	}
	if n == 0 || !(sum > 0) {
		return 0, "", errors.New("the trace has no load above zero to size pods by: give --target")
	}
	t := sum / float64(n) / 10
	return t, fmt.Sprintf("the trace's median is 0: target per pod %.4g, its mean ÷ 10 (give --target to choose)", t), nil
}
