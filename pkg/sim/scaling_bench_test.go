package sim

import (
	"math"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// BenchmarkScale simulates 30 days of 1-minute data (after a 1-day warmup) with all three
// policies and the naive model, so that it measures the simulator rather than a forecaster: the
// forecasting pass of a model costs what that model's Forecast costs (see pkg/forecast's
// benchmarks and the forecastSeconds that agent backtest --simulate reports).
func BenchmarkScale(b *testing.B) {
	n := 31 * 1440
	v := make([]float64, n)
	for i := range v {
		v[i] = 100 + 60*math.Sin(2*math.Pi*float64(i)/1440) + 10*math.Sin(float64(i)*0.7)
	}
	s := series.Series{Start: simStart, Step: time.Minute, Values: v}
	cfg := testScaling()
	for _, sweep := range []struct {
		name       string
		reactive   []float64
		predictive []Setting
	}{
		{"one setting each", []float64{1}, []Setting{{Quantile: 0.9, Headroom: 1}}},
		{"default sweep", []float64{1, 0.9, 0.8, 0.7, 0.6, 0.5}, sweepSettings()},
	} {
		b.Run(sweep.name, func(b *testing.B) {
			cfg.Reactive, cfg.Predictive = sweep.reactive, sweep.predictive
			b.ReportAllocs()
			for b.Loop() {
				res, err := Scale(b.Context(), s, naive, cfg, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(res.ForecastSeconds, "forecast-s/op")
				b.ReportMetric(res.SimulateSeconds, "simulate-s/op")
			}
		})
	}
}

func sweepSettings() []Setting {
	var out []Setting
	for _, q := range []float64{0, 0.8, 0.9, 0.95, 0.99} {
		for _, h := range []float64{1, 1.02, 1.05, 1.1, 1.15, 1.2, 1.25, 1.35, 1.5, 1.75, 2} {
			out = append(out, Setting{Quantile: q, Headroom: h})
		}
	}
	return out
}
