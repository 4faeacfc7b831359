package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const metricsToken = "m3tr1cs-t0ken-0123456789"

// getMetrics sends GET url with token as a bearer token ("" for none) and
// returns the status and body.
func getMetrics(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// loopbackURL returns u with its host replaced by 127.0.0.1, for a server
// listening on every interface.
func loopbackURL(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.Host = net.JoinHostPort("127.0.0.1", p.Port())
	return p.String()
}

// TestMain_MetricsBeyondLoopback runs the program on every interface (a TLS
// proxy said to stand in front): /metrics on the API's listener is 404,
// and the loopback metrics listener serves it, behind the token.
func TestMain_MetricsBeyondLoopback(t *testing.T) {
	m := NewMain()
	m.Config.DataDir = t.TempDir()
	m.Config.Addr, m.Config.BehindTLSProxy = "0.0.0.0:0", true
	m.Config.Metrics.Addr, m.Config.Metrics.Token = "127.0.0.1:0", metricsToken
	m.Config.Operator.Addr = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	closed := false
	defer func() {
		if !closed {
			m.Close()
		}
	}()
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}

	api := loopbackURL(t, m.HTTP.URL())
	for _, token := range []string{"", metricsToken} {
		if code, body := getMetrics(t, api+"/metrics", token); code != http.StatusNotFound || strings.Contains(body, "casevault_") {
			t.Errorf("GET /metrics on the API listener (token %q) = %d %.100s, want 404", token, code, body)
		}
	}
	if code, _ := getMetrics(t, api+"/healthz", ""); code != http.StatusOK {
		t.Errorf("GET /healthz on the API listener = %d, want 200", code)
	}

	metrics := m.HTTP.MetricsURL()
	if !strings.HasPrefix(metrics, "http://127.0.0.1:") {
		t.Fatalf("MetricsURL() = %q, want a loopback listener", metrics)
	}
	if code, body := getMetrics(t, metrics, metricsToken); code != http.StatusOK || !strings.Contains(body, "casevault_audit_events_total") {
		t.Errorf("GET %s with the token = %d %.100s, want the metrics", metrics, code, body)
	}
	for _, token := range []string{"", "the-wrong-metrics-token"} {
		if code, body := getMetrics(t, metrics, token); code != http.StatusUnauthorized || strings.Contains(body, "casevault_") {
			t.Errorf("GET %s with token %q = %d %.100s, want 401", metrics, token, code, body)
		}
	}

	// Close stops both listeners.
	closed = true
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(metrics, "http://"), "/metrics")); err == nil {
		conn.Close()
		t.Error("the metrics listener still accepts after Close")
	}
}

// TestServe_MetricsToken starts the real binary with the token in the
// environment: on the loopback API listener /metrics wants it.
func TestServe_MetricsToken(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", "CASEVAULT_METRICS_TOKEN="+metricsToken)
	if code, _ := getMetrics(t, srv.URL+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics without the token = %d, want 401", code)
	}
	if code, _ := getMetrics(t, srv.URL+"/metrics", "not-"+metricsToken); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics with a wrong token = %d, want 401", code)
	}
	if code, body := getMetrics(t, srv.URL+"/metrics", metricsToken); code != http.StatusOK || !strings.Contains(body, "casevault_http_requests_total") {
		t.Errorf("GET /metrics with the token = %d %.100s, want the metrics", code, body)
	}
}
