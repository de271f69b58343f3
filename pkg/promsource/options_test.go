package promsource

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOptionsValidate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "present")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")

	tests := map[string]struct {
		opts Options
		want []string
	}{
		"url only": {
			opts: Options{URL: "http://prometheus.monitoring:9090"},
		},
		"everything https": {
			opts: Options{
				URL: "https://mimir.example.com/prometheus", Timeout: 10 * time.Second,
				BearerTokenFile: file, CAFile: file, CertFile: file, KeyFile: file, ServerName: "mimir",
				Headers: map[string]string{"X-Scope-OrgID": "team-a"},
			},
		},
		"basic auth with password file": {
			opts: Options{URL: "http://p", BasicAuthUsername: "kedastral", BasicAuthPasswordFile: file},
		},
		"username without password": {
			opts: Options{URL: "http://p", BasicAuthUsername: "kedastral"},
		},
		"url missing": {
			opts: Options{},
			want: []string{"KEDASTRAL_PROMETHEUS_URL is required"},
		},
		"url unparsable": {
			opts: Options{URL: "http://[::1"},
			want: []string{`KEDASTRAL_PROMETHEUS_URL is not a valid URL: missing ']' in host`},
		},
		"url without scheme": {
			opts: Options{URL: "prometheus:9090"},
			want: []string{`KEDASTRAL_PROMETHEUS_URL must be an http or https URL (got scheme "prometheus")`},
		},
		"url without host": {
			opts: Options{URL: "http:///api"},
			want: []string{"KEDASTRAL_PROMETHEUS_URL has no host"},
		},
		"url with credentials": {
			opts: Options{URL: "http://kedastral:hunter2@prometheus:9090"},
			want: []string{"KEDASTRAL_PROMETHEUS_URL must not hold credentials; use KEDASTRAL_PROMETHEUS_BASIC_AUTH_USERNAME and KEDASTRAL_PROMETHEUS_BASIC_AUTH_PASSWORD, or KEDASTRAL_PROMETHEUS_BEARER_TOKEN"},
		},
		"negative timeout": {
			opts: Options{URL: "http://p", Timeout: -time.Second},
			want: []string{"KEDASTRAL_PROMETHEUS_TIMEOUT must be >= 0 (got -1s)"},
		},
		"token and token file": {
			opts: Options{URL: "http://p", BearerToken: "t", BearerTokenFile: file},
			want: []string{"KEDASTRAL_PROMETHEUS_BEARER_TOKEN and KEDASTRAL_PROMETHEUS_BEARER_TOKEN_FILE are both set; set one"},
		},
		"token and basic auth": {
			opts: Options{URL: "http://p", BearerToken: "t", BasicAuthUsername: "u", BasicAuthPassword: "p"},
			want: []string{"both a bearer token (KEDASTRAL_PROMETHEUS_BEARER_TOKEN or KEDASTRAL_PROMETHEUS_BEARER_TOKEN_FILE) and basic auth (KEDASTRAL_PROMETHEUS_BASIC_AUTH_USERNAME) are set; use one"},
		},
		"password without username": {
			opts: Options{URL: "http://p", BasicAuthPassword: "p"},
			want: []string{"KEDASTRAL_PROMETHEUS_BASIC_AUTH_PASSWORD is set but KEDASTRAL_PROMETHEUS_BASIC_AUTH_USERNAME is not"},
		},
		"password file without username": {
			opts: Options{URL: "http://p", BasicAuthPasswordFile: file},
			want: []string{"KEDASTRAL_PROMETHEUS_BASIC_AUTH_PASSWORD_FILE is set but KEDASTRAL_PROMETHEUS_BASIC_AUTH_USERNAME is not"},
		},
		"password and password file": {
			opts: Options{URL: "http://p", BasicAuthUsername: "u", BasicAuthPassword: "p", BasicAuthPasswordFile: file},
			want: []string{"KEDASTRAL_PROMETHEUS_BASIC_AUTH_PASSWORD and KEDASTRAL_PROMETHEUS_BASIC_AUTH_PASSWORD_FILE are both set; set one"},
		},
		"cert without key": {
			opts: Options{URL: "https://p", CertFile: file},
			want: []string{"KEDASTRAL_PROMETHEUS_CERT_FILE is set but KEDASTRAL_PROMETHEUS_KEY_FILE is not"},
		},
		"key without cert": {
			opts: Options{URL: "https://p", KeyFile: file},
			want: []string{"KEDASTRAL_PROMETHEUS_KEY_FILE is set but KEDASTRAL_PROMETHEUS_CERT_FILE is not"},
		},
		"tls settings on http": {
			opts: Options{URL: "http://p", CAFile: file, ServerName: "p", InsecureSkipVerify: true},
			want: []string{
				"KEDASTRAL_PROMETHEUS_CA_FILE is set but KEDASTRAL_PROMETHEUS_URL is not an https URL",
				"KEDASTRAL_PROMETHEUS_SERVER_NAME is set but KEDASTRAL_PROMETHEUS_URL is not an https URL",
				"KEDASTRAL_PROMETHEUS_INSECURE_SKIP_VERIFY is set but KEDASTRAL_PROMETHEUS_URL is not an https URL",
			},
		},
		"unreadable files": {
			opts: Options{URL: "https://p", BearerTokenFile: missing, CAFile: missing},
			want: []string{
				"KEDASTRAL_PROMETHEUS_BEARER_TOKEN_FILE: open " + missing + ": no such file or directory",
				"KEDASTRAL_PROMETHEUS_CA_FILE: open " + missing + ": no such file or directory",
			},
		},
		"bad headers": {
			opts: Options{URL: "http://p", Headers: map[string]string{
				"Authorization": "Bearer x",
				"Bad Name":      "v",
				"User-Agent":    "me",
				"X-Ok":          "line\nbreak",
			}},
			want: []string{
				"KEDASTRAL_PROMETHEUS_HEADERS: header Authorization is not allowed; use KEDASTRAL_PROMETHEUS_BEARER_TOKEN, KEDASTRAL_PROMETHEUS_BEARER_TOKEN_FILE or KEDASTRAL_PROMETHEUS_BASIC_AUTH_USERNAME",
				`KEDASTRAL_PROMETHEUS_HEADERS: "Bad Name" is not a valid header name`,
				"KEDASTRAL_PROMETHEUS_HEADERS: header User-Agent is not allowed: the client sets it",
				"KEDASTRAL_PROMETHEUS_HEADERS: header X-Ok has an invalid value (control characters?)",
			},
		},
		"every problem at once": {
			opts: Options{Timeout: -1, BasicAuthPassword: "p", CertFile: file},
			want: []string{
				"KEDASTRAL_PROMETHEUS_URL is required",
				"KEDASTRAL_PROMETHEUS_TIMEOUT must be >= 0 (got -1ns)",
				"KEDASTRAL_PROMETHEUS_BASIC_AUTH_PASSWORD is set but KEDASTRAL_PROMETHEUS_BASIC_AUTH_USERNAME is not",
				"KEDASTRAL_PROMETHEUS_CERT_FILE is set but KEDASTRAL_PROMETHEUS_KEY_FILE is not",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, err := range tc.opts.Validate() {
				got = append(got, err.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate() mismatch (-want +got):\n%s", diff)
			}
			for _, msg := range got {
				if strings.Contains(msg, "hunter2") {
					t.Errorf("Validate() error %q shows the password", msg)
				}
			}
		})
	}
}

func TestParseHeaders(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    map[string]string
		wantErr string
	}{
		"empty":                   {in: "", want: map[string]string{}},
		"blank":                   {in: "  ", want: map[string]string{}},
		"one":                     {in: "X-Scope-OrgID=team-a", want: map[string]string{"X-Scope-OrgID": "team-a"}},
		"two with spaces":         {in: " X-Scope-OrgID = team-a , X-Api-Key=k ", want: map[string]string{"X-Scope-OrgID": "team-a", "X-Api-Key": "k"}},
		"value with equals signs": {in: "X-Token=YWJj==", want: map[string]string{"X-Token": "YWJj=="}},
		"empty value":             {in: "X-Empty=", want: map[string]string{"X-Empty": ""}},
		"no equals":               {in: "X-Scope-OrgID", wantErr: `entry 1 ("X-Scope-OrgID") is not Name=Value`},
		"no name":                 {in: "A=1,=2", wantErr: `entry 2 ("=2") is not Name=Value`},
		"trailing comma":          {in: "A=1,", wantErr: `entry 2 ("") is not Name=Value`},
		"duplicate ignoring case": {in: "x-scope-orgid=a,X-Scope-OrgID=b", wantErr: "header X-Scope-Orgid is given twice (as x-scope-orgid and X-Scope-OrgID)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseHeaders(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("ParseHeaders(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseHeaders(%q) error = %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseHeaders(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// FuzzParseHeaders checks that whatever ParseHeaders accepts it gives back unchanged when it is
// written in the same form again.
func FuzzParseHeaders(f *testing.F) {
	for _, s := range []string{"", "X-Scope-OrgID=team-a", "a=1, b = 2", "t=YWJj==", "a", "=", "a=1,,b=2", "a=1,A=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseHeaders(s)
		if err != nil {
			return
		}
		entries := make([]string, 0, len(got))
		for name, value := range got {
			if name == "" || strings.ContainsAny(name, "=,") || strings.Contains(value, ",") {
				t.Fatalf("ParseHeaders(%q) = %q, holds an entry that cannot be written back", s, got)
			}
			entries = append(entries, name+"="+value)
		}
		again, err := ParseHeaders(strings.Join(entries, ","))
		if err != nil {
			t.Fatalf("ParseHeaders(%q) of ParseHeaders(%q) error = %v", strings.Join(entries, ","), s, err)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Errorf("ParseHeaders round trip of %q mismatch (-first +second):\n%s", s, diff)
		}
	})
}
