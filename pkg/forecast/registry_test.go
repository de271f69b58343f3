package forecast_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kedastral/kedastral/pkg/forecast"
)

func TestNames(t *testing.T) {
	got := forecast.Names()
	want := []string{forecast.Analog, forecast.ARIMA, forecast.Auto, forecast.DHR, forecast.DSHW, forecast.FFTDSP, forecast.HoltWinters,
		forecast.MSTL, forecast.Naive, forecast.RobustLevel, forecast.SARIMA, forecast.SeasonalNaive, forecast.SeasonalNaiveWeek}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}
	if !slices.IsSorted(got) {
		t.Errorf("Names() = %v, want sorted", got)
	}
	if !slices.Contains(got, forecast.DefaultModel) {
		t.Errorf("Names() = %v, want it to contain DefaultModel %q", got, forecast.DefaultModel)
	}
}

func TestNew(t *testing.T) {
	tests := map[string]struct {
		name    string
		opts    forecast.Options
		wantErr []string // substrings of the error; nil for success
	}{
		"seasonal naive":         {name: forecast.SeasonalNaive},
		"robust level":           {name: forecast.RobustLevel},
		"default model":          {name: forecast.DefaultModel},
		"every option set":       {name: forecast.RobustLevel, opts: forecast.Options{Season: 7 * 24 * time.Hour, Window: 31}},
		"unknown name":           {name: "prophet", wantErr: []string{`"prophet"`, "robust_level, sarima, seasonal_naive"}},
		"every method":           {name: forecast.MSTL},
		"negative refit":         {name: forecast.Auto, opts: forecast.Options{RefitEvery: -time.Hour}, wantErr: []string{"refit interval must be >= 0"}},
		"zero period":            {name: forecast.Auto, opts: forecast.Options{Periods: []time.Duration{0}}, wantErr: []string{"periods must be > 0"}},
		"empty name":             {name: "", wantErr: []string{`""`, "known:"}},
		"name is case sensitive": {name: "Seasonal_Naive", wantErr: []string{"unknown"}},
		"negative season":        {name: forecast.SeasonalNaive, opts: forecast.Options{Season: -time.Hour}, wantErr: []string{"season", "-1h0m0s"}},
		"negative window":        {name: forecast.RobustLevel, opts: forecast.Options{Window: -1}, wantErr: []string{"window", "-1"}},
	}
	for tname, tc := range tests {
		t.Run(tname, func(t *testing.T) {
			m, err := forecast.New(tc.name, tc.opts)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("New(%q, %+v) error = %v, want none", tc.name, tc.opts, err)
				}
				if m.Name() != tc.name {
					t.Errorf("New(%q, %+v).Name() = %q, want %q", tc.name, tc.opts, m.Name(), tc.name)
				}
				return
			}
			if err == nil {
				t.Fatalf("New(%q, %+v) = %v, want an error", tc.name, tc.opts, m)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("New(%q, %+v) error = %q, want it to contain %q", tc.name, tc.opts, err, s)
				}
			}
		})
	}
}

// TestNewDefaults checks that zero options mean the documented defaults, by comparing
// forecasts with those of explicitly set ones.
func TestNewDefaults(t *testing.T) {
	history := newSeries(time.Minute, periodic(0, 3*1440, 1440, func(p int) float64 { return float64(p%89) + float64(p%7) })...)
	explicit := forecast.Options{Season: 24 * time.Hour, Window: forecast.DefaultWindow}
	for _, name := range forecast.Names() {
		t.Run(name, func(t *testing.T) {
			got, err := mustNew(t, name, forecast.Options{}).Forecast(history, 20, 0.9)
			if err != nil {
				t.Fatal(err)
			}
			want, err := mustNew(t, name, explicit).Forecast(history, 20, 0.9)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Forecast with zero Options mismatch with explicit defaults (-want +got):\n%s", diff)
			}
		})
	}
}
