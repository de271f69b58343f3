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
// horizon steps after the last one. point and upper must each hold horizon finite values >= 0
// (no null), with upper[i] >= point[i]; upper may be omitted, and is then equal to point (the
// plan's headroom is the only margin). Any other answer — a status other than 200, a timeout, a
// body over 4 MiB or that does not decode, a wrong length, a null or NaN — is an error naming
// the endpoint and the problem; the agent then publishes nothing new and the last plan expires
// as with any other failure.
//
// The endpoint may ask for a bearer token (Options.BearerTokenFile, read at every request so
// that a rotated token is picked up). Credentials in the URL are refused, and errors show the
// URL without its query, so that neither reaches logs or the agent's /status page.
package remotemodel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/prometheus/common/config"

	"github.com/kedastral/kedastral/pkg/forecast"
	"github.com/kedastral/kedastral/pkg/series"
)

// Name is the model name that selects this forecaster (KEDASTRAL_MODEL=http).
const Name = "http"

// maxResponse bounds the answer read, so that a misbehaving endpoint cannot exhaust memory.
const maxResponse = 4 << 20

// Model posts histories to an endpoint. It is safe for concurrent use. Each call is bounded by
// Options.Timeout and ends with Options.Context: forecast.Model's calls take no context, since
// every other model is pure computation, so the process's own context is given once, here.
type Model struct {
	url    string
	shown  string // url for messages: without its query, which may hold a key
	client *http.Client
	ctx    context.Context
}

var _ forecast.Model = (*Model)(nil)

// Options say where the model is and how to reach it. They are the agent's KEDASTRAL_MODEL_*
// settings, which New's errors name.
type Options struct {
	// URL is the endpoint, http or https, without credentials.
	URL string
	// Timeout bounds each request (> 0).
	Timeout time.Duration
	// BearerTokenFile, when set, holds a token sent as "Authorization: Bearer <token>".
	BearerTokenFile string
	// Context, when set, ends every request in flight once it is done, so that a shutdown does
	// not wait out Timeout on a slow endpoint. Nil means context.Background().
	Context context.Context
}

// New returns a Model for the options, or every problem with them.
func New(o Options) (*Model, error) {
	var errs []error
	u, err := url.Parse(o.URL)
	switch {
	case o.URL == "":
		errs = append(errs, errors.New("KEDASTRAL_MODEL_URL is required"))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		// Not the URL itself: it may hold credentials.
		errs = append(errs, errors.New("KEDASTRAL_MODEL_URL must be an http or https URL"))
	case u.User != nil:
		errs = append(errs, fmt.Errorf("KEDASTRAL_MODEL_URL %s must not hold credentials; use KEDASTRAL_MODEL_BEARER_TOKEN_FILE", show(u)))
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("KEDASTRAL_MODEL_TIMEOUT must be > 0 (got %v)", o.Timeout))
	}
	cfg := config.DefaultHTTPClientConfig
	cfg.ProxyFromEnvironment = true // HTTP(S)_PROXY and NO_PROXY, as Go's default client obeys
	if o.BearerTokenFile != "" {
		if f, err := os.Open(o.BearerTokenFile); err != nil {
			errs = append(errs, fmt.Errorf("KEDASTRAL_MODEL_BEARER_TOKEN_FILE: %w", err))
		} else {
			f.Close()
		}
		cfg.Authorization = &config.Authorization{Type: "Bearer", CredentialsFile: o.BearerTokenFile}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	client, err := config.NewClientFromConfig(cfg, "kedastral_remotemodel", config.WithUserAgent("kedastral"))
	if err != nil {
		return nil, fmt.Errorf("model endpoint client: %w", err)
	}
	client.Timeout = o.Timeout
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	return &Model{url: o.URL, shown: show(u), client: client, ctx: ctx}, nil
}

// show is u as errors may print it: no credentials, and "?…" for a query.
func show(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if u.RawQuery != "" {
		return v.String() + "?…"
	}
	return v.String()
}

func (m *Model) Name() string { return Name }

type request struct {
	Start    time.Time  `json:"start"`
	Step     string     `json:"step"`
	Values   []*float64 `json:"values"`
	Horizon  int        `json:"horizon"`
	Quantile float64    `json:"quantile"`
}

// response is the answer as sent: a null is a missing value, which is an error, not the 0
// that encoding/json would make of it in a []float64.
type response struct {
	Point []*float64 `json:"point"`
	Upper []*float64 `json:"upper"`
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
	hreq, err := http.NewRequestWithContext(m.ctx, http.MethodPost, m.url, bytes.NewReader(body))
	if err != nil {
		return forecast.Forecast{}, fmt.Errorf("forecast %s: %s: %w", Name, m.shown, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := m.client.Do(hreq)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			if ue.Timeout() && m.ctx.Err() == nil {
				return forecast.Forecast{}, fmt.Errorf("forecast %s: %s did not answer within %v", Name, m.shown, m.client.Timeout)
			}
			err = ue.Err // url.Error repeats the whole URL
		}
		return forecast.Forecast{}, fmt.Errorf("forecast %s: %s: %w", Name, m.shown, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return forecast.Forecast{}, fmt.Errorf("forecast %s: read answer of %s: %w", Name, m.shown, err)
	}
	if resp.StatusCode != http.StatusOK {
		return forecast.Forecast{}, fmt.Errorf("forecast %s: %s answered %s: %s", Name, m.shown, resp.Status, excerpt(data))
	}
	if len(data) > maxResponse {
		return forecast.Forecast{}, fmt.Errorf("forecast %s: %s answered more than %d MiB, want %d values of each", Name, m.shown, maxResponse>>20, horizon)
	}
	var out response
	if err := json.Unmarshal(data, &out); err != nil {
		return forecast.Forecast{}, fmt.Errorf("forecast %s: %s answered a body that is not the documented JSON: %w", Name, m.shown, err)
	}
	if out.Upper == nil {
		out.Upper = out.Point
	}
	fc, err := check(out, horizon)
	if err != nil {
		return forecast.Forecast{}, fmt.Errorf("forecast %s: %s: %w", Name, m.shown, err)
	}
	return fc, nil
}

// check enforces the forecast.Forecast contract on an answer and returns it as a forecast.
func check(r response, horizon int) (forecast.Forecast, error) {
	if len(r.Point) != horizon || len(r.Upper) != horizon {
		return forecast.Forecast{}, fmt.Errorf("answer has %d point and %d upper values, want %d each", len(r.Point), len(r.Upper), horizon)
	}
	fc := forecast.Forecast{Point: make([]float64, horizon), Upper: make([]float64, horizon)}
	for i := range r.Point {
		if r.Point[i] == nil || r.Upper[i] == nil {
			return forecast.Forecast{}, fmt.Errorf("step %d: point or upper is null: want a value at every step", i)
		}
		p, u := *r.Point[i], *r.Upper[i]
		if math.IsNaN(p) || math.IsInf(p, 0) || p < 0 || math.IsNaN(u) || math.IsInf(u, 0) || u < p {
			return forecast.Forecast{}, fmt.Errorf("step %d: point %v, upper %v: want finite values with 0 <= point <= upper", i, p, u)
		}
		fc.Point[i], fc.Upper[i] = p, u
	}
	return fc, nil
}

func excerpt(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
