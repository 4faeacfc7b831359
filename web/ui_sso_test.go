package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/casevault/casevault/internal/oidctest"
	"github.com/casevault/casevault/vault"
)

// TestUISSO_SettingsPage configures single sign-on through the owner's
// page, sees it shown without the secret, and turns it off; an admin is
// refused the page.
func TestUISSO_SettingsPage(t *testing.T) {
	e := newEnv(t)
	base := e.Server.URL()
	owner, email, pw := e.uiUser(t, "", "")
	iss := oidctest.NewIssuer(t)
	c := uiClient(t)
	uiClientSignIn(t, c, base, email, pw)
	tok := uiClientCSRF(t, c, base+"/settings/security/sso")
	_, aEmail, aPW := e.uiUser(t, owner.TenantID, vault.RoleAdmin)
	ac := uiClient(t)
	uiClientSignIn(t, ac, base, aEmail, aPW) // before require_sso

	post := func(path string, form url.Values) *http.Response {
		t.Helper()
		form.Set("csrf", tok)
		resp, err := c.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	get := func() (int, string) {
		t.Helper()
		resp, err := c.Get(base + "/settings/security/sso")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}

	t.Run("AdminRefused", func(t *testing.T) {
		if got, want := uiClientGet(t, ac, base+"/settings/security/sso"), http.StatusForbidden; got != want {
			t.Errorf("admin: %d, want %d", got, want)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		resp := post("/settings/security/sso", url.Values{"issuer": {"http://idp.example.com"}, "client_id": {"x"}, "client_secret": {"y"}, "domains": {"example.com"}})
		if got, want := resp.StatusCode, http.StatusBadRequest; got != want {
			t.Errorf("status %d, want %d", got, want)
		}
	})
	t.Run("Save", func(t *testing.T) {
		resp := post("/settings/security/sso", url.Values{"issuer": {iss.URL}, "client_id": {"page-client"}, "client_secret": {"PAGESECRETMARKER"},
			"domains": {"example.com, example.org"}, "require_sso": {"1"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/settings/security/sso?done=saved" {
			t.Fatalf("save: %d to %q, want 303 to ?done=saved", resp.StatusCode, resp.Header.Get("Location"))
		}
		status, page := get()
		for _, want := range []string{`id="sso-on"`, base + "/sso/callback", "/sso/" + owner.TenantID + "/start", "page-client", "example.com, example.org", `id="require_sso" name="require_sso" value="1" checked`} {
			if !strings.Contains(page, want) {
				t.Errorf("page (%d) lacks %q", status, want)
			}
		}
		if strings.Contains(page, "PAGESECRETMARKER") {
			t.Error("page shows the client secret")
		}
	})
	t.Run("PasswordSessionsEnded", func(t *testing.T) {
		// require_sso ended the admin's password session; the owner's stays.
		if got, want := uiClientGet(t, ac, base+"/matters"), http.StatusSeeOther; got != want {
			t.Errorf("admin's password session after require_sso: %d, want %d (to /signin)", got, want)
		}
		if got, want := uiClientGet(t, c, base+"/matters"), http.StatusOK; got != want {
			t.Errorf("owner's session after require_sso: %d, want %d", got, want)
		}
	})
	t.Run("PasswordSignInRefused", func(t *testing.T) {
		lc := uiClient(t)
		ltok := uiClientCSRF(t, lc, base+"/signin")
		resp, err := lc.PostForm(base+"/signin", url.Values{"csrf": {ltok}, "email": {aEmail}, "password": {aPW}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), vault.ESSOREQUIRED) {
			t.Errorf("password sign-in while SSO is required: %d, want 403 %s", resp.StatusCode, vault.ESSOREQUIRED)
		}
	})
	t.Run("Disable", func(t *testing.T) {
		resp := post("/settings/security/sso/disable", url.Values{})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("disable: %d, want 303", resp.StatusCode)
		}
		if _, page := get(); !strings.Contains(page, `id="sso-off"`) {
			t.Error("page does not say single sign-on is off")
		}
	})
}
