package web_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// TestServer_UserRateLimit checks that one signed-in user's requests beyond
// their rate get 429 with Retry-After, and other users are not affected.
func TestServer_UserRateLimit(t *testing.T) {
	e := newEnv(t)
	owner, ou := e.firm(t, "us")
	lawyer, _ := e.user(t, ou.TenantID, vault.RoleLawyer)
	srv := web.NewServer(e.Svc, zerolog.Nop())
	srv.Addr, srv.UserRate, srv.UserBurst = "127.0.0.1:0", 0.001, 3
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(context.Background()) })
	owner.base, lawyer.base = srv.URL(), srv.URL()

	for i := range 3 {
		if resp, b := owner.read(t, "GET", "/api/v1/me", nil, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d within the burst = %d %s", i, resp.StatusCode, b)
		}
	}
	resp, b := owner.read(t, "GET", "/api/v1/me", nil, nil)
	wantError(t, resp, b, http.StatusTooManyRequests, "rate_limited")
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After = %q", resp.Header.Get("Retry-After"))
	}
	if resp, _ := lawyer.read(t, "GET", "/api/v1/me", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("another user is limited too: %d", resp.StatusCode)
	}
}
