package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// TestAuth_Throttle hammers one account over real HTTP from one address:
// that address waits, with 429 and Retry-After, while the owner signs in
// from another address at once and from the same one after the wait. The
// address is the peer's unless the peer is a trusted proxy.
func TestAuth_Throttle(t *testing.T) {
	e := newEnv(t)
	c, owner := e.firm(t, "us")
	const password = "correct horse battery staple"
	u, _, err := e.Svc.AddUser(context.Background(), owner.TenantID, vault.NewUser{Email: "hammered@example.com", Role: vault.RoleLawyer, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	proxied := e.server(t, func(s *web.Server) { s.TrustedProxies = []string{"127.0.0.1"} })
	login := func(base, password, forwarded string) (*http.Response, []byte) {
		t.Helper()
		cl := e.client()
		cl.base = base
		h := http.Header{"Content-Type": {"application/json"}}
		if forwarded != "" {
			h.Set("X-Forwarded-For", forwarded)
		}
		return cl.read(t, "POST", "/api/v1/auth/login",
			strings.NewReader(`{"email":"`+u.Email+`","password":"`+password+`"}`), h)
	}
	direct := e.Server.URL()

	// X-Forwarded-For from an untrusted peer is ignored: every attempt is
	// 127.0.0.1's, however the header varies.
	for i := range 5 {
		resp, b := login(direct, "wrong password 123", "203.0.113."+string(rune('1'+i)))
		wantError(t, resp, b, http.StatusUnauthorized, "unauthorized")
	}
	resp, b := login(direct, password, "203.0.113.9")
	wantError(t, resp, b, http.StatusTooManyRequests, "rate_limited")
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	// Behind a trusted proxy the forwarded client is the source: another
	// address signs in at once.
	resp, b = login(proxied.URL(), password, "203.0.113.50")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login from another address = %d %s, want 200", resp.StatusCode, b)
	}
	// The same address, after the wait.
	e.Clock.Advance(time.Second)
	if resp, b := login(direct, password, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("login after the wait = %d %s, want 200", resp.StatusCode, b)
	}

	// The current-password check of a password change counts alike.
	for range 5 {
		resp, b := c.read(t, "POST", "/api/v1/me/password", strings.NewReader(`{"old_password":"not the password","new_password":"a brand new passphrase"}`),
			http.Header{"Content-Type": {"application/json"}})
		wantError(t, resp, b, http.StatusForbidden, "forbidden")
	}
	resp, b = c.read(t, "POST", "/api/v1/me/password", strings.NewReader(`{"old_password":"not the password","new_password":"a brand new passphrase"}`),
		http.Header{"Content-Type": {"application/json"}})
	wantError(t, resp, b, http.StatusTooManyRequests, "rate_limited")
	if got := resp.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
}
