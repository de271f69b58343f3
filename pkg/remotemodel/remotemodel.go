// Package remotemodel is the bring-your-own-model forecaster: it sends the workload's recent
// history to a user's HTTP endpoint and takes the forecast it answers with. It is the one
// forecaster that does I/O, which is why it lives outside pkg/forecast.
//
// The contract (POST, Content-Type: application/json):
//
//	request:  {"start": "2026-11-26T12:00:00Z", "step": "1m0s", "values": [12.5, null, 14],
//	           "horizon": 30, "quantile": 0.9}
//	response: {"point": [15.1, ...], "upper": [19.7, ...]}
//
// values[i] is the sample at start + i×step, null where it is missing; the forecast is for the
// horizon steps after the last one. point and upper must each hold horizon finite values >= 0,
// with upper[i] >= point[i]; upper may be omitted, and is then equal to point (the plan's
// headroom is the only margin). Any other answer — a status other than 200, a timeout, a body
// that does not decode, a wrong length, a NaN — is an error naming the endpoint and the problem;
// the agent then publishes nothing new and the last plan expires as with any other failure.
package remotemodel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/series"
)

// Name is the model name that selects this forecaster (KEDASTRAL_MODEL=http).
const Name = "http"

// maxResponse bounds the answer read, so that a misbehaving endpoint cannot exhaust memory.
const maxResponse = 4 << 20

// Model posts histories to an endpoint. It is safe for concurrent use. Each call is bounded by
// the timeout given to New rather than by a context: forecast.Model takes none, since every
// other model is pure computation.
type Model struct {
	url    string
	client *http.Client
}

var _ forecast.Model = (*Model)(nil)

// New returns a Model for endpoint (http or https) with a per-request timeout.
func New(endpoint string, timeout time.Duration) (*Model, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("model endpoint %q must be an http or https URL", endpoint)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("model endpoint timeout must be > 0 (got %v)", timeout)
	}
	return &Model{url: endpoint, client: &http.Client{Timeout: timeout}}, nil
}

func (m *Model) Name() string { return Name }

type request struct {
	Start    time.Time  `json:"start"`
	Step     string     `json:"step"`
	Values   []*float64 `json:"values"`
	Horizon  int        `json:"horizon"`
	Quantile float64    `json:"quantile"`
}

type response struct {
	Point []float64 `json:"point"`
	Upper []float64 `json:"upper"`
}

// Forecast implements forecast.Model.
func (m *Model) Forecast(history series.Series, horizon int, quantile float64) (forecast.Forecast, error) {
	if horizon < 1 {
		return forecast.Forecast{}, fmt.Errorf("forecast %s: horizon must be >= 1 (got %d)", Name, horizon)
	}
	req := request{Start: history.Start.UTC(), Step: history.Step.String(), Horizon: horizon, Quantile: quantile,
		Values: make([]*float64, history.Len())}
	for i, v := range history.Values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			req.Values[i] = &history.Values[i]
		}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return forecast.Forecast{}, fmt.Errorf("forecast %s: encode request: %w", Name, err)
	}
	resp, err := m.client.Post(m.url, "application/json", bytes.NewReader(body))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			return forecast.Forecast{}, fmt.Errorf("forecast %s: %s did not answer within %v", Name, m.url, m.client.Timeout)
		}
		return forecast.Forecast{}, fmt.Errorf("forecast %s: %w", Name, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return forecast.Forecast{}, fmt.Errorf("forecast %s: read answer of %s: %w", Name, m.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return forecast.Forecast{}, fmt.Errorf("forecast %s: %s answered %s: %s", Name, m.url, resp.Status, excerpt(data))
	}
	var out response
	if err := json.Unmarshal(data, &out); err != nil {
		return forecast.Forecast{}, fmt.Errorf("forecast %s: %s answered a body that is not the documented JSON: %w", Name, m.url, err)
	}
	if out.Upper == nil {
		out.Upper = out.Point
	}
	if err := check(out, horizon); err != nil {
		return forecast.Forecast{}, fmt.Errorf("forecast %s: %s: %w", Name, m.url, err)
	}
	return forecast.Forecast{Point: out.Point, Upper: out.Upper}, nil
}

// check enforces the forecast.Forecast contract on an answer.
func check(r response, horizon int) error {
	if len(r.Point) != horizon || len(r.Upper) != horizon {
		return fmt.Errorf("answer has %d point and %d upper values, want %d each", len(r.Point), len(r.Upper), horizon)
	}
	for i := range r.Point {
		p, u := r.Point[i], r.Upper[i]
		if math.IsNaN(p) || math.IsInf(p, 0) || p < 0 || math.IsNaN(u) || math.IsInf(u, 0) || u < p {
			return fmt.Errorf("step %d: point %v, upper %v: want finite values with 0 <= point <= upper", i, p, u)
		}
	}
	return nil
}

func excerpt(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
