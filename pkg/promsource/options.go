package promsource

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/config"
	"golang.org/x/net/http/httpguts"
)

// DefaultTimeout bounds each HTTP request when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Environment variable names of the Options fields. Validate names fields by these because they
// are what the operator set; the agent reads them.
const (
	envURL                   = "KEDASTRAL_PROMETHEUS_URL"
	envTimeout               = "KEDASTRAL_PROMETHEUS_TIMEOUT"
	envBearerToken           = "KEDASTRAL_PROMETHEUS_BEARER_TOKEN"
	envBearerTokenFile       = "KEDASTRAL_PROMETHEUS_BEARER_TOKEN_FILE"
	envBasicAuthUsername     = "KEDASTRAL_PROMETHEUS_BASIC_AUTH_USERNAME"
	envBasicAuthPassword     = "KEDASTRAL_PROMETHEUS_BASIC_AUTH_PASSWORD"
	envBasicAuthPasswordFile = "KEDASTRAL_PROMETHEUS_BASIC_AUTH_PASSWORD_FILE"
	envCAFile                = "KEDASTRAL_PROMETHEUS_CA_FILE"
	envCertFile              = "KEDASTRAL_PROMETHEUS_CERT_FILE"
	envKeyFile               = "KEDASTRAL_PROMETHEUS_KEY_FILE"
	envServerName            = "KEDASTRAL_PROMETHEUS_SERVER_NAME"
	envInsecureSkipVerify    = "KEDASTRAL_PROMETHEUS_INSECURE_SKIP_VERIFY"
	envHeaders               = "KEDASTRAL_PROMETHEUS_HEADERS"
)

// Options are the settings for reaching a Prometheus-compatible HTTP API (Prometheus, Thanos,
// Mimir, Cortex, VictoriaMetrics). They mean what the same-named settings of a Prometheus
// scrape or remote-read configuration mean, and are implemented by prometheus/common's
// HTTPClientConfig. The zero value of every field but URL means "not set".
//
// Files are read when they are used, not only at start: a bearer token or password file is
// read on every request, and the CA, certificate and key files are reloaded when they change,
// so that rotated Kubernetes service-account tokens and certificates are picked up.
//
// Proxies are taken from HTTP_PROXY, HTTPS_PROXY and NO_PROXY, as net/http does.
type Options struct {
	// URL is the base URL of the API, without the /api/v1 suffix, e.g.
	// http://prometheus.monitoring:9090 or https://mimir.example.com/prometheus. Required,
	// http or https. Credentials go in the fields below, not in the URL, so that the URL can
	// be logged and put in errors.
	URL string

	// Timeout bounds each HTTP request (it is not sent to the server: client_golang formats it
	// in a way Prometheus refuses). A Fetch that needs several requests may take longer in
	// total; bound it with its context. Default DefaultTimeout (30s) when zero.
	Timeout time.Duration

	// BearerToken is sent as "Authorization: Bearer <token>". At most one of BearerToken,
	// BearerTokenFile and basic auth may be set.
	BearerToken string
	// BearerTokenFile holds the bearer token (surrounding whitespace trimmed), e.g.
	// /var/run/secrets/kubernetes.io/serviceaccount/token. Read on every request.
	BearerTokenFile string

	// BasicAuthUsername enables HTTP basic authentication.
	BasicAuthUsername string
	// BasicAuthPassword is the basic-auth password; requires BasicAuthUsername. At most one of
	// BasicAuthPassword and BasicAuthPasswordFile may be set.
	BasicAuthPassword string
	// BasicAuthPasswordFile holds the basic-auth password (surrounding whitespace trimmed).
	// Read on every request.
	BasicAuthPasswordFile string

	// CAFile is a PEM file of the certificate authorities that verify the server's
	// certificate, instead of the system's roots. https only.
	CAFile string
	// CertFile is a PEM client certificate for mutual TLS; requires KeyFile. https only.
	CertFile string
	// KeyFile is the PEM private key of CertFile; requires CertFile. https only.
	KeyFile string
	// ServerName is the name expected in the server's certificate (and sent as SNI) when it
	// differs from the URL's host. https only.
	ServerName string
	// InsecureSkipVerify disables verification of the server's certificate. For tests only:
	// it lets anyone in the path read and change the metric. https only.
	InsecureSkipVerify bool

	// Headers are extra request headers, e.g. X-Scope-OrgID to pick the tenant in Mimir,
	// Cortex or Thanos. Headers the client sets itself (Authorization, Host, Content-Type,
	// User-Agent, ...) are refused; use the fields above for credentials.
	Headers map[string]string
}

// Validate reports every problem with the options, each naming the field by its environment
// variable, e.g. "KEDASTRAL_PROMETHEUS_CERT_FILE is set but KEDASTRAL_PROMETHEUS_KEY_FILE is
// not". It also checks that the files named can be opened, so that a wrong path fails at start
// rather than on the first request. It returns nil when the options are usable.
func (o Options) Validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	plainHTTP := false
	if o.URL == "" {
		add("%s is required", envURL)
	} else if u, err := url.Parse(o.URL); err != nil {
		// url.Error repeats the URL, which may hold credentials: report only the cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		add("%s is not a valid URL: %w", envURL, err)
	} else {
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			add("%s must be an http or https URL (got scheme %q)", envURL, u.Scheme)
		case u.Host == "":
			add("%s has no host", envURL)
		case u.User != nil:
			add("%s must not hold credentials; use %s and %s, or %s", envURL, envBasicAuthUsername, envBasicAuthPassword, envBearerToken)
		}
		plainHTTP = u.Scheme == "http"
	}

	if o.Timeout < 0 {
		add("%s must be >= 0 (got %v)", envTimeout, o.Timeout)
	}

	if o.BearerToken != "" && o.BearerTokenFile != "" {
		add("%s and %s are both set; set one", envBearerToken, envBearerTokenFile)
	}
	basic := o.BasicAuthUsername != "" || o.BasicAuthPassword != "" || o.BasicAuthPasswordFile != ""
	if basic && (o.BearerToken != "" || o.BearerTokenFile != "") {
		add("both a bearer token (%s or %s) and basic auth (%s) are set; use one", envBearerToken, envBearerTokenFile, envBasicAuthUsername)
	}
	if o.BasicAuthPassword != "" && o.BasicAuthPasswordFile != "" {
		add("%s and %s are both set; set one", envBasicAuthPassword, envBasicAuthPasswordFile)
	}
	if o.BasicAuthUsername == "" {
		for _, f := range []field{{envBasicAuthPassword, o.BasicAuthPassword != ""}, {envBasicAuthPasswordFile, o.BasicAuthPasswordFile != ""}} {
			if f.set {
				add("%s is set but %s is not", f.env, envBasicAuthUsername)
			}
		}
	}

	if o.CertFile != "" && o.KeyFile == "" {
		add("%s is set but %s is not", envCertFile, envKeyFile)
	}
	if o.KeyFile != "" && o.CertFile == "" {
		add("%s is set but %s is not", envKeyFile, envCertFile)
	}
	if plainHTTP {
		// TLS settings on a plain-HTTP URL would be silently ignored; the operator almost
		// certainly meant https.
		for _, f := range []field{
			{envCAFile, o.CAFile != ""},
			{envCertFile, o.CertFile != ""},
			{envKeyFile, o.KeyFile != ""},
			{envServerName, o.ServerName != ""},
			{envInsecureSkipVerify, o.InsecureSkipVerify},
		} {
			if f.set {
				add("%s is set but %s is not an https URL", f.env, envURL)
			}
		}
	}

	for _, f := range []struct{ env, path string }{
		{envBearerTokenFile, o.BearerTokenFile},
		{envBasicAuthPasswordFile, o.BasicAuthPasswordFile},
		{envCAFile, o.CAFile},
		{envCertFile, o.CertFile},
		{envKeyFile, o.KeyFile},
	} {
		if f.path == "" {
			continue
		}
		fh, err := os.Open(f.path)
		if err != nil {
			add("%s: %w", f.env, err)
			continue
		}
		fh.Close()
	}

	for _, name := range slices.Sorted(maps.Keys(o.Headers)) {
		if err := checkHeader(name, o.Headers[name]); err != nil {
			add("%s: %w", envHeaders, err)
		}
	}
	return errs
}

// field is an option by its environment variable, and whether it is set.
type field struct {
	env string
	set bool
}

// checkHeader reports whether name: value can be sent as an extra header.
func checkHeader(name, value string) error {
	if !httpguts.ValidHeaderFieldName(name) {
		return fmt.Errorf("%q is not a valid header name", name)
	}
	if !httpguts.ValidHeaderFieldValue(value) {
		return fmt.Errorf("header %s has an invalid value (control characters?)", name)
	}
	canon := http.CanonicalHeaderKey(name)
	if canon == "Authorization" {
		return fmt.Errorf("header %s is not allowed; use %s, %s or %s", canon, envBearerToken, envBearerTokenFile, envBasicAuthUsername)
	}
	if _, reserved := config.ReservedHeaders[canon]; reserved {
		return fmt.Errorf("header %s is not allowed: the client sets it", canon)
	}
	return nil
}

// ParseHeaders parses extra headers in the environment-variable form
// "Name=Value,Name2=Value2", e.g. "X-Scope-OrgID=team-a". Whitespace around names and values
// is trimmed, a value may contain "=" but not ",", and names must be unique ignoring case. The
// empty string gives no headers. Whether a header may be sent is Validate's job.
func ParseHeaders(s string) (map[string]string, error) {
	headers := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return headers, nil
	}
	seen := map[string]string{} // canonical name → name as written
	for i, entry := range strings.Split(s, ",") {
		name, value, ok := strings.Cut(entry, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return nil, fmt.Errorf("entry %d (%q) is not Name=Value", i+1, strings.TrimSpace(entry))
		}
		canon := http.CanonicalHeaderKey(name)
		if prev, dup := seen[canon]; dup {
			return nil, fmt.Errorf("header %s is given twice (as %s and %s)", canon, prev, name)
		}
		seen[canon] = name
		headers[name] = value
	}
	return headers, nil
}

// httpClientConfig maps the options onto prometheus/common's client configuration. The options
// must be valid.
func (o Options) httpClientConfig() config.HTTPClientConfig {
	cfg := config.DefaultHTTPClientConfig
	cfg.ProxyFromEnvironment = true
	cfg.BearerToken = config.Secret(o.BearerToken)
	cfg.BearerTokenFile = o.BearerTokenFile
	if o.BasicAuthUsername != "" {
		cfg.BasicAuth = &config.BasicAuth{
			Username:     o.BasicAuthUsername,
			Password:     config.Secret(o.BasicAuthPassword),
			PasswordFile: o.BasicAuthPasswordFile,
		}
	}
	cfg.TLSConfig = config.TLSConfig{
		CAFile:             o.CAFile,
		CertFile:           o.CertFile,
		KeyFile:            o.KeyFile,
		ServerName:         o.ServerName,
		InsecureSkipVerify: o.InsecureSkipVerify,
	}
	if len(o.Headers) > 0 {
		h := &config.Headers{Headers: make(map[string]config.Header, len(o.Headers))}
		for name, value := range o.Headers {
			// Secrets rather than Values: a header may carry an API key, and Secrets are
			// redacted wherever the configuration is printed.
			h.Headers[name] = config.Header{Secrets: []config.Secret{config.Secret(value)}}
		}
		cfg.HTTPHeaders = h
	}
	return cfg
}
