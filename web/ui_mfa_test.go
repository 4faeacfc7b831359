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
	ctx := context.Background()
	if _, err := e.Svc.BeginTOTP(ctx, owner); err != nil {
		t.Fatal(err)
	}
	tf, err := e.DB.TOTP(ctx, owner.TenantID, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Svc.ConfirmTOTP(ctx, owner, totpCode(t, e, tf.Secret, 0)); err != nil {
		t.Fatal(err)
	}
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
		good := totpCode(t, e, tf.Secret, 0)
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
