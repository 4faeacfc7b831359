package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
)

// mxCSPOrder is the order in which actors are tried for a page: the first
// that may see it (the page answers 200 with HTML) opens it in Chromium.
var mxCSPOrder = []string{"L1", "owner", "admin", "auditor", "L2", "L3", "B-owner"}

// TestUI_NoCSPViolations opens every UI GET page of the router (the
// visibility fixture's objects in its parameters) in Chromium, as an actor
// allowed to see it, and the error pages (404 for an unknown page or
// object, 403 for a refused form or object): no page breaks its
// Content-Security-Policy or throws a script error, and each carries the
// CSP, X-Frame-Options DENY and frame-ancestors 'none'.
func TestUI_NoCSPViolations(t *testing.T) {
	m := newMatrix(t)
	b := browser.New(t)
	byActor := map[string][]string{} // actor → URL paths to open
	forbidden := ""                  // a page that answers 403, as L3
	for _, r := range m.uiRoutes(http.MethodGet) {
		e, ok := mxAPIFor(r.Path)
		if !ok {
			t.Errorf("add %s %s to the visibility table (mxPageAPIs in web/ui_matrix_routes_test.go)", r.Method, r.Path)
			continue
		}
		for _, p := range m.expand(t, r, nil) {
			u := p.Path + m.query(e)
			opened := false
			for _, label := range mxCSPOrder {
				got := mxGet(t, m.by[label].UI, m.base+u)
				mxCheckHeaders(t, p.String()+" as "+label, got)
				if got.Status == http.StatusOK && strings.HasPrefix(got.Header.Get("Content-Type"), "text/html") {
					byActor[label] = append(byActor[label], u)
					opened = true
					break
				}
			}
			if !opened {
				t.Logf("%s: no actor sees it as an HTML page (a download, a redirect or a refusal)", p)
			}
			if forbidden == "" && mxGet(t, m.by["L3"].UI, m.base+u).Status == http.StatusForbidden {
				forbidden = u
			}
		}
	}
	byActor["L3"] = append(byActor["L3"], "/no/such/page", "/matters/no-such-matter/at/all")
	if forbidden != "" {
		byActor["L3"] = append(byActor["L3"], forbidden)
	}

	seen := 0
	check := func(what string) {
		t.Helper()
		msgs := b.Messages()
		for _, msg := range msgs[seen:] {
			s := msg.String()
			switch {
			case strings.Contains(s, "CSP violation") || strings.Contains(s, "Content Security Policy"):
				t.Errorf("%s: CSP violation %q", what, s)
			case (msg.Type == chromedp.ConsoleError || msg.IsException()) &&
				!strings.Contains(s, "Failed to load resource: the server responded with a status of 4"):
				t.Errorf("%s: console error %q", what, s)
			}
		}
		seen = len(msgs)
	}
	n := 0
	for _, label := range mxCSPOrder {
		paths := byActor[label]
		if len(paths) == 0 {
			continue
		}
		a := m.by[label]
		uiSignIn(t, b, m.base, a.Email, a.Password)
		check("signing in as " + label)
		for _, u := range paths {
			if err := chromedp.Do(b.Ctx, chromedp.Navigate(m.base+u), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
				t.Errorf("open %s as %s: %v", u, label, err)
				continue
			}
			check(u + " as " + label)
			n++
		}
	}
	// The 403 page of a refused form: sign-out with a wrong token.
	err := chromedp.Do(b.Ctx, chromedp.Navigate(m.base+"/account/password"), chromedp.WaitVisible(chromedp.ID("old_password")))
	if err == nil {
		_, err = chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.querySelector('form[action="/signout"] input[name="csrf"]').value = 'not-the-token'`))
	}
	if err == nil {
		err = b.ClickAndLoad(`form[action="/signout"] button`)
	}
	if err != nil {
		t.Fatalf("refused form: %v", err)
	}
	if got := text(t, b, "#error-code"); got != "forbidden" {
		t.Errorf("refused form: code %q, want forbidden", got)
	}
	check("the 403 page of a refused form")
	// Signed out: the sign-in page and the 404 page.
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(m.base+"/account/password"), chromedp.WaitVisible(chromedp.ID("old_password"))); err != nil {
		t.Fatal(err)
	}
	if err := b.ClickAndLoad(`form[action="/signout"] button`); err != nil {
		t.Fatal(err)
	}
	if got, want := location(t, b), "/signin?signedout=1"; got != want {
		t.Errorf("signed out: at %q, want %q", got, want)
	}
	for _, u := range []string{"/signin", "/no/such/page"} {
		if err := chromedp.Do(b.Ctx, chromedp.Navigate(m.base+u), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
			t.Fatal(err)
		}
		check(u + " signed out")
	}
	t.Logf("%d pages opened in Chromium", n+4)
}
