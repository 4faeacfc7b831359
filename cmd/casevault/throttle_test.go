package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestServe_ThrottleSurvivesRestart runs the real binary behind a trusted
// proxy (so each request names its client): 100 addresses take the owner's
// account over its ceiling, and after a restart those addresses are still
// refused while a fresh one signs in. The throttle lives in the database.
func TestServe_ThrottleSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "casevault.yaml")
	if err := os.WriteFile(cfg, []byte("trusted_proxies: [\"127.0.0.1\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, data, cfg)
	firstRun(t, srv)
	login := func(password, from string) (int, int) {
		t.Helper()
		c := newClient(srv.URL)
		resp := c.request(t, "POST", "/api/v1/auth/login",
			strings.NewReader(`{"email":"owner@maple.example","password":"`+password+`"}`),
			http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {from}})
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return resp.StatusCode, ra
	}
	for i := range 100 {
		if got, _ := login("wrong password 123", fmt.Sprintf("198.51.100.%d", i)); got != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d, want 401", i, got)
		}
	}
	wantRefused := func() {
		t.Helper()
		got, ra := login("correct horse battery staple", "198.51.100.1")
		if got != http.StatusTooManyRequests || ra < 3000 || ra > 3600 {
			t.Fatalf("failing address over the ceiling = %d, Retry-After %d; want 429 until the hour ends", got, ra)
		}
	}
	wantRefused()

	srv.Stop(t)
	srv = startServer(t, data, cfg)
	wantRefused()
	if got, _ := login("correct horse battery staple", "203.0.113.5"); got != http.StatusOK {
		t.Fatalf("fresh address after the restart = %d, want 200", got)
	}
}
