package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/vault"
)

// TestUIPasskey_Browser drives the passkey pages in real Chromium with a
// virtual authenticator, through their buttons and web/static/passkey.js:
// a lawyer registers a passkey on Sign-in security, the owner lets the
// firm sign in with passkeys, and the lawyer then signs in with the passkey
// alone from the sign-in page, and with their password and the passkey as
// the second step; the passkey is removed from the page. No CSP violation
// on the way.
func TestUIPasskey_Browser(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner, ownerEmail, ownerPassword := e.uiUser(t, "", vault.RoleOwner)
	lawyer, email, password := e.uiUser(t, owner.TenantID, vault.RoleLawyer)
	b, _ := passkeyBrowser(t, e)
	loc, err := chromedp.Run(b.Ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	base := loc[:strings.Index(loc, "/signin")]
	signOut := func(t *testing.T) {
		t.Helper()
		if err := b.ClickAndLoad(`form[action="/signout"] button`); err != nil {
			t.Fatalf("sign out: %v", err)
		}
	}
	open := func(t *testing.T, path string) {
		t.Helper()
		if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+path)); err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
	}

	uiSignIn(t, b, base, email, password)
	const name = "PasskeyPageMarker phone"
	t.Run("Register", func(t *testing.T) {
		open(t, "/account/security")
		if err := chromedp.Do(b.Ctx, chromedp.SendKeys(chromedp.ID("passkey-name"), name)); err != nil {
			t.Fatal(err)
		}
		if err := b.ClickAndLoad("#passkey-add"); err != nil {
			t.Fatalf("add a passkey: %v", err)
		}
		if got, want := location(t, b), "/account/security?passkey=added"; got != want {
			t.Fatalf("after registering: at %s, want %s", got, want)
		}
		if got := text(t, b, "#passkey-list"); !strings.Contains(got, name) {
			t.Errorf("passkey list %q does not name %q", got, name)
		}
		pks, err := e.Svc.Passkeys(ctx, lawyer)
		if err != nil || len(pks) != 1 || pks[0].Name != name {
			t.Fatalf("stored passkeys: %+v, %v; want one named %q", pks, err, name)
		}
	})
	signOut(t)

	t.Run("FirmSettingOff", func(t *testing.T) {
		open(t, "/signin")
		if err := chromedp.Do(b.Ctx, chromedp.Click(chromedp.ID("passkey-start")), chromedp.WaitVisible(chromedp.CSS("#passkey-signin .passkey-error"))); err != nil {
			t.Fatalf("passkey sign-in refused: %v", err)
		}
		if got := location(t, b); got != "/signin" {
			t.Errorf("at %s, want /signin", got)
		}
	})

	t.Run("OwnerAllowsPasskeys", func(t *testing.T) {
		uiSignIn(t, b, base, ownerEmail, ownerPassword)
		open(t, "/settings/mfa")
		if err := chromedp.Do(b.Ctx, chromedp.Click(chromedp.ID("passkey_sign_in"))); err != nil {
			t.Fatal(err)
		}
		if err := b.ClickAndLoad("#set-passkey-policy"); err != nil {
			t.Fatal(err)
		}
		on, err := e.Svc.PasskeySignIn(ctx, owner)
		if err != nil || !on {
			t.Fatalf("passkey sign-in: %v, %v; want on", on, err)
		}
		signOut(t)
	})

	t.Run("Passwordless", func(t *testing.T) {
		open(t, "/signin")
		if err := b.ClickAndLoad("#passkey-start"); err != nil {
			t.Fatalf("sign in with a passkey: %v", err)
		}
		if got := location(t, b); got != "/matters" {
			t.Fatalf("after the passkey sign-in: at %s, want /matters (home)", got)
		}
		wantLastLogin(t, e, owner, lawyer.ID, vault.SignInPasskey)
		signOut(t)
	})

	t.Run("SecondStep", func(t *testing.T) {
		uiSignIn(t, b, base, email, password)
		if got := location(t, b); got != "/signin/mfa" {
			t.Fatalf("after the password: at %s, want /signin/mfa", got)
		}
		if err := b.ClickAndLoad("#use-passkey"); err != nil {
			t.Fatalf("use a passkey: %v", err)
		}
		if got := location(t, b); got != "/matters" {
			t.Fatalf("after the passkey: at %s, want /matters (home)", got)
		}
		wantLastLogin(t, e, owner, lawyer.ID, vault.SignInMFA)
	})

	t.Run("SSORequired", func(t *testing.T) {
		// A firm that requires single sign-on refuses a lawyer's passkey
		// as it refuses their password.
		signOut(t)
		st := e.Svc.Store.(vault.SSOStore)
		if err := st.PutSSOConfig(ctx, &vault.SSOConfig{TenantID: owner.TenantID, Issuer: "https://login.example.com", ClientID: "casevault",
			ClientSecret: "secret", Domains: []string{"example.com"}, RequireSSO: true, UpdatedBy: owner.ID}); err != nil {
			t.Fatal(err)
		}
		open(t, "/signin")
		if err := chromedp.Do(b.Ctx, chromedp.Click(chromedp.ID("passkey-start")), chromedp.WaitVisible(chromedp.CSS("#passkey-signin .passkey-error"))); err != nil {
			t.Fatalf("passkey sign-in refused: %v", err)
		}
		if got := text(t, b, "#passkey-signin .passkey-error"); !strings.Contains(got, "single sign-on") {
			t.Errorf("refusal %q does not say the firm requires single sign-on", got)
		}
		evs, _, err := e.Svc.AuditEvents(ctx, owner, vault.AuditFilter{Action: vault.ActLoginFailed, ObjectID: lawyer.ID})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, ev := range evs {
			found = found || ev.Details["reason"] == vault.ESSOREQUIRED
		}
		if !found {
			t.Errorf("no login_failed event with reason %s for the lawyer", vault.ESSOREQUIRED)
		}
		if err := st.DeleteSSOConfig(ctx, owner.TenantID); err != nil {
			t.Fatal(err)
		}
		uiSignIn(t, b, base, email, password)
		if err := b.ClickAndLoad("#use-passkey"); err != nil {
			t.Fatalf("use a passkey: %v", err)
		}
	})

	t.Run("Remove", func(t *testing.T) {
		open(t, "/account/security")
		if err := b.ClickAndLoad(`#passkey-list form button`); err != nil {
			t.Fatal(err)
		}
		if got, want := location(t, b), "/account/security?passkey=removed"; got != want {
			t.Fatalf("after removing: at %s, want %s", got, want)
		}
		if pks, err := e.Svc.Passkeys(ctx, lawyer); err != nil || len(pks) != 0 {
			t.Fatalf("stored passkeys: %d, %v; want none", len(pks), err)
		}
		text(t, b, "#no-passkeys")
	})
	noCSPViolations(t, b)
}

// wantLastLogin checks that the firm's last login event is userID's,
// signed in by method.
func wantLastLogin(t *testing.T, e *env, owner *vault.User, userID, method string) {
	t.Helper()
	evs, _, err := e.Svc.AuditEvents(context.Background(), owner, vault.AuditFilter{Action: vault.ActLogin})
	if err != nil {
		t.Fatal(err)
	}
	var last *vault.AuditRecord
	for _, ev := range evs {
		if last == nil || ev.Seq > last.Seq {
			last = ev
		}
	}
	if last == nil {
		t.Fatal("no login event")
	}
	if last.ActorID != userID || last.Details["method"] != method {
		t.Errorf("last login: actor %s, method %v; want %s, %s", last.ActorID, last.Details["method"], userID, method)
	}
}

// TestUIPasskey_Refusals: the passkey pages' ceremony routes over HTTP,
// without a browser: a form posted with JavaScript off gets an error page,
// a second step without a challenge and a made-up ceremony are refused
// with no session cookie, and removing a passkey that is not the user's is
// not found.
func TestUIPasskey_Refusals(t *testing.T) {
	e := newEnv(t)
	_, email, password := e.uiUser(t, "", vault.RoleOwner)
	base := e.Server.URL()
	c := uiClient(t)
	pre := uiClientCSRF(t, c, base+"/signin")
	post := func(t *testing.T, path, contentType, token, body string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest("POST", base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		if token != "" {
			req.Header.Set("X-CSRF-Token", token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	noSession := func(t *testing.T, resp *http.Response) {
		t.Helper()
		for _, ck := range resp.Cookies() {
			if ck.Name == "cv_session" && ck.Value != "" {
				t.Errorf("a refused ceremony set a session cookie")
			}
		}
	}

	t.Run("NoJavaScript", func(t *testing.T) {
		resp, body := post(t, "/signin/passkey/finish", "application/x-www-form-urlencoded", "", url.Values{"csrf": {pre}}.Encode())
		if got, want := resp.StatusCode, http.StatusBadRequest; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
		if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "Passkeys need JavaScript") {
			t.Errorf("answer %s %q, want the error page saying passkeys need JavaScript", resp.Header.Get("Content-Type"), body)
		}
		noSession(t, resp)
	})
	t.Run("NoChallenge", func(t *testing.T) {
		resp, body := post(t, "/signin/mfa/passkey/begin", "application/json", pre, `{}`)
		wantError(t, resp, []byte(body), http.StatusUnauthorized, vault.EUNAUTHORIZED)
	})
	t.Run("MadeUpCeremony", func(t *testing.T) {
		for _, path := range []string{"/signin/passkey/finish", "/signin/mfa/passkey/finish"} {
			resp, body := post(t, path, "application/json", pre, `{"ceremony":"made-up","credential":{"id":"AAAA","type":"public-key"}}`)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(body, `"code"`) {
				t.Errorf("%s: %d %q, want a 4xx JSON error", path, resp.StatusCode, body)
			}
			noSession(t, resp)
		}
	})
	t.Run("RemoveNotTheirs", func(t *testing.T) {
		uiClientSignIn(t, c, base, email, password)
		tok := uiClientCSRF(t, c, base+"/account/security")
		resp, err := c.PostForm(base+"/account/security/passkeys/"+vault.NewID(vault.PrefixPasskey)+"/remove", url.Values{"csrf": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusNotFound; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
	})
}
