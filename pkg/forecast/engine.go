package forecast

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// Engine defaults.
const (
	// DefaultRefitEvery is how much newer data makes the Engine refit. Parameters and seasonal
	// profiles change over days; the level, which changes by the minute, is set from the newest
	// data at every Predict, so refitting more often buys little.
	DefaultRefitEvery = 6 * time.Hour
	// DefaultCalibration is the span of history held out at each refit to measure the model's
	// errors, for the upper quantile and for auto's choice: two days sample every hour of the
	// day twice, quiet and busy.
	DefaultCalibration = 48 * time.Hour
)

const (
	// calibrationOrigins bounds the rolling origins in the held-out span. Each costs one
	// Predict per candidate method.
	calibrationOrigins = 96
	// minCalibrationErrors is the fewest errors at a step for which the empirical quantile is
	// used; below it the cold-start width is used instead. With n errors the conformal
	// q-quantile is the ceil((n+1)q)-th smallest: for q = 0.9 that is the largest error up to
	// n = 9, and a quantile read off the largest of a handful of errors is luck.
	minCalibrationErrors = 10
)

// EngineConfig tunes an Engine; the zero value selects every default.
type EngineConfig struct {
	// RefitEvery: refit once the history's end has moved this far past the last fit's (data
	// time, not wall time, so that a backtest refits exactly as the live agent does).
	RefitEvery time.Duration
	// Calibration is the span held out at a refit to measure errors (at most a third of the
	// history).
	Calibration time.Duration
	// Periods pins the seasonal periods instead of detecting them from the data at each refit.
	Periods []time.Duration
}

// Engine turns Methods into a Model. At the first Forecast, and whenever RefitEvery of newer
// data has arrived, it refits:
//
//  1. Detect the seasonal periods (quarter and half hour, hour, day, week) in the data, unless pinned.
//  2. Hold out the last Calibration span; fit every candidate method on the history before it.
//  3. From rolling origins in the held-out span, forecast with each candidate from only the data
//     before the origin and record its errors at every step of the horizon. Once enough of
//     the candidates' live forecasts have met their outcome, judge those instead: every
//     liveStride of data, Forecast keeps what every candidate forecast from the history it was
//     given, and a refit scores the last four days of them, or the last cycle of the longest
//     period when that is longer (a week: so that the weekend, and the Monday after it, are
//     among the days judged). A held-out split judges a fit on a shorter history than the live
//     one: a method that needs a week of it (seasonal_naive_week, dshw) would be judged, and
//     its band sized, on another forecast than the one it makes.
//  4. With one candidate, use it. With several (auto), weight them per horizon step by their
//     errors: the best one to four, inversely to their squared or absolute error, or the
//     median of the best three (each error capped, so that one level shift does not decide
//     the weights for days: lossCaps); how many, which error, and whether the median, is what
//     would have given the lowest absolute error on origins the weights were not chosen on
//     (chooseScheme).
//  5. Record the combination's one-sided errors (actual − forecast) per step, on live forecasts
//     those of the newest two days only, so that the band follows the current noise: the upper
//     quantile at step h is the forecast plus their conformal q-quantile (split conformal
//     prediction), each error measured relative to a scale that grows with the level forecast
//     and with how restless the load was in the hour before its origin, by exponents chosen
//     for the lowest pinball loss (normalized conformal prediction: chooseBandScale).
//  6. Refit every candidate on the whole history.
//
// Between refits a Forecast is one Predict per weighted candidate on the newest data; with
// several candidates, plus one from a quarter of an hour earlier, to correct the forecast after
// a level shift the candidates have not followed yet (correctShift); and every liveStride one
// Predict per candidate, kept to judge it by. Errors are measured with
// parameters fitted without the data they are measured on, just as live forecasts are made with
// parameters up to RefitEvery old.
//
// An Engine is not safe for concurrent use.
type Engine struct {
	name       string
	candidates []Method
	cfg        EngineConfig

	// The fit, valid for histories on step with horizon <= len(weights).
	step    time.Duration
	fitEnd  time.Time
	fitLen  int // points in the history last fitted
	periods []int
	fitted  []Predictor // per candidate; nil when its weight is 0 everywhere
	weights [][]float64 // [h][candidate]
	scheme  scheme      // how the weights were chosen
	errs    [][]float64 // [h] sorted one-sided errors of the combination, each ÷ bandScale
	changes []float64   // sorted absolute step-to-step changes, for the cold-start width
	// The band's errors are measured relative to scale(f) = max(f, scaleFloor)^scaleExp of the
	// forecast f they belong to (normalized conformal prediction): with scaleExp 0 the band is
	// as wide at night as at the peak, with 1 it is proportional to the level, with ½ in between
	// (as the noise of counts is). Each refit picks the exponent with the lowest pinball loss
	// on the calibration errors (chooseBandScale).
	scaleExp, scaleFloor float64
	// And relative to vol^volExp, where vol is how much the load moved in the hour before the
	// forecast, relative to volMean, how much it moves on average (volatility): bursts come in
	// clusters, so the band widens while the load is restless and narrows while it is calm.
	// volExp is chosen with scaleExp; 0 leaves the band deaf to it.
	volExp, volMean float64
	info            FitInfo

	// With several candidates: every candidate fitted on the whole history at the last refit,
	// and the forecasts they have made since from origins whose outcome is now known.
	all         []Predictor
	live        []liveOrigin
	liveHorizon int
	nextLive    time.Time // the earliest end of history the next live origin is recorded at
	knownLive   int       // how many of live have their whole horizon in the history last fitted
	// recent are the combination's latest forecasts, by origin, since the last refit: the
	// level-shift check compares the newest samples with the forecast made shiftSpan before
	// them, and a cycle that finds it here need not make it again.
	recent []recentForecast
}

// recentForecast is the combination's forecast (before any level-shift correction) from the
// history ending at end.
type recentForecast struct {
	end time.Time
	fc  []float64
}

// liveOrigin is what every candidate forecast from one origin, with the parameters of the fit
// before it and from the history the Engine was given then: errors measured on these are out of
// sample and are those of the forecasts each candidate would have made live. (Re-forecasting
// from the history at the next refit would not do: its window starts later, and methods that
// re-initialise from the start of the history they are given, as Holt-Winters does, or that
// need two weekly cycles of it, as double seasonal Holt-Winters does, would be judged on another
// forecast than the one they make.)
type liveOrigin struct {
	at   time.Time
	pred [][]float64 // [candidate][h]; nil for a candidate that had no fit
}

const (
	// liveStride is the spacing of the origins recorded between refits.
	liveStride = 15 * time.Minute
	// maxLiveOrigins keeps four days of them whose outcome is known, or the last cycle of the
	// longest seasonal period when that is longer. On the public traces four days gave lower
	// median errors than two at every lead (by 0.2–1.1%), and seven no lower than four
	// (docs/BENCHMARKS.md).
	maxLiveOrigins = 384
	// bandLiveOrigins is how many of the newest live origins the band is calibrated on: two
	// days, fewer than the weights are chosen on, so that the band follows the current noise.
	bandLiveOrigins = 192
	// minLiveOrigins is the fewest with which the Engine trusts them over a held-out split.
	minLiveOrigins = 48
)

// FitInfo describes the Engine's latest fit, for logs and backtest reports.
type FitInfo struct {
	FittedAt time.Time // the end of the history fitted on
	Periods  []int     // seasonal periods used, in steps
	// Weights are each candidate's weight at the first and the last step of the horizon.
	Weights map[string][2]float64
	// Warnings name problems found in the data, such as a counter queried without rate().
	Warnings []string
	// Cold is true when the history was too short to measure errors: the upper quantile is
	// then a deliberately wide guess.
	Cold bool
	// Live is true when the weights and the band come from the forecasts the candidates made
	// since earlier refits (after about half a day of them), false when from a held-out split.
	Live bool
	// WeighedBy says how auto weighed its candidates, e.g. "best 3 by squared error".
	WeighedBy string
	// BandScaledBy says what the band's errors are measured relative to, e.g.
	// "level^0.5 × volatility^1", or "nothing" for a band as wide at every level and in every
	// hour.
	BandScaledBy string
}

// NewEngine returns an Engine over the candidates, named name.
func NewEngine(name string, cfg EngineConfig, candidates ...Method) *Engine {
	if cfg.RefitEvery <= 0 {
		cfg.RefitEvery = DefaultRefitEvery
	}
	if cfg.Calibration <= 0 {
		cfg.Calibration = DefaultCalibration
	}
	return &Engine{name: name, candidates: candidates, cfg: cfg}
}

func (e *Engine) Name() string { return e.name }

// Info returns a description of the latest fit (the zero value before the first).
func (e *Engine) Info() FitInfo { return e.info }

// Forecast implements Model.
func (e *Engine) Forecast(history series.Series, horizon int, quantile float64) (Forecast, error) {
	fc, _, err := e.forecast(history, horizon, quantile)
	return fc, err
}

// forecast is Forecast, and the volatility at the end of history the band was scaled by, so
// that ForecastQuantiles scales its other bands alike without measuring it again.
func (e *Engine) forecast(history series.Series, horizon int, quantile float64) (Forecast, float64, error) {
	if err := checkArgs(history, horizon, quantile); err != nil {
		return Forecast{}, 0, fmt.Errorf("forecast %s: %w", e.name, err)
	}
	if e.needsRefit(history, horizon) {
		if err := e.refit(history, horizon); err != nil {
			return Forecast{}, 0, fmt.Errorf("forecast %s: %w", e.name, err)
		}
	}
	pt := make([]float64, horizon)
	if len(e.candidates) > 1 {
		// Forecast shiftSteps further than asked, and keep it: a later cycle's level-shift
		// check needs this origin's forecast of its next shiftSteps samples and the horizon
		// after them. It runs only on a history more than twice that long, so no check will
		// ever look further ahead from here than this history is long (which also bounds the
		// extension when the step is tiny and shiftSteps huge).
		ext := make([]float64, horizon+min(e.shiftSteps(history.Step), history.Len()))
		e.combine(history, ext, make([]float64, len(ext)))
		e.recordLive(history, horizon)
		copy(pt, ext)
		e.remember(history.End(), ext)
		e.correctShift(history, pt)
	} else {
		e.combine(history, pt, make([]float64, horizon))
		e.recordLive(history, horizon)
	}
	up := make([]float64, horizon)
	vol := e.volatility(history.Values, history.Len(), history.Step)
	for h := range up {
		up[h] = clamp(pt[h] + e.width(h, quantile, pt[h], vol))
	}
	return Forecast{Point: pt, Upper: up}, vol, nil
}

func (e *Engine) needsRefit(history series.Series, horizon int) bool {
	end := history.End()
	if e.fitted == nil || history.Step != e.step || horizon > len(e.weights) ||
		end.Before(e.fitEnd) || end.Sub(e.fitEnd) >= e.cfg.RefitEvery {
		return true
	}
	// A fit on a young history (a new workload, a cold start) is provisional: refit each time
	// the history has grown by a quarter, until it is long enough to hold out the calibration
	// span comfortably, rather than living with a ten-minute fit for RefitEvery.
	young := 3 * durationSteps(e.cfg.Calibration, e.step) / 2
	return e.fitLen < young && history.Len() >= e.fitLen+max(1, e.fitLen/4)
}

// combine writes the combination of the fitted candidates' forecasts into dst (clamped): their
// weighted sum, or with a median scheme the median of the weighted ones; buf is scratch of the
// same length. Steps beyond the fitted horizon take the weights of its last.
// A candidate's NaN or ±Inf counts as the last observed value: no method is meant to give one,
// but if one did, clamping it would forecast 0 (or the largest float) and size capacity for it.
func (e *Engine) combine(history series.Series, dst, buf []float64) {
	clear(dst)
	last := len(e.weights) - 1
	lastSeen, _, _ := history.Last() // 0 when there is none
	var vals [][]float64             // with a median scheme: vals[h] are the weighted candidates' forecasts
	if e.scheme.median {
		vals = make([][]float64, len(dst))
	}
	for c, p := range e.fitted {
		if p == nil {
			continue
		}
		p.Predict(history, buf)
		for h := range dst {
			if w := e.weights[min(h, last)][c]; w > 0 {
				v := buf[h]
				if !finite(v) {
					v = lastSeen
				}
				dst[h] += w * clamp(v)
				if vals != nil {
					vals[h] = append(vals[h], clamp(v))
				}
			}
		}
	}
	for h := range dst {
		if vals != nil && len(vals[h]) > 0 {
			dst[h] = medianOf(vals[h])
		}
		dst[h] = clamp(dst[h])
	}
}

// Level shift correction.
const (
	// shiftSpan is how far back correctShift looks for a shift: the newest samples it compares
	// with the forecast made just before them. Short, so that the correction starts soon after
	// a shift; long enough that a single spike does not start it.
	shiftSpan = 15 * time.Minute
	// minShiftSteps is the fewest samples the test runs on, for steps longer than a third of
	// shiftSpan.
	minShiftSteps = 3
	// maxShiftAge bounds how far back correctShift looks for the start of a shift.
	maxShiftAge = 6 * time.Hour
	// shiftQuantile is how extreme, among the errors measured at the last refit, each of the
	// newest samples' errors must be for a shift to be declared: below the lower or above the
	// upper shiftQuantile quantile.
	shiftQuantile = 0.99
)

// correctShift corrects pt, the combination's forecast from history, after a level shift: when
// every one of the newest samples (shiftSpan of them) lies beyond what the combination missed
// by at their lead time in calibration, all in the same direction, the forecast becomes the one
// made just before them plus their median error (an intercept correction, Clements & Hendry
// 1996). Methods that resist outliers — robust decompositions, heavily smoothed levels — would
// otherwise take hours to believe a shift, and the last value alone, which believes it at once,
// loses the seasonal shape.
//
// Not every run of extreme samples is a shift: a burst (a batch job, a flash crowd) ends. When
// the workload has been at the new level before (novelLevel), the correction at lead h is
// weighted by L/(L+h), where L is how long the run has lasted so far: the chance that something
// that has lasted L lasts h longer when nothing else is known of its length (Gott 1993). A
// ten-minute burst moves the next few minutes' forecast, an hour-old one the next hour's. A
// rise to a level never seen before is taken to stay. The correction only ever moves the forecast towards
// the newest samples, never back from a candidate that has already followed them further.
//
// The test runs every cycle against the forecast made shiftSpan earlier, so the correction stops
// by itself once the candidates have absorbed the shift and their forecasts fall back within the
// band. The band is not widened: its errors were measured without a shift to correct.
func (e *Engine) correctShift(history series.Series, pt []float64) {
	k := e.shiftSteps(history.Step)
	ref, res, run, dir := e.shiftRun(history, k, len(pt))
	if run < k || len(res) <= k/2 { // no shift, or mostly gaps: too little to go by
		return
	}
	// The newest few errors set the offset: a ramp (a flash crowd building up) is still moving.
	off := loessMedian(res[:min(len(res), minShiftSteps)])
	// How long the run has lasted: look further back while the whole span is part of it.
	oldest := durationSteps(maxShiftAge, history.Step)
	for span := 2 * k; run == span/2 && span <= oldest; span *= 2 {
		_, _, r, d := e.shiftRun(history, span, 0)
		if d != dir {
			break
		}
		run = max(run, r)
	}
	// A drop is never taken to stay for good: a forecast that follows an outage down too
	// readily scales the workload in just before its traffic comes back.
	novel := dir > 0 && novelLevel(history, run, dir)
	for h := range pt {
		persist := float64(run) / float64(run+h+1)
		if novel {
			persist = 1
		}
		if c := ref[k+h] + persist*off; (dir > 0 && c > pt[h]) || (dir < 0 && c < pt[h]) {
			pt[h] = clamp(c)
		}
	}
}

// shiftSteps is the number of newest samples the level-shift check looks at.
func (e *Engine) shiftSteps(step time.Duration) int {
	return max(minShiftSteps, durationSteps(shiftSpan, step))
}

// maxRecent bounds the forecasts kept for the level-shift check: the agent forecasts more than
// once per step (every KEDASTRAL_INTERVAL), and only the last shiftSteps origins are looked up.
const maxRecent = 256

// remember keeps fc, the combination's forecast from the history ending at end, replacing an
// older forecast from the same origin (the newest sample may have been re-read since).
func (e *Engine) remember(end time.Time, fc []float64) {
	if n := len(e.recent); n > 0 && e.recent[n-1].end.Equal(end) {
		e.recent[n-1].fc = fc
		return
	}
	if len(e.recent) == maxRecent {
		e.recent = append(e.recent[:0], e.recent[maxRecent/2:]...)
	}
	e.recent = append(e.recent, recentForecast{end: end, fc: fc})
}

// recalled is the kept forecast from the history ending at end, when it reaches n steps.
func (e *Engine) recalled(end time.Time, n int) []float64 {
	for i := len(e.recent) - 1; i >= 0; i-- {
		r := e.recent[i]
		if r.end.Equal(end) {
			if len(r.fc) >= n {
				return r.fc[:n]
			}
			return nil
		}
		if r.end.Before(end) {
			return nil
		}
	}
	return nil
}

// novelLevel reports whether the newest samples (the median of the last minShiftSteps finite
// ones in the run of the last run steps) lie beyond every earlier sample of history, above it
// for dir > 0, below for dir < 0: a level the workload has never been at before, rather than
// one of the bursts it has had and left again.
func novelLevel(history series.Series, run, dir int) bool {
	n := history.Len()
	var last []float64
	for i := n - 1; i >= n-run && len(last) < minShiftSteps; i-- {
		if v := history.Values[i]; finite(v) {
			last = append(last, v)
		}
	}
	if len(last) == 0 {
		return false
	}
	level := loessMedian(last)
	for _, v := range history.Values[:n-run] {
		if (dir > 0 && v >= level) || (dir < 0 && v <= level) {
			return false
		}
	}
	return true
}

// shiftRun compares the newest span samples of history with the combination's forecast of them
// from the history before them. It returns that forecast (extended by horizon steps), the
// errors of the samples in the trailing run of extreme errors (beyond the shiftQuantile band,
// all in direction dir, ±1), and the length of that run in steps (gaps included); run is 0 when
// the newest sample is not extreme.
func (e *Engine) shiftRun(history series.Series, span, horizon int) (ref, res []float64, run, dir int) {
	n := history.Len()
	if n <= 2*span || len(e.errs) == 0 {
		return nil, nil, 0, 0
	}
	b := n - span
	past := history.Before(history.Time(b))
	if _, _, ok := past.Last(); !ok {
		return nil, nil, 0, 0
	}
	vol := e.volatility(history.Values, b, history.Step)
	ref = e.recalled(past.End(), span+horizon)
	if ref == nil {
		ref = make([]float64, span+horizon)
		e.combine(past, ref, make([]float64, len(ref)))
	}
	for j := span - 1; j >= 0; j-- {
		a := history.Values[b+j]
		if !finite(a) {
			run++
			continue
		}
		errs := e.errs[min(j, len(e.errs)-1)]
		if len(errs) < minCalibrationErrors {
			break
		}
		r := a - ref[j]
		z := r / e.scale(ref[j], vol) // the errors are measured relative to the forecast's scale
		lo := errs[int((1-shiftQuantile)*float64(len(errs)-1))]
		hi := errs[int(math.Ceil(shiftQuantile*float64(len(errs)-1)))]
		d := 0
		switch {
		case z > hi && r > 0:
			d = 1
		case z < lo && r < 0:
			d = -1
		}
		if d == 0 || (dir != 0 && d != dir) {
			break
		}
		dir = d
		res = append(res, r)
		run = span - j
	}
	return ref, res, run, dir
}

// width is how far above the point forecast f the q-quantile lies at step h, from an origin
// where the volatility was vol.
func (e *Engine) width(h int, q, f, vol float64) float64 {
	if len(e.errs[h]) < minCalibrationErrors {
		if len(e.changes) == 0 {
			return 0
		}
		// A random walk's spread grows with the square root of the steps taken.
		return conformalQuantile(e.changes, q) * math.Sqrt(float64(h+1))
	}
	return max(0, conformalQuantile(e.errs[h], q)) * e.scale(f, vol)
}

// scale is the scale the band's errors are measured relative to, for a forecast f from an
// origin where the volatility was vol.
func (e *Engine) scale(f, vol float64) float64 {
	s := e.bandScale(f)
	switch e.volExp {
	case 0:
		return s
	case 1:
		return s * vol
	}
	return s * math.Pow(vol, e.volExp)
}

// volatility is how much the load moved in the hour (at least minShiftSteps steps) before
// index o of v, relative to how much it moves on average: the mean absolute change between
// adjacent finite samples there, ÷ volMean. It is 1 when either is unknown, and kept within
// [¼, 4], so that one flash crowd or a flat hour does not make the band absurd.
func (e *Engine) volatility(v []float64, o int, step time.Duration) float64 {
	if !(e.volMean > 0) {
		return 1
	}
	n := max(minShiftSteps, durationSteps(time.Hour, step))
	sum, count := 0.0, 0
	for j := o - 1; j > 0 && j >= o-n; j-- {
		if finite(v[j]) && finite(v[j-1]) {
			sum += math.Abs(v[j] - v[j-1])
			count++
		}
	}
	if count == 0 {
		return 1
	}
	return min(4, max(0.25, sum/float64(count)/e.volMean))
}

// describeBandScale names the band's scale for FitInfo.
func describeBandScale(levelExp, volExp float64) string {
	var parts []string
	if levelExp != 0 {
		parts = append(parts, fmt.Sprintf("level^%g", levelExp))
	}
	if volExp != 0 {
		parts = append(parts, fmt.Sprintf("volatility^%g", volExp))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " × ")
}

// bandScale is the scale the band's errors are measured relative to, for a forecast f.
func (e *Engine) bandScale(f float64) float64 {
	switch e.scaleExp {
	case 0:
		return 1
	case 1:
		return max(f, e.scaleFloor)
	}
	return math.Pow(max(f, e.scaleFloor), e.scaleExp)
}

// bandExponents and volExponents are the exponents of the forecast's scale and of the
// volatility a refit chooses among, and bandChoiceQuantile the quantile whose band it compares
// them by (the agent's default).
var (
	bandExponents = []float64{0, 0.5, 1}
	volExponents  = []float64{0, 0.5, 1}
)

const bandChoiceQuantile = 0.9

// chooseBandScale sets scaleExp, scaleFloor and volExp from the calibration errors errs[h], the
// forecasts fs[h] they belong to and the volatility vs[h] at their origins, and leaves errs[h]
// divided by the chosen scale. Every choice covers the calibrated share on average (the errors
// are exchangeable whatever fixed scale divides them); the choice is the one with the lowest
// pinball loss at the default quantile, a proper score, which rewards a band that is wide where
// the errors are large and narrow where they are small over one that is right only on average
// — the peak, where a miss costs most, is where a constant band is too narrow, and a burst
// is likelier in a restless hour than in a calm one.
func (e *Engine) chooseBandScale(history series.Series, errs, fs, vs [][]float64) {
	e.scaleExp, e.scaleFloor, e.volExp = 0, 0, 0
	// The floor keeps an idle workload's band from shrinking to nothing: a tenth of the typical
	// level of the calibration span.
	var level []float64
	for _, v := range history.Tail(durationSteps(e.cfg.Calibration, history.Step)).Values {
		if finite(v) {
			level = append(level, math.Abs(v))
		}
	}
	if len(level) == 0 {
		return
	}
	floor := loessMedian(level) / 10
	if !(floor > 0) {
		return
	}
	const q = bandChoiceQuantile
	best, bestVol, bestLoss := 0.0, 0.0, math.Inf(1)
	z := []float64{}
	for _, g := range bandExponents {
		for _, gv := range volExponents {
			e.scaleExp, e.scaleFloor, e.volExp = g, floor, gv
			loss := 0.0
			for h := range errs {
				if len(errs[h]) < minCalibrationErrors {
					continue
				}
				z = z[:0]
				for i, r := range errs[h] {
					z = append(z, r/e.scale(fs[h][i], vs[h][i]))
				}
				qz := max(0, conformalQuantile(z, q))
				for i, r := range errs[h] {
					if d := r - qz*e.scale(fs[h][i], vs[h][i]); d > 0 {
						loss += q * d
					} else {
						loss -= (1 - q) * d
					}
				}
			}
			if loss < bestLoss {
				best, bestVol, bestLoss = g, gv, loss
			}
		}
	}
	e.scaleExp, e.volExp = best, bestVol
	for h := range errs {
		for i := range errs[h] {
			errs[h][i] /= e.scale(fs[h][i], vs[h][i])
		}
	}
}

func (e *Engine) refit(history series.Series, horizon int) error {
	e.recent = e.recent[:0] // made with the old weights
	k := len(e.candidates)
	if e.all == nil || history.Step != e.step || history.End().Before(e.fitEnd) || horizon != e.liveHorizon {
		e.live, e.nextLive = nil, time.Time{}
	}
	e.step, e.fitEnd, e.fitLen = history.Step, history.End(), history.Len()
	e.periods = e.seasonalPeriods(history)
	e.info = FitInfo{FittedAt: e.fitEnd, Periods: e.periods, Warnings: dataWarnings(history)}
	e.changes = absChanges(history)
	e.volMean = 0
	for _, c := range e.changes {
		e.volMean += c / float64(len(e.changes))
	}

	n := history.Len()
	hold := min(durationSteps(e.cfg.Calibration, history.Step), n/3)
	// Origins o (forecasts of v[o:o+horizon] from v[:o]) spread over the held-out span.
	var origins []int
	// pred[c][i][h]: candidate c's forecast from origin i.
	pred := make([][][]float64, k)
	e.pruneLive(history, horizon)
	if e.info.Live = e.knownLive >= minLiveOrigins; e.info.Live {
		// Judge the candidates by the forecasts their full-history fits made since: a held-out
		// split would judge fits on a shorter history, which undervalues the methods that gain
		// most from a long one.
		for c := range k {
			pred[c] = [][]float64{}
		}
		for _, lo := range e.live {
			o := int(lo.at.Sub(history.Start) / history.Step)
			if o < 1 || o+horizon > n {
				continue
			}
			origins = append(origins, o)
			for c := range k {
				if pred[c] != nil && lo.pred[c] == nil {
					pred[c] = nil // a candidate that could not always fit is not trusted
				}
				if pred[c] != nil {
					pred[c] = append(pred[c], lo.pred[c])
				}
			}
		}
	} else if span := hold - horizon; span > 0 {
		stride := max(1, span/calibrationOrigins)
		first := slices.IndexFunc(history.Values, finite)
		for o := n - horizon; o >= n-hold && o > first; o -= stride {
			origins = append(origins, o)
		}
	}
	if len(origins) > 0 && !e.info.Live {
		train := history.Before(history.Time(n - hold))
		for c, m := range e.candidates {
			p, err := m.Fit(train, e.periods)
			if err != nil {
				pred[c] = nil // this candidate cannot fit; it gets no weight
				continue
			}
			pred[c] = make([][]float64, len(origins))
			for i, o := range origins {
				pred[c][i] = make([]float64, horizon)
				p.Predict(history.Before(history.Time(o)), pred[c][i])
				for h, v := range pred[c][i] {
					pred[c][i][h] = clamp(v)
				}
			}
		}
	}
	e.scheme = defaultScheme
	if k > 1 {
		e.scheme = chooseScheme(pred, origins, history.Values, horizon, k)
	}
	e.weights = weigh(pred, origins, history.Values, horizon, k, e.scheme)

	// The combination's errors, for the band. Choosing the weights on the same origins would make
	// those errors look smaller than live ones (the choice has seen them), so with several
	// candidates the origins are split in two interleaved halves and each half's errors are
	// measured with the weights chosen on the other half (cross-fitting).
	e.errs = make([][]float64, horizon)
	fs := make([][]float64, horizon) // the forecast each error belongs to
	vs := make([][]float64, horizon) // the volatility at its origin
	halves := [2][]int{}
	for i := range origins {
		halves[i%2] = append(halves[i%2], i)
	}
	crossFit := k > 1 && len(halves[1]) >= minCalibrationErrors
	for half, idx := range halves {
		w := e.weights
		if crossFit {
			other := halves[1-half]
			w = weigh(pickOrigins(pred, other), pickInts(origins, other), history.Values, horizon, k, e.scheme)
		}
		for _, i := range idx {
			if e.info.Live && i < len(origins)-bandLiveOrigins {
				continue
			}
			o := origins[i]
			vol := e.volatility(history.Values, o, history.Step)
			for h := range horizon {
				a := history.Values[o+h]
				if !finite(a) {
					continue
				}
				if f, ok := combined(w, pred, i, h, e.scheme.median); ok {
					e.errs[h] = append(e.errs[h], a-f)
					fs[h] = append(fs[h], f)
					vs[h] = append(vs[h], vol)
				}
			}
		}
	}
	e.chooseBandScale(history, e.errs, fs, vs)
	e.info.BandScaledBy = describeBandScale(e.scaleExp, e.volExp)
	for _, es := range e.errs {
		slices.Sort(es)
	}
	e.info.Cold = len(origins) < minCalibrationErrors

	// Refit every candidate on the whole history, those without weight too, so that the
	// forecasts they make until the next refit can be judged by it (recordLive).
	e.fitted = make([]Predictor, k)
	e.all, e.liveHorizon = make([]Predictor, k), horizon
	var errs []error
	fittedAny := false
	for c, m := range e.candidates {
		if !usesCandidate(e.weights, c) {
			p, err := m.Fit(history, e.periods)
			if err != nil {
				// It will not be judged; the error matters only if no candidate fits.
				errs = append(errs, fmt.Errorf("fit %s: %w", m.Name(), err))
			}
			e.all[c] = p
			continue
		}
		p, err := m.Fit(history, e.periods)
		if err != nil {
			errs = append(errs, fmt.Errorf("fit %s: %w", m.Name(), err))
			continue
		}
		e.fitted[c], fittedAny = p, true
		e.all[c] = p
	}
	// None of the chosen ones fits the whole history: take the first that does, alone.
	for c := range e.candidates {
		if fittedAny {
			break
		}
		p := e.all[c]
		if usesCandidate(e.weights, c) || p == nil {
			continue // failed above
		}
		e.fitted[c], fittedAny = p, true
		for h := range e.weights {
			clear(e.weights[h])
			e.weights[h][c] = 1
		}
		e.errs = make([][]float64, horizon) // the errors measured were another method's
	}
	if !fittedAny {
		e.fitted = nil
		return errors.Join(append(errs, errors.New("no method could be fitted"))...)
	}
	e.info.WeighedBy = e.scheme.String()
	e.info.Weights = map[string][2]float64{}
	for c, m := range e.candidates {
		if e.fitted[c] != nil {
			e.info.Weights[m.Name()] = [2]float64{e.weights[0][c], e.weights[horizon-1][c]}
		}
	}
	return nil
}

// recordLive keeps what every candidate forecasts from history, when its end is at least
// liveStride after the last origin kept: the next refit judges the candidates by these.
func (e *Engine) recordLive(history series.Series, horizon int) {
	end := history.End()
	if e.all == nil || horizon != e.liveHorizon || end.Before(e.nextLive) {
		return
	}
	lo := liveOrigin{at: end, pred: make([][]float64, len(e.all))}
	for c, p := range e.all {
		if p == nil {
			continue
		}
		lo.pred[c] = make([]float64, horizon)
		p.Predict(history, lo.pred[c])
		for h, v := range lo.pred[c] {
			lo.pred[c][h] = clamp(v)
		}
	}
	e.live = append(e.live, lo)
	e.nextLive = end.Add(liveStride)
}

// pruneLive drops the live origins history no longer holds, and the oldest of those whose
// whole horizon it holds beyond maxLiveOrigins; it counts those in knownLive. Origins whose
// outcome is not yet known are kept for a later refit.
func (e *Engine) pruneLive(history series.Series, horizon int) {
	known, kept := 0, e.live[:0]
	for _, lo := range e.live {
		o := int(lo.at.Sub(history.Start) / history.Step)
		if o < 1 {
			continue
		}
		if o+horizon <= history.Len() {
			known++
		}
		kept = append(kept, lo)
	}
	clear(e.live[len(kept):])
	e.live = kept
	limit := maxLiveOrigins
	for _, p := range e.periods {
		limit = max(limit, int(time.Duration(p)*history.Step/liveStride))
	}
	if over := known - limit; over > 0 {
		e.live = append(e.live[:0], e.live[over:]...)
		known = limit
	}
	e.knownLive = known
}

// combined is the weights' combination (clamped) of the candidates' forecasts from origin i at
// step h, or with median the median of the weighted ones, or false when a weighted candidate
// has none (the fallback candidate, which could not fit the training part).
func combined(w [][]float64, pred [][][]float64, i, h int, median bool) (float64, bool) {
	f := 0.0
	var stack [8]float64 // room for what any scheme weighs (at most 4) without an allocation per origin and step
	vs := stack[:0]
	for c, wc := range w[h] {
		if wc > 0 {
			if pred[c] == nil {
				return 0, false
			}
			f += wc * pred[c][i][h]
			if median {
				vs = append(vs, pred[c][i][h])
			}
		}
	}
	if len(vs) > 0 {
		return clamp(medianOf(vs)), true
	}
	return clamp(f), true
}

// medianOf returns the median of v (reordering it).
func medianOf(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// pickOrigins returns the forecasts of the origins at indices idx, per candidate.
func pickOrigins(pred [][][]float64, idx []int) [][][]float64 {
	out := make([][][]float64, len(pred))
	for c, p := range pred {
		if p == nil {
			continue
		}
		out[c] = make([][]float64, len(idx))
		for j, i := range idx {
			out[c][j] = p[i]
		}
	}
	return out
}

func pickInts(v, idx []int) []int {
	out := make([]int, len(idx))
	for j, i := range idx {
		out[j] = v[i]
	}
	return out
}

func usesCandidate(weights [][]float64, c int) bool {
	for _, w := range weights {
		if w[c] > 0 {
			return true
		}
	}
	return false
}

// loss is the error weigh judges the candidates by.
type loss int

const (
	// squaredLoss: a method that is usually close but sometimes far off (a seasonal copy of
	// yesterday's burst) is the one to avoid when the cost of a miss is an outage.
	squaredLoss loss = iota
	// absoluteLoss judges by the typical miss, which the point forecast's accuracy (MAE, MASE)
	// is measured by: where rare large misses are everybody's (bursts no method foresees),
	// squared error weighs methods by those few origins rather than by the rest.
	absoluteLoss
)

// scheme is how weigh combines the candidates: the top best by the loss, each weighted
// inversely to it.
type scheme struct {
	top  int
	loss loss
	// median combines the best top by their median at each step rather than by weights.
	median bool
}

// defaultScheme is used until there are origins enough to choose: averaging a few good
// forecasts is more robust than betting on the single best one, and squared error the safer
// judge.
var defaultScheme = scheme{top: 3, loss: squaredLoss}

// schemes are those chooseScheme tries, in order: the default first, so that it keeps ties.
// The last two take the median of the best three at each step rather than a weighted mean:
// when each candidate now and then misses by far, at different times (one is thrown by a flash
// crowd, another by a level shift), any mean carries every miss and the median none (the
// robustness of median and trimmed-mean combinations: Jose & Winkler 2008).
var schemes = []scheme{
	defaultScheme, {3, absoluteLoss, false},
	{2, squaredLoss, false}, {2, absoluteLoss, false},
	{1, squaredLoss, false}, {1, absoluteLoss, false},
	{4, squaredLoss, false}, {4, absoluteLoss, false},
	{3, squaredLoss, true}, {3, absoluteLoss, true},
}

func (s scheme) String() string {
	by := "squared"
	if s.loss == absoluteLoss {
		by = "absolute"
	}
	if s.median {
		return fmt.Sprintf("median of the best %d by %s error", s.top, by)
	}
	return fmt.Sprintf("best %d by %s error", s.top, by)
}

// chooseScheme returns the scheme whose weights would have given the lowest absolute error on
// origins they were not chosen on: the origins are split in two interleaved halves, and each
// half is forecast with the weights chosen on the other (cross-fitting), once per scheme. A
// scheme must beat the best before it (the default first) by more than 0.1% to be chosen, so
// that a tie keeps the default. With too few origins to split, the default.
//
// No single scheme is right on every workload: on the public traces weighing by absolute
// error cut auto's error on nab_elb by 3%, while squared error was better on nab_asg, and
// fewer candidates suit a workload where one method is clearly best (docs/BENCHMARKS.md).
// The upper quantile does not depend on the choice: it is calibrated on the combination's
// own errors.
func chooseScheme(pred [][][]float64, origins []int, v []float64, horizon, k int) scheme {
	halves := [2][]int{}
	for i := range origins {
		halves[i%2] = append(halves[i%2], i)
	}
	if len(halves[1]) < minCalibrationErrors {
		return defaultScheme
	}
	best, bestMAE := defaultScheme, math.Inf(1)
	for _, sc := range schemes {
		mae := 0.0
		for half, idx := range halves {
			other := halves[1-half]
			w := weigh(pickOrigins(pred, other), pickInts(origins, other), v, horizon, k, sc)
			for _, i := range idx {
				o := origins[i]
				for h := range horizon {
					a := v[o+h]
					if !finite(a) {
						continue
					}
					if f, ok := combined(w, pred, i, h, sc.median); ok {
						mae += math.Abs(a - f)
					}
				}
			}
		}
		if mae < bestMAE*(1-0.001) {
			best, bestMAE = sc, mae
		}
	}
	return best
}

// weigh returns per-step weights over the candidates that sum to 1. With one candidate, or no
// errors to judge by, it is the first candidate that could fit (candidates are listed most
// trusted first). Otherwise the scheme's top candidates with the lowest mean loss (squared or
// absolute error) at a step, each error capped by lossCaps (smoothed over neighbouring steps,
// so the choice does not flicker from step to step) share it in proportion to the inverse of
// that loss.
func weigh(pred [][][]float64, origins []int, v []float64, horizon, k int, sc scheme) [][]float64 {
	weights := make([][]float64, horizon)
	for h := range weights {
		weights[h] = make([]float64, k)
	}
	fallback := 0
	for c := range k {
		if len(origins) == 0 || pred[c] != nil {
			fallback = c
			break
		}
	}
	if k == 1 || len(origins) < minCalibrationErrors {
		for h := range weights {
			weights[h][fallback] = 1
		}
		return weights
	}
	caps := lossCaps(pred, origins, v, horizon)
	// loss[c][h]: the mean loss of candidate c at step h, each error capped.
	loss := make([][]float64, k)
	for c := range k {
		if pred[c] == nil {
			continue
		}
		loss[c] = make([]float64, horizon)
		count := make([]int, horizon)
		for i, o := range origins {
			for h := range horizon {
				if a := v[o+h]; finite(a) {
					d := min(math.Abs(a-pred[c][i][h]), caps[h])
					if sc.loss == squaredLoss {
						d *= d
					}
					loss[c][h] += d
					count[h]++
				}
			}
		}
		for h := range horizon {
			if count[h] > 0 {
				loss[c][h] /= float64(count[h])
			} else {
				loss[c][h] = math.Inf(1)
			}
		}
	}
	type score struct {
		c    int
		loss float64
	}
	for h := range horizon {
		r := lossRadius(h)
		lo, hi := max(0, h-r), min(horizon, h+r+1)
		var scores []score
		for c := range k {
			if loss[c] == nil {
				continue
			}
			s := 0.0
			for j := lo; j < hi; j++ {
				s += loss[c][j]
			}
			scores = append(scores, score{c, s / float64(hi-lo)})
		}
		slices.SortStableFunc(scores, func(a, b score) int {
			switch {
			case a.loss < b.loss:
				return -1
			case a.loss > b.loss:
				return 1
			}
			return 0
		})
		if len(scores) == 0 { // no candidate could fit on the training part
			weights[h][fallback] = 1
			continue
		}
		scores = scores[:min(sc.top, len(scores))]
		if best := scores[0].loss; best == 0 || math.IsInf(best, 1) || math.IsNaN(best) {
			weights[h][scores[0].c] = 1 // a perfect (or unjudgeable) best: take it alone
			continue
		}
		total := 0.0
		for _, s := range scores {
			total += 1 / s.loss
		}
		for _, s := range scores {
			weights[h][s.c] = (1 / s.loss) / total
		}
	}
	return weights
}

// lossRadius is how many steps either side of step h weigh averages a candidate's loss over:
// about a fifth of the lead, and at least two. Errors at neighbouring leads are nearly the same
// forecast's, so a step's own few origins are a noisy judge of it alone; at the long leads of a
// one-minute step (60 steps to the hour) a fixed five-step window would let one lucky lead pick
// a candidate its neighbours do not. On the two one-minute public traces this lowered auto's
// MASE by up to 1.6% (worldcup at 60 minutes); at a five-minute step nothing changes within
// an hour.
func lossRadius(h int) int { return max(2, h/5) }

// seasonalPeriods returns the pinned periods in steps, or those detected in history.
func (e *Engine) seasonalPeriods(history series.Series) []int {
	if len(e.cfg.Periods) == 0 {
		return DetectPeriods(history)
	}
	ps := make([]int, 0, len(e.cfg.Periods))
	for _, d := range e.cfg.Periods {
		ps = append(ps, durationSteps(d, history.Step))
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// lossCapMedians is how many times the median absolute error of all candidates at a step an
// error may be before it counts no more when weighing them.
const lossCapMedians = 10

// lossCaps returns, per step, lossCapMedians times the median of the absolute errors of every
// candidate at every origin. A level shift or a flash crowd makes every candidate miss by far
// for a while, some by a little less than others (the last value catches up first); uncapped,
// those few origins outweigh days of ordinary ones in a squared error, and the weights then
// favour whatever reacted fastest to one event for days after it. Capped, a miss still costs
// the most any error can, so a method that is usually close but sometimes far off is still
// avoided. The median, not a high quantile, sets the cap: a candidate that is off for a day
// (a copy of yesterday from before the shift) would otherwise raise it past the event.
func lossCaps(pred [][][]float64, origins []int, v []float64, horizon int) []float64 {
	caps := make([]float64, horizon)
	var all []float64
	for h := range horizon {
		all = all[:0]
		for _, p := range pred {
			if p == nil {
				continue
			}
			for i, o := range origins {
				if a := v[o+h]; finite(a) {
					all = append(all, math.Abs(a-p[i][h]))
				}
			}
		}
		caps[h] = math.Inf(1)
		if len(all) > 0 {
			if m := loessMedian(all); m > 0 {
				caps[h] = lossCapMedians * m
			}
		}
	}
	return caps
}
