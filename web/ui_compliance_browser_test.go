package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/vault"
)

// TestUICompliance_Browser: the owner of a us firm with the HIPAA add-on
// follows the Security nav link to Compliance, filters Pending, opens the
// agreement, reads its text and accepts it; the acceptance is recorded
// with the text's hash and Chromium's user agent. No CSP violation.
func TestUICompliance_Browser(t *testing.T) {
	e := newEnv(t)
	e.Svc.RegionCountries = map[string]string{"us": "US"}
	owner, email, password := e.uiUser(t, "", "")
	if _, err := e.Svc.SetTenantAddon(context.Background(), owner.TenantID, vault.AddonHIPAA, true); err != nil {
		t.Fatal(err)
	}
	b := browser.New(t)
	base := e.Server.URL()
	uiSignIn(t, b, base, email, password)

	for _, sel := range []string{`nav a[href="/settings/security"]`, `a[href="/settings/security/compliance"]`, "#filter-pending", `a[href="/settings/security/compliance/v1"]`} {
		if err := b.ClickAndLoad(sel); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
	}
	if got := text(t, b, "#agreement-text"); !strings.Contains(got, "Business Associate Agreement") || !strings.Contains(got, "## 9. Acceptance") {
		t.Fatalf("agreement text = %.200q, want the full markdown", got)
	}
	sum := text(t, b, "#agreement-sha256")
	if err := b.ClickAndLoad("#accept"); err != nil {
		t.Fatal(err)
	}
	if got := text(t, b, "#agreement-status"); got != vault.BAAAccepted {
		t.Errorf("status after Accept = %q, want accepted", got)
	}
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+"/settings/security/compliance?status=pending"), chromedp.WaitVisible(chromedp.ID("no-agreements"))); err != nil {
		t.Fatalf("pending list after accepting: %v", err)
	}
	evs := eventsOf(t, e, owner, vault.ActBAAAccept)
	if len(evs) != 1 || evs[0].Details["sha256"] != sum || evs[0].Details["version"] != "v1" || !strings.Contains(evs[0].UserAgent, "Chrome") {
		t.Errorf("baa.accept = %+v, want v1 with the page's hash and Chromium's user agent", evs)
	}
	noCSPViolations(t, b)
}
