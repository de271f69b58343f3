package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/kedastral/kedastral/pkg/forecast"
)

// baselines are the models of the systems in use today that auto must beat: last value,
// seasonal naive, the Kedastral project's ARIMA/SARIMA, PHPA's Holt-Winters and Crane's DSP.
var baselines = []string{forecast.Naive, forecast.SeasonalNaive, forecast.SeasonalNaiveWeek, forecast.ARIMA,
	forecast.SARIMA, forecast.HoltWinters, forecast.FFTDSP}

// summary aggregates backtests of several traces.
type summary struct {
	Leads []string `json:"leads"`
	// MedianMASE[model][lead]: the median over traces.
	MedianMASE map[string][]float64 `json:"medianMASE"`
	// Wins counts the traces on which the model has the lowest MASE averaged over the leads.
	Wins map[string]int `json:"wins"`
	// AutoVsBaseline[trace][lead]: auto's MASE relative to the best baseline's on that trace
	// (0.9 = 10% lower), when auto and a baseline were evaluated.
	AutoVsBaseline map[string][]float64 `json:"autoVsBaseline,omitempty"`
	// Daily lists the traces with a daily period detected over the whole trace, and
	// DailyAutoVsBaseline[lead] is the median of AutoVsBaseline over them.
	Daily               []string  `json:"daily"`
	DailyAutoVsBaseline []float64 `json:"dailyAutoVsBaseline,omitempty"`
	// MedianAutoVsBaseline[lead] is the median of AutoVsBaseline over every trace.
	MedianAutoVsBaseline []float64 `json:"medianAutoVsBaseline,omitempty"`
	// HindsightVsBaseline[trace][lead]: the hindsight reference's MASE (backtestReport.Hindsight)
	// relative to the same best baseline, and its medians over all traces and the daily ones:
	// how low auto's ratio could go with the level known exactly and the noise not at all.
	HindsightVsBaseline       map[string][]float64 `json:"hindsightVsBaseline,omitempty"`
	MedianHindsightVsBaseline []float64            `json:"medianHindsightVsBaseline,omitempty"`
	DailyHindsightVsBaseline  []float64            `json:"dailyHindsightVsBaseline,omitempty"`
	// Coverage[model]: the lowest and highest upper-quantile coverage over the traces.
	Coverage map[string][2]float64 `json:"coverage"`
	models   []string
	traces   []string
}

func summarize(reports []backtestReport) summary {
	s := summary{MedianMASE: map[string][]float64{}, Wins: map[string]int{}, AutoVsBaseline: map[string][]float64{},
		HindsightVsBaseline: map[string][]float64{}, Coverage: map[string][2]float64{}}
	for _, st := range reports[0].Results[0].Stats {
		s.Leads = append(s.Leads, shortDuration(st.Lead))
	}
	for _, res := range reports[0].Results {
		s.models = append(s.models, res.Model)
	}
	per := map[string][][]float64{} // model → lead → MASE per trace
	s.Daily = []string{}
	for _, r := range reports {
		s.traces = append(s.traces, r.Input)
		if slices.Contains(r.Periods, "1d") {
			s.Daily = append(s.Daily, r.Input)
		}
		winner, bestMean := "", math.Inf(1)
		mase := map[string][]float64{}
		for _, res := range r.Results {
			mean := 0.0
			for l, st := range res.Stats {
				if len(per[res.Model]) <= l {
					per[res.Model] = append(per[res.Model], nil)
				}
				per[res.Model][l] = append(per[res.Model][l], st.MASE)
				mean += st.MASE / float64(len(res.Stats))
				mase[res.Model] = append(mase[res.Model], st.MASE)
			}
			if mean < bestMean {
				winner, bestMean = res.Model, mean
			}
			cov, ok := s.Coverage[res.Model]
			if !ok {
				cov = [2]float64{1, 0}
			}
			s.Coverage[res.Model] = [2]float64{min(cov[0], res.Coverage), max(cov[1], res.Coverage)}
		}
		s.Wins[winner]++
		// best[l] is the best baseline's MASE at lead l (+Inf without one).
		best := make([]float64, len(r.Results[0].Stats))
		for l := range best {
			best[l] = math.Inf(1)
			for _, m := range baselines {
				if v, ok := mase[m]; ok {
					best[l] = min(best[l], v[l])
				}
			}
		}
		if auto, ok := mase[forecast.Auto]; ok && best[0] > 0 && !math.IsInf(best[0], 1) {
			s.AutoVsBaseline[r.Input] = ratios(auto, best)
			if len(r.Hindsight) == len(best) {
				h := make([]float64, len(best))
				for l, ref := range r.Hindsight {
					h[l] = ref.MASE
				}
				s.HindsightVsBaseline[r.Input] = ratios(h, best)
			}
		}
	}
	for m, leads := range per {
		for _, v := range leads {
			s.MedianMASE[m] = append(s.MedianMASE[m], median(v))
		}
	}
	s.MedianAutoVsBaseline = medianRatios(s.AutoVsBaseline, s.traces)
	s.DailyAutoVsBaseline = medianRatios(s.AutoVsBaseline, s.Daily)
	s.MedianHindsightVsBaseline = medianRatios(s.HindsightVsBaseline, s.traces)
	s.DailyHindsightVsBaseline = medianRatios(s.HindsightVsBaseline, s.Daily)
	return s
}

// ratios is a[l] / b[l] for each l.
func ratios(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for l := range a {
		out[l] = a[l] / b[l]
	}
	return out
}

// medianRatios is the median per lead of ratios over traces (nil when none has them).
func medianRatios(ratios map[string][]float64, traces []string) []float64 {
	var per [][]float64
	for _, t := range traces {
		for l, v := range ratios[t] {
			if len(per) <= l {
				per = append(per, nil)
			}
			per[l] = append(per[l], v)
		}
	}
	var out []float64
	for _, v := range per {
		out = append(out, median(v))
	}
	return out
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func (s summary) writeText(w io.Writer) error {
	fmt.Fprintf(w, "Summary over %d traces: median MASE per lead (lower is better), traces won, p90 coverage range\n\n", len(s.traces))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "model\t%s\twins\tcoverage\t\n", strings.Join(s.Leads, "\t"))
	models := slices.Clone(s.models)
	slices.SortStableFunc(models, func(a, b string) int {
		ma, mb := mean(s.MedianMASE[a]), mean(s.MedianMASE[b])
		switch {
		case ma < mb:
			return -1
		case ma > mb:
			return 1
		}
		return 0
	})
	for _, m := range models {
		cells := make([]string, len(s.MedianMASE[m]))
		for i, v := range s.MedianMASE[m] {
			cells[i] = fmt.Sprintf("%.3f", v)
		}
		c := s.Coverage[m]
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f–%.2f\t\n", m, strings.Join(cells, "\t"), s.Wins[m], c[0], c[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.AutoVsBaseline) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nauto's MASE relative to the best of %s on each trace (below 1: auto is better),\n"+
		"and the same for hindsight, which is not a forecast: the mean of the actuals around the target, the future included\n\n", strings.Join(baselines, ", "))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	hs := make([]string, len(s.Leads))
	for i, l := range s.Leads {
		hs[i] = "hindsight " + l
	}
	fmt.Fprintf(tw, "trace\tdaily\t%s\t%s\t\n", strings.Join(s.Leads, "\t"), strings.Join(hs, "\t"))
	row := func(name, daily string, rs ...[]float64) {
		var cells []string
		for _, r := range rs {
			for l := range s.Leads {
				c := ""
				if l < len(r) {
					c = fmt.Sprintf("%.3f", r[l])
				}
				cells = append(cells, c)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", name, daily, strings.Join(cells, "\t"))
	}
	for _, t := range s.traces {
		if r, ok := s.AutoVsBaseline[t]; ok {
			daily := "no"
			if slices.Contains(s.Daily, t) {
				daily = "yes"
			}
			row(baseName(t), daily, r, s.HindsightVsBaseline[t])
		}
	}
	row("median", "", s.MedianAutoVsBaseline, s.MedianHindsightVsBaseline)
	if len(s.DailyAutoVsBaseline) > 0 {
		row("median of the daily ones", "", s.DailyAutoVsBaseline, s.DailyHindsightVsBaseline)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\n(daily: a one-day period detected over the whole trace)")
	return nil
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(max(1, len(v)))
}

func baseName(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }
