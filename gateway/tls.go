package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// tlsFiles serves the gRPC port's TLS from PEM files: the gateway's certificate and key, and
// optionally the CA whose client certificates it requires (mutual TLS, KEDA's tlsClientCert).
//
// The files are re-read when any of them changes (modification time or size, checked at each
// TLS handshake; KEDA keeps its connections, so handshakes are rare), so a certificate that
// cert-manager rotates in a mounted Secret is served to new connections without a restart. A
// change that fails to load (a half-written file, a key that does not match) is logged once and
// the last good configuration stays in use.
type tlsFiles struct {
	cert, key, clientCA string
	log                 *slog.Logger

	mu      sync.Mutex
	stamp   string      // the files' modification times and sizes when last loaded or tried
	current *tls.Config // the last configuration that loaded
}

// newTLSFiles loads the files once; an error names the file at fault.
func newTLSFiles(cert, key, clientCA string, log *slog.Logger) (*tlsFiles, error) {
	f := &tlsFiles{cert: cert, key: key, clientCA: clientCA, log: log}
	f.stamp = f.stat()
	cfg, err := f.load()
	if err != nil {
		return nil, err
	}
	f.current = cfg
	return f, nil
}

// config is the tls.Config to serve with: each handshake gets the current files' configuration
// (grpc's credentials.NewTLS adds the ALPN protocol gRPC needs to it).
func (f *tlsFiles) config() *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return f.forHandshake(), nil },
	}
}

func (f *tlsFiles) forHandshake() *tls.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.stat(); s != f.stamp {
		f.stamp = s
		cfg, err := f.load()
		if err != nil {
			f.log.Warn("TLS files changed but do not load; serving the previous certificate", slog.Any("error", err))
		} else {
			f.current = cfg
			f.log.Info("TLS files reloaded", slog.String("cert", f.cert), slog.String("clientCA", f.clientCA))
		}
	}
	return f.current
}

// stat summarises the files' modification times and sizes; a file that cannot be stat'ed
// counts as changed, and load says why.
func (f *tlsFiles) stat() string {
	s := ""
	for _, name := range []string{f.cert, f.key, f.clientCA} {
		if name == "" {
			continue
		}
		if fi, err := os.Stat(name); err == nil {
			s += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
		} else {
			s += "?;"
		}
	}
	return s
}

func (f *tlsFiles) load() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.cert, f.key)
	if err != nil {
		return nil, fmt.Errorf("KEDASTRAL_TLS_CERT_FILE %s / KEDASTRAL_TLS_KEY_FILE %s: %w", f.cert, f.key, err)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
	}
	if f.clientCA != "" {
		pem, err := os.ReadFile(f.clientCA)
		if err != nil {
			return nil, fmt.Errorf("KEDASTRAL_TLS_CLIENT_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("KEDASTRAL_TLS_CLIENT_CA_FILE %s: %w", f.clientCA, errors.New("no PEM certificate in it"))
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
