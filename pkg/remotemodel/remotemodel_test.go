package remotemodel

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
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
	m, err := New(srv.URL, time.Second)
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
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(tc.delay)
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			m, err := New(srv.URL, 100*time.Millisecond)
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

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		url     string
		timeout time.Duration
	}{{"ftp://models", time.Second}, {"not a url", time.Second}, {"http://models:8000/forecast", 0}} {
		if _, err := New(tc.url, tc.timeout); err == nil {
			t.Errorf("New(%q, %v) error = nil, want one", tc.url, tc.timeout)
		}
	}
}
