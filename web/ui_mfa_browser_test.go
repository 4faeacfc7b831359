package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/vault"
)

// TestUIMFA_Browser is the firm that requires MFA of everyone, in
// Chromium: a lawyer without a factor signs in and is sent to Account ›
// Sign-in security from every page; enrols with the secret the page shows
// (the QR code is an image the CSP allows) and a code computed here; is
// shown ten recovery codes; then reaches the matters. Signing in again
// asks for the code after the password; a recovery code works there once.
func TestUIMFA_Browser(t *testing.T) {
	e := newEnv(t)
	owner, _, _ := e.uiUser(t, "", "")
	ctx := context.Background()
	// The owner enrols through the service, to set the policy.
	enrolTOTPDirect(t, e, owner)
	if err := e.Svc.SetMFAPolicy(ctx, owner, vault.MFAPolicyEveryone); err != nil {
		t.Fatal(err)
	}
	_, email, password := e.uiUser(t, owner.TenantID, vault.RoleLawyer)

	b := browser.New(t)
	base := e.Server.URL()
	uiSignIn(t, b, base, email, password)
	if got := location(t, b); got != "/account/security" {
		t.Fatalf("after sign-in at %q, want /account/security", got)
	}
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+"/matters"), chromedp.WaitVisible(chromedp.ID("begin"))); err != nil {
		t.Fatal(err)
	}
	if got := location(t, b); got != "/account/security" {
		t.Fatalf("/matters before enrolment at %q, want /account/security", got)
	}
	if err := b.ClickAndLoad("#begin"); err != nil {
		t.Fatal(err)
	}
	secret := text(t, b, "#totp-secret")
	loaded, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`document.getElementById('totp-qr').complete && document.getElementById('totp-qr').naturalWidth > 0`))
	if err != nil || !loaded {
		t.Fatalf("QR image loaded = %v, %v; want it shown", loaded, err)
	}
	if err := chromedp.Do(b.Ctx, chromedp.SendKeys(chromedp.ID("confirm-code"), totpCode(t, e, secret, 0))); err != nil {
		t.Fatal(err)
	}
	if err := b.ClickAndLoad("#confirm"); err != nil {
		t.Fatal(err)
	}
	codes, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.recovery-code')].map(e => e.textContent)`))
	if err != nil || len(codes) != vault.RecoveryCodeCount {
		t.Fatalf("recovery codes shown: %v, %v; want %d", codes, err, vault.RecoveryCodeCount)
	}
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+"/matters")); err != nil {
		t.Fatal(err)
	}
	if got := location(t, b); got != "/matters" {
		t.Fatalf("/matters after enrolment at %q", got)
	}
	noCSPViolations(t, b)

	// A new browser signs in in two steps.
	b2 := browser.New(t)
	uiSignIn(t, b2, base, email, password)
	if got := location(t, b2); got != "/signin/mfa" {
		t.Fatalf("after the password at %q, want /signin/mfa", got)
	}
	err = chromedp.Do(b2.Ctx, chromedp.Click(chromedp.CSS("summary")), chromedp.SendKeys(chromedp.ID("recovery_code"), codes[0]))
	if err == nil {
		err = b2.ClickAndLoad("#verify")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := location(t, b2); got != "/matters" {
		t.Fatalf("after the recovery code at %q, want /matters", got)
	}
	// The same recovery code a second time is refused.
	b3 := browser.New(t)
	uiSignIn(t, b3, base, email, password)
	err = chromedp.Do(b3.Ctx, chromedp.Click(chromedp.CSS("summary")), chromedp.SendKeys(chromedp.ID("recovery_code"), codes[0]))
	if err == nil {
		err = b3.ClickAndLoad("#verify")
	}
	if err != nil {
		t.Fatal(err)
	}
	if msg := text(t, b3, "#form-error"); !strings.Contains(msg, "unauthorized") {
		t.Errorf("reused recovery code: %q, want an unauthorized refusal", msg)
	}
	noCSPViolations(t, b2)
}
