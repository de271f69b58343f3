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
	// SeasonalNaive repeats the value seen one season earlier; see New.
	SeasonalNaive = "seasonal_naive"
	// RobustLevel forecasts the median of the latest samples; see New.
	RobustLevel = "robust_level"

	// DefaultModel is the model to use when none is configured.
	DefaultModel = RobustLevel
)

// Defaults for the zero values of Options.
const (
	DefaultSeason = 24 * time.Hour
	DefaultWindow = 15
)

// Options tunes a model. The zero value selects every default, and a model ignores the fields it
// does not use.
type Options struct {
	// Season is the period the load repeats with. It is converted to a whole number of history
	// steps, rounded to the nearest and at least one, so a step that does not divide it evenly
	// is fine. Default DefaultSeason (one day).
	Season time.Duration
	// Window is the most recent finite samples robust_level takes the median of to estimate
	// the current level. It tries shorter windows too (1, 2, 4, … samples) and uses the one that
	// would have forecast the recent past best, so Window bounds both how steady the level can
	// be and how slowly it can follow a change: at most Window/2+1 samples late. Default
	// DefaultWindow (15).
	Window int
}

// models maps each name to its constructor; opts has its defaults filled in.
var models = map[string]func(opts Options) Model{
	SeasonalNaive: func(o Options) Model { return seasonalNaive{season: o.Season} },
	RobustLevel:   func(o Options) Model { return robustLevel{window: o.Window} },
}

// New returns the model with the given name:
//
//   - seasonal_naive forecasts the value observed one Season earlier (the last season repeated
//     when the horizon is longer than a season), and the last finite value where that is missing
//     or the history is shorter than a season.
//   - robust_level forecasts a flat line at the median of the last k finite samples, with k up
//     to Window chosen at each call by how well each k would have forecast the recent past.
//     Spikes do not move it; a change of level that persists does, within Window/2+1 samples.
//     It ignores seasons, and suits the short horizons of autoscaling.
//
// The returned models hold no mutable state and are safe for concurrent use. New returns an
// error for an unknown name (listing the known ones) or a negative option.
func New(name string, opts Options) (Model, error) {
	newModel, ok := models[name]
	if !ok {
		return nil, fmt.Errorf("unknown forecast model %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	if opts.Season < 0 {
		return nil, fmt.Errorf("forecast model %s: season must be >= 0 (got %v)", name, opts.Season)
	}
	if opts.Window < 0 {
		return nil, fmt.Errorf("forecast model %s: window must be >= 0 (got %d)", name, opts.Window)
	}
	if opts.Season == 0 {
		opts.Season = DefaultSeason
	}
	if opts.Window == 0 {
		opts.Window = DefaultWindow
	}
	return newModel(opts), nil
}

// Names returns the names New accepts, sorted.
func Names() []string {
	return slices.Sorted(maps.Keys(models))
}
