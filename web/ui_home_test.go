package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/vault"
)

// TestUI_Home signs in an owner with a matter and an auditor, in Chromium:
// / sends each to the first page of its role, the owner's matters (which
// show what the service returns) and the auditor's audit trail.
func TestUI_Home(t *testing.T) {
	e := newEnv(t)
	owner, email, password := e.uiUser(t, "", "")
	if _, err := e.Svc.CreateMatter(context.Background(), owner, "Estate of Doe", "J. Doe"); err != nil {
		t.Fatal(err)
	}
	_, aemail, apassword := e.uiUser(t, owner.TenantID, vault.RoleAuditor)
	base := e.Server.URL()

	b := browser.New(t)
	uiSignIn(t, b, base, email, password)
	if got, want := location(t, b), "/matters"; got != want {
		t.Fatalf("owner after sign-in: at %q, want %q", got, want)
	}
	if got := text(t, b, "#matters"); !strings.Contains(got, "Estate of Doe") || !strings.Contains(got, "J. Doe") {
		t.Errorf("owner's matters: %q, want Estate of Doe for J. Doe", got)
	}
	noCSPViolations(t, b)

	a := browser.New(t)
	uiSignIn(t, a, base, aemail, apassword)
	// The audit trail itself is part "audit"'s page (web/page_audit.go).
	if got, want := location(t, a), "/audit"; got != want {
		t.Fatalf("auditor after sign-in: at %q, want %q", got, want)
	}
	noCSPViolations(t, a)
}

// TestUI_ChooseFirm signs in with an email and password that open accounts
// in two firms: the page asks which, and signs in to the one chosen.
func TestUI_ChooseFirm(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	email, password := "pat@example.com", "one passphrase for both"
	for _, firm := range []string{"Birch LLP", "Cedar LLP"} {
		if _, _, _, err := e.Svc.CreateTenant(ctx, vault.NewTenant{Name: firm, Region: "us", Owner: vault.NewUser{Email: email, Password: password}}); err != nil {
			t.Fatal(err)
		}
	}
	b := browser.New(t)
	base := e.Server.URL()
	uiSignIn(t, b, base, email, password)
	if got := text(t, b, "fieldset"); !strings.Contains(got, "Birch LLP") || !strings.Contains(got, "Cedar LLP") {
		t.Fatalf("choice: %q, want both firms", got)
	}
	chosen := strings.TrimSpace(text(t, b, "fieldset label:nth-of-type(2)"))
	err := chromedp.Do(b.Ctx,
		chromedp.Click(chromedp.CSS(`fieldset label:nth-of-type(2) input[name="tenant_id"]`)),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	if err == nil {
		err = b.ClickAndLoad("#signin")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got, want := location(t, b), "/matters"; got != want {
		t.Fatalf("after choosing: at %q, want %q", got, want)
	}
	if got := text(t, b, "header .firm"); got != chosen {
		t.Fatalf("signed in to %q, want %q, the firm chosen", got, chosen)
	}
	noCSPViolations(t, b)
}
