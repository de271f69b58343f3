package remotemodel

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kedastral/kedastral/pkg/series"
)

var hist = series.Series{Start: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), Step: time.Minute,
	Values: []float64{10, math.NaN(), 14}}

func TestForecast(t *testing.T) {
	var got request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s with Content-Type %q, want a JSON POST", r.Method, r.Header.Get("Content-Type"))
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		w.Write([]byte(`{"point":[15,16],"upper":[18,20]}`))
	}))
	defer srv.Close()
	m, err := New(Options{URL: srv.URL, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fc, err := m.Forecast(hist, 2, 0.9)
	if err != nil {
		t.Fatalf("Forecast() error = %v", err)
	}
	if fc.Point[1] != 16 || fc.Upper[1] != 20 {
		t.Errorf("Forecast() = %+v, want the endpoint's answer", fc)
	}
	if got.Step != "1m0s" || got.Horizon != 2 || got.Quantile != 0.9 || !got.Start.Equal(hist.Start) ||
		len(got.Values) != 3 || got.Values[1] != nil || *got.Values[2] != 14 {
		t.Errorf("request = %+v, want the documented contract with null for the gap", got)
	}
}

func TestForecastErrors(t *testing.T) {
	tests := map[string]struct {
		status int
		body   string
		delay  time.Duration
		want   string
	}{
		"server error":        {status: 500, body: "model crashed", want: "answered 500 Internal Server Error: model crashed"},
		"not json":            {status: 200, body: "<html>", want: "not the documented JSON"},
		"wrong length":        {status: 200, body: `{"point":[1]}`, want: "1 point and 1 upper values, want 2"},
		"upper below point":   {status: 200, body: `{"point":[5,5],"upper":[6,4]}`, want: "step 1: point 5, upper 4"},
		"negative":            {status: 200, body: `{"point":[-1,5]}`, want: "step 0: point -1"},
		"too slow":            {status: 200, body: `{"point":[1,1]}`, delay: 300 * time.Millisecond, want: "did not answer within 100ms"},
		"upper omitted is ok": {status: 200, body: `{"point":[1,2]}`},
		"null point":          {status: 200, body: `{"point":[1,null],"upper":[2,3]}`, want: "step 1: point or upper is null"},
		"null upper":          {status: 200, body: `{"point":[1,2],"upper":[null,3]}`, want: "step 0: point or upper is null"},
		"too large":           {status: 200, body: `{"point":[1,2],"pad":"` + strings.Repeat("x", maxResponse) + `"}`, want: "answered more than 4 MiB"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(tc.delay)
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			m, err := New(Options{URL: srv.URL, Timeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			fc, err := m.Forecast(hist, 2, 0.9)
			if tc.want == "" {
				if err != nil || fc.Upper[1] != 2 {
					t.Errorf("Forecast() = %+v, %v, want upper = point", fc, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), srv.URL) {
				t.Errorf("Forecast() error = %v, want it to name %s and contain %q", err, srv.URL, tc.want)
			}
		})
	}
}

// TestContextEndsRequest: the agent's shutdown ends a request in flight instead of waiting out
// the timeout on an endpoint that does not answer.
func TestContextEndsRequest(t *testing.T) {
	arrived, left := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the server notices a hang-up only once the body is read
		close(arrived)
		<-r.Context().Done() // never answers
		close(left)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	m, err := New(Options{URL: srv.URL, Timeout: 20 * time.Second, Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		<-arrived
		cancel()
	}()
	_, err = m.Forecast(hist, 2, 0.9)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("Forecast() error = %v, want context.Canceled naming %s", err, srv.URL)
	}
	<-left // the endpoint saw the request end
}

func TestNewErrors(t *testing.T) {
	tests := map[string]struct {
		opts Options
		want []string
	}{
		"empty":        {Options{Timeout: time.Second}, []string{"KEDASTRAL_MODEL_URL is required"}},
		"scheme":       {Options{URL: "ftp://models", Timeout: time.Second}, []string{"must be an http or https URL"}},
		"not a url":    {Options{URL: "not a url", Timeout: time.Second}, []string{"must be an http or https URL"}},
		"no timeout":   {Options{URL: "http://models:8000/forecast"}, []string{"KEDASTRAL_MODEL_TIMEOUT must be > 0 (got 0s)"}},
		"credentials":  {Options{URL: "http://user:s3cret@models:8000/forecast", Timeout: time.Second}, []string{"KEDASTRAL_MODEL_URL http://models:8000/forecast must not hold credentials; use KEDASTRAL_MODEL_BEARER_TOKEN_FILE"}},
		"missing file": {Options{URL: "http://models", Timeout: time.Second, BearerTokenFile: "/nonexistent/token"}, []string{"KEDASTRAL_MODEL_BEARER_TOKEN_FILE: open /nonexistent/token"}},
		"all at once": {Options{URL: "http://user:s3cret@models", BearerTokenFile: "/nonexistent/token"},
			[]string{"must not hold credentials", "TIMEOUT must be > 0", "/nonexistent/token"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil {
				t.Fatalf("New(%+v) error = nil, want one", tc.opts)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New() error = %q, want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("New() error = %q shows the password", err)
			}
		})
	}
}

// TestProxyFromEnvironment: the model is reached through HTTP_PROXY, as Go's default client
// would, for agents whose egress goes through one.
func TestProxyFromEnvironment(t *testing.T) {
	var proxied []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied = append(proxied, r.Method+" "+r.URL.String())
		w.Write([]byte(`{"point":[1,2]}`))
	}))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")
	m, err := New(Options{URL: "http://models.example.internal:8000/forecast", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Forecast(hist, 2, 0.9); err != nil {
		t.Fatalf("Forecast() error = %v", err)
	}
	if want := "POST http://models.example.internal:8000/forecast"; len(proxied) != 1 || proxied[0] != want {
		t.Errorf("the proxy saw %q, want [%q]", proxied, want)
	}
}

// TestSecrets checks that the bearer token is sent, re-read when the file changes, and that
// neither it nor a key in the URL's query appears in an error.
func TestSecrets(t *testing.T) {
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("warming up"))
	}))
	defer srv.Close()
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := New(Options{URL: srv.URL + "/forecast?api_key=TOPSECRET", Timeout: time.Second, BearerTokenFile: token})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Forecast(hist, 2, 0.9)
	if err == nil || strings.Contains(err.Error(), "TOPSECRET") || !strings.Contains(err.Error(), srv.URL+"/forecast?…") {
		t.Errorf("Forecast() error = %v, want one naming %s/forecast?… without the key", err, srv.URL)
	}
	if err := os.WriteFile(token, []byte("second"), 0o600); err != nil {
		t.Fatal(err)
	}
	m.Forecast(hist, 2, 0.9)
	if want := []string{"Bearer first", "Bearer second"}; strings.Join(auth, ",") != strings.Join(want, ",") {
		t.Errorf("Authorization headers = %q, want %q", auth, want)
	}

	// Unreachable: the transport's error must not repeat the URL either.
	srv.Close()
	_, err = m.Forecast(hist, 2, 0.9)
	if err == nil || strings.Contains(err.Error(), "TOPSECRET") {
		t.Errorf("Forecast() on a closed server error = %v, want one without the key", err)
	}
}
