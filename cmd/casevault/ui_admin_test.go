package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
)

// TestUIFlow_Admin runs the admin's flow against the real binary in
// Chromium: an admin (created through the API) signs in, creates a lawyer
// on the users page and reads the one-time password there; the lawyer
// signs in with it and must change it; the lawyer, granted a matter through
// the API, sees it; the admin walls the lawyer off the matter on its walls
// page; then none of the lawyer's pages shows the matter's or its
// document's name, and the matter's and document's pages answer 403 or 404
// as the API does.
func TestUIFlow_Admin(t *testing.T) {
	srv := startServer(t, newDataDir(t), "")
	owner, _ := firstRun(t, srv)
	const adminEmail, adminPassword = "ada@maple.example", "admin's own long passphrase"
	owner.json(t, "POST", "/api/v1/users", map[string]string{"email": adminEmail, "name": "Ada Admin", "role": "admin", "password": adminPassword}, http.StatusCreated, nil)
	const matterName, docName = "Wallace v. Harbour Foods", "Wallace-settlement-draft.pdf"
	var matter struct {
		ID string `json:"id"`
	}
	owner.json(t, "POST", "/api/v1/matters", map[string]string{"name": matterName, "client": "R. Wallace"}, http.StatusCreated, &matter)
	resp := owner.request(t, "POST", "/api/v1/matters/"+matter.ID+"/documents?name="+docName, strings.NewReader("%PDF-1.4 draft"),
		http.Header{"Content-Type": {"application/pdf"}})
	doc := decodeDoc(t, resp, http.StatusCreated)

	// The admin creates the lawyer on the users page.
	admin := browser.New(t)
	browserSignIn(t, admin, srv.URL, adminEmail, adminPassword)
	err := chromedp.Do(admin.Ctx,
		chromedp.Navigate(srv.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.ID("new-email")),
		chromedp.SendKeys(chromedp.ID("new-email"), "lou@maple.example"),
		chromedp.SendKeys(chromedp.ID("new-name"), "Lou Lawyer"),
		chromedp.SetValue(chromedp.ID("new-role"), "lawyer"),
	)
	if err == nil {
		err = admin.ClickAndLoad("#create-user")
	}
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	oneTime, err := chromedp.Run(admin.Ctx, chromedp.Text(chromedp.ID("one-time-password")))
	if err != nil || len(oneTime) < 12 {
		t.Fatalf("one-time password %q: %v", oneTime, err)
	}
	if strings.Contains(srv.Stderr.String(), oneTime) {
		t.Error("the server's log holds the one-time password")
	}
	var users []struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	owner.json(t, "GET", "/api/v1/users", nil, http.StatusOK, &users)
	lawyerID := ""
	for _, u := range users {
		if u.Email == "lou@maple.example" {
			lawyerID = u.ID
		}
	}
	if lawyerID == "" {
		t.Fatal("the lawyer made on the page is not in the API's user list")
	}
	owner.json(t, "POST", "/api/v1/grants", map[string]any{"user_id": lawyerID, "matter_id": matter.ID, "permissions": []string{"read", "download"}}, http.StatusCreated, nil)

	// The lawyer signs in with it and must change it first.
	lawyer := browser.New(t)
	browserSignIn(t, lawyer, srv.URL, "lou@maple.example", oneTime)
	if got, want := adminFlowPath(t, lawyer), "/account/password"; got != want {
		t.Fatalf("lawyer with a one-time password: at %q, want %q", got, want)
	}
	const lawyerPassword = "lou's brand new passphrase"
	err = chromedp.Do(lawyer.Ctx,
		chromedp.SendKeys(chromedp.ID("old_password"), oneTime),
		chromedp.SendKeys(chromedp.ID("new_password"), lawyerPassword),
		chromedp.SendKeys(chromedp.ID("confirm_password"), lawyerPassword),
	)
	if err == nil {
		err = lawyer.ClickAndLoad("#change")
	}
	if err != nil {
		t.Fatalf("change password: %v", err)
	}
	// Before the wall: the matter is on the lawyer's home page (which
	// lists matters, or redirects to /matters).
	if html := adminFlowHTML(t, lawyer, srv.URL+"/"); !strings.Contains(html, matterName) {
		t.Fatalf("lawyer's home before the wall lacks the matter:\n%s", html)
	}

	// The admin walls the lawyer off the matter.
	err = chromedp.Do(admin.Ctx, chromedp.Navigate(srv.URL+"/admin/walls"), chromedp.WaitVisible(chromedp.ID("walls")))
	if err == nil {
		err = admin.ClickAndLoad(`a[href="/admin/walls/` + matter.ID + `"]`)
	}
	if err == nil {
		err = chromedp.Do(admin.Ctx, chromedp.SetValue(chromedp.ID("wall-user"), lawyerID))
	}
	if err == nil {
		err = admin.ClickAndLoad("#add-wall")
	}
	if err != nil {
		t.Fatalf("add wall: %v", err)
	}
	if got, err := chromedp.Run(admin.Ctx, chromedp.Text(chromedp.ID("wall-list"))); err != nil || !strings.Contains(got, "lou@maple.example") {
		t.Fatalf("walls after adding: %q %v, want the lawyer", got, err)
	}

	// After: no page of the lawyer's names the matter or the document.
	for _, path := range []string{"/", "/matters"} {
		html := adminFlowHTML(t, lawyer, srv.URL+path)
		for _, name := range []string{matterName, docName, matter.ID, doc.ID} {
			if strings.Contains(html, name) {
				t.Errorf("lawyer's %s after the wall shows %q", path, name)
			}
		}
	}
	// A search echoes its own words: it may show the matter's name no more
	// often than a search for words that name nothing shows those.
	nothing := "Zyxwv Nothing Matches"
	echo := strings.Count(adminFlowHTML(t, lawyer, srv.URL+"/matters?q="+url.QueryEscape(nothing)), nothing)
	for _, q := range []string{matterName, "Wallace"} {
		html := adminFlowHTML(t, lawyer, srv.URL+"/matters?q="+url.QueryEscape(q))
		if got := strings.Count(html, q); got > echo {
			t.Errorf("lawyer's search for %q after the wall shows it %d times, a search for nothing %d", q, got, echo)
		}
		for _, name := range []string{matterName, docName, matter.ID, doc.ID} {
			if name != q && strings.Contains(html, name) {
				t.Errorf("lawyer's search for %q after the wall shows %q", q, name)
			}
		}
	}
	api := newClient(srv.URL)
	var login struct {
		Token string `json:"token"`
	}
	api.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "lou@maple.example", "password": lawyerPassword}, http.StatusOK, &login)
	api.token = login.Token
	for _, p := range []struct{ page, api string }{
		{"/matters/" + matter.ID, "/api/v1/matters/" + matter.ID},
		{"/documents/" + doc.ID, "/api/v1/documents/" + doc.ID},
	} {
		r := api.request(t, "GET", p.api, nil, nil)
		r.Body.Close()
		if r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusNotFound {
			t.Errorf("API %s after the wall: %d, want 403 or 404", p.api, r.StatusCode)
		}
		status, html := adminFlowFetch(t, lawyer, srv.URL+p.page)
		if status != http.StatusForbidden && status != http.StatusNotFound {
			t.Errorf("page %s after the wall: %d, want 403 or 404 (the API says %d)", p.page, status, r.StatusCode)
		}
		for _, name := range []string{matterName, docName} {
			if strings.Contains(html, name) {
				t.Errorf("page %s after the wall shows %q", p.page, name)
			}
		}
	}
	for _, b := range []*browser.Browser{admin, lawyer} {
		if got := b.CSPViolations(); len(got) != 0 {
			t.Errorf("CSP violations: %q, want none", got)
		}
	}
}

// adminFlowPath is the tab's path and query.
func adminFlowPath(tb testing.TB, b *browser.Browser) string {
	tb.Helper()
	loc, err := chromedp.Run(b.Ctx, chromedp.Location())
	if err != nil {
		tb.Fatal(err)
	}
	u, _ := url.Parse(loc)
	return u.RequestURI()
}

// adminFlowFetch opens u in the tab (following redirects) and returns the
// status of the page that loaded and its HTML.
func adminFlowFetch(tb testing.TB, b *browser.Browser, u string) (int, string) {
	tb.Helper()
	resp, err := chromedp.RunResponse(b.Ctx, chromedp.Navigate(u))
	if err != nil {
		tb.Fatalf("open %s: %v", u, err)
	}
	// The page has loaded when its footer is there; a read that races a
	// redirect's new document is tried again.
	var html string
	for try := 0; ; try++ {
		if err = chromedp.Do(b.Ctx, chromedp.WaitReady(chromedp.CSS("footer"))); err == nil {
			html, err = chromedp.Run(b.Ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		}
		if err == nil {
			break
		} else if try == 2 {
			tb.Fatalf("read %s: %v", u, err)
		}
	}
	return int(resp.Status), html
}

// adminFlowHTML opens u and returns its HTML.
func adminFlowHTML(tb testing.TB, b *browser.Browser, u string) string {
	tb.Helper()
	_, html := adminFlowFetch(tb, b, u)
	return html
}
