package forecast

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConformalQuantile(t *testing.T) {
	seq := func(n int) []float64 { // n, n-1, …, 1: unsorted on purpose
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(n - i)
		}
		return out
	}
	tests := map[string]struct {
		errs []float64
		q    float64
		want float64
	}{
		"one error":                        {errs: []float64{-3}, q: 0.9, want: -3},
		"rank ceil(10×0.9) = 9 of 9 (max)": {errs: seq(9), q: 0.9, want: 9},
		"rank ceil(20×0.9) = 18 of 19":     {errs: seq(19), q: 0.9, want: 18},
		"rank ceil(51×0.9) = 46 of 50":     {errs: seq(50), q: 0.9, want: 46},
		"rank ceil(51×0.99) = 51 > 50":     {errs: seq(50), q: 0.99, want: 50},
		"rank ceil(51×0.51) = 27 of 50":    {errs: seq(50), q: 0.51, want: 27},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := conformalQuantile(tc.errs, tc.q); got != tc.want {
				t.Errorf("conformalQuantile(%d errors, %v) = %v, want %v", len(tc.errs), tc.q, got, tc.want)
			}
		})
	}
}

func TestCandidateWindows(t *testing.T) {
	tests := map[string]struct {
		window int
		want   []int
	}{
		"one":          {window: 1, want: []int{1}},
		"two":          {window: 2, want: []int{1, 2}},
		"default":      {window: 15, want: []int{1, 2, 4, 8, 15}},
		"power of two": {window: 16, want: []int{1, 2, 4, 8, 16}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, candidateWindows(tc.window)); diff != "" {
				t.Errorf("candidateWindows(%d) mismatch (-want +got):\n%s", tc.window, diff)
			}
		})
	}
}

func TestDurationSteps(t *testing.T) {
	tests := map[string]struct {
		d, step time.Duration
		want    int
	}{
		"day of minutes":          {d: 24 * time.Hour, step: time.Minute, want: 1440},
		"day of 7 minutes":        {d: 24 * time.Hour, step: 7 * time.Minute, want: 206},  // 205.7
		"day of 11 minutes":       {d: 24 * time.Hour, step: 11 * time.Minute, want: 131}, // 130.9
		"shorter than a step":     {d: 20 * time.Second, step: time.Minute, want: 1},
		"day of nanoseconds":      {d: 24 * time.Hour, step: 1, want: 86_400_000_000_000},
		"step longer than a span": {d: time.Hour, step: 24 * time.Hour, want: 1},
		"longest duration":        {d: math.MaxInt64, step: 1, want: 1 << 52},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := durationSteps(tc.d, tc.step); got != tc.want {
				t.Errorf("durationSteps(%v, %v) = %d, want %d", tc.d, tc.step, got, tc.want)
			}
		})
	}
}

func TestFinite(t *testing.T) {
	tests := map[string]struct {
		v    float64
		want bool
	}{
		"zero": {0, true}, "negative zero": {math.Copysign(0, -1), true}, "one": {1, true},
		"largest": {math.MaxFloat64, true}, "most negative": {-math.MaxFloat64, true},
		"smallest subnormal": {math.SmallestNonzeroFloat64, true},
		"NaN":                {math.NaN(), false}, "+Inf": {math.Inf(1), false}, "-Inf": {math.Inf(-1), false},
	}
	for name, tc := range tests {
		if got := finite(tc.v); got != tc.want {
			t.Errorf("%s: finite(%v) = %v, want %v", name, tc.v, got, tc.want)
		}
	}
}

func TestDescribeBandScale(t *testing.T) {
	tests := map[string]struct {
		level, vol float64
		want       string
	}{
		"neither":        {0, 0, "nothing"},
		"the level":      {0.5, 0, "level^0.5"},
		"the volatility": {0, 1, "volatility^1"},
		"both":           {1, 0.5, "level^1 × volatility^0.5"},
	}
	for name, tc := range tests {
		if got := describeBandScale(tc.level, tc.vol); got != tc.want {
			t.Errorf("%s: describeBandScale(%v, %v) = %q, want %q", name, tc.level, tc.vol, got, tc.want)
		}
	}
}
