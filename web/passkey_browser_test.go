package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/vault"
)

// passkeyJS is the browser's half of the ceremonies: begin on the server,
// ask the authenticator, finish on the server; it resolves to
// {"status", "body"} of the finish request.
const passkeyJS = `
window.cvPasskey = async function(kind, token, begin, finish, extra) {
  const h = {"Content-Type": "application/json"};
  if (token) h["Authorization"] = "Bearer " + token;
  const b = await fetch(begin.path, {method: "POST", headers: h, body: JSON.stringify(begin.body || {})});
  const opts = await b.json();
  if (!b.ok) return JSON.stringify({status: b.status, body: opts});
  let cred;
  if (kind === "create") {
    cred = await navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(opts.options.publicKey)});
  } else {
    cred = await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(opts.options.publicKey)});
  }
  const body = Object.assign({ceremony: opts.ceremony}, extra || {});
  body[finish.field] = cred.toJSON();
  const f = await fetch(finish.path, {method: "POST", headers: h, body: JSON.stringify(body)});
  return JSON.stringify({status: f.status, body: await f.text(), ceremony: opts.ceremony, credential: cred.toJSON()});
};`

type passkeyResult struct {
	Status     int             `json:"status"`
	Body       json.RawMessage `json:"body"`
	Ceremony   string          `json:"ceremony"`
	Credential json.RawMessage `json:"credential"`
}

// passkeyBrowser starts Chromium with a virtual CTAP2 authenticator (a
// resident key, user verification that succeeds) on a page of e's server
// at http://localhost:PORT, the relying party's origin.
func passkeyBrowser(t *testing.T, e *env) (*browser.Browser, cdpwebauthn.AuthenticatorID) {
	t.Helper()
	port := e.Server.URL()[strings.LastIndex(e.Server.URL(), ":")+1:]
	origin := "http://localhost:" + port
	e.Svc.WebAuthn = vault.WebAuthnConfig{RPID: "localhost", Origins: []string{origin}}
	b := browser.New(t)
	res, err := chromedp.Run(b.Ctx, chromedp.Action[cdpwebauthn.AddVirtualAuthenticatorResult](func(ctx context.Context, tg *chromedp.Target) (cdpwebauthn.AddVirtualAuthenticatorResult, error) {
		if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
			return cdpwebauthn.AddVirtualAuthenticatorResult{}, err
		}
		return chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{Options: &cdpwebauthn.VirtualAuthenticatorOptions{
			Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
			Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true,
			HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		}})
	}))
	if err != nil {
		t.Fatalf("virtual authenticator: %v", err)
	}
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(origin+"/signin")); err != nil {
		t.Fatalf("open sign-in page: %v", err)
	}
	return b, res.AuthenticatorID
}

// runPasskey runs one ceremony in the page.
func runPasskey(t *testing.T, b *browser.Browser, kind, token string, begin, finish, extra any) passkeyResult {
	t.Helper()
	js := fmt.Sprintf(`(%s, cvPasskey(%q, %q, %s, %s, %s))`, strings.TrimSuffix(strings.TrimSpace(passkeyJS), ";"), kind, token, mustJSON(t, begin), mustJSON(t, finish), mustJSON(t, extra))
	out, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s ceremony: %v", kind, err)
	}
	var r passkeyResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("ceremony answer %q: %v", out, err)
	}
	return r
}

type jsPath struct {
	Path  string `json:"path"`
	Body  any    `json:"body,omitempty"`
	Field string `json:"field,omitempty"`
}

// registerPasskey registers a passkey named name for the client's user in
// the browser.
func registerPasskey(t *testing.T, b *browser.Browser, c *client, name string) passkeyResult {
	t.Helper()
	r := runPasskey(t, b, "create", c.token, jsPath{Path: "/api/v1/me/passkeys/begin"},
		jsPath{Path: "/api/v1/me/passkeys/finish", Field: "credential"}, map[string]string{"name": name})
	if got, want := r.Status, http.StatusCreated; got != want {
		t.Fatalf("register: status %d, want %d: %s", got, want, r.Body)
	}
	return r
}

// TestPasskey_Browser registers a passkey with a virtual authenticator in
// real Chromium and signs in with it: without a password where the firm
// allows it, and as the second factor of a password sign-in.
func TestPasskey_Browser(t *testing.T) {
	e := newEnv(t)
	email := "owner@" + vault.NewID("f")[2:14] + ".example"
	_, ownerU, pw, err := e.Svc.CreateTenant(context.Background(), vault.NewTenant{
		Name: "Firm us", Region: "us", Owner: vault.NewUser{Email: email}})
	if err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	owner := e.login(t, email, pw)
	b, _ := passkeyBrowser(t, e)
	const name = "PasskeyNameMarker laptop"
	registerPasskey(t, b, owner, name)

	var list struct {
		Passkeys []vault.Passkey `json:"passkeys"`
	}
	owner.json(t, "GET", "/api/v1/me/passkeys", nil, http.StatusOK, &list)
	if got, want := len(list.Passkeys), 1; got != want {
		t.Fatalf("passkeys: got %d, want %d", got, want)
	}
	if got, want := list.Passkeys[0].Name, name; got != want {
		t.Errorf("name: got %q, want %q", got, want)
	}

	signIn := func() passkeyResult {
		return runPasskey(t, b, "get", "", jsPath{Path: "/api/v1/auth/passkey/begin"},
			jsPath{Path: "/api/v1/auth/passkey/finish", Field: "credential"}, nil)
	}
	t.Run("FirmSettingOff", func(t *testing.T) {
		r := signIn()
		if got, want := r.Status, http.StatusUnauthorized; got != want {
			t.Fatalf("status %d, want %d: %s", got, want, r.Body)
		}
	})
	owner.json(t, "PUT", "/api/v1/passkeys/policy", map[string]bool{"passkey_sign_in": true}, http.StatusOK, nil)

	t.Run("Passwordless", func(t *testing.T) {
		r := signIn()
		if got, want := r.Status, http.StatusOK; got != want {
			t.Fatalf("status %d, want %d: %s", got, want, r.Body)
		}
		var lr struct {
			Token string `json:"token"`
		}
		var raw string
		if err := json.Unmarshal(r.Body, &raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(raw), &lr); err != nil || lr.Token == "" {
			t.Fatalf("login answer %s: %v", raw, err)
		}
		u, tok, err := e.Svc.Authenticate(context.Background(), lr.Token)
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		if got, want := u.ID, ownerU.ID; got != want {
			t.Errorf("user: got %s, want %s", got, want)
		}
		if got, want := tok.Method, vault.SignInPasskey; got != want {
			t.Errorf("method: got %q, want %q", got, want)
		}

		// The same assertion again, on its used ceremony: refused.
		c := e.client()
		resp, body := c.read(t, "POST", "/api/v1/auth/passkey/finish", strings.NewReader(mustJSON(t,
			map[string]any{"ceremony": r.Ceremony, "credential": r.Credential})), http.Header{"Content-Type": {"application/json"}})
		wantError(t, resp, body, http.StatusUnauthorized, "unauthorized")
	})

	t.Run("SecondFactor", func(t *testing.T) {
		// Owner's password now answers with an MFA challenge that a
		// passkey assertion of the owner completes.
		var ch struct {
			MFARequired bool     `json:"mfa_required"`
			Challenge   string   `json:"challenge"`
			Methods     []string `json:"methods"`
		}
		e.client().json(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": pw}, http.StatusOK, &ch)
		if !ch.MFARequired || !contains(ch.Methods, vault.FactorPasskey) {
			t.Fatalf("login: got %+v, want an MFA challenge offering a passkey", ch)
		}
		r := runPasskey(t, b, "get", "", jsPath{Path: "/api/v1/auth/mfa/passkey/begin", Body: map[string]string{"challenge": ch.Challenge}},
			jsPath{Path: "/api/v1/auth/mfa", Field: "passkey"}, map[string]string{"challenge": ch.Challenge})
		if got, want := r.Status, http.StatusOK; got != want {
			t.Fatalf("mfa: status %d, want %d: %s", got, want, r.Body)
		}
	})

	t.Run("Unknown", func(t *testing.T) {
		// Removed on the server, still in the authenticator: refused.
		var list struct {
			Passkeys []vault.Passkey `json:"passkeys"`
		}
		owner.json(t, "GET", "/api/v1/me/passkeys", nil, http.StatusOK, &list)
		for _, pk := range list.Passkeys {
			owner.json(t, "DELETE", "/api/v1/me/passkeys/"+pk.ID, nil, http.StatusNoContent, nil)
		}
		r := signIn()
		if got, want := r.Status, http.StatusUnauthorized; got != want {
			t.Fatalf("status %d, want %d: %s", got, want, r.Body)
		}
	})
}

// TestPasskey_BrowserRefusals: a passkey of a disabled user, a cloned
// authenticator (sign count gone back) and another user's ceremony are
// refused and audited.
func TestPasskey_BrowserRefusals(t *testing.T) {
	e := newEnv(t)
	ownerEmail := "owner@" + vault.NewID("f")[2:14] + ".example"
	_, ownerU, ownerPW, err := e.Svc.CreateTenant(context.Background(), vault.NewTenant{
		Name: "Firm us", Region: "us", Owner: vault.NewUser{Email: ownerEmail}})
	if err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	owner := e.login(t, ownerEmail, ownerPW)
	lawyerEmail := vault.NewID("u")[2:14] + "@example.com"
	lawyerU, lawyerPW, err := e.Svc.AddUser(context.Background(), ownerU.TenantID, vault.NewUser{Email: lawyerEmail, Role: vault.RoleLawyer})
	if err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	lawyer := e.login(t, lawyerEmail, lawyerPW)
	b, auth := passkeyBrowser(t, e)
	registerPasskey(t, b, lawyer, "lawyer key")
	owner.json(t, "PUT", "/api/v1/passkeys/policy", map[string]bool{"passkey_sign_in": true}, http.StatusOK, nil)
	signIn := func() passkeyResult {
		return runPasskey(t, b, "get", "", jsPath{Path: "/api/v1/auth/passkey/begin"},
			jsPath{Path: "/api/v1/auth/passkey/finish", Field: "credential"}, nil)
	}
	reasons := func() []string {
		var out []string
		for _, ev := range auditEvents(t, owner, "action="+vault.ActLoginFailed) {
			out = append(out, ev.Details["reason"])
		}
		return out
	}
	if r := signIn(); r.Status != http.StatusOK {
		t.Fatalf("first sign-in: status %d: %s", r.Status, r.Body)
	}

	t.Run("SignCountRegressed", func(t *testing.T) {
		// Put the credential back with a sign count below the stored one,
		// as a clone of the authenticator would answer.
		creds, err := chromedp.Run(b.Ctx, chromedp.Action[cdpwebauthn.GetCredentialsResult](func(ctx context.Context, tg *chromedp.Target) (cdpwebauthn.GetCredentialsResult, error) {
			return chromedp.Call(ctx, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: auth})
		}))
		if err != nil || len(creds.Credentials) != 1 {
			t.Fatalf("GetCredentials: %v, %d credentials", err, len(creds.Credentials))
		}
		old := creds.Credentials[0]
		// cdproto's Credential always sends generateCmtgKeyOnNextOperation,
		// which this authenticator refuses: send only the fields needed.
		c := addCredential{AuthenticatorID: auth, Credential: credential{CredentialID: old.CredentialID,
			IsResidentCredential: old.IsResidentCredential, RpID: old.RpID, PrivateKey: old.PrivateKey,
			UserHandle: old.UserHandle, SignCount: 0}}
		err = chromedp.Do(b.Ctx, chromedp.Action[chromedp.Void](func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			if _, err := chromedp.Call(ctx, cdpwebauthn.RemoveCredential, cdpwebauthn.RemoveCredentialParams{AuthenticatorID: auth, CredentialID: old.CredentialID}); err != nil {
				return chromedp.Void{}, err
			}
			_, err := chromedp.Call(ctx, cdp.Command[addCredential, cdp.Empty]{Method: cdpwebauthn.CommandAddCredential}, c)
			return chromedp.Void{}, err
		}))
		if err != nil {
			t.Fatalf("reset sign count: %v", err)
		}
		r := signIn()
		if got, want := r.Status, http.StatusUnauthorized; got != want {
			t.Fatalf("status %d, want %d: %s", got, want, r.Body)
		}
		if got := reasons(); !contains(got, "sign_count_regressed") {
			t.Errorf("login_failed reasons: got %v, want sign_count_regressed", got)
		}
	})

	t.Run("AnotherUsersAssertion", func(t *testing.T) {
		// The owner's second factor cannot be answered with the lawyer's
		// passkey, from a ceremony of the lawyer's challenge.
		storePasskey(t, e, ownerU, "owner key")
		challenge := func(email, pw string) string {
			var ch struct {
				Challenge string `json:"challenge"`
			}
			e.client().json(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": pw}, http.StatusOK, &ch)
			if ch.Challenge == "" {
				t.Fatalf("no MFA challenge for %s", email)
			}
			return ch.Challenge
		}
		ownerCh, lawyerCh := challenge(ownerEmail, ownerPW), challenge(lawyerEmail, lawyerPW)
		r := runPasskey(t, b, "get", "", jsPath{Path: "/api/v1/auth/mfa/passkey/begin", Body: map[string]string{"challenge": lawyerCh}},
			jsPath{Path: "/api/v1/auth/mfa", Field: "passkey"}, map[string]string{"challenge": ownerCh})
		if got, want := r.Status, http.StatusUnauthorized; got != want {
			t.Fatalf("status %d, want %d: %s", got, want, r.Body)
		}
		evs := auditEvents(t, owner, "action="+vault.ActMFACodeFailed)
		if len(evs) != 1 || evs[0].Details["factor"] != vault.FactorPasskey || evs[0].ObjectID != ownerU.ID {
			t.Errorf("mfa.code_failed: got %+v, want one of the owner's passkey", evs)
		}
	})

	t.Run("Contained", func(t *testing.T) {
		if err := e.DB.Contain(context.Background(), vault.Containment{TenantID: ownerU.TenantID, UserID: lawyerU.ID,
			AlertID: vault.NewID("alr"), ContainedAt: time.Now().UTC()}); err != nil {
			t.Fatalf("Contain: %v", err)
		}
		r := signIn()
		if got, want := r.Status, http.StatusForbidden; got != want {
			t.Fatalf("status %d, want %d: %s", got, want, r.Body)
		}
		if got := reasons(); !contains(got, vault.ESUSPENDED) {
			t.Errorf("login_failed reasons: got %v, want %s", got, vault.ESUSPENDED)
		}
	})

	t.Run("Disabled", func(t *testing.T) {
		yes := true
		if _, err := e.Svc.UpdateUser(context.Background(), ownerU, lawyerU.ID, vault.UserUpdate{Disabled: &yes}); err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		r := signIn()
		if got, want := r.Status, http.StatusUnauthorized; got != want {
			t.Fatalf("status %d, want %d: %s", got, want, r.Body)
		}
		if got := reasons(); !contains(got, "disabled") {
			t.Errorf("login_failed reasons: got %v, want disabled", got)
		}
	})
}

// addCredential is WebAuthn.addCredential's parameters without the CMTG
// fields.
type addCredential struct {
	AuthenticatorID cdpwebauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      credential                  `json:"credential"`
}

type credential struct {
	CredentialID         []byte  `json:"credentialId"`
	IsResidentCredential bool    `json:"isResidentCredential"`
	RpID                 string  `json:"rpId"`
	PrivateKey           []byte  `json:"privateKey"`
	UserHandle           []byte  `json:"userHandle"`
	SignCount            float64 `json:"signCount"`
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
