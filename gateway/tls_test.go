package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/kedastral/kedastral/test/testserver"
)

// writeAtomic replaces the file as a Kubernetes Secret volume update does: write aside, rename.
func writeAtomic(t *testing.T, name string, data []byte) {
	t.Helper()
	tmp := name + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, name); err != nil {
		t.Fatal(err)
	}
}

// startTLSGateway runs the gateway with the env on a real Redis and returns its gRPC address.
func startTLSGateway(t *testing.T, env map[string]string) string {
	t.Helper()
	srv := testserver.StartRedis(t)
	env["KEDASTRAL_REDIS_ADDR"] = srv.Addr
	env["KEDASTRAL_GRPC_ADDR"] = "127.0.0.1:0"
	env["KEDASTRAL_HTTP_ADDR"] = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(t.Context())
	out := &logLines{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, out) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	serving := out.wait(t, "serving", done)
	if serving["tls"] != true {
		t.Fatalf("serving log %v, want tls true", serving)
	}
	return serving["grpc"].(string)
}

// healthCheck asks the gateway's gRPC health service over a new connection with creds.
func healthCheck(t *testing.T, addr string, creds credentials.TransportCredentials) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(false))
	if err == nil && h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health Check = %v, want SERVING", h)
	}
	return err
}

func clientTLS(t *testing.T, ca testserver.CA, cert, key []byte) credentials.TransportCredentials {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if cert != nil {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return credentials.NewTLS(cfg)
}

// TestTLS serves gRPC over TLS to a real gRPC client, refuses plaintext, and picks up a rotated
// certificate (from another CA) for new connections without a restart.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca1 := testserver.NewCA(t, "ca-1")
	c, k := ca1.Issue(t, false)
	writeAtomic(t, certFile, c)
	writeAtomic(t, keyFile, k)
	addr := startTLSGateway(t, map[string]string{"KEDASTRAL_TLS_CERT_FILE": certFile, "KEDASTRAL_TLS_KEY_FILE": keyFile})

	if err := healthCheck(t, addr, clientTLS(t, ca1, nil, nil)); err != nil {
		t.Fatalf("TLS client trusting the CA: %v", err)
	}
	if err := healthCheck(t, addr, insecure.NewCredentials()); err == nil {
		t.Error("plaintext client: nil error, want the TLS port to refuse it")
	}

	// Rotate to a certificate from a second CA: new connections get it.
	ca2 := testserver.NewCA(t, "ca-2")
	c, k = ca2.Issue(t, false)
	writeAtomic(t, keyFile, k)
	writeAtomic(t, certFile, c)
	if err := healthCheck(t, addr, clientTLS(t, ca2, nil, nil)); err != nil {
		t.Fatalf("after rotation, client trusting the new CA: %v", err)
	}
	if err := healthCheck(t, addr, clientTLS(t, ca1, nil, nil)); err == nil {
		t.Error("after rotation, client trusting only the old CA: nil error, want the new certificate served")
	}

	// A broken rotation (a key that does not match) keeps the last good certificate.
	_, k = ca1.Issue(t, false)
	writeAtomic(t, keyFile, k)
	if err := healthCheck(t, addr, clientTLS(t, ca2, nil, nil)); err != nil {
		t.Fatalf("after a mismatched key, client trusting the serving CA: %v", err)
	}
}

// TestMutualTLS requires client certificates signed by the configured CA, as KEDA presents with
// tlsClientCert/tlsClientKey.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, caFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), filepath.Join(dir, "ca.crt")
	serverCA, clientCA, otherCA := testserver.NewCA(t, "server-ca"), testserver.NewCA(t, "client-ca"), testserver.NewCA(t, "other-ca")
	c, k := serverCA.Issue(t, false)
	writeAtomic(t, certFile, c)
	writeAtomic(t, keyFile, k)
	writeAtomic(t, caFile, clientCA.PEM)
	addr := startTLSGateway(t, map[string]string{
		"KEDASTRAL_TLS_CERT_FILE": certFile, "KEDASTRAL_TLS_KEY_FILE": keyFile, "KEDASTRAL_TLS_CLIENT_CA_FILE": caFile})

	kedaCert, kedaKey := clientCA.Issue(t, true)
	if err := healthCheck(t, addr, clientTLS(t, serverCA, kedaCert, kedaKey)); err != nil {
		t.Fatalf("client with a certificate from the client CA: %v", err)
	}
	if err := healthCheck(t, addr, clientTLS(t, serverCA, nil, nil)); err == nil {
		t.Error("client without a certificate: nil error, want it refused")
	}
	strangerCert, strangerKey := otherCA.Issue(t, true)
	if err := healthCheck(t, addr, clientTLS(t, serverCA, strangerCert, strangerKey)); err == nil {
		t.Error("client with a certificate from another CA: nil error, want it refused")
	}
}

// TestTLSConfigErrors checks that TLS misconfiguration fails at start, every problem named.
func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	for name, tc := range map[string]struct {
		env  map[string]string
		want []string
	}{
		"key without cert, CA without cert": {
			env: map[string]string{"KEDASTRAL_TLS_KEY_FILE": notPEM, "KEDASTRAL_TLS_CLIENT_CA_FILE": notPEM},
			want: []string{"KEDASTRAL_TLS_CERT_FILE and KEDASTRAL_TLS_KEY_FILE must be set together",
				"KEDASTRAL_TLS_CLIENT_CA_FILE needs KEDASTRAL_TLS_CERT_FILE"},
		},
		"unreadable files": {
			env:  map[string]string{"KEDASTRAL_TLS_CERT_FILE": missing, "KEDASTRAL_TLS_KEY_FILE": missing},
			want: []string{"KEDASTRAL_TLS_CERT_FILE cannot be read", "KEDASTRAL_TLS_KEY_FILE cannot be read"},
		},
		"not PEM": {
			env:  map[string]string{"KEDASTRAL_TLS_CERT_FILE": notPEM, "KEDASTRAL_TLS_KEY_FILE": notPEM},
			want: []string{"KEDASTRAL_TLS_CERT_FILE " + notPEM},
		},
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"KEDASTRAL_REDIS_ADDR": "127.0.0.1:1", "KEDASTRAL_GRPC_ADDR": "127.0.0.1:0", "KEDASTRAL_HTTP_ADDR": "127.0.0.1:0"}
			for k, v := range tc.env {
				env[k] = v
			}
			err := run(t.Context(), nil, func(k string) string { return env[k] }, io.Discard)
			if err == nil {
				t.Fatalf("run() = nil, want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("run() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
