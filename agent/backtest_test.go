package main

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/sim"
)

const nasaTrace = "../test/testdata/nasa_http_1995_07_1min_10d.csv"

func TestBacktestCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "forecasts.csv")
	var stdout, stderr strings.Builder
	args := []string{"backtest", "--input", nasaTrace, "--model", "naive", "--window", "2d", "--horizon", "15m",
		"--stride", "6h", "--forecasts-out", out, "--format", "json"}
	if err := run(t.Context(), args, nil, &stdout, &stderr); err != nil {
		t.Fatalf("agent backtest: %v\n%s", err, stderr.String())
	}
	var got struct {
		Traces []backtestReport `json:"traces"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &got); err != nil {
		t.Fatalf("--format json output does not decode: %v\n%s", err, stdout.String())
	}
	if len(got.Traces) != 1 || len(got.Traces[0].Results) != 1 {
		t.Fatalf("report = %+v, want one trace with one model", got)
	}
	res := got.Traces[0].Results[0]
	// 10 days, 2-day window, 15-minute horizon, 6-hour stride: origins at 2d, 2d6h, ... < 10d-15m.
	if res.Model != "naive" || res.Origins != 32 || len(res.Stats) != 2 {
		t.Errorf("result = %+v, want naive over 32 origins with stats at 5m and 15m", res)
	}
	if !strings.Contains(stderr.String(), "100%") {
		t.Errorf("no progress on stderr: %q", stderr.String())
	}

	// Recompute the 5-minute MAE and coverage from --forecasts-out and compare.
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "input,origin,target,h,actual,point,upper,model" || len(rows) != 1+32*15 {
		t.Fatalf("forecasts-out has header %v and %d rows, want the documented header and %d rows", rows[0], len(rows)-1, 32*15)
	}
	var ae float64
	var n, covered int
	for _, r := range rows[1:] {
		if r[3] != "5" {
			continue
		}
		a, _ := strconv.ParseFloat(r[4], 64)
		p, _ := strconv.ParseFloat(r[5], 64)
		u, _ := strconv.ParseFloat(r[6], 64)
		ae += math.Abs(a - p)
		n++
		if a <= u {
			covered++
		}
	}
	st := res.Stats[0]
	if n != st.N || math.Abs(ae/float64(n)-st.MAE) > 1e-9 || math.Abs(float64(covered)/float64(n)-st.Coverage) > 1e-9 {
		t.Errorf("5m stats %+v do not match the forecasts written: n %d, MAE %v, coverage %v", st, n, ae/float64(n), float64(covered)/float64(n))
	}
}

func TestBacktestSummary(t *testing.T) {
	var stdout strings.Builder
	args := []string{"backtest", "--input", nasaTrace, "--input", nasaTrace, "--model", "all", "--window", "2d",
		"--horizon", "15m", "--stride", "12h", "--progress=false"}
	if err := run(t.Context(), args, nil, &stdout, io.Discard); err != nil {
		t.Fatalf("agent backtest: %v", err)
	}
	for _, want := range []string{"Summary over 2 traces", "auto", "naive", "seasonal_naive", "wins", "relative to the best",
		"seasonal periods detected over the whole trace: 1d", "median of the daily ones", "hindsight 15m",
		"hindsight, not a forecast (the mean of the actuals within ±r steps"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestBacktestKeepsTheOtherTraces: a trace that cannot be evaluated is named in the error, and
// the others are still reported and summarized, in text and in JSON.
func TestBacktestKeepsTheOtherTraces(t *testing.T) {
	short := filepath.Join(t.TempDir(), "short.csv")
	if err := os.WriteFile(short, []byte("timestamp,value\n2026-01-01T00:00:00Z,1\n2026-01-01T00:05:00Z,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var stdout strings.Builder
			args := []string{"backtest", "--input", nasaTrace, "--input", short, "--input", nasaTrace, "--model", "naive",
				"--window", "2d", "--horizon", "15m", "--stride", "12h", "--progress=false", "--format", format}
			err := run(t.Context(), args, nil, &stdout, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "short.csv") || !strings.Contains(err.Error(), "too short for a 15m0s horizon") {
				t.Fatalf("agent backtest with a short trace: error %v, want it to name short.csv and why", err)
			}
			want := "Summary over 2 traces"
			if format == "json" {
				var got struct {
					Traces  []json.RawMessage `json:"traces"`
					Summary json.RawMessage   `json:"summary"`
				}
				if err := json.Unmarshal([]byte(stdout.String()), &got); err != nil {
					t.Fatalf("JSON output: %v\n%s", err, stdout.String())
				}
				if len(got.Traces) != 2 || len(got.Summary) == 0 {
					t.Fatalf("JSON output has %d traces and summary %s, want the 2 that could be evaluated and a summary", len(got.Traces), got.Summary)
				}
				return
			}
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, stdout.String())
			}
		})
	}
}

// TestSummarizeDaily checks the per-lead medians of auto's ratio to the best baseline, over every
// trace and over those with a daily period, on figures worked out by hand.
func TestSummarizeDaily(t *testing.T) {
	report := func(name string, periods []string, auto, naive, arima [2]float64) backtestReport {
		res := func(model string, m [2]float64) sim.Result {
			return sim.Result{Model: model, Stats: []sim.Stats{{Lead: 30 * time.Minute, MASE: m[0]}, {Lead: time.Hour, MASE: m[1]}}}
		}
		// Hindsight at half of auto's MASE, so its ratios are half of auto's.
		return backtestReport{Input: name, Periods: periods,
			Results:   []sim.Result{res(forecast.Auto, auto), res(forecast.Naive, naive), res(forecast.ARIMA, arima)},
			Hindsight: []sim.Reference{{Lead: 30 * time.Minute, MASE: auto[0] / 2}, {Lead: time.Hour, MASE: auto[1] / 2}}}
	}
	s := summarize([]backtestReport{
		// auto ÷ best baseline: 0.8/0.8 = 1, 0.6/0.75 = 0.8
		report("a", []string{"1d", "7d"}, [2]float64{0.8, 0.6}, [2]float64{1, 0.75}, [2]float64{0.8, 0.9}),
		// 0.45/0.5 = 0.9, 0.7/1 = 0.7
		report("b", []string{"1d"}, [2]float64{0.45, 0.7}, [2]float64{0.5, 1}, [2]float64{0.6, 1.2}),
		// 1.1/1 = 1.1, 1/1 = 1: no daily period, so only in the overall median
		report("c", []string{"1h"}, [2]float64{1.1, 1}, [2]float64{1, 1}, [2]float64{1, 1}),
	})
	if want := []string{"a", "b"}; !slices.Equal(s.Daily, want) {
		t.Errorf("Daily = %v, want %v", s.Daily, want)
	}
	near := func(got, want []float64) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-12 {
				return false
			}
		}
		return true
	}
	if want := []float64{0.95, 0.75}; !near(s.DailyAutoVsBaseline, want) {
		t.Errorf("DailyAutoVsBaseline = %v, want %v", s.DailyAutoVsBaseline, want)
	}
	if want := []float64{1, 0.8}; !near(s.MedianAutoVsBaseline, want) {
		t.Errorf("MedianAutoVsBaseline = %v, want %v", s.MedianAutoVsBaseline, want)
	}
	if want := []float64{0.45, 0.35}; !near(s.HindsightVsBaseline["b"], want) {
		t.Errorf("HindsightVsBaseline[b] = %v, want %v", s.HindsightVsBaseline["b"], want)
	}
	if want := []float64{0.475, 0.375}; !near(s.DailyHindsightVsBaseline, want) {
		t.Errorf("DailyHindsightVsBaseline = %v, want %v", s.DailyHindsightVsBaseline, want)
	}
	if want := []float64{0.5, 0.4}; !near(s.MedianHindsightVsBaseline, want) {
		t.Errorf("MedianHindsightVsBaseline = %v, want %v", s.MedianHindsightVsBaseline, want)
	}
}

func TestBacktestFlagErrors(t *testing.T) {
	var stderr strings.Builder
	err := run(t.Context(), []string{"backtest", "--model", "oracle", "--window", "soon", "--quantile", "2", "--format", "xml"},
		nil, io.Discard, &stderr)
	if err == nil {
		t.Fatal("agent backtest with bad flags: error = nil")
	}
	for _, want := range []string{"--input is required", `--model "oracle"`, `--window "soon"`, "--quantile must be in (0.5, 1)", "--format must be text or json"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %q, want it to contain %q", err, want)
		}
	}
	if err := run(t.Context(), []string{"backtest", "--input", "/nonexistent.csv"}, nil, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "/nonexistent.csv") {
		t.Errorf("missing input: error = %v, want it to name the file", err)
	}
}
