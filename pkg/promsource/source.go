// Package promsource reads from a Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir,
// Cortex, VictoriaMetrics): the workload's metric as series samples (Fetch: one PromQL query,
// evaluated as a range query on a regular grid, that must produce exactly one series), and the
// workload's pod start-up times from kube-state-metrics (StartupTimes: an instant query, one
// series per pod).
//
// It owns the connection settings (Options), their validation, and the rules for turning an
// API answer into samples: long ranges split under the server's point limit, non-finite values
// dropped and reported, anything but exactly one series refused. It does no logging; what a
// caller may want to log comes back as errors.
package promsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/kedastral/kedastral/pkg/series"
)

// maxPoints is the most points one range query asks for. Prometheus refuses a range query
// whose (end-start)/step exceeds 11,000; staying at 11,000 points keeps clear of it.
const maxPoints = 11000

var (
	// ErrNoData is returned (wrapped) by Fetch when the query produces no series over the
	// range (a wrong metric name or label, a target that was not scraped, or the wrong
	// tenant), and by StartupTimes when its query finds no pod.
	ErrNoData = errors.New("no data")
	// ErrSeveralSeries is returned (wrapped) by Fetch when the query produces more than one
	// series; the error names some of them.
	ErrSeveralSeries = errors.New("want exactly one series: aggregate the query into one, e.g. with sum(...)")
	// ErrAnswerTooLarge is returned (wrapped) when one answer's body exceeds maxAnswer bytes.
	ErrAnswerTooLarge = fmt.Errorf("answer larger than %d MiB: does the query return many series? aggregate it into one, e.g. with sum(...)", maxAnswer>>20)
)

// maxAnswer bounds the body of one answer, which client_golang reads whole and decodes before
// Fetch can count its series. One series of 11,000 points, a request's most, is under half a
// megabyte of JSON; a query that forgot its sum() over a thousand pods is a hundred times more,
// and the agent, a small sidecar, would be killed for its memory before it could say why.
const maxAnswer = 8 << 20

// BadSamplesError reports samples whose value was NaN or ±Inf, such as a ratio whose
// denominator was 0. Fetch drops them and returns this error along with the finite samples,
// which are valid.
type BadSamplesError struct {
	Query string
	Count int       // samples dropped
	First time.Time // instant of the first sample dropped
}

func (e *BadSamplesError) Error() string {
	return fmt.Sprintf("query %q: dropped %d non-finite samples, the first at %s", e.Query, e.Count, e.First.UTC().Format(time.RFC3339))
}

// WarningsError carries the warnings and informational notes the server attached to its
// answers, such as Prometheus 3's note that rate() was applied to a metric that may not be a
// counter. Fetch returns it along with the samples, which are valid. (Thanos's partial
// answers, which would make the samples wrong, are refused: every request asks for
// partial_response=false, so a store that is down fails the request instead.)
type WarningsError struct {
	Query    string
	Warnings []string // distinct, in the order received; notes are prefixed "info: "
}

func (e *WarningsError) Error() string {
	return fmt.Sprintf("query %q: server warned: %s", e.Query, strings.Join(e.Warnings, "; "))
}

// Source evaluates one query against one server. It is safe for concurrent use.
type Source struct {
	api     v1.API
	query   string
	url     string // holds no credentials (Validate refuses them), so errors may show it
	timeout time.Duration
}

// New returns a Source for query, a PromQL expression that must produce exactly one series.
// It returns every problem with the options (see Options.Validate) together.
func New(o Options, query string) (*Source, error) {
	errs := o.Validate()
	if strings.TrimSpace(query) == "" {
		errs = append(errs, errors.New("query is empty"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cfg := o.httpClientConfig()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("prometheus client config: %w", err)
	}
	hc, err := config.NewClientFromConfig(cfg, "kedastral_promsource", config.WithUserAgent("kedastral"))
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	hc.Transport = answerTransport{next: hc.Transport}
	c, err := api.NewClient(api.Config{Address: o.URL, Client: hc})
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	return &Source{api: v1.NewAPI(c), query: query, url: o.URL, timeout: timeout}, nil
}

// Fetch evaluates the query at every instant in [start, end] that is a whole multiple of step
// (t.Truncate(step) == t, the grid series.Buffer files samples on), and returns the values in
// time order, at most one per instant. Instants where the query has no value are left out. A
// range holding no such instant returns no samples and no error. step must be a positive
// whole number of milliseconds, the server's resolution.
//
// Long ranges are split into requests of at most 11,000 points, the server's limit, made one
// after another; Options.Timeout bounds each request and ctx bounds them all.
//
// On failure Fetch returns nil samples and an error naming the query and the server:
//   - ErrNoData (wrapped) when the query produces no series over the range;
//   - ErrSeveralSeries (wrapped) when it produces more than one;
//   - otherwise an error from the request (unreachable server, timeout, an HTTP error status
//     with the server's message, a result that is not a matrix), with client_golang's
//     *v1.Error in its chain when the server answered.
//
// Fetch may also return samples together with an error that qualifies them: a *BadSamplesError
// for NaN and ±Inf values it dropped, a *WarningsError for warnings from the server, or both
// joined. The samples are then valid; find the errors with errors.As. A caller that keeps any
// samples it gets and logs any error it gets is right in every case.
//
// The returned slice belongs to the caller.
func (s *Source) Fetch(ctx context.Context, start, end time.Time, step time.Duration) ([]series.Sample, error) {
	if step <= 0 || step%time.Millisecond != 0 {
		return nil, fmt.Errorf("fetch %q: step must be a positive whole number of milliseconds (got %v)", s.query, step)
	}
	if end.Before(start) {
		return nil, fmt.Errorf("fetch %q: end %s is before start %s", s.query, stamp(end), stamp(start))
	}
	first, last := start.Truncate(step), end.Truncate(step)
	if first.Before(start) {
		first = first.Add(step)
	}
	if last.Before(first) {
		return nil, nil
	}

	var (
		samples  []series.Sample
		seen     []model.Metric // distinct series, at most one unless failing
		bad      *BadSamplesError
		warnings []string
	)
	// One request after another rather than in parallel: a week's back-fill at start should
	// not hit the server with a burst of heavy queries.
	points := int(last.Sub(first)/step) + 1 // grid points in [first, last]
	for i := 0; i < points; i += maxPoints {
		from := first.Add(time.Duration(i) * step)
		to := first.Add(time.Duration(min(i+maxPoints, points)-1) * step)
		m, warn, err := s.queryRange(ctx, v1.Range{Start: from, End: to, Step: step})
		if err != nil {
			return nil, err
		}
		for _, w := range warn {
			if !slices.Contains(warnings, w) {
				warnings = append(warnings, w)
			}
		}
		for _, ss := range m {
			if !slices.ContainsFunc(seen, ss.Metric.Equal) {
				seen = append(seen, ss.Metric)
			}
			if len(ss.Histograms) > 0 {
				return nil, fmt.Errorf("query %q on %s: series %s holds native histograms, want floats (use e.g. histogram_quantile or histogram_sum)", s.query, s.url, ss.Metric)
			}
		}
		if len(seen) > 1 {
			return nil, fmt.Errorf("query %q on %s: %d series (%s): %w", s.query, s.url, len(seen), listSeries(seen), ErrSeveralSeries)
		}
		if len(m) == 0 {
			continue
		}
		if samples == nil {
			samples = make([]series.Sample, 0, min(points, maxPoints))
		}
		for _, p := range m[0].Values {
			v := float64(p.Value)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				if bad == nil {
					bad = &BadSamplesError{Query: s.query, First: p.Timestamp.Time().UTC()}
				}
				bad.Count++
				continue
			}
			samples = append(samples, series.Sample{T: p.Timestamp.Time().UTC(), V: v})
		}
	}

	var errs []error
	if len(seen) == 0 {
		errs = append(errs, fmt.Errorf("query %q on %s from %s to %s: %w", s.query, s.url, stamp(first), stamp(last), ErrNoData))
	}
	if bad != nil {
		errs = append(errs, bad)
	}
	if len(warnings) > 0 {
		errs = append(errs, &WarningsError{Query: s.query, Warnings: warnings})
	}
	return samples, errors.Join(errs...)
}

// queryRange runs one range query, bounded by the source's timeout, and returns its matrix.
func (s *Source) queryRange(ctx context.Context, r v1.Range) (model.Matrix, v1.Warnings, error) {
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// A limit of 2 series (servers that do not know the parameter ignore it) is enough to
	// refuse a query that returns several, without the server sending them all.
	v, warn, infos, err := s.api.QueryRange(rctx, s.query, r, v1.WithLimit(2))
	warn = withInfos(warn, infos)
	if err != nil {
		return nil, nil, fmt.Errorf("query %q on %s from %s to %s step %v: %w", s.query, s.url, stamp(r.Start), stamp(r.End), r.Step, s.explain(ctx, err))
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, nil, fmt.Errorf("query %q on %s: result is a %s, want a matrix", s.query, s.url, valueType(v))
	}
	return m, warn, nil
}

// explain makes an API error say what happened: that the source's own timeout, not the
// caller, ended the request, or the server's reason for a status the client does not decode.
func (s *Source) explain(caller context.Context, err error) error {
	var apiErr *v1.Error
	switch {
	case caller.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer within %v: %w", s.timeout, err)
	case errors.As(err, &apiErr) && apiErr.Detail != "":
		return &responseError{apiErr}
	}
	return err
}

// valueType names the type of a query result for an error message.
func valueType(v model.Value) string {
	if v == nil {
		return "empty"
	}
	return v.Type().String()
}

// responseError adds the server's reason to a client_golang error for an HTTP status the
// client does not decode (all but 400 and 422), whose message alone is "server error: 503".
// The reason is Prometheus's error JSON (query timeouts come as 503) or a proxy's page.
type responseError struct{ err *v1.Error }

func (e *responseError) Error() string { return e.err.Error() + ": " + reason(e.err.Detail) }
func (e *responseError) Unwrap() error { return e.err }

// reason summarizes an error response body on one line.
func reason(body string) string {
	var promErr struct {
		Type  string `json:"errorType"`
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(body), &promErr) == nil && promErr.Error != "" {
		return promErr.Type + ": " + promErr.Error
	}
	const maxLen = 200
	body = strings.Join(strings.Fields(body), " ")
	if len(body) > maxLen {
		body = strings.ToValidUTF8(body[:maxLen], "") + "..."
	}
	return body
}

// listSeries names the first few series for an error message.
func listSeries(ms []model.Metric) string {
	const show = 5
	names := make([]string, 0, show+1)
	for _, m := range ms[:min(len(ms), show)] {
		names = append(names, m.String())
	}
	if len(ms) > show {
		names = append(names, fmt.Sprintf("and %d more", len(ms)-show))
	}
	return strings.Join(names, ", ")
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// withInfos appends the server's informational notes to its warnings, each prefixed "info: ".
func withInfos(warn v1.Warnings, infos v1.Infos) v1.Warnings {
	for _, i := range infos {
		warn = append(warn, "info: "+i)
	}
	return warn
}

// answerTransport makes every request refuse partial answers and bounds every answer's body.
//
// Thanos answers by default with what the stores it could reach hold, and a warning, when one
// is down: a sum() over part of the pods, which would enter the history as a real fall in
// load and shrink the plan. partial_response=false makes such a request fail instead (the
// agent then keeps its last plan until it is stale). Prometheus and the others ignore the
// parameter. It goes in the URL, which Thanos reads for GET and POST alike.
type answerTransport struct{ next http.RoundTripper }

func (t answerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	q := r.URL.Query()
	q.Set("partial_response", "false")
	r.URL.RawQuery = q.Encode()
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, left: maxAnswer}
	return resp, nil
}

// cappedBody fails with ErrAnswerTooLarge once more than left bytes have been read.
type cappedBody struct {
	io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, ErrAnswerTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	if b.left -= int64(n); b.left < 0 {
		return n, ErrAnswerTooLarge
	}
	return n, err
}
