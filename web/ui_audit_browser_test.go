package web_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
)

// TestUIAudit_Browser opens the audit pages in Chromium on a laptop and on
// a phone: no CSP violation, every field labelled, nothing wider than the
// phone, and the filter form works with the keyboard.
func TestUIAudit_Browser(t *testing.T) {
	fx := newAuditFixture(t)
	base := fx.e.Server.URL()
	b := browser.New(t)
	uiSignIn(t, b, base, fx.email, fx.password)
	pages := []string{"/audit", "/audit/documents/" + fx.docID, "/audit/users/" + fx.lawyer.ID, "/audit/checkpoint", "/audit?outcome=maybe"}
	for _, size := range [][2]int64{{1100, 700}, {390, 844}} {
		if err := chromedp.Do(b.Ctx, chromedp.EmulateViewport(size[0], size[1])); err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if got, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](unlabelled)); err != nil || len(got) != 0 {
				t.Errorf("%s: fields without a label %q (%v), want none", p, got, err)
			}
			// The page's own content (the header's navigation is the
			// layout's) is no wider than the window; wide tables scroll
			// inside their .table box.
			wide, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](mainOverflow))
			if err != nil || len(wide) != 0 {
				t.Errorf("%s at %dpx: wider than the window (%v): %q", p, size[0], err, wide)
			}
		}
	}
	// The filter form: choose an action, submit, and the URL carries the
	// API's parameter.
	if err := chromedp.Do(b.Ctx, chromedp.EmulateViewport(1100, 700), chromedp.Navigate(base+"/audit"),
		chromedp.Click(chromedp.CSS("details.audit-filters summary")), chromedp.WaitVisible(chromedp.ID("f-action")), chromedp.SetValue(chromedp.ID("f-action"), "document.download")); err != nil {
		t.Fatal(err)
	}
	if err := b.ClickAndLoad("#apply-filter"); err != nil {
		t.Fatal(err)
	}
	if got := location(t, b); got != "/audit?actor_id=&document_id=&matter_id=&action=document.download&outcome=&limit=50&from=&to=" {
		t.Errorf("filtered URL %q", got)
	}
	if got := text(t, b, "#sum-events"); got != "2" {
		t.Errorf("summary after filtering: %s events, want 2", got)
	}
	noCSPViolations(t, b)
}

// mainOverflow lists the elements of <main> that reach past the window's
// right edge, outside a scrolling .table box.
const mainOverflow = `Array.from(document.querySelectorAll('main *'))
  .filter(el => !el.closest('.table') && el.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 8).map(el => el.tagName + '#' + el.id + '.' + el.className)`

// pdfTools fails in CI and skips elsewhere when poppler-utils is missing.
func pdfTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"pdftoppm", "pdftotext"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s (poppler-utils) is required in CI", tool)
			}
			t.Skipf("%s not installed (apt-get install poppler-utils)", tool)
		}
	}
}

// TestUIAudit_Screenshots writes docs/ui-audit-trail.png,
// docs/ui-audit-checkpoint.png and docs/report-page1.png (the PDF report's
// first page, rendered by pdftoppm) when CASEVAULT_SCREENSHOTS is set.
func TestUIAudit_Screenshots(t *testing.T) {
	if os.Getenv("CASEVAULT_SCREENSHOTS") == "" {
		t.Skip("set CASEVAULT_SCREENSHOTS=1 to rewrite docs/ui-audit-*.png and docs/report-page1.png")
	}
	pdfTools(t)
	fx := newAuditFixture(t)
	base := fx.e.Server.URL()
	b := browser.New(t)
	if err := chromedp.Do(b.Ctx, chromedp.EmulateViewport(1100, 700)); err != nil {
		t.Fatal(err)
	}
	uiSignIn(t, b, base, fx.email, fx.password)
	shot := func(path, name string) {
		t.Helper()
		if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
			t.Fatal(err)
		}
		// The window only (1100×700), not the whole page, keeps the PNG small.
		png, err := chromedp.Run(b.Ctx, chromedp.CaptureScreenshot())
		if err == nil {
			err = os.WriteFile(filepath.Join("..", "docs", name), png, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	shot("/audit", "ui-audit-trail.png")
	shot("/audit/checkpoint", "ui-audit-checkpoint.png")
	noCSPViolations(t, b)

	_, pdf, _ := getPage(t, fx.auditor, base+"/audit/export?format=pdf")
	dir := t.TempDir()
	file := filepath.Join(dir, "report.pdf")
	if err := os.WriteFile(file, []byte(pdf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", file, filepath.Join("..", "docs", "report-page1")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
}
