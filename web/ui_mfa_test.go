package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// TestMFA_SignInMFAPage posts the sign-in's second step as a form: without
// a pending challenge, and with a wrong code, it refuses with the error
// page's code and sets no session; with a fresh code it signs in.
func TestMFA_SignInMFAPage(t *testing.T) {
	e := newEnv(t)
	owner, email, password := e.uiUser(t, "", "")
	secret := enrolTOTPDirect(t, e, owner)
	base := e.Server.URL()
	post := func(c *http.Client, tok string, form url.Values) (*http.Response, string) {
		t.Helper()
		form.Set("csrf", tok)
		resp, err := c.PostForm(base+"/signin/mfa", form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	hasSession := func(resp *http.Response) bool {
		for _, c := range resp.Cookies() {
			if c.Name == "cv_session" && c.Value != "" {
				return true
			}
		}
		return false
	}

	t.Run("NoChallenge", func(t *testing.T) {
		c := uiClient(t)
		tok := uiClientCSRF(t, c, base+"/signin")
		if got := uiClientGet(t, c, base+"/signin/mfa"); got != http.StatusSeeOther {
			t.Errorf("GET /signin/mfa without a challenge = %d, want 303", got)
		}
		resp, body := post(c, tok, url.Values{"code": {"123456"}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, vault.EUNAUTHORIZED) || hasSession(resp) {
			t.Fatalf("no challenge: %d, session %v", resp.StatusCode, hasSession(resp))
		}
	})
	t.Run("PasswordThenCode", func(t *testing.T) {
		c := uiClient(t)
		tok := uiClientCSRF(t, c, base+"/signin")
		resp, err := c.PostForm(base+"/signin", url.Values{"csrf": {tok}, "email": {email}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin/mfa" || hasSession(resp) {
			t.Fatalf("password step: %d to %q, session %v; want 303 to /signin/mfa, none", resp.StatusCode, resp.Header.Get("Location"), hasSession(resp))
		}
		if got := uiClientGet(t, c, base+"/signin/mfa"); got != http.StatusOK {
			t.Fatalf("GET /signin/mfa = %d, want 200", got)
		}
		nextStep(e)
		good := totpCode(t, e, secret, 0)
		bad := "000000"
		if bad == good {
			bad = "111111"
		}
		resp, body := post(c, tok, url.Values{"code": {bad}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, vault.EUNAUTHORIZED) || hasSession(resp) {
			t.Fatalf("wrong code: %d, session %v; want 401, none", resp.StatusCode, hasSession(resp))
		}
		resp, _ = post(c, tok, url.Values{"code": {good}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || !hasSession(resp) {
			t.Fatalf("good code: %d to %q, session %v; want 303 to / with a session", resp.StatusCode, resp.Header.Get("Location"), hasSession(resp))
		}
	})
}

// TestMFA_SettingsPages drives Settings › Multi-factor sign-in and the
// admin's reset button as forms: the owner sets the policy, revokes a
// lawyer's API token and resets their second factor; the lawyer gets 403
// (the role matrix of the pages is TestUI_Visibility's).
func TestMFA_SettingsPages(t *testing.T) {
	e := newEnv(t)
	owner, email, password := e.uiUser(t, "", "")
	ctx := context.Background()
	lawyer, lawyerEmail, lawyerPassword := e.uiUser(t, owner.TenantID, vault.RoleLawyer)
	_, tok, err := e.Svc.CreateAPIToken(ctx, lawyer, "nightly export", nil)
	if err != nil {
		t.Fatal(err)
	}
	base := e.Server.URL()
	c := uiClient(t)
	uiClientSignIn(t, c, base, email, password)
	csrf := uiClientCSRF(t, c, base+"/settings/mfa")
	post := func(c *http.Client, path string, form url.Values) (int, string) {
		t.Helper()
		resp, err := c.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}

	// Requiring MFA of owners before enrolling is refused, on the page.
	if code, body := post(c, "/settings/mfa/policy", url.Values{"csrf": {csrf}, "required": {"admins"}}); code != http.StatusConflict || !strings.Contains(body, "Enrol a second factor") {
		t.Fatalf("policy before enrolling = %d, want 409 with the reason", code)
	}
	enrolTOTPDirect(t, e, owner)
	if code, _ := post(c, "/settings/mfa/policy", url.Values{"csrf": {csrf}, "required": {"admins"}}); code != http.StatusSeeOther {
		t.Fatalf("set policy = %d, want 303", code)
	}
	if p, _ := e.Svc.MFAPolicy(ctx, owner); p != vault.MFAPolicyAdmins {
		t.Fatalf("policy = %q, want admins", p)
	}
	resp, err := c.Get(base + "/settings/mfa")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), tok.ID) || !strings.Contains(string(page), "nightly export") {
		t.Fatalf("settings page does not list the lawyer's token")
	}
	if code, _ := post(c, "/settings/mfa/tokens/revoke", url.Values{"csrf": {csrf}, "token_id": {tok.ID}}); code != http.StatusSeeOther {
		t.Fatalf("revoke = %d, want 303", code)
	}
	if toks, _ := e.Svc.FirmAPITokens(ctx, owner); len(toks) != 0 {
		t.Fatalf("after revoke, firm tokens = %d, want 0", len(toks))
	}

	enrolTOTPDirect(t, e, lawyer)
	if code, _ := post(c, "/admin/users/"+lawyer.ID+"/mfa-reset", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
		t.Fatalf("mfa reset = %d, want 303", code)
	}
	if f, _ := e.Svc.MFAStatus(ctx, lawyer); len(f.Factors) != 0 {
		t.Fatalf("after reset the lawyer has %v, want no factor", f.Factors)
	}

	lc := uiClient(t)
	uiClientSignIn(t, lc, base, lawyerEmail, lawyerPassword) // the password alone signs in again
	if got := uiClientGet(t, lc, base+"/settings/mfa"); got != http.StatusForbidden {
		t.Errorf("lawyer GET /settings/mfa = %d, want 403", got)
	}
}
