package web_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault/vaulttest"
	"github.com/casevault/casevault/web"
)

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPebble runs Let's Encrypt's test ACME server on loopback, accepting
// every challenge without checking it (PEBBLE_VA_ALWAYS_VALID: it cannot
// reach a test server as port 443 of a real domain). It returns the
// directory URL, a client that trusts Pebble's HTTPS listener, and a pool
// of the roots Pebble issues under.
func startPebble(t *testing.T) (dirURL string, hc *http.Client, issued *x509.CertPool) {
	t.Helper()
	bin := vaulttest.Tool(t, "pebble")
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	own := writeCert(t, certFile, keyFile)
	port, mgmt := freePort(t), freePort(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": fmt.Sprintf("127.0.0.1:%d", port), "managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mgmt),
		"certificate": certFile, "privateKey": keyFile, "httpPort": freePort(t), "tlsPort": freePort(t),
		"ocspResponderURL": "", "externalAccountBindingRequired": false,
	}}
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfgFile)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	logf, err := os.Create(filepath.Join(dir, "pebble.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: own}}}
	dirURL = fmt.Sprintf("https://127.0.0.1:%d/dir", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := hc.Get(dirURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "pebble.log"))
			t.Fatalf("pebble did not start: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/roots/0", mgmt))
	if err != nil {
		t.Fatal(err)
	}
	root, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	issued = x509.NewCertPool()
	if !issued.AppendCertsFromPEM(root) {
		t.Fatalf("pebble root: %q", root)
	}
	return dirURL, hc, issued
}

// TestServer_ACME has the server obtain its certificate from a real ACME
// server (Pebble) on the first TLS handshake for its domain, serve HTTPS
// with it, refuse names it is not for, and serve the cached certificate
// after a restart without the CA.
func TestServer_ACME(t *testing.T) {
	e := newEnv(t)
	dirURL, hc, issued := startPebble(t)
	cache := t.TempDir()
	const domain = "vault.example.test"

	open := func() *web.Server {
		srv := web.NewServer(e.Svc, zerolog.Nop())
		srv.Addr = "127.0.0.1:0"
		srv.ACME = &web.ACME{Domains: []string{domain}, Email: "ops@example.test", CacheDir: cache, DirectoryURL: dirURL, HTTPClient: hc}
		if err := srv.Open(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close(context.Background()) })
		return srv
	}
	get := func(srv *web.Server, name string) (*http.Response, error) {
		addr := srv.URL()[len("https://"):]
		client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: issued, ServerName: name},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		}}
		return client.Get("https://" + name + "/healthz")
	}

	srv := open()
	if !srv.UseTLS() {
		t.Fatal("server with ACME does not use TLS")
	}
	resp, err := get(srv, domain)
	if err != nil {
		t.Fatalf("HTTPS with the ACME certificate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("GET /healthz = %d", resp.StatusCode)
	}
	leaf := resp.TLS.PeerCertificates[0]
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != domain {
		t.Fatalf("certificate names %v", leaf.DNSNames)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over ACME TLS")
	}
	// No certificate is asked for a name not configured.
	if _, err := get(srv, "other.example.test"); err == nil {
		t.Fatal("handshake for a name the server is not for succeeded")
	}

	// Restarted, the server serves the cached certificate: the CA is not
	// asked again (a dead directory URL proves it).
	if err := srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	dirURL = "https://127.0.0.1:1/dir"
	srv2 := open()
	resp, err = get(srv2, domain)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	resp.Body.Close()
	if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(leaf.SerialNumber) != 0 {
		t.Fatalf("after restart a new certificate %v, want the cached %v", got, leaf.SerialNumber)
	}
}
