package main

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/plan"
	"github.com/kedastral/kedastral/pkg/series"
	"github.com/kedastral/kedastral/pkg/sim"
)

// TestSimulateDecisionsRecompute runs the simulation from the command line and recomputes every
// reported figure of each policy from --decisions-out: the CSV is the whole story.
func TestSimulateDecisionsRecompute(t *testing.T) {
	dir := t.TempDir()
	decisions := filepath.Join(dir, "decisions.csv")
	plot := filepath.Join(dir, "sim.png")
	var stdout, stderr strings.Builder
	args := []string{"backtest", "--simulate", "--input", nasaTrace, "--model", "seasonal_naive", "--warmup", "2d",
		"--target", "5", "--format", "json", "--decisions-out", decisions, "--plot", plot, "--progress=false"}
	if err := run(t.Context(), args, nil, &stdout, &stderr); err != nil {
		t.Fatalf("agent backtest --simulate: %v\n%s", err, stderr.String())
	}
	var got struct {
		Traces []simReport `json:"traces"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &got); err != nil {
		t.Fatalf("--format json output does not decode: %v\n%s", err, stdout.String())
	}
	if len(got.Traces) != 1 {
		t.Fatalf("report has %d traces, want 1", len(got.Traces))
	}
	r := got.Traces[0]
	reported := map[string]sim.Outcome{"reactive": r.Reactive[0], "predictive": r.Predictive[0], "oracle": r.Oracle}

	f, err := os.Open(decisions)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if want := "time,demand,forecast,upper,desired_reactive,ready_reactive,desired_predictive,ready_predictive,desired_oracle,ready_oracle"; strings.Join(rows[0], ",") != want {
		t.Fatalf("header = %v, want %s", rows[0], want)
	}
	rows = rows[1:]
	// 10 days of 1-minute samples, 2 of warmup, one row per 15-second tick.
	if want := 8 * 1440 * 4; len(rows) != want {
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	num := func(s string) float64 {
		if s == "" {
			return math.NaN()
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%q is not a number: %v", s, err)
		}
		return v
	}
	const tick = 15.0 // seconds
	for k, name := range []string{"reactive", "predictive", "oracle"} {
		var demand, unserved, under, podSeconds float64
		var peak, events int
		last := int(math.Ceil(num(rows[0][1]) / r.TargetPerPod)) // every policy starts with what the first demand needs
		for _, row := range rows {
			d, desired, ready := num(row[1]), int(num(row[4+2*k])), num(row[5+2*k])
			podSeconds += float64(desired) * tick
			peak = max(peak, desired)
			if desired != last {
				events++
				last = desired
			}
			if math.IsNaN(d) {
				continue // a gap in the trace: no demand to serve
			}
			demand += d * tick
			if short := d - ready*r.TargetPerPod; short > 0 {
				unserved += short * tick
				under += tick
			}
		}
		want := reported[name]
		checks := []struct {
			what      string
			got, want float64
		}{
			{"unserved", unserved / demand, want.Unserved},
			{"under-provisioned minutes", under / 60, want.UnderMinutes},
			{"replica-hours", podSeconds / 3600, want.ReplicaHours},
			{"peak replicas", float64(peak), float64(want.PeakReplicas)},
			{"scaling events", float64(events), float64(want.Events)},
		}
		for _, c := range checks {
			if math.Abs(c.got-c.want) > 1e-9*max(1, math.Abs(c.want)) {
				t.Errorf("%s %s: recomputed from the CSV %v, reported %v", name, c.what, c.got, c.want)
			}
		}
	}
	if r.Reactive[0].Unserved == 0 || r.Oracle.Unserved >= r.Reactive[0].Unserved {
		t.Errorf("unserved: reactive %v, oracle %v; want the oracle below a reactive policy that misses some", r.Reactive[0].Unserved, r.Oracle.Unserved)
	}
	if b, err := os.ReadFile(plot); err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
		t.Errorf("--plot wrote no PNG: %v", err)
	}
}

func TestSimulateSweepSummary(t *testing.T) {
	var stdout, stderr strings.Builder
	args := []string{"backtest", "--simulate", "--sweep", "--input", nasaTrace, "--input", nasaTrace, "--model", "seasonal_naive",
		"--warmup", "2d", "--sweep-quantile", "0.8,0.95", "--sweep-headroom", "1,1.2", "--sweep-utilisation", "0.9,0.7",
		"--sweep-oracle-headroom", "1.5", "--progress=false"}
	if err := run(t.Context(), args, nil, &stdout, &stderr); err != nil {
		t.Fatalf("agent backtest --simulate --sweep: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	// Predictive: the default, then 2 quantiles × 2 headrooms × with and without steps, and the
	// point forecast and p90 beside the reactive trigger at 0.9 and 0.7; oracle: ×1, ×1.5, and
	// both with steps.
	for _, want := range []string{"sweep: 3 reactive, 13 predictive and 4 oracle settings", "less unserved at equal cost",
		"Kedastral's frontier", "summary: Kedastral against reactive KEDA", "the oracle's frontier the same way", "median",
		"worse than reactive", "over only the reactive settings each frontier reaches (no bounds): Kedastral ",
		"instead of reactive utilisation 1.00"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// A setting with steps is on the frontier (which one depends on the model's band).
	if !regexp.MustCompile(`(?m)^ +p[0-9]{2}×[0-9.]+ steps +[0-9.]+%`).MatchString(out) {
		t.Errorf("no setting with steps on Kedastral's frontier:\n%s", out)
	}

	// The oracle's sweep in JSON: its default first, then ×1.5, which costs more and serves no less.
	stdout.Reset()
	if err := run(t.Context(), append(args[:len(args):len(args)], "--format", "json"), nil, &stdout, &stderr); err != nil {
		t.Fatalf("agent backtest --simulate --sweep --format json: %v", err)
	}
	var got struct {
		Traces []struct {
			Oracle            sim.Outcome      `json:"oracle"`
			OracleSweep       []sim.Outcome    `json:"oracleSweep"`
			OracleComparisons []sim.Comparison `json:"oracleComparisons"`
			Reactive          []sim.Outcome    `json:"reactive"`
		} `json:"traces"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &got); err != nil {
		t.Fatal(err)
	}
	tr := got.Traces[0]
	var settings []string
	for _, o := range tr.OracleSweep {
		settings = append(settings, o.Setting)
	}
	if want := []string{"lead 3m45s", "lead 3m45s ×1.50", "lead 3m45s ×1.50 steps", "lead 3m45s steps"}; !slices.Equal(settings, want) || tr.OracleSweep[0] != tr.Oracle {
		t.Fatalf("oracle sweep %v, oracle %+v: want %v, the default first", settings, tr.Oracle, want)
	}
	// Steps let the HPA follow the oracle's exact asks: less unserved, for more replica-hours.
	if one, steps := tr.OracleSweep[0], tr.OracleSweep[3]; !(steps.Unserved < one.Unserved) || !(steps.ReplicaHours > one.ReplicaHours) {
		t.Errorf("oracle with steps: %.3f%% unserved, %.0f replica-hours; without: %.3f%%, %.0f; want less unserved for more",
			steps.Unserved*100, steps.ReplicaHours, one.Unserved*100, one.ReplicaHours)
	}
	if one, more := tr.OracleSweep[0], tr.OracleSweep[1]; !(more.ReplicaHours > one.ReplicaHours) || more.Unserved > one.Unserved {
		t.Errorf("oracle ×1.5: %.3f%% unserved, %.0f replica-hours; ×1: %.3f%%, %.0f; want more cost and no more unserved",
			more.Unserved*100, more.ReplicaHours, one.Unserved*100, one.ReplicaHours)
	}
	if len(tr.OracleComparisons) != len(tr.Reactive) {
		t.Errorf("%d oracle comparisons for %d reactive settings", len(tr.OracleComparisons), len(tr.Reactive))
	}
	// A saving at equal unserved is a bound exactly where the reactive setting leaves more
	// unserved than the oracle's cheapest setting, and the text marks it.
	cheapest := slices.MinFunc(tr.OracleSweep, func(a, b sim.Outcome) int {
		return cmp.Or(cmp.Compare(a.ReplicaHours, b.ReplicaHours), cmp.Compare(a.Unserved, b.Unserved))
	})
	bounds := 0
	for _, c := range tr.OracleComparisons {
		if want := c.Reactive.Unserved > cheapest.Unserved; c.CostSavingBound != want {
			t.Errorf("oracle against %s (%.3f%% unserved; its cheapest %.3f%%): saving a bound %v, want %v",
				c.Reactive.Setting, c.Reactive.Unserved*100, cheapest.Unserved*100, c.CostSavingBound, want)
		}
		if c.CostSavingBound {
			bounds++
		}
	}
	if bounds > 0 && !strings.Contains(out, "≥") {
		t.Errorf("%d bounds, none marked ≥ in the text:\n%s", bounds, out)
	}
}

// TestAdvise: the settings advised are the outcomes' own, configured as they were run.
func TestAdvise(t *testing.T) {
	cfg := sim.ScalingConfig{TargetPerPod: 10, Cluster: sim.DefaultClusterConfig(), Policy: plan.Policy{LeadTime: plan.Duration(225 * time.Second)},
		Predictive: []sim.Setting{{Quantile: 0.9, Headroom: 1}, {Quantile: 0, Headroom: 1.2, Steps: true, Beside: 0.7}, {Quantile: 0.95, Headroom: 1.5}}}
	pred := []sim.Outcome{{ReplicaHours: 100, Unserved: 0.04}, {ReplicaHours: 150, Unserved: 0.01}, {ReplicaHours: 300, Unserved: 0.001}}
	for i := range pred {
		pred[i].Setting = cfg.Predictive[i].String()
	}
	a := advise(sim.Outcome{Setting: "utilisation 0.70", ReplicaHours: 200, Unserved: 0.02}, pred, cfg)
	if a.SameService == nil || a.SameCost == nil {
		t.Fatalf("advice %+v: want both settings", a)
	}
	// Both are the second setting: the cheapest with at most 0.02 unserved, and the best served
	// for at most 200 replica-hours.
	for _, c := range []*simChoice{a.SameService, a.SameCost} {
		if c.Outcome.Setting != "point×1.20 steps + reactive 0.70" {
			t.Errorf("advised %q, want point×1.20 steps + reactive 0.70", c.Outcome.Setting)
		}
		if want := []string{"KEDASTRAL_BASIS=point", "KEDASTRAL_HEADROOM=1.2", "KEDASTRAL_HPA_TOLERANCE_STEPS=0.1", "KEDASTRAL_LEAD_TIME=3m45s"}; !slices.Equal(c.Env, want) {
			t.Errorf("env %v, want %v", c.Env, want)
		}
		if c.Trigger != 7 {
			t.Errorf("trigger threshold %v, want 10 × 0.7 = 7", c.Trigger)
		}
	}
	a = advise(sim.Outcome{Setting: "utilisation 1.00", ReplicaHours: 50, Unserved: 0.03}, pred, cfg)
	if a.SameCost != nil || a.SameService == nil || a.SameService.Outcome.Setting != "point×1.20 steps + reactive 0.70" {
		t.Errorf("advice against a cheaper reactive setting %+v: want no same-cost setting, and point×1.20 steps + reactive 0.70 for the service", a)
	}
	var text strings.Builder
	a.writeText(&text)
	for _, want := range []string{"instead of reactive utilisation 1.00", "as well served, for the least: point×1.20 steps + reactive 0.70",
		"KEDASTRAL_BASIS=point KEDASTRAL_HEADROOM=1.2 KEDASTRAL_HPA_TOLERANCE_STEPS=0.1 KEDASTRAL_LEAD_TIME=3m45s, reactive trigger threshold 7",
		"the best served, for no more: none"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("advice text lacks %q:\n%s", want, text.String())
		}
	}
	a = advise(sim.Outcome{ReplicaHours: 400, Unserved: 0.5}, pred, cfg)
	if a.SameCost == nil || !slices.Equal(a.SameCost.Env, []string{"KEDASTRAL_BASIS=upper", "KEDASTRAL_QUANTILE=0.95", "KEDASTRAL_HEADROOM=1.5", "KEDASTRAL_LEAD_TIME=3m45s"}) || a.SameCost.Trigger != 10 {
		t.Errorf("advice against a dear reactive setting: %+v, want p95×1.50 beside the trigger at the target per pod", a.SameCost)
	}
}

// TestSimulateSweepWithPointBasis: --basis point makes the default setting size for the point
// forecast; the sweep's quantile settings still size for their quantile, as labelled.
func TestSimulateSweepWithPointBasis(t *testing.T) {
	var stdout, stderr strings.Builder
	args := []string{"backtest", "--simulate", "--sweep", "--basis", "point", "--input", nasaTrace, "--model", "seasonal_naive",
		"--warmup", "2d", "--sweep-quantile", "0.8,0.99", "--sweep-headroom", "1", "--sweep-utilisation", "1",
		"--sweep-oracle-headroom", "1", "--progress=false", "--format", "json"}
	if err := run(t.Context(), args, nil, &stdout, &stderr); err != nil {
		t.Fatalf("agent backtest --simulate --sweep --basis point: %v\n%s", err, stderr.String())
	}
	var got struct {
		Traces []struct {
			Predictive []sim.Outcome `json:"predictive"`
		} `json:"traces"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &got); err != nil {
		t.Fatal(err)
	}
	by := map[string]sim.Outcome{}
	for _, o := range got.Traces[0].Predictive {
		by[o.Setting] = o
	}
	point, p80, p99 := by["point×1.00"], by["p80×1.00"], by["p99×1.00"]
	if point.Setting == "" || p80.Setting == "" || p99.Setting == "" {
		t.Fatalf("settings %v, want point×1.00, p80×1.00 and p99×1.00", by)
	}
	if !(point.ReplicaHours < p80.ReplicaHours && p80.ReplicaHours < p99.ReplicaHours) {
		t.Errorf("replica-hours point %.1f, p80 %.1f, p99 %.1f; want each quantile sized for, so rising",
			point.ReplicaHours, p80.ReplicaHours, p99.ReplicaHours)
	}
}

// TestSimulateKeepsTheOtherTraces: a trace that cannot be simulated (no load above zero, so
// there is no default target per pod) is named in the error, after the others' reports.
func TestSimulateKeepsTheOtherTraces(t *testing.T) {
	zeros := testTrace(t, "zeros.csv", 3*288, func(int) int { return 0 })
	var stdout strings.Builder
	args := []string{"backtest", "--simulate", "--input", zeros, "--input", nasaTrace, "--model", "naive", "--warmup", "2d", "--progress=false"}
	err := run(t.Context(), args, nil, &stdout, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "zeros.csv: the trace has no load above zero to size pods by: give --target") {
		t.Fatalf("agent backtest --simulate with a trace of zeros: error %v, want it named with the reason", err)
	}
	if out := stdout.String(); !strings.Contains(out, filepath.Base(nasaTrace)) || strings.Contains(out, "zeros.csv") {
		t.Errorf("output should report the NASA trace and not the failed one:\n%s", out)
	}
}

// TestSimulateSparseTrace: a trace whose median is 0 (load in one sample of ten) is simulated
// with pods sized by its mean, and the report says so.
func TestSimulateSparseTrace(t *testing.T) {
	sparse := testTrace(t, "sparse.csv", 900, func(i int) int { return 20 * b2i(i%10 == 0) })
	var stdout strings.Builder
	args := []string{"backtest", "--simulate", "--input", sparse, "--model", "naive", "--warmup", "1d", "--progress=false", "--format", "json"}
	if err := run(t.Context(), args, nil, &stdout, io.Discard); err != nil {
		t.Fatalf("agent backtest --simulate on a sparse trace: %v", err)
	}
	var out struct {
		Traces []simReport `json:"traces"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &out); err != nil || len(out.Traces) != 1 {
		t.Fatalf("JSON output: %v (%d traces)\n%s", err, len(out.Traces), stdout.String())
	}
	r := out.Traces[0]
	if math.Abs(r.TargetPerPod-0.2) > 1e-9 { // mean 20/10 = 2, ÷ 10
		t.Errorf("target per pod %v, want the mean ÷ 10 = 0.2", r.TargetPerPod)
	}
	if !strings.Contains(r.Note, "the trace's median is 0: target per pod 0.2, its mean ÷ 10") {
		t.Errorf("note %q, want it to say why the target is the mean's", r.Note)
	}
}

func TestDefaultTarget(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name    string
		values  []float64
		want    float64
		why     string
		wantErr string
	}{
		{name: "median", values: []float64{10, 20, 30, nan}, want: 2},
		{name: "median 0, mean used", values: []float64{0, 0, 0, 40, nan, math.Inf(1)}, want: 1, why: "its mean ÷ 10"},
		{name: "all zero", values: []float64{0, 0, nan}, wantErr: "no load above zero"},
		{name: "no finite value", values: []float64{nan}, wantErr: "no load above zero"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why, err := defaultTarget(tc.values)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || math.Abs(got-tc.want) > 1e-12 {
				t.Fatalf("defaultTarget = %v, %v; want %v", got, err, tc.want)
			}
			if (tc.why == "") != (why == "") || !strings.Contains(why, tc.why) {
				t.Errorf("why %q, want %q", why, tc.why)
			}
		})
	}
}

// testTrace writes n samples 5 minutes apart, value(i) each, to a CSV trace in a test directory.
func testTrace(t *testing.T, name string, n int, value func(i int) int) string {
	t.Helper()
	samples := make([]series.Sample, n)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range samples {
		samples[i] = series.Sample{T: t0.Add(time.Duration(i) * 5 * time.Minute), V: float64(value(i))}
	}
	path := filepath.Join(t.TempDir(), name)
	if err := writeTraceFile(path, samples); err != nil {
		t.Fatal(err)
	}
	return path
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestSimulateFlagErrors(t *testing.T) {
	var stdout, stderr strings.Builder
	args := []string{"backtest", "--simulate", "--input", "a.csv", "--input", "b.csv", "--decisions-out", "d.csv", "--model", "tea_leaves",
		"--startup", "soon", "--format", "xml", "--min", "5", "--max", "2", "--sweep", "--sweep-quantile", "0.9,x", "--utilisation", "2",
		"--sweep-oracle-headroom", "0", "--basis", "middle", "--observe-lag", "-1", "--beside", "0", "--sweep-beside", "0.9,y", "--oracle-beside", "1.5", "--oracle-level", "-2"}
	err := run(t.Context(), args, nil, &stdout, &stderr)
	if err == nil {
		t.Fatal("agent backtest --simulate with bad flags: no error")
	}
	for _, want := range []string{"--decisions-out and --plot take one --input", `--model "tea_leaves" is not one of`,
		`--startup "soon"`, "--format must be text or json", "need 1 <= --min <= --max", `--sweep-quantile: "x" is not a number`,
		"reactive target utilisation must be in (0, 1] (got 2)", "oracle headroom must be > 0 and finite (got 0)",
		`--basis must be upper or point (got "middle")`, "observe lag must be >= 0 steps (got -1)",
		"--beside must be in (0, 1] (got 0)", `--sweep-beside: "y" is not a number`,
		"utilisation of the reactive trigger beside the oracle must be in (0, 1] (got 1.5)",
		"the oracle's level radius must be >= 0 steps (got -2)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %q, want it to contain %q", err, want)
		}
	}
}

// TestFrontierStats checks the per-trace summary of a frontier's comparisons: medians over the
// comparable reactive settings only, and the least favourable reduction.
func TestSummarizeFrontier(t *testing.T) {
	nan := sim.Fraction(math.NaN())
	tests := map[string]struct {
		cs                       []sim.Comparison
		reduction, worst, saving float64
	}{
		"none comparable": {cs: []sim.Comparison{{UnservedReduction: nan, CostSaving: nan}},
			reduction: math.NaN(), worst: math.NaN(), saving: math.NaN()},
		"NaN left out": {cs: []sim.Comparison{
			{UnservedReduction: nan, CostSaving: -0.02},
			{UnservedReduction: 0.5, CostSaving: 0.1},
			{UnservedReduction: -0.3, CostSaving: 0.2},
			{UnservedReduction: 0.9, CostSaving: nan},
		}, reduction: 0.5, worst: -0.3, saving: 0.1},
	}
	same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := summarizeFrontier(tc.cs)
			r, w, s := float64(got.UnservedReduction), float64(got.WorstReduction), float64(got.CostSaving)
			if !same(r, tc.reduction) || !same(w, tc.worst) || !same(s, tc.saving) {
				t.Errorf("summarizeFrontier = %v, %v, %v; want %v, %v, %v", r, w, s, tc.reduction, tc.worst, tc.saving)
			}
		})
	}
}
