package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/kedastral/kedastral/pkg/envconf"
	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/sim"
)

const backtestUsage = `agent backtest — evaluate forecasting models on a recorded trace, offline.

Rolling-origin evaluation with no look-ahead: at each origin (every --stride) a model sees only
the --window of history before it and forecasts --horizon ahead, exactly as the agent would
live (same code, refitting every --refit of data time). Reports per model and lead time: MASE
(scaled by the in-sample one-day seasonal-naive error of the window), sMAPE, MAE, RMSE,
coverage and pinball loss of the upper quantile, and the time of a refit and of a forecast.
Below the table, a reference that is not a forecast: hindsight, the mean of the actual values
around each target (the future included, the target not), which knows the level exactly and
the noise not at all; a model near it has little left to gain but the noise. With several
--input, a summary over the traces (each model's median MASE, auto and hindsight against the
best of the baselines the field uses today).

Usage: agent backtest --input FILE.csv [flags]
       agent backtest --simulate --input FILE.csv [flags]   (scaling simulation; agent backtest --simulate --help)

Flags:
`

type backtestFlags struct {
	inputs                        []string
	model, format, forecastsOut   string
	step, window, horizon, stride string
	refit, periods, calibration   string
	quantile                      float64
	progress                      bool
}

// runBacktest is `agent backtest`.
func runBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if wantsSimulate(args) {
		return runSimulate(ctx, args, stdout, stderr)
	}
	var f backtestFlags
	fs := flag.NewFlagSet("agent backtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, backtestUsage)
		fs.PrintDefaults()
	}
	fs.Func("input", "trace to evaluate on: CSV timestamp,value (RFC 3339, or with a space for the T, UTC without a zone; or Unix seconds) (required; repeat it to evaluate\n"+
		"several traces and get a summary: median MASE per model and lead, how many traces each model wins, and\n"+
		"auto's MASE relative to the best baseline per trace, over all and over those with a daily period; a trace\n"+
		"that cannot be evaluated is named at the end, exit status 1, and the others are still reported)", func(v string) error {
		f.inputs = append(f.inputs, v)
		return nil
	})
	fs.StringVar(&f.step, "step", "", "grid step (default: the trace's most common spacing)")
	fs.StringVar(&f.window, "window", "7d", "history each origin sees")
	fs.StringVar(&f.horizon, "horizon", "30m", "how far each origin forecasts")
	fs.StringVar(&f.stride, "stride", "15m", "distance between origins")
	fs.StringVar(&f.model, "model", forecast.DefaultModel, "auto, all (every model side by side), or one of: "+strings.Join(forecast.Names(), ", "))
	fs.Float64Var(&f.quantile, "quantile", 0.9, "upper quantile to evaluate, in (0.5, 1)")
	fs.StringVar(&f.format, "format", "text", "text or json")
	fs.StringVar(&f.forecastsOut, "forecasts-out", "", "write every forecast step to this CSV: input,origin,target,h,actual,point,upper,model")
	fs.StringVar(&f.refit, "refit", forecast.DefaultRefitEvery.String(), "refit interval, in data time (as KEDASTRAL_REFIT_INTERVAL)")
	fs.StringVar(&f.calibration, "calibration", forecast.DefaultCalibration.String(), "history held out at each refit to measure errors (band, auto's choice)")
	fs.StringVar(&f.periods, "periods", "", "pin the seasonal periods, e.g. 24h,7d (default: detected, as the agent does)")
	fs.BoolVar(&f.progress, "progress", true, "show progress on stderr")
	if done, err := parseFlags(fs, args, "backtest"); done || err != nil {
		return err
	}

	cfg, models, opts, step, err := f.parse()
	if err != nil {
		return err
	}
	var out *csv.Writer
	if f.forecastsOut != "" {
		of, err := os.Create(f.forecastsOut)
		if err != nil {
			return fmt.Errorf("backtest: %w", err)
		}
		defer of.Close()
		out = csv.NewWriter(of)
		out.Write([]string{"input", "origin", "target", "h", "actual", "point", "upper", "model"})
		defer out.Flush()
	}
	// A trace that cannot be evaluated (unreadable, too short) is named in the error returned at
	// the end, after the others' reports and summary: one bad file does not lose a long run's
	// results, and the exit status still says that something failed.
	var reports []backtestReport
	var failed []error
	for _, input := range f.inputs {
		r, err := backtestFile(ctx, input, step, cfg, models, opts, out, newProgress(stderr, f.progress, len(models), input))
		if err != nil {
			if ctx.Err() != nil {
				return err // interrupted: the traces after it would fail the same way
			}
			failed = append(failed, err)
			continue
		}
		reports = append(reports, r)
		if f.format == "text" {
			if err := r.writeText(stdout); err != nil {
				return err
			}
			fmt.Fprintln(stdout)
		}
	}
	if out != nil {
		out.Flush()
		if err := out.Error(); err != nil {
			return fmt.Errorf("backtest: write %s: %w", f.forecastsOut, err)
		}
	}
	if len(reports) == 0 {
		return errors.Join(failed...)
	}
	var sum *summary
	if len(reports) > 1 {
		s := summarize(reports)
		sum = &s
	}
	switch {
	case f.format == "json":
		failed = append(failed, writeJSON(stdout, reports, sum))
	case sum != nil:
		failed = append(failed, sum.writeText(stdout))
	}
	return errors.Join(failed...)
}

// backtestFile evaluates every model on one trace.
func backtestFile(ctx context.Context, input string, step time.Duration, cfg sim.BacktestConfig, models []string,
	opts forecast.Options, out *csv.Writer, bar *progress) (backtestReport, error) {
	s, step, err := readTrace(input, step)
	if err != nil {
		return backtestReport{}, fmt.Errorf("backtest: %w", err)
	}
	if err := cfg.Validate(step); err != nil {
		return backtestReport{}, fmt.Errorf("backtest: %s: %w", input, err)
	}
	// A trace too short for the window still gets evaluated, on half its length, so that one
	// short trace does not stop a run over many; the report says so.
	note := ""
	if span := time.Duration(s.Len()) * step; span < cfg.Window+cfg.Horizon+cfg.Window/2 {
		w := ((span - cfg.Horizon) / 2).Truncate(step)
		if w < step {
			return backtestReport{}, fmt.Errorf("backtest: %s: %v of data is too short for a %v horizon", input, span, cfg.Horizon)
		}
		note = fmt.Sprintf("the trace is too short for a %s window: window %s", shortDuration(cfg.Window), shortDuration(w))
		cfg.Window = w
	}
	var outMu sync.Mutex

	// Models run in parallel, one goroutine each up to the cores the machine has; every one
	// reads the same series and writes only its own result.
	results := make([]sim.Result, len(models))
	errs := make([]error, len(models))
	sem := make(chan struct{}, max(1, min(len(models), runtime.GOMAXPROCS(0))))
	var wg sync.WaitGroup
	for i, name := range models {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var rows func(sim.Row) error
			if out != nil {
				rows = func(r sim.Row) error {
					outMu.Lock()
					defer outMu.Unlock()
					return out.Write([]string{input, r.Origin.UTC().Format(time.RFC3339), r.Target.UTC().Format(time.RFC3339),
						strconv.Itoa(r.H), fmtFloat(r.Actual), fmtFloat(r.Point), fmtFloat(r.Upper), r.Model})
				}
			}
			newModel := func() (forecast.Model, error) { return forecast.New(name, opts) }
			results[i], errs[i] = sim.Backtest(ctx, s, newModel, cfg, func(done, total int) { bar.update(i, done, total) }, rows)
		}()
	}
	wg.Wait()
	bar.finish()
	for i, err := range errs {
		if err != nil {
			return backtestReport{}, fmt.Errorf("backtest %s on %s: %w", models[i], input, err)
		}
	}
	hindsight, err := sim.Hindsight(s, cfg)
	if err != nil {
		return backtestReport{}, fmt.Errorf("backtest: %s: hindsight reference: %w", input, err)
	}
	periods := []string{}
	for _, p := range forecast.DetectPeriods(s) {
		periods = append(periods, shortDuration(time.Duration(p)*step))
	}
	return backtestReport{Input: input, Points: s.Len(), Step: shortDuration(step), Window: shortDuration(cfg.Window),
		Horizon: shortDuration(cfg.Horizon), Stride: shortDuration(cfg.Stride), Quantile: cfg.Quantile, Note: note,
		Periods: periods, Results: results, Hindsight: hindsight}, nil
}

func (f backtestFlags) parse() (sim.BacktestConfig, []string, forecast.Options, time.Duration, error) {
	var errs []error
	dur := func(name, v string) time.Duration {
		d, err := envconf.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s %q: %w", name, v, err))
		}
		return d
	}
	if len(f.inputs) == 0 {
		errs = append(errs, errors.New("--input is required"))
	}
	var step time.Duration
	if f.step != "" {
		step = dur("step", f.step)
	}
	cfg := sim.BacktestConfig{Window: dur("window", f.window), Horizon: dur("horizon", f.horizon),
		Stride: dur("stride", f.stride), Quantile: f.quantile, Report: sim.DefaultReport}
	opts := forecast.Options{RefitEvery: dur("refit", f.refit), Calibration: dur("calibration", f.calibration)}
	if f.periods != "" {
		for p := range strings.SplitSeq(f.periods, ",") {
			opts.Periods = append(opts.Periods, dur("periods", strings.TrimSpace(p)))
		}
	}
	models := []string{f.model}
	switch {
	case f.model == "all":
		models = forecast.Names()
	case !slices.Contains(forecast.Names(), f.model):
		errs = append(errs, fmt.Errorf("--model %q is not all or one of: %s", f.model, strings.Join(forecast.Names(), ", ")))
	}
	if f.format != "text" && f.format != "json" {
		errs = append(errs, fmt.Errorf("--format must be text or json (got %q)", f.format))
	}
	if !(f.quantile > 0.5 && f.quantile < 1) {
		errs = append(errs, fmt.Errorf("--quantile must be in (0.5, 1) (got %v)", f.quantile))
	}
	if len(errs) > 0 {
		return cfg, nil, opts, 0, fmt.Errorf("backtest: %w", errors.Join(errs...))
	}
	return cfg, models, opts, step, nil
}

type backtestReport struct {
	Input    string  `json:"input"`
	Points   int     `json:"points"`
	Step     string  `json:"step"`
	Window   string  `json:"window"`
	Horizon  string  `json:"horizon"`
	Stride   string  `json:"stride"`
	Quantile float64 `json:"quantile"`
	Note     string  `json:"note,omitempty"`
	// Periods are the seasonal periods detected over the whole trace: a label of the data for
	// the summary (which traces have a daily pattern), never seen by the models, which detect
	// their own from their window at each refit.
	Periods []string     `json:"periods"`
	Results []sim.Result `json:"results"`
	// Hindsight is a reference that is not a forecast (sim.Hindsight): the mean of the actuals
	// around each target, the future included. The models' errors are read against it: near
	// it, a forecast knows the level as well as hindsight does, and what is left is noise.
	Hindsight []sim.Reference `json:"hindsight"`
}

func (r backtestReport) writeText(w io.Writer) error {
	origins := 0
	if len(r.Results) > 0 {
		origins = r.Results[0].Origins
	}
	fmt.Fprintf(w, "%s: %d points of %s; window %s, horizon %s, stride %s: %d origins; upper quantile p%g\n",
		r.Input, r.Points, r.Step, r.Window, r.Horizon, r.Stride, origins, r.Quantile*100)
	if r.Note != "" {
		fmt.Fprintf(w, "note: %s\n", r.Note)
	}
	periods := strings.Join(r.Periods, ", ")
	if periods == "" {
		periods = "none"
	}
	fmt.Fprintf(w, "seasonal periods detected over the whole trace: %s\n", periods)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tlead\tMASE\tsMAPE%\tMAE\tRMSE\tcoverage\tpinball\tfit ms\tforecast ms\t")
	for _, res := range r.Results {
		for i, st := range res.Stats {
			name, fit, pred := "", "", ""
			if i == 0 {
				name = res.Model
				fit = fmt.Sprintf("%.1f", res.FitSeconds*1000)
				pred = fmt.Sprintf("%.3f", res.PredictSeconds*1000)
			}
			mase, pin := fmt.Sprintf("%.3f", st.MASE), fmt.Sprintf("%.3f", st.Pinball)
			if st.Scaled == 0 {
				mase, pin = "n/a", "n/a" // every window was flat: no error to scale by
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%.4g\t%.4g\t%.3f\t%s\t%s\t%s\t\n", name, shortDuration(st.Lead),
				mase, st.SMAPE, st.MAE, st.RMSE, st.Coverage, pin, fit, pred)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Hindsight) == 0 {
		return nil
	}
	cells := make([]string, len(r.Hindsight))
	for i, h := range r.Hindsight {
		cells[i] = fmt.Sprintf("%s %.3f (MAE %.4g, ±%d)", shortDuration(h.Lead), h.MASE, h.MAE, h.Radius)
	}
	_, err := fmt.Fprintf(w, "\nhindsight, not a forecast (the mean of the actuals within ±r steps of the target, the future included,\n"+
		"the target not, best r of %v): MASE %s\n", sim.HindsightRadii, strings.Join(cells, ", "))
	return err
}

// parseFlags parses a subcommand's flags. done is true when the user asked for --help, which
// has been printed and is not an error.
func parseFlags(fs *flag.FlagSet, args []string, cmd string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("%s: unexpected arguments %q", cmd, fs.Args())
	}
	return false, nil
}

// shortDuration prints 5m, 1h or 7d rather than 5m0s, 1h0m0s or 168h0m0s.
// writeJSON writes the reports of both backtest modes, and their summary when there is one, as
// one indented JSON object.
func writeJSON[R, S any](w io.Writer, traces []R, sum *S) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Traces  []R `json:"traces"`
		Summary *S  `json:"summary,omitempty"`
	}{traces, sum})
}

func shortDuration(d time.Duration) string {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return strings.TrimSuffix(d.String(), "0s")
	}
	return d.String()
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
