package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
)

// dropFiles drops files on the page's upload form (browser.DropFiles).
func dropFiles(tb testing.TB, b *browser.Browser, paths ...string) {
	tb.Helper()
	if err := b.DropFiles(paths...); err != nil {
		tb.Fatalf("drop %d files: %v", len(paths), err)
	}
}

// waitUploads waits until n upload rows are done or failed.
func waitUploads(tb testing.TB, b *browser.Browser, n int, timeout time.Duration) {
	tb.Helper()
	_, err := chromedp.Run(b.Ctx, chromedp.Poll[bool](
		fmt.Sprintf(`document.querySelectorAll('.upload-list li[data-state="done"], .upload-list li[data-state="failed"]').length >= %d`, n),
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		tb.Fatalf("waiting for %d uploads: %v", n, err)
	}
}

// writeFile writes content to name under dir and returns its path.
func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestUIMatters_Browser creates a matter in the page, drops two files on
// its upload form, sees them stored and listed, then drops one the server
// refuses as too large and reads the human message on its row; both pages
// are labelled, fit a phone and break no CSP rule.
func TestUIMatters_Browser(t *testing.T) {
	e := newEnv(t)
	owner, email, password := e.uiUser(t, "", "")
	b := browser.New(t)
	base := e.Server.URL()
	uiSignIn(t, b, base, email, password)

	err := chromedp.Do(b.Ctx,
		chromedp.WaitVisible(chromedp.ID("no-matters")),
		chromedp.SendKeys(chromedp.ID("name"), "Estate of <Doe>"),
		chromedp.SendKeys(chromedp.ID("client"), "J. Doe"),
	)
	if err == nil {
		err = b.ClickAndLoad("#create-matter")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got, want := text(t, b, "main h1"), "Estate of <Doe>"; got != want {
		t.Fatalf("new matter's page: h1 %q, want %q", got, want)
	}
	matterPath := location(t, b)
	text(t, b, "#no-documents")

	dir := t.TempDir()
	dropFiles(t, b, writeFile(t, dir, "memo.txt", "a memo"), writeFile(t, dir, "notes <1>.md", strings.Repeat("n", 100<<10)))
	waitUploads(t, b, 2, 30*time.Second)
	states, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('.upload-list li')).map(li => li.dataset.file + ':' + li.dataset.state + ':' + li.dataset.progress)`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(states, " ") != "memo.txt:done:100 notes <1>.md:done:100" {
		t.Fatalf("upload rows: %q, want both done at 100", states)
	}
	if err := b.ClickAndLoad("#reload"); err != nil {
		t.Fatal(err)
	}
	if got := text(t, b, "#documents"); !strings.Contains(got, "memo.txt") || !strings.Contains(got, "notes <1>.md") || !strings.Contains(got, "100.0 KiB") {
		t.Fatalf("documents after upload: %q, want both, with sizes", got)
	}
	docs, err := e.Svc.Documents(context.Background(), owner, strings.TrimPrefix(matterPath, "/matters/"), false)
	if err != nil || len(docs) != 2 {
		t.Fatalf("documents stored: %d (%v), want 2", len(docs), err)
	}

	// Refused: too large, with the server's message on the file's row.
	e.Svc.MaxDocumentSize = 1 << 10
	defer func() { e.Svc.MaxDocumentSize = 0 }()
	dropFiles(t, b, writeFile(t, dir, "too-big.pdf", strings.Repeat("b", 8<<10)))
	waitUploads(t, b, 1, 30*time.Second)
	if got := text(t, b, `.upload-list li[data-file="too-big.pdf"]`); !strings.Contains(got, "Too large") || !strings.Contains(got, "larger than the 1024 bytes allowed") || !strings.Contains(got, "(too_large)") {
		t.Fatalf("refused row: %q, want the human message and code", got)
	}
	e.Svc.MaxDocumentSize = 0
	noCSPViolations(t, b) // the refused XHR's 413 is a console note the helper allows

	// Both pages on a phone: labelled and no sideways scrolling.
	if err := chromedp.Do(b.Ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	for _, page := range []struct{ path, wait string }{{"/matters", "#matters"}, {matterPath, "#documents"}} {
		if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+page.path), chromedp.WaitVisible(chromedp.CSS(page.wait))); err != nil {
			t.Fatal(err)
		}
		if got, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](unlabelled)); err != nil || len(got) != 0 {
			t.Errorf("%s: fields without a label %q (%v), want none", page.path, got, err)
		}
		if got, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](overflows)); err != nil || got {
			t.Errorf("%s: wider than a 390px phone (%v)", page.path, err)
		}
	}
	noCSPViolations(t, b)
}

// TestUIMatters_NoScript opens a matter page with JavaScript off: the
// documents are listed and the page says uploading needs JavaScript.
func TestUIMatters_NoScript(t *testing.T) {
	e := newEnv(t)
	owner, email, password := e.uiUser(t, "", "")
	m, err := e.Svc.CreateMatter(context.Background(), owner, "Estate of Doe", "J. Doe")
	if err != nil {
		t.Fatal(err)
	}
	seedDocuments(t, e.Svc, owner, m.ID, 3)
	b := browser.New(t)
	base := e.Server.URL()
	uiSignIn(t, b, base, email, password)
	if _, err := chromedp.Call(b.Ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+"/matters/"+m.ID), chromedp.WaitVisible(chromedp.ID("documents"))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, b, "#documents"); !strings.Contains(got, "doc-0002.txt") {
		t.Errorf("documents without JavaScript: %q, want them listed", got)
	}
	if got := text(t, b, "#needs-js"); !strings.Contains(got, "Uploading needs JavaScript") {
		t.Errorf("noscript note: %q", got)
	}
}
