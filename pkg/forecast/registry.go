package forecast

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Model names, as accepted by New and by KEDASTRAL_MODEL.
const (
	Naive             = "naive"
	SeasonalNaive     = "seasonal_naive"
	SeasonalNaiveWeek = "seasonal_naive_week"
	RobustLevel       = "robust_level"
	ARIMA             = "arima"
	SARIMA            = "sarima"
	HoltWinters       = "holt_winters"
	DSHW              = "dshw"
	FFTDSP            = "fft_dsp"
	MSTL              = "mstl"
	DHR               = "dhr"
	Analog            = "analog"
	// Auto combines the methods above per workload by their errors on its own recent history.
	Auto = "auto"

	// DefaultModel is the model to use when none is configured.
	DefaultModel = Auto
)

// DefaultWindow is robust_level's default window.
const DefaultWindow = 15

// Options tunes a model. The zero value selects every default, and a model ignores the fields it
// does not use.
type Options struct {
	// Periods pins the seasonal periods (e.g. 24h and 168h) instead of detecting them from the
	// data at each refit.
	Periods []time.Duration
	// Season is seasonal_naive's season. Default a day.
	Season time.Duration
	// RefitEvery and Calibration: see EngineConfig.
	RefitEvery, Calibration time.Duration
	// Window is the most recent finite samples robust_level takes the median of to estimate
	// the current level. It tries shorter windows too (1, 2, 4, … samples) and uses the one that
	// would have forecast the recent past best, so Window bounds both how steady the level can
	// be and how slowly it can follow a change: at most Window/2+1 samples late. Default
	// DefaultWindow (15).
	Window int
}

// methods maps each method's name to its constructor; opts has its defaults filled in.
var methods = map[string]func(opts Options) Method{
	Naive:             func(Options) Method { return naive{} },
	SeasonalNaive:     func(o Options) Method { return seasonalNaive{name: SeasonalNaive, season: o.Season} },
	SeasonalNaiveWeek: func(Options) Method { return seasonalNaive{name: SeasonalNaiveWeek, season: 7 * 24 * time.Hour} },
	RobustLevel:       func(o Options) Method { return robustLevel{window: o.Window} },
	ARIMA:             func(Options) Method { return newARIMA(1, 1, 1) },
	SARIMA:            func(Options) Method { return newSARIMA(1, 1, 1, 0, 1, 1) },
	FFTDSP:            func(Options) Method { return fftDSP{} },
	HoltWinters:       func(Options) Method { return newHoltWinters("additive", true) },
	DSHW:              func(Options) Method { return newDSHW() },
	MSTL:              func(Options) Method { return mstlMethod{} },
	DHR:               func(Options) Method { return dhrMethod{} },
	Analog:            func(Options) Method { return analogMethod{} },
}

// autoCandidates are the methods auto weighs, most trusted first: with too little history to
// judge them, auto uses the first. seasonal_naive_week is left out: it changes behaviour at
// exactly a week of history (the last value before, last week's after), so the errors auto
// measures on held-out days of a one-week history are those of another forecast than the one
// it would make live. fft_dsp is left out too: dhr fits the same Fourier seasonality by least
// squares, better on every trace measured, and fft_dsp never earned its place in the combination
// while its 100-permutation period test was a fifth of every refit (without it, auto's MASE on
// the public traces was the same or lower at 30 of 32 trace × lead pairs, and at most 0.8% higher
// at the other two: docs/BENCHMARKS.md).
var autoCandidates = []string{RobustLevel, Naive, SeasonalNaive, MSTL, DHR, DSHW, HoltWinters, ARIMA, SARIMA, Analog}

// New returns the named model: one of the methods, each wrapped in an Engine that refits it
// periodically and calibrates its upper quantile, or auto, an Engine over autoCandidates.
//
// The returned Model keeps its fit between calls and is not safe for concurrent use. New
// returns an error for an unknown name (listing the known ones) or a bad option.
func New(name string, opts Options) (Model, error) {
	if err := opts.validate(name); err != nil {
		return nil, err
	}
	if opts.Window == 0 {
		opts.Window = DefaultWindow
	}
	if opts.Season == 0 {
		opts.Season = 24 * time.Hour
	}
	cfg := EngineConfig{RefitEvery: opts.RefitEvery, Calibration: opts.Calibration, Periods: opts.Periods}
	if name == Auto {
		ms := make([]Method, len(autoCandidates))
		for i, n := range autoCandidates {
			ms[i] = methods[n](opts)
		}
		return NewEngine(Auto, cfg, ms...), nil
	}
	newMethod, ok := methods[name]
	if !ok {
		return nil, fmt.Errorf("unknown forecast model %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return NewEngine(name, cfg, newMethod(opts)), nil
}

func (o Options) validate(name string) error {
	var errs []string
	for _, p := range o.Periods {
		if p <= 0 {
			errs = append(errs, fmt.Sprintf("periods must be > 0 (got %v)", p))
		}
	}
	if o.RefitEvery < 0 {
		errs = append(errs, fmt.Sprintf("refit interval must be >= 0 (got %v)", o.RefitEvery))
	}
	if o.Calibration < 0 {
		errs = append(errs, fmt.Sprintf("calibration span must be >= 0 (got %v)", o.Calibration))
	}
	if o.Season < 0 {
		errs = append(errs, fmt.Sprintf("season must be >= 0 (got %v)", o.Season))
	}
	if o.Window < 0 {
		errs = append(errs, fmt.Sprintf("window must be >= 0 (got %d)", o.Window))
	}
	if len(errs) > 0 {
		return fmt.Errorf("forecast model %s: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// Names returns the names New accepts, sorted.
func Names() []string {
	names := append(slices.Collect(maps.Keys(methods)), Auto)
	slices.Sort(names)
	return names
}
