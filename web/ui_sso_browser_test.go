package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/internal/oidctest"
	"github.com/casevault/casevault/vault"
)

// TestUISSO_Dex runs the whole authorization-code flow in Chromium against
// Dex on loopback: the sign-in page's SSO form, Dex's password form, the
// callback, and the home page signed in as the firm's user.
func TestUISSO_Dex(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	email := "dex." + vault.NewID("x")[4:12] + "@example.com"
	dex := oidctest.StartDex(t, e.Server.URL()+"/sso/callback", email)
	b := browser.New(t)
	var cancel context.CancelFunc
	b.Ctx, cancel = context.WithTimeout(b.Ctx, 90*time.Second)
	defer cancel()

	c, owner := e.firm(t, "us")
	c.json(t, "PUT", "/api/v1/sso", map[string]any{
		"issuer": dex.Issuer, "client_id": dex.ClientID, "client_secret": dex.ClientSecret, "allowed_domains": []string{"example.com"},
	}, http.StatusOK, nil)
	u, _, err := e.Svc.AddUser(ctx, owner.TenantID, vault.NewUser{Email: email, Role: vault.RoleLawyer})
	if err != nil {
		t.Fatal(err)
	}

	err = chromedp.Do(b.Ctx,
		chromedp.Navigate(e.Server.URL()+"/signin"),
		chromedp.WaitVisible(chromedp.ID("firm")),
		chromedp.SendKeys(chromedp.ID("firm"), owner.TenantID),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.ClickAndLoad("#sso-start"); err != nil {
		t.Fatalf("start: %v at %q\n%s", err, location(t, b), e.Log.String())
	}
	// The continue page's refresh goes on to the firm's start, then Dex.
	if err := chromedp.Do(b.Ctx, chromedp.WaitVisible(chromedp.ID("login"))); err != nil {
		t.Fatalf("no Dex login form at %q: %v", location(t, b), err)
	}
	if got := location(t, b); !strings.HasPrefix(got, "/dex/auth/local/login") {
		t.Fatalf("after start at %q, want Dex's password form", got)
	}
	err = chromedp.Do(b.Ctx,
		chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("login"), dex.Email),
		chromedp.SendKeys(chromedp.ID("password"), dex.Password),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.ClickAndLoad("#submit-login"); err != nil {
		t.Fatalf("Dex sign-in: %v", err)
	}
	// The callback's page sends the browser home.
	if err := chromedp.Do(b.Ctx, chromedp.WaitVisible(chromedp.CSS(`form[action="/signout"]`))); err != nil {
		t.Fatalf("not signed in at %q: %v", location(t, b), err)
	}
	if got := location(t, b); got != "/matters" { // home is the matters page
		t.Errorf("signed in at %q, want /matters", got)
	}
	evs, _, err := e.Svc.AuditEvents(ctx, owner, vault.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		found = found || (ev.Action == vault.ActLogin && ev.ActorID == u.ID && ev.Details["method"] == vault.SignInSSO)
	}
	if !found {
		t.Errorf("no login event of %s with method sso", u.ID)
	}
	noCSPViolations(t, b)
}
