package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/internal/oidctest"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

const ssoClientID = "casevault-test-client"

// ssoFirm is a firm whose owner configured single sign-on against a test
// issuer.
type ssoFirm struct {
	owner               *vault.User
	ownerAPI            *client
	ownerEmail, ownerPW string
	iss                 *oidctest.Issuer
}

// newSSOFirm makes a firm with SSO through iss (a fresh one when nil),
// allowing example.com, configured through PUT /api/v1/sso.
func newSSOFirm(tb testing.TB, e *env, secret string, mod func(map[string]any)) *ssoFirm {
	tb.Helper()
	email, pw := "owner."+vault.NewID("x")[4:14]+"@example.com", "owner password "+vault.NewID("p")[4:12]
	_, owner, _, err := e.Svc.CreateTenant(context.Background(), vault.NewTenant{Name: "SSO firm", Region: "us", Owner: vault.NewUser{Email: email, Password: pw}})
	if err != nil {
		tb.Fatalf("CreateTenant: %v", err)
	}
	c := e.login(tb, email, pw)
	f := &ssoFirm{owner: owner, ownerAPI: c, ownerEmail: email, ownerPW: pw, iss: oidctest.NewIssuer(tb)}
	body := map[string]any{"issuer": f.iss.URL, "client_id": ssoClientID, "client_secret": secret, "allowed_domains": []string{"example.com"}}
	if mod != nil {
		mod(body)
	}
	c.json(tb, "PUT", "/api/v1/sso", body, http.StatusOK, nil)
	return f
}

// ssoStart starts a sign-in for tenantID with hc (a cookie jar, no
// redirects) and returns the state, nonce and PKCE challenge of the
// provider redirect.
func ssoStart(tb testing.TB, e *env, hc *http.Client, tenantID string) (state, nonce, challenge string) {
	tb.Helper()
	resp, err := hc.Get(e.Server.URL() + "/sso/" + tenantID + "/start")
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("start: %d, want 303", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	if got, want := q.Get("code_challenge_method"), "S256"; got != want {
		tb.Errorf("code_challenge_method = %q, want %q", got, want)
	}
	if got, want := q.Get("redirect_uri"), e.Server.URL()+"/sso/callback"; got != want {
		tb.Errorf("redirect_uri = %q, want %q", got, want)
	}
	return q.Get("state"), q.Get("nonce"), q.Get("code_challenge")
}

// ssoCallback comes back from the provider with state and returns the
// status, the page and the session cookie set ("" for none).
func ssoCallback(tb testing.TB, e *env, hc *http.Client, state string) (int, string, string) {
	tb.Helper()
	resp, err := hc.Get(e.Server.URL() + "/sso/callback?code=thecode&state=" + url.QueryEscape(state))
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	session := ""
	for _, ck := range resp.Cookies() {
		if ck.Name == "cv_session" && ck.MaxAge >= 0 {
			session = ck.Value
		}
	}
	return resp.StatusCode, string(b), session
}

// lastRefusal returns the reason of the firm's newest sso.refused event.
func lastRefusal(tb testing.TB, e *env, owner *vault.User) string {
	tb.Helper()
	evs, _, err := e.Svc.AuditEvents(context.Background(), owner, vault.AuditFilter{})
	if err != nil {
		tb.Fatal(err)
	}
	reason := ""
	for _, ev := range evs {
		if ev.Action == vault.ActSSORefused {
			if ev.Outcome != vault.OutcomeDenied {
				tb.Errorf("sso.refused outcome = %q, want denied", ev.Outcome)
			}
			reason = ev.Details["reason"]
		}
	}
	return reason
}

func TestSSO_Callback(t *testing.T) {
	e := newEnv(t)
	f := newSSOFirm(t, e, "CLIENTSECRETMARKER", nil)
	tid := f.owner.TenantID
	_, lawyer := e.user(t, tid, vault.RoleLawyer)
	other := oidctest.NewIssuer(t)
	now := func() time.Time { return e.Clock.Now() }
	good := func(nonce string) oidctest.Claims {
		return oidctest.Claims{Audience: ssoClientID, Subject: "sub-1", Email: lawyer.Email, EmailVerified: true,
			Nonce: nonce, IssuedAt: now(), Expiry: now().Add(5 * time.Minute)}
	}

	t.Run("SignsIn", func(t *testing.T) {
		hc := uiClient(t)
		state, nonce, challenge := ssoStart(t, e, hc, tid)
		f.iss.Answer(f.iss.Sign(t, good(nonce)))
		status, page, session := ssoCallback(t, e, hc, state)
		if status != http.StatusOK || session == "" {
			t.Fatalf("callback: %d, session %t, want 200 and a session:\n%s", status, session != "", page)
		}
		code, verifier := f.iss.LastExchange()
		sum := sha256.Sum256([]byte(verifier))
		if code != "thecode" || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			t.Errorf("exchange: code %q, verifier matches challenge %t, want thecode and true", code, base64.RawURLEncoding.EncodeToString(sum[:]) == challenge)
		}
		u, tok, err := e.Svc.AuthenticateSession(context.Background(), session, 0)
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != lawyer.ID || tok.Method != vault.SignInSSO {
			t.Errorf("session of %s by %q, want %s by %q", u.ID, tok.Method, lawyer.ID, vault.SignInSSO)
		}
		// Replayed: the same state a second time.
		f.iss.Answer(f.iss.Sign(t, good(nonce)))
		if status, _, session := ssoCallback(t, e, hc, state); status != http.StatusUnauthorized || session != "" {
			t.Errorf("replayed state: %d, session %t, want 401 and none", status, session != "")
		}
		if got, want := lastRefusal(t, e, f.owner), vault.SSOReasonState; got != want {
			t.Errorf("replayed state: reason %q, want %q", got, want)
		}
	})

	refusals := []struct {
		name   string
		claims func(nonce, otherNonce string) (oidctest.Claims, *oidctest.Issuer)
		before func()
		reason string
	}{
		{"OtherIssuer", func(n, _ string) (oidctest.Claims, *oidctest.Issuer) {
			c := good(n)
			c.Issuer = other.URL
			return c, other
		}, nil, vault.SSOReasonIssuer},
		{"ClaimsOtherIssuer", func(n, _ string) (oidctest.Claims, *oidctest.Issuer) {
			c := good(n)
			c.Issuer = other.URL
			return c, f.iss
		}, nil, vault.SSOReasonIssuer},
		{"ForgedSignature", func(n, _ string) (oidctest.Claims, *oidctest.Issuer) {
			c := good(n)
			c.Issuer = f.iss.URL
			return c, other
		}, nil, vault.SSOReasonToken},
		{"WrongAudience", func(n, _ string) (oidctest.Claims, *oidctest.Issuer) {
			c := good(n)
			c.Audience = "another-client"
			return c, f.iss
		}, nil, vault.SSOReasonAudience},
		{"Expired", func(n, _ string) (oidctest.Claims, *oidctest.Issuer) { return good(n), f.iss }, func() { e.Clock.Advance(6 * time.Minute) }, vault.SSOReasonExpired},
		{"ReplayedNonce", func(_, o string) (oidctest.Claims, *oidctest.Issuer) { return good(o), f.iss }, nil, vault.SSOReasonNonce},
		{"DomainNotAllowed", func(n, _ string) (oidctest.Claims, *oidctest.Issuer) {
			c := good(n)
			c.Email = "someone@elsewhere.example"
			return c, f.iss
		}, nil, vault.SSOReasonDomain},
		{"EmailUnverified", func(n, _ string) (oidctest.Claims, *oidctest.Issuer) {
			c := good(n)
			c.EmailVerified = false
			return c, f.iss
		}, nil, vault.SSOReasonUnverified},
		{"UnknownUser", func(n, _ string) (oidctest.Claims, *oidctest.Issuer) {
			c := good(n)
			c.Email = "nobody@example.com"
			return c, f.iss
		}, nil, vault.SSOReasonUnknown},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			hc := uiClient(t)
			_, earlier, _ := ssoStart(t, e, hc, tid) // an earlier sign-in's nonce
			state, nonce, _ := ssoStart(t, e, hc, tid)
			c, signer := tc.claims(nonce, earlier)
			f.iss.Answer(signer.Sign(t, c))
			if tc.before != nil {
				tc.before()
			}
			status, page, session := ssoCallback(t, e, hc, state)
			if status != http.StatusUnauthorized || session != "" {
				t.Fatalf("callback: %d, session %t, want 401 and none", status, session != "")
			}
			if !strings.Contains(page, "Single sign-on did not sign you in") {
				t.Errorf("page does not say single sign-on failed:\n%s", page)
			}
			if got := lastRefusal(t, e, f.owner); got != tc.reason {
				t.Errorf("reason %q, want %q", got, tc.reason)
			}
		})
	}

	t.Run("DisabledUser", func(t *testing.T) {
		_, d := e.user(t, tid, vault.RoleLawyer)
		yes := true
		if _, err := e.Svc.UpdateUser(context.Background(), f.owner, d.ID, vault.UserUpdate{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		hc := uiClient(t)
		state, nonce, _ := ssoStart(t, e, hc, tid)
		c := good(nonce)
		c.Email = d.Email
		f.iss.Answer(f.iss.Sign(t, c))
		if status, _, session := ssoCallback(t, e, hc, state); status != http.StatusUnauthorized || session != "" {
			t.Errorf("callback: %d, session %t, want 401 and none", status, session != "")
		}
		if got, want := lastRefusal(t, e, f.owner), vault.SSOReasonDisabled; got != want {
			t.Errorf("reason %q, want %q", got, want)
		}
	})

	t.Run("NoStateCookie", func(t *testing.T) {
		hc := uiClient(t)
		state, nonce, _ := ssoStart(t, e, hc, tid)
		f.iss.Answer(f.iss.Sign(t, good(nonce)))
		if status, _, _ := ssoCallback(t, e, uiClient(t), state); status != http.StatusUnauthorized {
			t.Errorf("callback from another browser: %d, want 401", status)
		}
		if got, want := lastRefusal(t, e, f.owner), vault.SSOReasonState; got != want {
			t.Errorf("reason %q, want %q", got, want)
		}
	})

	t.Run("OtherFirmsUser", func(t *testing.T) {
		// A user of another firm with an email the provider vouches for is
		// never signed in through this firm's provider.
		_, owner2 := e.firm(t, "us")
		shared := "shared." + vault.NewID("x")[4:12] + "@example.com"
		if _, _, err := e.Svc.AddUser(context.Background(), owner2.TenantID, vault.NewUser{Email: shared, Role: vault.RoleLawyer}); err != nil {
			t.Fatal(err)
		}
		hc := uiClient(t)
		state, nonce, _ := ssoStart(t, e, hc, tid)
		c := good(nonce)
		c.Email = shared
		f.iss.Answer(f.iss.Sign(t, c))
		if status, _, session := ssoCallback(t, e, hc, state); status != http.StatusUnauthorized || session != "" {
			t.Errorf("callback: %d, session %t, want 401 and none", status, session != "")
		}
		if got, want := lastRefusal(t, e, f.owner), vault.SSOReasonUnknown; got != want {
			t.Errorf("reason %q, want %q", got, want)
		}
		// The other firm has no SSO: its start is not_found.
		resp, err := hc.Get(e.Server.URL() + "/sso/" + owner2.TenantID + "/start")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("start for a firm without SSO: %d, want 404", resp.StatusCode)
		}
	})

	t.Run("SecretSealed", func(t *testing.T) {
		if hits, read := vaulttest.MarkersInDatabase(t, e.Dir+"/casevault.db", "CLIENTSECRETMARKER", f.iss.URL, ssoClientID); len(hits) > 0 || read == 0 {
			t.Errorf("markers in the database: %q (read %d bytes), want none", hits, read)
		}
	})
}

func TestSSO_JIT(t *testing.T) {
	e := newEnv(t)
	f := newSSOFirm(t, e, "s3cret", func(b map[string]any) { b["jit"] = true })
	hc := uiClient(t)
	state, nonce, _ := ssoStart(t, e, hc, f.owner.TenantID)
	email := "newcomer." + vault.NewID("x")[4:12] + "@example.com"
	now := e.Clock.Now()
	f.iss.Answer(f.iss.Sign(t, oidctest.Claims{Audience: ssoClientID, Subject: "s", Email: email, EmailVerified: true, Nonce: nonce, IssuedAt: now, Expiry: now.Add(time.Minute)}))
	status, _, session := ssoCallback(t, e, hc, state)
	if status != http.StatusOK || session == "" {
		t.Fatalf("callback: %d, want 200 and a session", status)
	}
	u, _, err := e.Svc.AuthenticateSession(context.Background(), session, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Role, vault.RoleLawyer; got != want || u.Email != email || u.TenantID != f.owner.TenantID {
		t.Errorf("created %s %s in %s, want a lawyer %s in %s", u.Role, u.Email, u.TenantID, email, f.owner.TenantID)
	}
}

func TestSSO_RequireSSO(t *testing.T) {
	e := newEnv(t)
	f := newSSOFirm(t, e, "s3cret", func(b map[string]any) { b["require_sso"] = true })
	ctx := context.Background()
	email := "req." + vault.NewID("x")[4:12] + "@example.com"
	_, pw, err := e.Svc.AddUser(ctx, f.owner.TenantID, vault.NewUser{Email: email, Role: vault.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := e.client().read(t, "POST", "/api/v1/auth/login", strings.NewReader(`{"email":"`+email+`","password":"`+pw+`"}`), http.Header{"Content-Type": {"application/json"}})
	wantError(t, resp, body, http.StatusForbidden, vault.ESSOREQUIRED)
	acts := e.actions(t, f.owner)
	if !hasAll(acts, []string{vault.ActLoginFailed + ":" + vault.OutcomeDenied}) {
		t.Errorf("actions %q, want a denied login_failed", acts)
	}
	// The owner's break-glass password still signs in.
	if _, _, err := e.Svc.Login(ctx, f.ownerEmail, f.ownerPW, ""); err != nil {
		t.Errorf("owner's password sign-in: %v, want none", err)
	}
}

func TestSSO_API(t *testing.T) {
	e := newEnv(t)
	f := newSSOFirm(t, e, "APISECRETMARKER", nil)
	tid := f.owner.TenantID

	t.Run("OwnerReadsWithoutSecret", func(t *testing.T) {
		_, b := f.ownerAPI.read(t, "GET", "/api/v1/sso", nil, nil)
		var got struct {
			Issuer      string   `json:"issuer"`
			ClientID    string   `json:"client_id"`
			Domains     []string `json:"allowed_domains"`
			RedirectURI string   `json:"redirect_uri"`
			StartURL    string   `json:"start_url"`
		}
		f.ownerAPI.json(t, "GET", "/api/v1/sso", nil, http.StatusOK, &got)
		if strings.Contains(string(b), "APISECRETMARKER") {
			t.Errorf("GET /api/v1/sso shows the client secret: %s", b)
		}
		if got.Issuer != f.iss.URL || got.ClientID != ssoClientID || len(got.Domains) != 1 || got.Domains[0] != "example.com" ||
			got.RedirectURI != e.Server.URL()+"/sso/callback" || got.StartURL != e.Server.URL()+"/sso/"+tid+"/start" {
			t.Errorf("GET /api/v1/sso = %+v", got)
		}
	})

	t.Run("Roles", func(t *testing.T) {
		for _, role := range []vault.Role{vault.RoleAdmin, vault.RoleLawyer, vault.RoleAuditor} {
			c, _ := e.user(t, tid, role)
			for _, m := range []string{"GET", "PUT", "DELETE"} {
				var body io.Reader
				if m == "PUT" {
					body = strings.NewReader(`{"issuer":"` + f.iss.URL + `","client_id":"x","client_secret":"y","allowed_domains":["example.com"]}`)
				}
				resp, b := c.read(t, m, "/api/v1/sso", body, http.Header{"Content-Type": {"application/json"}})
				wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
			}
		}
		resp, b := e.client().read(t, "GET", "/api/v1/sso", nil, nil)
		wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
	})

	t.Run("OtherFirm", func(t *testing.T) {
		c2, _ := e.firm(t, "us")
		resp, b := c2.read(t, "GET", "/api/v1/sso", nil, nil)
		wantError(t, resp, b, http.StatusNotFound, vault.ENOTFOUND)
		resp, b = c2.read(t, "DELETE", "/api/v1/sso", nil, nil)
		wantError(t, resp, b, http.StatusNotFound, vault.ENOTFOUND)
		// Firm A's provider is untouched.
		f.ownerAPI.json(t, "GET", "/api/v1/sso", nil, http.StatusOK, nil)
	})

	t.Run("Invalid", func(t *testing.T) {
		for name, body := range map[string]map[string]any{
			"HTTPIssuer":      {"issuer": "http://idp.example.com", "client_id": "x", "client_secret": "y", "allowed_domains": []string{"example.com"}},
			"Unreachable":     {"issuer": "http://127.0.0.1:1/none", "client_id": "x", "client_secret": "y", "allowed_domains": []string{"example.com"}},
			"NoDomain":        {"issuer": f.iss.URL, "client_id": "x", "client_secret": "y", "allowed_domains": []string{}},
			"BadDomain":       {"issuer": f.iss.URL, "client_id": "x", "client_secret": "y", "allowed_domains": []string{"not a domain"}},
			"NoClientID":      {"issuer": f.iss.URL, "client_id": "", "client_secret": "y", "allowed_domains": []string{"example.com"}},
			"IssuerWithQuery": {"issuer": f.iss.URL + "?x=1", "client_id": "x", "client_secret": "y", "allowed_domains": []string{"example.com"}},
		} {
			t.Run(name, func(t *testing.T) {
				b := f.ownerAPI.json(t, "PUT", "/api/v1/sso", body, http.StatusBadRequest, nil)
				if !strings.Contains(string(b), `"invalid"`) {
					t.Errorf("PUT: %s, want code invalid", b)
				}
			})
		}
	})

	t.Run("SecretKeptAndAudited", func(t *testing.T) {
		f.ownerAPI.json(t, "PUT", "/api/v1/sso", map[string]any{"issuer": f.iss.URL, "client_id": ssoClientID, "allowed_domains": []string{"example.com", "Example.org"}}, http.StatusOK, nil)
		cfg, err := e.Svc.SSOProvider(context.Background(), tid)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.ClientSecret != "APISECRETMARKER" || strings.Join(cfg.Domains, ",") != "example.com,example.org" {
			t.Errorf("stored secret kept %t, domains %q", cfg.ClientSecret == "APISECRETMARKER", cfg.Domains)
		}
		f.ownerAPI.json(t, "DELETE", "/api/v1/sso", nil, http.StatusNoContent, nil)
		f.ownerAPI.json(t, "GET", "/api/v1/sso", nil, http.StatusNotFound, nil)
		acts := e.actions(t, f.owner)
		if !hasAll(acts, []string{vault.ActSSOConfigure + ":ok", vault.ActSSODisable + ":ok"}) {
			t.Errorf("actions %q, want sso.configure and sso.disable", acts)
		}
		if hits, _ := vaulttest.MarkersInDatabase(t, e.Dir+"/casevault.db", "APISECRETMARKER", "example.org"); len(hits) > 0 {
			t.Errorf("markers in the database: %q, want none", hits)
		}
	})
}

// TestSSO_SatisfiesMFAPolicy: under a firm MFA policy that applies to a
// lawyer with no second factor, their password session is held at
// enrolment while their single sign-on session works: the identity
// provider secures that sign-in.
func TestSSO_SatisfiesMFAPolicy(t *testing.T) {
	e := newEnv(t)
	f := newSSOFirm(t, e, "s3cret", nil)
	ctx := context.Background()
	tid := f.owner.TenantID
	email := "mfa." + vault.NewID("x")[4:12] + "@example.com"
	_, pw, err := e.Svc.AddUser(ctx, tid, vault.NewUser{Email: email, Role: vault.RoleLawyer})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Svc.Store.SetMFAPolicy(ctx, tid, vault.MFAPolicyEveryone, f.owner.ID); err != nil {
		t.Fatal(err)
	}

	password := e.login(t, email, pw)
	resp, body := password.read(t, "GET", "/api/v1/matters", nil, nil)
	wantError(t, resp, body, http.StatusForbidden, vault.EMFAENROL)

	hc := uiClient(t)
	state, nonce, _ := ssoStart(t, e, hc, tid)
	now := e.Clock.Now()
	f.iss.Answer(f.iss.Sign(t, oidctest.Claims{Audience: ssoClientID, Subject: "s", Email: email, EmailVerified: true, Nonce: nonce, IssuedAt: now, Expiry: now.Add(time.Minute)}))
	status, _, session := ssoCallback(t, e, hc, state)
	if status != http.StatusOK || session == "" {
		t.Fatalf("callback: %d, want 200 and a session", status)
	}
	sso := e.client()
	sso.token = session
	sso.json(t, "GET", "/api/v1/matters", nil, http.StatusOK, nil)
}
