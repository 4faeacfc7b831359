package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/vault"
)

// uiUser adds a user with a known password to a new firm (or tenantID's).
func (e *env) uiUser(tb testing.TB, tenantID string, role vault.Role) (u *vault.User, email, password string) {
	tb.Helper()
	ctx := context.Background()
	email = vault.NewID("u")[2:14] + "@example.com"
	password = "correct horse battery " + vault.NewID("p")[2:10]
	if tenantID == "" {
		_, owner, _, err := e.Svc.CreateTenant(ctx, vault.NewTenant{Name: "Hale & Partners", Region: "us", Owner: vault.NewUser{Email: email, Password: password, Name: "Olive Owner"}})
		if err != nil {
			tb.Fatalf("CreateTenant: %v", err)
		}
		return owner, email, password
	}
	u, _, err := e.Svc.AddUser(ctx, tenantID, vault.NewUser{Email: email, Password: password, Role: role})
	if err != nil {
		tb.Fatalf("AddUser: %v", err)
	}
	return u, email, password
}

// actions returns the actions of the firm's audit events, read as owner.
func (e *env) actions(tb testing.TB, owner *vault.User) []string {
	tb.Helper()
	evs, _, err := e.Svc.AuditEvents(context.Background(), owner, vault.AuditFilter{})
	if err != nil {
		tb.Fatalf("AuditEvents: %v", err)
	}
	var out []string
	for _, ev := range evs {
		if ev.Action != vault.ActAuditRead {
			out = append(out, ev.Action+":"+ev.Outcome)
		}
	}
	return out
}

// uiSignIn signs in through the page and waits for the home page.
func uiSignIn(tb testing.TB, b *browser.Browser, base, email, password string) {
	tb.Helper()
	if err := b.SignIn(base, email, password); err != nil {
		tb.Fatalf("sign in as %s: %v", email, err)
	}
}

// location returns the tab's URL path and query.
func location(tb testing.TB, b *browser.Browser) string {
	tb.Helper()
	loc, err := chromedp.Run(b.Ctx, chromedp.Location())
	if err != nil {
		tb.Fatal(err)
	}
	u, _ := url.Parse(loc)
	return u.RequestURI()
}

// text returns the text of the element sel, waiting for it.
func text(tb testing.TB, b *browser.Browser, sel string) string {
	tb.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.Fatalf("text %s: %v", sel, err)
	}
	return s
}

// noCSPViolations fails on any CSP violation or console error so far,
// except the browser's notes that a page answered with an error status
// (which error pages do on purpose).
func noCSPViolations(tb testing.TB, b *browser.Browser) {
	tb.Helper()
	if got := b.CSPViolations(); len(got) != 0 {
		tb.Errorf("CSP violations: %q, want none", got)
	}
	for _, m := range b.Errors() {
		if !strings.Contains(m, "Failed to load resource: the server responded with a status of 4") {
			tb.Errorf("console error: %q, want none", m)
		}
	}
}

// hasAll reports whether every one of want is in got.
func hasAll(got, want []string) bool {
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			return false
		}
	}
	return true
}

// uiClient is an HTTP client with a cookie jar that does not follow
// redirects.
func uiClient(tb testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: http.DefaultTransport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// mustRequest is http.NewRequest that fails the test.
func mustRequest(tb testing.TB, method, u string) *http.Request {
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return req
}

// csrfInput finds the hidden CSRF field of a page's forms.
var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// uiClientCSRF returns the CSRF token of the forms of GET path /signin (for
// a signed-out client) or a signed-in page such as /matters.
func uiClientCSRF(tb testing.TB, c *http.Client, u string) string {
	tb.Helper()
	resp, err := c.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInput.FindStringSubmatch(string(b))
	if m == nil {
		tb.Fatalf("GET %s: %d, no csrf field", u, resp.StatusCode)
	}
	return m[1]
}

// uiClientSignIn signs c in through the form and returns the cookies the
// answer set.
func uiClientSignIn(tb testing.TB, c *http.Client, base, email, password string) []*http.Cookie {
	tb.Helper()
	tok := uiClientCSRF(tb, c, base+"/signin")
	resp, err := c.PostForm(base+"/signin", url.Values{"csrf": {tok}, "email": {email}, "password": {password}})
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		tb.Fatalf("sign in: %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	return resp.Cookies()
}

// uiClientGet returns the status of GET u.
func uiClientGet(tb testing.TB, c *http.Client, u string) int {
	tb.Helper()
	resp, err := c.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
