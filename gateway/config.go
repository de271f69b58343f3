package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kedastral/kedastral/pkg/envconf"
	"github.com/kedastral/kedastral/pkg/planstore"
)

// envPrefix starts the name of every variable the gateway reads.
const envPrefix = "KEDASTRAL"

// config is everything the gateway reads from its environment. The tags are the single source
// for both loading (envconf.Load) and the --help table (envconf.Usage).
type config struct {
	// GRPCAddr is the host:port of the KEDA External Scaler and gRPC health services.
	// Default ":50051".
	GRPCAddr string `envconfig:"GRPC_ADDR" default:":50051" desc:"host:port for the KEDA External Scaler and gRPC health services"`
	// HTTPAddr is the host:port serving /metrics, /healthz and /readyz. Default ":8080".
	HTTPAddr string `envconfig:"HTTP_ADDR" default:":8080" desc:"host:port serving /metrics, /healthz and /readyz"`
	// TLSCertFile and TLSKeyFile make the gRPC port serve TLS (KEDA's enableTLS, or caCert in
	// a TriggerAuthentication); TLSClientCAFile also requires client certificates it signed
	// (mutual TLS: KEDA's tlsClientCert and tlsClientKey). All three are reloaded when they
	// change. Unset: plaintext gRPC.
	TLSCertFile     string `envconfig:"TLS_CERT_FILE" desc:"PEM certificate the gRPC port serves TLS with (needs KEDASTRAL_TLS_KEY_FILE; reloaded when it changes); unset: plaintext"`
	TLSKeyFile      string `envconfig:"TLS_KEY_FILE" desc:"PEM private key of KEDASTRAL_TLS_CERT_FILE"`
	TLSClientCAFile string `envconfig:"TLS_CLIENT_CA_FILE" desc:"PEM CA bundle: require client certificates it signed (mutual TLS with KEDA's tlsClientCert/tlsClientKey); needs KEDASTRAL_TLS_CERT_FILE"`
	// Options are the KEDASTRAL_REDIS_* variables, shared with the agent.
	planstore.Options
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	// LogFormat is json or text. Default json.
	LogFormat string `envconfig:"LOG_FORMAT" default:"json" desc:"json or text"`
	// RequestTimeout bounds each Redis round trip made to answer KEDA, so that a slow Redis turns
	// into an Unavailable answer instead of stalling KEDA's loop, which sets no deadline of its
	// own. Default 2s.
	RequestTimeout time.Duration `envconfig:"REQUEST_TIMEOUT" default:"2s" desc:"bound on each Redis read made to answer KEDA"`
	// ShutdownTimeout bounds the graceful drain of gRPC calls and streams on shutdown, after
	// which they are cut. Default 10s.
	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"10s" desc:"graceful drain on shutdown before open streams are cut"`
}

// loadConfig reads the configuration through getenv and reports every problem at once, one
// "config: ..." line each. An empty variable counts as unset (see envconf.Load).
func loadConfig(getenv func(string) string) (config, error) {
	var c config
	err := envconf.Load(envPrefix, &c, getenv)
	// A variable that did not load holds its zero value: judging it again would add a second,
	// misleading line about the same variable.
	if err := envconf.Report(err, c.validate(envconf.Failed(err))); err != nil {
		return config{}, err
	}
	return c, nil
}

// validate reports every semantic problem, skipping the variables in unparsed.
func (c config) validate(unparsed map[string]bool) []error {
	var errs []error
	add := func(key, format string, a ...any) {
		if !unparsed[envPrefix+"_"+key] {
			errs = append(errs, fmt.Errorf(envPrefix+"_"+key+" "+format, a...))
		}
	}
	if err := checkHostPort(c.GRPCAddr, true); err != nil {
		add("GRPC_ADDR", "must be [host]:port (got %q: %v)", c.GRPCAddr, err)
	}
	if err := checkHostPort(c.HTTPAddr, true); err != nil {
		add("HTTP_ADDR", "must be [host]:port (got %q: %v)", c.HTTPAddr, err)
	} else if c.HTTPAddr == c.GRPCAddr && !strings.HasSuffix(c.HTTPAddr, ":0") {
		add("HTTP_ADDR", "must differ from KEDASTRAL_GRPC_ADDR (got %q for both)", c.HTTPAddr)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		add("TLS_CERT_FILE", "and KEDASTRAL_TLS_KEY_FILE must be set together (got %q and %q)", c.TLSCertFile, c.TLSKeyFile)
	}
	if c.TLSClientCAFile != "" && c.TLSCertFile == "" {
		add("TLS_CLIENT_CA_FILE", "needs KEDASTRAL_TLS_CERT_FILE and KEDASTRAL_TLS_KEY_FILE: mutual TLS is TLS first")
	}
	for _, tf := range []struct{ key, name string }{
		{"TLS_CERT_FILE", c.TLSCertFile}, {"TLS_KEY_FILE", c.TLSKeyFile}, {"TLS_CLIENT_CA_FILE", c.TLSClientCAFile},
	} {
		if tf.name == "" {
			continue
		}
		if f, err := os.Open(tf.name); err != nil {
			add(tf.key, "cannot be read: %v", err)
		} else {
			f.Close()
		}
	}
	errs = append(errs, c.Options.Validate(unparsed)...)
	if _, ok := logLevels[strings.ToLower(c.LogLevel)]; !ok {
		add("LOG_LEVEL", "must be debug, info, warn or error (got %q)", c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		add("LOG_FORMAT", "must be json or text (got %q)", c.LogFormat)
	}
	if c.RequestTimeout <= 0 {
		add("REQUEST_TIMEOUT", "must be > 0 (got %v)", c.RequestTimeout)
	}
	if c.ShutdownTimeout <= 0 {
		add("SHUTDOWN_TIMEOUT", "must be > 0 (got %v)", c.ShutdownTimeout)
	}
	return errs
}

// checkHostPort checks a host:port; listen addresses may leave the host out.
func checkHostPort(addr string, listen bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" && !listen {
		return errors.New("missing host")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && !listen) {
		return fmt.Errorf("port %q is not a number in 1-65535", port)
	}
	return nil
}

const helpText = `gateway answers KEDA's External Scaler gRPC calls with the replica counts in the capacity
plans Kedastral agents keep in Redis. It is stateless: run two or more replicas behind one
Service and point ScaledObject triggers at it:

  triggers:
  - type: external            # or external-push
    metadata:
      scalerAddress: kedastral-gateway.kedastral:50051
      workload: my-api        # the Deployment the agent plans for (required)
      namespace: shop         # default: the ScaledObject's namespace
      leadTime: 2m            # default: the plan's policy.leadTime

The metric is named kedastral-<workload>-desired-replicas, with an AverageValue target of 1, so
its value is the replica count itself. When no trustworthy plan can be read, calls fail with
Unavailable (never 0), so that the ScaledObject's fallback applies.

Usage: gateway [--help] [--version]

Configuration comes from the environment:

`

// printHelp writes what the gateway is and every variable it reads.
func printHelp(w io.Writer) error {
	if _, err := io.WriteString(w, helpText); err != nil {
		return err
	}
	return envconf.Usage(w, envPrefix, &config{})
}
