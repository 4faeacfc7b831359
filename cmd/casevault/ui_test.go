package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
)

// TestUI_FirstRun starts the real binary on a fresh data directory and, in
// Chromium, opens / (the setup page), creates the firm with the logged
// setup token, and signs in as its owner.
func TestUI_FirstRun(t *testing.T) {
	b := browser.New(t)
	srv := startServer(t, filepath.Join(t.TempDir(), "data"), "")
	token := srv.SetupToken(t)
	err := chromedp.Do(b.Ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), token),
		chromedp.SetValue(chromedp.ID("firm_name"), "Maple & Pine LLP"),
		chromedp.SetValue(chromedp.ID("owner_email"), "owner@maple.example"),
		chromedp.SetValue(chromedp.ID("owner_password"), "correct horse battery staple"),
	)
	if err == nil {
		err = b.ClickAndLoad("#create")
	}
	if err == nil {
		err = chromedp.Do(b.Ctx,
			chromedp.SendKeys(chromedp.ID("email"), "owner@maple.example"),
			chromedp.SendKeys(chromedp.ID("password"), "correct horse battery staple"))
	}
	if err == nil {
		err = b.ClickAndLoad("#signin")
	}
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	h, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS("header")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, "Maple & Pine LLP") || !strings.Contains(h, "(owner)") {
		t.Fatalf("header after first run: %q, want the firm and the owner's role", h)
	}
	if got := b.CSPViolations(); len(got) != 0 {
		t.Errorf("CSP violations: %q, want none", got)
	}
}
