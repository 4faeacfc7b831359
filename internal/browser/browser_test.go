package browser_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
)

// TestBrowser_CSPViolations checks the probe itself: a page whose inline
// script its CSP forbids is reported, and a clean page is not.
func TestBrowser_CSPViolations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/bad" {
			w.Write([]byte(`<!doctype html><title>bad</title><script>document.title='ran'</script><p id=x>bad</p>`))
			return
		}
		w.Write([]byte(`<!doctype html><title>ok</title><p id=x>ok</p>`))
	}))
	defer srv.Close()
	b := browser.New(t)
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(srv.URL+"/ok"), chromedp.WaitVisible(chromedp.ID("x"))); err != nil {
		t.Fatal(err)
	}
	if got := b.CSPViolations(); len(got) != 0 {
		t.Fatalf("clean page: got violations %q, want none", got)
	}
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(srv.URL+"/bad"), chromedp.WaitVisible(chromedp.ID("x"))); err != nil {
		t.Fatal(err)
	}
	if got := b.CSPViolations(); len(got) == 0 {
		t.Fatal("inline script against the CSP: got no violation, want one")
	}
}
