package forecast

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

// benchHistory is 14 days of 1-minute history (20,160 points): the NASA fixture repeated.
func benchHistory(b *testing.B) series.Series {
	b.Helper()
	trace := nasaFixture(b).Values
	vals := make([]float64, 14*24*60)
	for i := range vals {
		vals[i] = trace[i%len(trace)]
	}
	return series.Series{Start: synthStart, Step: time.Minute, Values: vals}
}

// BenchmarkFit measures each method's Fit on 14 days of 1-minute data with a daily and a weekly
// period: the expensive part, run at every refit.
func BenchmarkFit(b *testing.B) {
	h := benchHistory(b)
	periods := []int{1440, 10080}
	for _, name := range slices.Sorted(maps.Keys(methods)) {
		m := methods[name](Options{Window: DefaultWindow, Season: 24 * time.Hour})
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Fit(h, periods); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPredict measures each fitted method's 60-step Predict on the same history: the part
// run at every cycle.
func BenchmarkPredict(b *testing.B) {
	h := benchHistory(b)
	periods := []int{1440, 10080}
	dst := make([]float64, 60)
	for name, newMethod := range methods {
		p, err := newMethod(Options{Window: DefaultWindow, Season: 24 * time.Hour}).Fit(h, periods)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Predict(h, dst)
			}
		})
	}
}

// BenchmarkRefit measures a full refit of auto — period detection, every method fitted twice,
// the held-out errors, weights and band — on 14 days of 1-minute data, horizon 60.
func BenchmarkRefit(b *testing.B) {
	h := benchHistory(b)
	b.ReportAllocs()
	for b.Loop() {
		m, err := New(Auto, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Forecast(h, 60, 0.9); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForecast measures one Forecast call between refits, as the agent makes it every
// cycle: the weighted Predicts and the band, on 14 days of 1-minute history, horizon 60.
func BenchmarkForecast(b *testing.B) {
	h := benchHistory(b)
	for _, name := range Names() {
		m, err := New(name, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Forecast(h, 60, 0.9); err != nil { // the refit, outside the loop
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Forecast(h, 60, 0.9); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
