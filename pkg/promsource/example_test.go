package promsource_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/kedastral/kedastral/pkg/promsource"
	"github.com/kedastral/kedastral/pkg/series"
)

// A back-fill of a week of history, keeping every sample that comes back and logging every
// error.
func ExampleSource_Fetch() {
	headers, err := promsource.ParseHeaders("X-Scope-OrgID=team-a") // KEDASTRAL_PROMETHEUS_HEADERS
	if err != nil {
		log.Fatal(err)
	}
	src, err := promsource.New(promsource.Options{URL: "http://mimir.monitoring:8080/prometheus", Headers: headers},
		`sum(rate(http_requests_total{job="checkout"}[1m]))`)
	if err != nil {
		log.Fatal(err)
	}
	history, err := series.NewBuffer(time.Minute, 7*24*60)
	if err != nil {
		log.Fatal(err)
	}

	now := time.Now()
	samples, err := src.Fetch(context.Background(), now.Add(-7*24*time.Hour), now, time.Minute)
	var bad *promsource.BadSamplesError
	switch {
	case errors.Is(err, promsource.ErrNoData):
		log.Printf("no history yet: %v", err)
	case errors.As(err, &bad):
		log.Printf("%d samples dropped: %v", bad.Count, err) // the others are fine
	case err != nil:
		log.Printf("back-fill: %v", err)
	}
	history.Add(samples) // samples is nil after a failure, and holds only finite values
}
