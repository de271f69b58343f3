package promsource

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/kedastral/kedastral/pkg/series"
	"github.com/kedastral/kedastral/test/testserver"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

const testQuery = `sum(rate(http_requests_total{job="checkout"}[1m]))`

// stream is one series of a fake answer; values are at t0, t0+1m, ...
type stream struct {
	labels map[string]string
	values []float64
}

// answer is the JSON body of a successful range query returning the streams.
func answer(warnings []string, streams ...stream) string {
	type result struct {
		Metric map[string]string `json:"metric"`
		Values [][2]any          `json:"values"`
	}
	results := []result{}
	for _, s := range streams {
		r := result{Metric: map[string]string{}, Values: [][2]any{}}
		maps.Copy(r.Metric, s.labels)
		for i, v := range s.values {
			r.Values = append(r.Values, [2]any{t0.Add(time.Duration(i) * time.Minute).Unix(), strconv.FormatFloat(v, 'f', -1, 64)})
		}
		results = append(results, r)
	}
	body, err := json.Marshal(map[string]any{
		"status":   "success",
		"warnings": warnings,
		"data":     map[string]any{"resultType": "matrix", "result": results},
	})
	if err != nil {
		panic(err)
	}
	return string(body)
}

// serve starts an httptest server with h and returns a Source for testQuery against it.
func serve(t *testing.T, o Options, h http.HandlerFunc) (*Source, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	o.URL = srv.URL
	src, err := New(o, testQuery)
	if err != nil {
		t.Fatalf("New(%+v) error = %v", o, err)
	}
	return src, srv
}

func reply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

func TestFetchErrors(t *testing.T) {
	many := make([]stream, 8)
	for i := range many {
		many[i] = stream{labels: map[string]string{"pod": fmt.Sprintf("checkout-%d", i)}, values: []float64{1}}
	}
	// A query that forgot its sum() over 500 pods: a day of minutes each, 13 MiB of JSON.
	huge := make([]stream, 500)
	for i := range huge {
		huge[i] = stream{labels: map[string]string{"pod": fmt.Sprintf("checkout-%d", i)}, values: make([]float64, 1440)}
	}
	tests := map[string]struct {
		handler     http.HandlerFunc
		wantIs      error
		wantAPIType v1.ErrorType // when set, a *v1.Error of this type must be in the chain
		wantMsg     []string
	}{
		"an answer too large to hold": {
			handler: reply(200, answer(nil, huge...)),
			wantIs:  ErrAnswerTooLarge,
			wantMsg: []string{"answer larger than 8 MiB: does the query return many series?"},
		},
		"no series": {
			handler: reply(200, answer(nil)),
			wantIs:  ErrNoData,
			wantMsg: []string{"from 2026-11-26T12:00:00Z to 2026-11-26T12:04:00Z: no data"},
		},
		"two series": {
			handler: reply(200, answer(nil,
				stream{labels: map[string]string{"pod": "a"}, values: []float64{1}},
				stream{labels: map[string]string{"pod": "b"}, values: []float64{2}})),
			wantIs:  ErrSeveralSeries,
			wantMsg: []string{`2 series ({pod="a"}, {pod="b"}): want exactly one series: aggregate the query into one, e.g. with sum(...)`},
		},
		"many series are capped": {
			handler: reply(200, answer(nil, many...)),
			wantIs:  ErrSeveralSeries,
			wantMsg: []string{`8 series ({pod="checkout-0"}, {pod="checkout-1"}, {pod="checkout-2"}, {pod="checkout-3"}, {pod="checkout-4"}, and 3 more)`},
		},
		"vector instead of matrix": {
			handler: reply(200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1795694400,"1"]}]}}`),
			wantMsg: []string{"result is a vector, want a matrix"},
		},
		"native histograms": {
			handler: reply(200, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"histograms":[[1795694400,{"count":"1","sum":"1","buckets":[]}]]}]}}`),
			wantMsg: []string{"series {} holds native histograms, want floats"},
		},
		"500 with a plain body": {
			handler:     reply(500, "upstream exploded\n"),
			wantAPIType: v1.ErrServer,
			wantMsg:     []string{"server_error: server error: 500: upstream exploded"},
		},
		"503 with prometheus's timeout": {
			handler:     reply(503, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`),
			wantAPIType: v1.ErrServer,
			wantMsg:     []string{"server error: 503: timeout: query timed out in expression evaluation"},
		},
		"400 bad data": {
			handler:     reply(400, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected <EOF>"}`),
			wantAPIType: v1.ErrBadData,
			wantMsg:     []string{`bad_data: invalid parameter "query": 1:5: parse error: unexpected <EOF>`},
		},
		"422 execution": {
			handler:     reply(422, `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}`),
			wantAPIType: v1.ErrExec,
			wantMsg:     []string{"execution: query processing would load too many samples into memory"},
		},
		"404 from a proxy": {
			handler:     reply(404, "<html><body>\n<h1>Not Found</h1>\n</body></html>"),
			wantAPIType: v1.ErrClient,
			wantMsg:     []string{"client error: 404: <html><body> <h1>Not Found</h1> </body></html>"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src, srv := serve(t, Options{BasicAuthUsername: "kedastral", BasicAuthPassword: "hunter2"}, tc.handler)
			got, err := src.Fetch(t.Context(), t0, t0.Add(4*time.Minute), time.Minute)
			if err == nil {
				t.Fatalf("Fetch() = %v, nil error; want an error", got)
			}
			if got != nil {
				t.Errorf("Fetch() samples = %v, want nil with error %v", got, err)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Fetch() error = %v, want one wrapping %v", err, tc.wantIs)
			}
			if tc.wantAPIType != "" {
				var apiErr *v1.Error
				if !errors.As(err, &apiErr) || apiErr.Type != tc.wantAPIType {
					t.Errorf("Fetch() error = %v, want a *v1.Error of type %s in its chain", err, tc.wantAPIType)
				}
			}
			msg := err.Error()
			for _, want := range append(tc.wantMsg, fmt.Sprintf("query %q on %s", testQuery, srv.URL)) {
				if !strings.Contains(msg, want) {
					t.Errorf("Fetch() error = %q, want it to contain %q", msg, want)
				}
			}
			if strings.Contains(msg, "hunter2") {
				t.Errorf("Fetch() error = %q shows the password", msg)
			}
		})
	}
}

func TestFetchTimeout(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		// The server notices the client hanging up only once the request body is read.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	tests := map[string]struct {
		timeout    time.Duration // Options.Timeout
		ctxTimeout time.Duration
		wantMsg    string
	}{
		"request timeout":  {timeout: 100 * time.Millisecond, ctxTimeout: 10 * time.Second, wantMsg: "no answer within 100ms"},
		"context deadline": {timeout: 10 * time.Second, ctxTimeout: 100 * time.Millisecond, wantMsg: "context deadline exceeded"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src, srv := serve(t, Options{Timeout: tc.timeout}, slow)
			ctx, cancel := context.WithTimeout(t.Context(), tc.ctxTimeout)
			defer cancel()
			begin := time.Now()
			_, err := src.Fetch(ctx, t0, t0.Add(time.Hour), time.Minute)
			if elapsed := time.Since(begin); elapsed > 5*time.Second {
				t.Errorf("Fetch() took %v, want it to give up after about 100ms", elapsed)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Fetch() error = %v, want one wrapping %v", err, context.DeadlineExceeded)
			}
			for _, want := range []string{tc.wantMsg, fmt.Sprintf("query %q on %s", testQuery, srv.URL)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Fetch() error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestFetchUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	src, err := New(Options{URL: url}, testQuery)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	_, err = src.Fetch(t.Context(), t0, t0.Add(time.Hour), time.Minute)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), fmt.Sprintf("query %q on %s", testQuery, url)) {
		t.Errorf("Fetch() error = %v, want connection refused naming the query and %s", err, url)
	}
}

func TestFetchSoftErrors(t *testing.T) {
	tests := map[string]struct {
		body         string
		want         []series.Sample
		wantBad      *BadSamplesError
		wantWarnings []string
	}{
		"clean": {
			body: answer(nil, stream{values: []float64{1, 2}}),
			want: []series.Sample{{T: t0, V: 1}, {T: t0.Add(time.Minute), V: 2}},
		},
		"nan and inf are dropped, the rest kept": {
			body:    answer(nil, stream{values: []float64{1, math.NaN(), 3, math.Inf(1), math.Inf(-1), 6}}),
			want:    []series.Sample{{T: t0, V: 1}, {T: t0.Add(2 * time.Minute), V: 3}, {T: t0.Add(5 * time.Minute), V: 6}},
			wantBad: &BadSamplesError{Query: testQuery, Count: 3, First: t0.Add(time.Minute)},
		},
		"only nan": {
			body:    answer(nil, stream{values: []float64{math.NaN()}}),
			wantBad: &BadSamplesError{Query: testQuery, Count: 1, First: t0},
		},
		"warnings": {
			body:         answer([]string{"partial response: store unavailable"}, stream{values: []float64{1}}),
			want:         []series.Sample{{T: t0, V: 1}},
			wantWarnings: []string{"partial response: store unavailable"},
		},
		"infos": {
			body: strings.Replace(answer(nil, stream{values: []float64{1}}), `"status"`,
				`"infos":["PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"cpu\""],"status"`, 1),
			want:         []series.Sample{{T: t0, V: 1}},
			wantWarnings: []string{`info: PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "cpu"`},
		},
		"warnings and nan": {
			body:         answer([]string{"w1", "w2"}, stream{values: []float64{math.NaN(), 2}}),
			want:         []series.Sample{{T: t0.Add(time.Minute), V: 2}},
			wantBad:      &BadSamplesError{Query: testQuery, Count: 1, First: t0},
			wantWarnings: []string{"w1", "w2"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src, _ := serve(t, Options{}, reply(200, tc.body))
			got, err := src.Fetch(t.Context(), t0, t0.Add(10*time.Minute), time.Minute)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Fetch() samples mismatch (-want +got):\n%s", diff)
			}
			var bad *BadSamplesError
			if errors.As(err, &bad) != (tc.wantBad != nil) {
				t.Errorf("Fetch() error = %v, want *BadSamplesError: %v", err, tc.wantBad != nil)
			} else if diff := cmp.Diff(tc.wantBad, bad); diff != "" {
				t.Errorf("Fetch() *BadSamplesError mismatch (-want +got):\n%s", diff)
			}
			var warn *WarningsError
			if errors.As(err, &warn) != (tc.wantWarnings != nil) {
				t.Errorf("Fetch() error = %v, want *WarningsError: %v", err, tc.wantWarnings != nil)
			} else if warn != nil {
				if diff := cmp.Diff(tc.wantWarnings, warn.Warnings); diff != "" {
					t.Errorf("Fetch() warnings mismatch (-want +got):\n%s", diff)
				}
			}
			if tc.wantBad == nil && tc.wantWarnings == nil && err != nil {
				t.Errorf("Fetch() error = %v, want nil", err)
			}
		})
	}
}

// rangeServer is a fake Prometheus that records the ranges asked for and answers every range
// query like Prometheus does: one point per step from start to end, here with the value t.
type rangeServer struct {
	mu     sync.Mutex
	ranges []v1.Range
}

func (rs *rangeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	parse := func(key string) time.Duration {
		f, _ := strconv.ParseFloat(r.Form.Get(key), 64)
		return time.Duration(math.Round(f*1e3)) * time.Millisecond
	}
	start, end, step := time.Unix(0, 0).Add(parse("start")), time.Unix(0, 0).Add(parse("end")), parse("step")
	rs.mu.Lock()
	rs.ranges = append(rs.ranges, v1.Range{Start: start, End: end, Step: step})
	rs.mu.Unlock()
	if step <= 0 || end.Sub(start)/step > 11000 {
		reply(400, `{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}`)(w, r)
		return
	}
	var values [][2]any
	for ts := start; !ts.After(end); ts = ts.Add(step) {
		sec := float64(ts.UnixMilli()) / 1e3
		values = append(values, [2]any{sec, strconv.FormatFloat(sec, 'f', -1, 64)})
	}
	body, _ := json.Marshal(map[string]any{"status": "success", "data": map[string]any{
		"resultType": "matrix",
		"result":     []any{map[string]any{"metric": map[string]string{}, "values": values}},
	}})
	w.Write(body)
}

func TestFetchChunks(t *testing.T) {
	tests := map[string]struct {
		start, end   time.Time
		step         time.Duration
		wantFirst    time.Time // first grid point
		wantPoints   int
		wantRequests int
	}{
		"7 days at 1m fit one request": {
			start: t0.Add(-7 * 24 * time.Hour), end: t0, step: time.Minute,
			wantFirst: t0.Add(-7 * 24 * time.Hour), wantPoints: 10081, wantRequests: 1,
		},
		"7 days at 15s take four": {
			start: t0.Add(-7 * 24 * time.Hour), end: t0, step: 15 * time.Second,
			wantFirst: t0.Add(-7 * 24 * time.Hour), wantPoints: 40321, wantRequests: 4,
		},
		"exactly 11000 points": {
			start: t0, end: t0.Add(10999 * time.Second), step: time.Second,
			wantFirst: t0, wantPoints: 11000, wantRequests: 1,
		},
		"11001 points": {
			start: t0, end: t0.Add(11000 * time.Second), step: time.Second,
			wantFirst: t0, wantPoints: 11001, wantRequests: 2,
		},
		"unaligned ends snap inward to the grid": {
			start: t0.Add(7 * time.Second), end: t0.Add(30*24*time.Hour + 59*time.Second), step: time.Minute,
			wantFirst: t0.Add(time.Minute), wantPoints: 30 * 24 * 60, wantRequests: 4,
		},
		"one instant": {
			start: t0, end: t0, step: time.Minute,
			wantFirst: t0, wantPoints: 1, wantRequests: 1,
		},
		"no grid point in range": {
			start: t0.Add(time.Second), end: t0.Add(59 * time.Second), step: time.Minute,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rs := &rangeServer{}
			src, _ := serve(t, Options{}, rs.ServeHTTP)
			got, err := src.Fetch(t.Context(), tc.start, tc.end, tc.step)
			if err != nil {
				t.Fatalf("Fetch(%v, %v, %v) error = %v", tc.start, tc.end, tc.step, err)
			}

			var want []series.Sample
			for i := range tc.wantPoints {
				ts := tc.wantFirst.Add(time.Duration(i) * tc.step)
				want = append(want, series.Sample{T: ts, V: float64(ts.UnixMilli()) / 1e3})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Fetch(%v, %v, %v) mismatch (-want +got):\n%s", tc.start, tc.end, tc.step, diff)
			}

			if len(rs.ranges) != tc.wantRequests {
				t.Errorf("Fetch(%v, %v, %v) made %d requests, want %d", tc.start, tc.end, tc.step, len(rs.ranges), tc.wantRequests)
			}
			for i, r := range rs.ranges {
				if r.Step != tc.step {
					t.Errorf("request %d step = %v, want %v", i, r.Step, tc.step)
				}
				if n := int(r.End.Sub(r.Start)/r.Step) + 1; n > 11000 {
					t.Errorf("request %d asks for %d points (%v to %v), want at most 11000", i, n, r.Start, r.End)
				}
				if i > 0 {
					if prev := rs.ranges[i-1]; !r.Start.Equal(prev.End.Add(tc.step)) {
						t.Errorf("request %d starts at %v, want one step after the previous end %v", i, r.Start, prev.End)
					}
				}
			}
			if len(rs.ranges) > 0 {
				if first := rs.ranges[0].Start; !first.Equal(tc.wantFirst) {
					t.Errorf("first request starts at %v, want %v", first, tc.wantFirst)
				}
			}
		})
	}
}

// TestFetchAsks checks what every request asks of the server besides the query: no partial
// answer (Thanos would otherwise sum over the stores it reached and call that the load), and
// no more than two series.
func TestFetchAsks(t *testing.T) {
	var mu sync.Mutex
	var got []string
	src, _ := serve(t, Options{}, func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("ParseForm: %v", err)
		}
		mu.Lock()
		got = append(got, r.Method+" partial_response="+r.Form.Get("partial_response")+" limit="+r.Form.Get("limit")+" query="+r.Form.Get("query"))
		mu.Unlock()
		reply(200, answer(nil, stream{values: []float64{1}}))(w, r)
	})
	if _, err := src.Fetch(t.Context(), t0, t0.Add(time.Minute), time.Minute); err != nil {
		t.Fatalf("Fetch() error = %v", err)
	}
	want := []string{"POST partial_response=false limit=2 query=" + testQuery}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
}

func TestFetchArguments(t *testing.T) {
	src, err := New(Options{URL: "http://127.0.0.1:1"}, testQuery)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	tests := map[string]struct {
		start, end time.Time
		step       time.Duration
		wantErr    string
	}{
		"zero step":          {start: t0, end: t0.Add(time.Hour), step: 0, wantErr: "step must be a positive whole number of milliseconds (got 0s)"},
		"sub-millisecond":    {start: t0, end: t0.Add(time.Hour), step: 1500 * time.Microsecond, wantErr: "(got 1.5ms)"},
		"end before start":   {start: t0, end: t0.Add(-time.Second), step: time.Second, wantErr: "end 2026-11-26T11:59:59Z is before start 2026-11-26T12:00:00Z"},
		"negative step":      {start: t0, end: t0.Add(time.Hour), step: -time.Minute, wantErr: "(got -1m0s)"},
		"no request is made": {start: t0.Add(time.Second), end: t0.Add(2 * time.Second), step: time.Minute},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := src.Fetch(t.Context(), tc.start, tc.end, tc.step)
			if tc.wantErr == "" {
				if got != nil || err != nil {
					t.Errorf("Fetch(%v, %v, %v) = %v, %v; want nil, nil", tc.start, tc.end, tc.step, got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Fetch(%v, %v, %v) error = %v, want it to contain %q", tc.start, tc.end, tc.step, err, tc.wantErr)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := map[string]struct {
		opts    Options
		query   string
		wantErr []string
	}{
		"ok":                 {opts: Options{URL: "http://p:9090"}, query: "up"},
		"empty query":        {opts: Options{URL: "http://p:9090"}, query: " ", wantErr: []string{"query is empty"}},
		"every problem":      {opts: Options{BasicAuthPassword: "p"}, query: "", wantErr: []string{"KEDASTRAL_PROMETHEUS_URL is required", "KEDASTRAL_PROMETHEUS_BASIC_AUTH_PASSWORD is set but", "query is empty"}},
		"ca file is not pem": {opts: Options{URL: "https://p", CAFile: "source_test.go"}, query: "up", wantErr: []string{"prometheus client: ", "source_test.go"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src, err := New(tc.opts, tc.query)
			if tc.wantErr == nil {
				if err != nil || src == nil {
					t.Errorf("New(%+v, %q) = %v, %v; want a source", tc.opts, tc.query, src, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New(%+v, %q) error = nil, want one containing %q", tc.opts, tc.query, tc.wantErr)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("New(%+v, %q) error = %q, want it to contain %q", tc.opts, tc.query, err, want)
				}
			}
		})
	}
}

func TestRequestAuthentication(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	passwordFile := filepath.Join(dir, "password")
	if err := os.WriteFile(passwordFile, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	basic := func(user, pass string) string {
		r := &http.Request{Header: http.Header{}}
		r.SetBasicAuth(user, pass)
		return r.Header.Get("Authorization")
	}
	tests := map[string]struct {
		opts        Options
		wantHeaders map[string]string
	}{
		"nothing": {
			opts:        Options{},
			wantHeaders: map[string]string{"Authorization": "", "User-Agent": "kedastral"},
		},
		"bearer token": {
			opts:        Options{BearerToken: "s3cret"},
			wantHeaders: map[string]string{"Authorization": "Bearer s3cret"},
		},
		"bearer token file": {
			opts:        Options{BearerTokenFile: tokenFile},
			wantHeaders: map[string]string{"Authorization": "Bearer file-token"},
		},
		"basic auth": {
			opts:        Options{BasicAuthUsername: "kedastral", BasicAuthPassword: "hunter2"},
			wantHeaders: map[string]string{"Authorization": basic("kedastral", "hunter2")},
		},
		"basic auth password file": {
			opts:        Options{BasicAuthUsername: "kedastral", BasicAuthPasswordFile: passwordFile},
			wantHeaders: map[string]string{"Authorization": basic("kedastral", "file-secret")},
		},
		"tenant header with token": {
			opts:        Options{BearerToken: "s3cret", Headers: map[string]string{"X-Scope-OrgID": "team-a", "x-extra": "1"}},
			wantHeaders: map[string]string{"Authorization": "Bearer s3cret", "X-Scope-Orgid": "team-a", "X-Extra": "1"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var (
				mu  sync.Mutex
				got http.Header
			)
			src, _ := serve(t, tc.opts, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				got = r.Header.Clone()
				mu.Unlock()
				reply(200, answer(nil, stream{values: []float64{1}}))(w, r)
			})
			if _, err := src.Fetch(t.Context(), t0, t0, time.Minute); err != nil {
				t.Fatalf("Fetch() error = %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for name, want := range tc.wantHeaders {
				if v := got.Get(name); v != want {
					t.Errorf("request header %s = %q, want %q", name, v, want)
				}
			}
		})
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ok := reply(200, answer(nil, stream{values: []float64{1}}))
	srv := httptest.NewTLSServer(ok)
	t.Cleanup(srv.Close)
	caFile := writePEM(t, dir, "ca.pem", "CERTIFICATE", srv.Certificate().Raw)

	clients := testserver.NewCA(t, "clients")
	clientCert, clientKey := clients.Issue(t, true)
	certFile, keyFile := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	for name, b := range map[string][]byte{certFile: clientCert, keyFile: clientKey} {
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mtls := httptest.NewUnstartedServer(ok)
	mtls.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: x509.NewCertPool()}
	for _, s := range []*httptest.Server{srv, mtls} {
		s.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes are expected
	}
	mtls.TLS.ClientCAs.AddCert(clients.Cert)
	mtls.StartTLS()
	t.Cleanup(mtls.Close)

	tests := map[string]struct {
		opts    Options
		wantErr string
	}{
		"ca file":                    {opts: Options{URL: srv.URL, CAFile: caFile}},
		"system roots only":          {opts: Options{URL: srv.URL}, wantErr: "certificate signed by unknown authority"},
		"server name matches":        {opts: Options{URL: srv.URL, CAFile: caFile, ServerName: "example.com"}},
		"server name mismatches":     {opts: Options{URL: srv.URL, CAFile: caFile, ServerName: "prometheus.internal"}, wantErr: "not prometheus.internal"},
		"insecure skip verify":       {opts: Options{URL: srv.URL, InsecureSkipVerify: true}},
		"client certificate":         {opts: Options{URL: mtls.URL, CAFile: caFile, CertFile: certFile, KeyFile: keyFile}},
		"missing client certificate": {opts: Options{URL: mtls.URL, CAFile: caFile}, wantErr: "certificate required"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src, err := New(tc.opts, testQuery)
			if err != nil {
				t.Fatalf("New(%+v) error = %v", tc.opts, err)
			}
			got, err := src.Fetch(t.Context(), t0, t0, time.Minute)
			if tc.wantErr == "" {
				if err != nil || len(got) != 1 {
					t.Errorf("Fetch() = %v, %v; want one sample", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Fetch() error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
