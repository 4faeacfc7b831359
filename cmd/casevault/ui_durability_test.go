package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	cvbrowser "github.com/casevault/casevault/internal/browser"
)

// TestUI_Durability runs the real binary with backups and a scheduled
// drill: in Chromium, the owner finds "Durability" in the navigation and
// sees both backups and the passed drill; a lawyer has no such link, and
// the page answers them the human 403 error page.
func TestUI_Durability(t *testing.T) {
	b := cvbrowser.New(t)
	outside := t.TempDir()
	dataDir := filepath.Join(outside, "data")
	srv := startServer(t, dataDir, drillConfig(t, outside))
	owner, _ := firstRun(t, srv)
	owner.json(t, "POST", "/api/v1/users", map[string]string{"email": "lee@maple.example", "role": "lawyer", "password": "correct horse battery lawyer"}, http.StatusCreated, nil)
	if st := drillOf(t, opAPI(t, dataDir), "ca", ""); !st.Drill.OK {
		t.Fatalf("the scheduled drill failed: %+v\n%s", st.Drill, grepLines(srv.Stderr.String()+cellLog(t, dataDir, "ca"), "drill"))
	}

	nav := func() []string {
		t.Helper()
		links, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href'))`))
		if err != nil {
			t.Fatal(err)
		}
		return links
	}
	if err := b.SignIn(srv.URL, "owner@maple.example", "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	if links := nav(); !strings.Contains(strings.Join(links, " "), "/durability") {
		t.Fatalf("the owner's navigation %q has no /durability", links)
	}
	if err := b.ClickAndLoad(`nav a[href="/durability"]`); err != nil {
		t.Fatal(err)
	}
	body, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.body.innerText`))
	page, err := chromedp.Run(b.Ctx, chromedp.Evaluate[map[string]string](`({
		region: document.getElementById('region').innerText,
		backups: String(document.querySelectorAll('#backups tbody tr').length),
		result: document.getElementById('drill-result').innerText,
		rto: document.getElementById('drill-rto').innerText,
		mirror: document.getElementById('no-mirror') ? 'none' : 'shown',
	})`))
	if err != nil {
		t.Fatalf("durability page: %v\n%s\n%s", err, body, grepLines(cellLog(t, dataDir, "ca"), "\"error\""))
	}
	if page["region"] != "ca" || page["backups"] != "2" || page["result"] != "passed" || page["rto"] == "" || page["mirror"] != "none" {
		t.Errorf("durability page = %v, want region ca, 2 backups, a passed drill with its RTO, no mirror", page)
	}
	if err := b.Screenshot(filepath.Join(outside, "durability.png")); err != nil {
		t.Errorf("screenshot: %v", err)
	}
	noViolations(t, b)

	// A lawyer: no link, and the page refuses.
	if err := b.ClickAndLoad(`form[action="/signout"] button`); err != nil {
		t.Fatal(err)
	}
	if err := b.SignIn(srv.URL, "lee@maple.example", "correct horse battery lawyer"); err != nil {
		t.Fatal(err)
	}
	if links := nav(); strings.Contains(strings.Join(links, " "), "/durability") {
		t.Errorf("the lawyer's navigation %q links to /durability", links)
	}
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(srv.URL+"/durability")); err != nil {
		t.Fatal(err)
	}
	code, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.ID("error-code")))
	if err != nil || code != "forbidden" {
		t.Errorf("the lawyer's /durability: error code %q (%v), want forbidden", code, err)
	}
}
