package web_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/internal/oidctest"
	"github.com/casevault/casevault/vault"
)

// dexForm finds the action of Dex's password form.
var dexForm = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)

// dexSignIn runs a sign-in's provider half against Dex over HTTP, as a
// browser would: the firm's start (which sets the state cookie in hc's
// jar), Dex's password form, signed in as its static user. It returns the
// callback URL Dex sends the browser back to, not yet followed.
func dexSignIn(t *testing.T, e *env, hc *http.Client, tenantID string, dex *oidctest.Dex) string {
	t.Helper()
	callback := e.Server.URL() + "/sso/callback"
	c := &http.Client{Jar: hc.Jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), callback) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(e.Server.URL() + "/sso/" + tenantID + "/start")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := dexForm.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("start led to %s: %d, no Dex password form", resp.Request.URL, resp.StatusCode)
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = c.PostForm(action.String(), url.Values{"login": {dex.Email}, "password": {dex.Password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, callback) {
		t.Fatalf("Dex sign-in: %d to %q, want the callback", resp.StatusCode, loc)
	}
	return loc
}

// getCallback follows the callback URL with hc and returns the status and
// the session cookie set ("" for none).
func getCallback(t *testing.T, hc *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "cv_session" && ck.MaxAge >= 0 && ck.Value != "" {
			return resp.StatusCode, ck.Value
		}
	}
	return resp.StatusCode, ""
}

// TestSSO_DexRefusals: against Dex, the real provider make test builds, a
// replayed callback (state), an email outside the firm's allowed domains
// and an ID token expired by the time it reaches the server are each
// refused and audited; the first callback signs in. The forged tokens
// (another issuer, a wrong audience, a replayed nonce) need a provider
// that misbehaves: TestSSO_Callback's, over HTTP too.
func TestSSO_DexRefusals(t *testing.T) {
	e := newEnv(t)
	email := "dex." + vault.NewID("x")[4:12] + "@example.com"
	dex := oidctest.StartDex(t, e.Server.URL()+"/sso/callback", email)
	firm := func(domains ...string) (*vault.User, *vault.User) {
		c, owner := e.firm(t, "us")
		c.json(t, "PUT", "/api/v1/sso", map[string]any{
			"issuer": dex.Issuer, "client_id": dex.ClientID, "client_secret": dex.ClientSecret, "allowed_domains": domains,
		}, http.StatusOK, nil)
		u, _, err := e.Svc.AddUser(t.Context(), owner.TenantID, vault.NewUser{Email: email, Role: vault.RoleLawyer})
		if err != nil {
			t.Fatal(err)
		}
		return owner, u
	}

	t.Run("SignsInThenReplayedState", func(t *testing.T) {
		owner, u := firm("example.com")
		hc := uiClient(t)
		cb := dexSignIn(t, e, hc, owner.TenantID, dex)
		status, session := getCallback(t, hc, cb)
		if status != http.StatusOK || session == "" {
			t.Fatalf("callback: %d, session %t; want 200 and a session", status, session != "")
		}
		got, tok, err := e.Svc.AuthenticateSession(t.Context(), session, 0)
		if err != nil || got.ID != u.ID || tok.Method != vault.SignInSSO {
			t.Fatalf("session: %v, %v, %v; want %s signed in by sso", got, tok, err, u.ID)
		}
		if _, session := getCallback(t, hc, cb); session != "" {
			t.Error("the replayed callback signed in again")
		}
		if got, want := lastRefusal(t, e, owner), vault.SSOReasonState; got != want {
			t.Errorf("refusal reason %q, want %q", got, want)
		}
	})
	t.Run("DomainNotAllowed", func(t *testing.T) {
		owner, _ := firm("other.example")
		hc := uiClient(t)
		if _, session := getCallback(t, hc, dexSignIn(t, e, hc, owner.TenantID, dex)); session != "" {
			t.Error("an email outside the allowed domains signed in")
		}
		if got, want := lastRefusal(t, e, owner), vault.SSOReasonDomain; got != want {
			t.Errorf("refusal reason %q, want %q", got, want)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		owner, _ := firm("example.com")
		hc := uiClient(t)
		cb := dexSignIn(t, e, hc, owner.TenantID, dex)
		// Dex's ID tokens live a minute; the server's clock is five
		// minutes on when the token reaches it (the sign-in's state, ten).
		e.Clock.Advance(5 * time.Minute)
		defer e.Clock.Advance(-5 * time.Minute)
		if _, session := getCallback(t, hc, cb); session != "" {
			t.Error("an expired ID token signed in")
		}
		if got, want := lastRefusal(t, e, owner), vault.SSOReasonExpired; got != want {
			t.Errorf("refusal reason %q, want %q", got, want)
		}
	})
}
