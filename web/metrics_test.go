package web_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casevault/casevault/web"
)

const metricsToken = "m3tr1cs-t0ken-0123456789"

// metricsClient returns an anonymous client of a server's metrics
// listener (or of its main listener when it has none).
func metricsClient(srv *web.Server) *client {
	return &client{base: strings.TrimSuffix(srv.MetricsURL(), "/metrics"), hc: &http.Client{Transport: &http.Transport{DisableCompression: true}}}
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

// wantMetrics checks that a /metrics answer is the Prometheus text.
func wantMetrics(t *testing.T, what string, resp *http.Response, b []byte) {
	t.Helper()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "casevault_audit_events_total") {
		t.Errorf("%s = %d %.200s, want 200 and the metrics", what, resp.StatusCode, b)
	}
}

// wantUnauthorized checks a 401 that asks for a bearer token and shows no
// metrics.
func wantUnauthorized(t *testing.T, what string, resp *http.Response, b []byte) {
	t.Helper()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `"code":"unauthorized"`) ||
		resp.Header.Get("WWW-Authenticate") == "" || strings.Contains(string(b), "casevault_") {
		t.Errorf("%s = %d %s (WWW-Authenticate %q), want 401 unauthorized", what, resp.StatusCode, b, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestServer_MetricsListener(t *testing.T) {
	e := newEnv(t)
	srv := e.server(t, func(s *web.Server) { s.MetricsAddr = "127.0.0.1:0"; s.MetricsToken = metricsToken })
	main := &client{base: srv.URL(), hc: &http.Client{}}
	if !strings.HasPrefix(srv.MetricsURL(), "http://127.0.0.1:") || strings.HasPrefix(srv.MetricsURL(), srv.URL()) {
		t.Fatalf("MetricsURL() = %q, want a listener of its own (main %s)", srv.MetricsURL(), srv.URL())
	}

	t.Run("MainListenerIs404", func(t *testing.T) {
		_, unknown := main.read(t, "GET", "/no-such-path", nil, nil)
		for _, h := range []http.Header{nil, bearer(metricsToken)} {
			resp, b := main.read(t, "GET", "/metrics", nil, h)
			if resp.StatusCode != http.StatusNotFound || string(b) != string(unknown) {
				t.Errorf("main GET /metrics (auth %q) = %d %s, want 404 like an unknown path: %s", h.Get("Authorization"), resp.StatusCode, b, unknown)
			}
		}
		// The API still answers on the main listener.
		if resp, _ := main.read(t, "GET", "/healthz", nil, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("main GET /healthz = %d, want 200", resp.StatusCode)
		}
	})

	mc := metricsClient(srv)
	t.Run("Token", func(t *testing.T) {
		resp, b := mc.read(t, "GET", "/metrics", nil, bearer(metricsToken))
		wantMetrics(t, "GET /metrics with the token", resp, b)
		resp, b = mc.read(t, "GET", "/metrics", nil, http.Header{"Authorization": {"bearer " + metricsToken}})
		wantMetrics(t, "GET /metrics with a lower-case scheme", resp, b)
	})
	t.Run("WrongToken", func(t *testing.T) {
		for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer " + metricsToken[:len(metricsToken)-1], "Bearer " + metricsToken + "x",
			"Basic " + metricsToken, metricsToken} {
			h := http.Header{}
			if auth != "" {
				h.Set("Authorization", auth)
			}
			resp, b := mc.read(t, "GET", "/metrics", nil, h)
			wantUnauthorized(t, "GET /metrics with Authorization "+auth, resp, b)
		}
	})
	t.Run("NothingElse", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/api/v1/openapi.json", "/api/v1/me", "/"} {
			if resp, _ := mc.read(t, "GET", path, nil, bearer(metricsToken)); resp.StatusCode != http.StatusNotFound {
				t.Errorf("metrics listener GET %s = %d, want 404", path, resp.StatusCode)
			}
		}
	})
	t.Run("ClosesWithServer", func(t *testing.T) {
		addr := strings.TrimPrefix(mc.base, "http://")
		if err := srv.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			t.Errorf("the metrics listener %s still accepts after Close", addr)
		}
	})
}

func TestServer_MetricsTokenOnMainListener(t *testing.T) {
	e := newEnv(t)
	srv := e.server(t, func(s *web.Server) { s.MetricsToken = metricsToken })
	if got, want := srv.MetricsURL(), srv.URL()+"/metrics"; got != want {
		t.Fatalf("MetricsURL() = %q, want %q", got, want)
	}
	c := metricsClient(srv)
	resp, b := c.read(t, "GET", "/metrics", nil, nil)
	wantUnauthorized(t, "GET /metrics without the token", resp, b)
	resp, b = c.read(t, "GET", "/metrics", nil, bearer("not-the-metrics-token"))
	wantUnauthorized(t, "GET /metrics with a wrong token", resp, b)
	resp, b = c.read(t, "GET", "/metrics", nil, bearer(metricsToken))
	wantMetrics(t, "GET /metrics with the token", resp, b)
}

func TestServer_MetricsListenError(t *testing.T) {
	e := newEnv(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	srv := web.NewServer(e.Svc, e.Server.Log)
	srv.Addr, srv.MetricsAddr = "127.0.0.1:0", taken.Addr().String()
	if err := srv.Open(); err == nil || !strings.Contains(err.Error(), "metrics") {
		srv.Close(context.Background())
		t.Fatalf("Open with the metrics port taken = %v, want an error naming metrics", err)
	}
}

func TestServer_MetricsListenerTLS(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := writeCert(t, certFile, keyFile)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, useTLS := range []bool{false, true} {
		srv := e.server(t, func(s *web.Server) {
			s.TLSCertFile, s.TLSKeyFile = certFile, keyFile
			s.MetricsAddr, s.MetricsTLS, s.MetricsToken = "127.0.0.1:0", useTLS, metricsToken
		})
		if got, want := strings.HasPrefix(srv.MetricsURL(), "https://"), useTLS; got != want {
			t.Fatalf("MetricsTLS %t: MetricsURL() = %q", useTLS, srv.MetricsURL())
		}
		c := &client{base: strings.TrimSuffix(srv.MetricsURL(), "/metrics"), hc: hc}
		resp, b := c.read(t, "GET", "/metrics", nil, bearer(metricsToken))
		wantMetrics(t, "GET "+srv.MetricsURL(), resp, b)
	}
}
