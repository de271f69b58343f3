package forecast

import (
	"slices"
	"testing"
	"time"
)

func TestForecastQuantilesMatchesForecast(t *testing.T) {
	hist := synth(3*1440, time.Minute, withNoise(sine(100, 30, 1440), 5, 7))
	for _, name := range []string{DefaultModel, Naive} {
		t.Run(name, func(t *testing.T) {
			m, err := New(name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			e, ok := m.(QuantileForecaster)
			if !ok {
				t.Fatalf("%s does not implement QuantileForecaster", name)
			}
			qs := []float64{0.9, 0.6, 0.99}
			point, upper, err := e.ForecastQuantiles(hist, 30, qs)
			if err != nil {
				t.Fatal(err)
			}
			for k, q := range qs {
				fc, err := m.Forecast(hist, 30, q)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(fc.Point, point) || !slices.Equal(fc.Upper, upper[k]) {
					t.Errorf("q=%v: ForecastQuantiles = %v / %v, Forecast = %v / %v", q, point[:3], upper[k][:3], fc.Point[:3], fc.Upper[:3])
				}
			}
			if !(upper[1][29] <= upper[0][29] && upper[0][29] <= upper[2][29]) {
				t.Errorf("bands not ordered by quantile at the last step: p60 %v, p90 %v, p99 %v", upper[1][29], upper[0][29], upper[2][29])
			}
			if _, _, err := e.ForecastQuantiles(hist, 30, []float64{0.9, 1.5}); err == nil {
				t.Error("ForecastQuantiles with quantile 1.5: no error")
			}
		})
	}
}
