package web_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/vault"
)

// TestUIVerify_Roles fetches GET /audit/verify as each role, as another
// firm's auditor and signed out: owners, admins and auditors get the page
// with their own firm's key, lawyers 403 as from the API, a visitor the
// sign-in page.
func TestUIVerify_Roles(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	owner, ownerEmail, ownerPassword := e.uiUser(t, "", "")
	_, adminEmail, adminPassword := e.uiUser(t, owner.TenantID, vault.RoleAdmin)
	auditor, auditorEmail, auditorPassword := e.uiUser(t, owner.TenantID, vault.RoleAuditor)
	_, lawyerEmail, lawyerPassword := e.uiUser(t, owner.TenantID, vault.RoleLawyer)
	keys, err := e.Svc.AuditKeys(ctx, auditor)
	if err != nil {
		t.Fatal(err)
	}
	base := e.Server.URL()
	get := func(email, password string) (int, string) {
		t.Helper()
		c := uiClient(t)
		if email != "" {
			uiClientSignIn(t, c, base, email, password)
		}
		resp, err := c.Get(base + "/audit/verify")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusSeeOther {
			return resp.StatusCode, resp.Header.Get("Location")
		}
		return resp.StatusCode, string(b)
	}
	for _, u := range []struct{ role, email, password string }{
		{"owner", ownerEmail, ownerPassword}, {"admin", adminEmail, adminPassword}, {"auditor", auditorEmail, auditorPassword},
	} {
		status, body := get(u.email, u.password)
		if status != http.StatusOK || !strings.Contains(body, strings.ReplaceAll(keys[len(keys)-1].VerifierKey, "+", "&#43;")) || !strings.Contains(body, `id="result"`) {
			t.Errorf("%s: %d, want 200 with the firm's key and the result area", u.role, status)
		}
		if strings.Contains(body, "<form id=\"verify-form\" class=\"verify-form\" method") || strings.Contains(body, `name="bundle"`) {
			t.Errorf("%s: the verify form can post the bundle", u.role)
		}
	}
	if status, body := get(lawyerEmail, lawyerPassword); status != http.StatusForbidden || !strings.Contains(body, "forbidden") {
		t.Errorf("lawyer: %d, want 403 forbidden as GET /api/v1/audit/keys answers", status)
	}
	if status, loc := get("", ""); status != http.StatusSeeOther || loc != "/signin" {
		t.Errorf("signed out: %d to %q, want 303 to /signin", status, loc)
	}
	other, otherEmail, otherPassword := e.uiUser(t, "", "")
	otherAuditor, _, _ := e.Svc.AddUser(ctx, other.TenantID, vault.NewUser{Email: "aud-" + otherEmail, Password: otherPassword, Role: vault.RoleAuditor})
	if otherAuditor == nil {
		t.Fatal("no auditor in the other firm")
	}
	_, body := get("aud-"+otherEmail, otherPassword)
	if strings.Contains(body, owner.TenantID) || strings.Contains(body, auditorEmail) {
		t.Error("another firm's auditor sees this firm on the verify page")
	}
	// The page's read of the keys is recorded, as the API's is.
	evs, _, err := e.Svc.AuditEvents(ctx, owner, vault.AuditFilter{ActorID: auditor.ID, Action: vault.ActAuditRead})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		found = found || ev.Details["read"] == "keys"
	}
	if !found {
		t.Error("no audit.read (keys) event of the auditor's page view")
	}
}

// TestUIVerify_Page checks the page on a phone-sized screen (every field
// labelled, nothing wider than the screen, no CSP violation), and that a
// bundle of several MiB is read as a stream with its progress shown.
func TestUIVerify_Page(t *testing.T) {
	fx := newVerifyFixture(t)
	p := openVerifyPage(t, fx)
	if err := chromedp.Do(p.b.Ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(p.b.Ctx, chromedp.WaitVisible(chromedp.ID("bundle"))); err != nil {
		t.Fatal(err)
	}
	if got, err := chromedp.Run(p.b.Ctx, chromedp.Evaluate[[]string](unlabelled)); err != nil || len(got) != 0 {
		t.Errorf("fields without a label %q (%v), want none", got, err)
	}
	if got, err := chromedp.Run(p.b.Ctx, chromedp.Evaluate[bool](overflows)); err != nil || got {
		t.Errorf("wider than a 390px phone (%v)", err)
	}
	if live, err := chromedp.Run(p.b.Ctx, chromedp.Evaluate[string](`document.getElementById('result').getAttribute('aria-live')`)); err != nil || live != "polite" {
		t.Errorf("result aria-live %q (%v), want polite", live, err)
	}
	// 3 MiB: the header line padded with JSON whitespace (still one line
	// under the 4 MiB limit), so the file spans many stream chunks and the
	// progress bar shows.
	ls := bundleLines(fx.complete)
	pad := strings.Repeat(" ", 3<<20)
	ls[0] = strings.Replace(ls[0], `"complete":true`, `"complete":`+pad+`true`, 1)
	big := joinLines(ls)
	if w := p.run(t, fx, verifyCase{name: "big", b: big, ok: true}); !w.ok {
		t.Fatalf("padded bundle: %v, want verified", w)
	}
	if got := goVerdict(t, fx, verifyCase{b: big}); !got.ok {
		t.Fatalf("audit.Verify of the padded bundle: %v", got)
	}
	progress, err := chromedp.Run(p.b.Ctx, chromedp.Evaluate[string](`document.getElementById('progress-box').dataset.progress || ''`))
	if err != nil || progress != "100" {
		t.Errorf("progress after a 3 MiB bundle: %q (%v), want 100", progress, err)
	}
	noCSPViolations(t, p.b)
}

// TestUIVerify_Screenshot writes docs/ui-verify.png (a failed verification)
// when CASEVAULT_SCREENSHOTS is set.
func TestUIVerify_Screenshot(t *testing.T) {
	if os.Getenv("CASEVAULT_SCREENSHOTS") == "" {
		t.Skip("set CASEVAULT_SCREENSHOTS=1 to rewrite docs/ui-verify.png")
	}
	fx := newVerifyFixture(t)
	p := openVerifyPage(t, fx)
	if err := chromedp.Do(p.b.Ctx, chromedp.EmulateViewport(1100, 700)); err != nil {
		t.Fatal(err)
	}
	bad := editLeaf(t, fx.complete, 5, strings.NewReplacer(`"outcome":"ok"`, `"outcome":"denied"`).Replace)
	if w := p.run(t, fx, verifyCase{name: "audit-tampered", b: bad}); w.ok {
		t.Fatal("the tampered bundle verified")
	}
	if err := p.b.Screenshot(filepath.Join("..", "docs", "ui-verify.png")); err != nil {
		t.Fatal(err)
	}
}
