package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// TestUI_Setup creates the first firm through the setup page, signs in as
// its owner on the sign-in page and signs out, in Chromium.
func TestUI_Setup(t *testing.T) {
	e := newEnv(t)
	b := browser.New(t)
	token, err := e.Svc.IssueSetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	base := e.Server.URL()
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("token"))); err != nil {
		t.Fatal(err)
	}
	if got, want := location(t, b), "/setup"; got != want {
		t.Fatalf("fresh server: / went to %q, want %q", got, want)
	}
	// A wrong token is refused with the API's code.
	fill := func(tok string) {
		t.Helper()
		err := chromedp.Do(b.Ctx,
			chromedp.SetValue(chromedp.ID("token"), tok),
			chromedp.SetValue(chromedp.ID("firm_name"), "Hale & Partners"),
			chromedp.SetValue(chromedp.ID("owner_name"), "Olive Owner"),
			chromedp.SetValue(chromedp.ID("owner_email"), "olive@hale.example"),
			chromedp.SetValue(chromedp.ID("owner_password"), "a long enough passphrase"),
		)
		if err == nil {
			err = b.ClickAndLoad("#create")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	fill("cvsetup_wrong")
	if got := text(t, b, "#form-error"); !strings.Contains(got, "unauthorized") {
		t.Fatalf("wrong token: got %q, want the unauthorized code", got)
	}
	fill(token)
	if got, want := location(t, b), "/signin?setup=1"; got != want {
		t.Fatalf("after setup: at %q, want %q", got, want)
	}
	uiSignIn(t, b, base, "olive@hale.example", "a long enough passphrase")
	if got, want := text(t, b, "main h1"), "Matters"; got != want {
		t.Fatalf("owner's home: h1 %q, want %q", got, want)
	}
	if got := text(t, b, "header"); !strings.Contains(got, "Hale & Partners") || !strings.Contains(got, "Olive Owner") {
		t.Errorf("header %q: want the firm and the user", got)
	}
	text(t, b, "#no-matters")
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+"/account/password"), chromedp.WaitVisible(chromedp.ID("old_password"))); err != nil {
		t.Fatal(err)
	}
	if err := b.ClickAndLoad("form[action='/signout'] button"); err != nil {
		t.Fatal(err)
	}
	if got, want := location(t, b), "/signin?signedout=1"; got != want {
		t.Fatalf("after sign-out: at %q, want %q", got, want)
	}
	// Signed out, the home page is the sign-in page again.
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("email"))); err != nil {
		t.Fatal(err)
	}
	// An unknown page is a human 404 with the API's code.
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+"/no/such/page"), chromedp.WaitVisible(chromedp.ID("error-code"))); err != nil {
		t.Fatal(err)
	}
	if got, want := text(t, b, "#error-code"), "not_found"; got != want {
		t.Errorf("unknown page: code %q, want %q", got, want)
	}
	noCSPViolations(t, b)
}

// TestUI_SignIn covers a wrong password (shown, audited), a sign-in, the
// password page for a user who must change a one-time password, and sign-out.
func TestUI_SignIn(t *testing.T) {
	e := newEnv(t)
	owner, email, password := e.uiUser(t, "", "")
	b := browser.New(t)
	base := e.Server.URL()

	uiSignIn(t, b, base, email, "not the password at all")
	if got := text(t, b, "#form-error"); !strings.Contains(got, "unauthorized") {
		t.Fatalf("wrong password: got %q, want the unauthorized code", got)
	}
	if got, want := e.actions(t, owner), []string{"login_failed:denied"}; !hasAll(got, want) {
		t.Fatalf("audit after a wrong password: %q, want %q", got, want)
	}
	uiSignIn(t, b, base, email, password)
	if got, want := location(t, b), "/matters"; got != want {
		t.Fatalf("signed in: at %q, want %q", got, want)
	}
	if got := e.actions(t, owner); !hasAll(got, []string{"login:ok"}) {
		t.Fatalf("audit after sign-in: %q, want a login", got)
	}

	// A lawyer whose password was reset is sent to the password page.
	lawyer, lemail, _ := e.uiUser(t, owner.TenantID, vault.RoleLawyer)
	_, oneTime, err := e.Svc.ResetPassword(context.Background(), owner, lawyer.ID)
	if err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	b2 := browser.New(t)
	uiSignIn(t, b2, base, lemail, oneTime)
	if got, want := location(t, b2), "/account/password"; got != want {
		t.Fatalf("must change password: at %q, want %q", got, want)
	}
	err = chromedp.Do(b2.Ctx,
		chromedp.SendKeys(chromedp.ID("old_password"), oneTime),
		chromedp.SendKeys(chromedp.ID("new_password"), "a brand new passphrase"),
		chromedp.SendKeys(chromedp.ID("confirm_password"), "a brand new passphrase"),
	)
	if err == nil {
		err = b2.ClickAndLoad("#change")
	}
	if err != nil {
		t.Fatalf("change password: %v", err)
	}
	if got := text(t, b2, ".notice"); !strings.Contains(got, "password is changed") {
		t.Fatalf("after the change: notice %q", got)
	}
	err = chromedp.Do(b2.Ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("no-matters")),
	)
	if err != nil {
		t.Fatalf("change password: %v", err)
	}
	noCSPViolations(t, b)
	noCSPViolations(t, b2)
}

// TestUI_CSRF posts to the UI from another site (in Chromium) and without
// the form's token (from Go, with the session cookie): both are refused and
// the session is not signed out.
func TestUI_CSRF(t *testing.T) {
	e := newEnv(t)
	owner, email, password := e.uiUser(t, "", "")
	b := browser.New(t)
	base := e.Server.URL()
	uiSignIn(t, b, base, email, password)

	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!doctype html><form method="post" action="`+base+`/signout"><button id="go">win a prize</button></form>`)
	}))
	defer evil.Close()
	// localhost is another site than 127.0.0.1.
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	err := chromedp.Do(b.Ctx, chromedp.Navigate(evilURL), chromedp.WaitVisible(chromedp.ID("go")))
	if err == nil {
		err = b.ClickAndLoad("#go")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got, want := text(t, b, "#error-code"), "forbidden"; got != want {
		t.Fatalf("cross-site post: code %q, want %q", got, want)
	}
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
		t.Fatal(err)
	}
	if got, want := location(t, b), "/matters"; got != want {
		t.Fatalf("after the cross-site post: at %q, want %q (still signed in)", got, want)
	}
	noCSPViolations(t, b)

	// From Go: sign in through the form, then post without the token.
	c := uiClient(t)
	uiClientSignIn(t, c, base, email, password)
	for _, form := range []url.Values{{}, {"csrf": {"wrong"}}} {
		resp, err := c.PostForm(base+"/signout", form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "forbidden") {
			t.Fatalf("post %v without the token: %d, want 403 forbidden", form, resp.StatusCode)
		}
	}
	// An Origin of another site is refused too, even with the token.
	req, _ := http.NewRequest("POST", base+"/signout", strings.NewReader(url.Values{"csrf": {uiClientCSRF(t, c, base+"/matters")}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("post from another Origin: %d, want 403", resp.StatusCode)
	}
	for _, a := range e.actions(t, owner) {
		if strings.HasPrefix(a, vault.ActLogout) {
			t.Fatalf("audit: %q after refused sign-outs, want no logout", a)
		}
	}
	if got := uiClientGet(t, c, base+"/matters"); got != http.StatusOK {
		t.Fatalf("home after the refused posts: %d, want 200 (still signed in)", got)
	}
	if !strings.Contains(e.Log.String(), "CSRF token refused") || !strings.Contains(e.Log.String(), "cross-origin request refused") {
		t.Error("server log: want the refusals logged")
	}
}

// TestUI_IdleExpiry lets a session go unused past the idle limit: the next
// page is the sign-in page saying the session ended.
func TestUI_IdleExpiry(t *testing.T) {
	e := newEnv(t)
	_, email, password := e.uiUser(t, "", "")
	b := browser.New(t)
	base := e.Server.URL()
	uiSignIn(t, b, base, email, password)
	e.Clock.Advance(web.DefaultSessionIdle - 2*time.Minute)
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
		t.Fatal(err)
	}
	if got, want := location(t, b), "/matters"; got != want {
		t.Fatalf("used within the idle limit: at %q, want %q", got, want)
	}
	e.Clock.Advance(web.DefaultSessionIdle + time.Minute)
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("email"))); err != nil {
		t.Fatal(err)
	}
	if got, want := location(t, b), "/signin?expired=1"; got != want {
		t.Fatalf("idle past the limit: at %q, want %q", got, want)
	}
	if got := text(t, b, ".notice"); !strings.Contains(got, "session has ended") {
		t.Errorf("notice %q, want it to say the session ended", got)
	}
	noCSPViolations(t, b)
}

// TestUI_SignedOut fetches every page as a signed-out visitor: each sends
// to the sign-in page, and none changes anything.
func TestUI_SignedOut(t *testing.T) {
	e := newEnv(t)
	e.uiUser(t, "", "")
	c := uiClient(t)
	base := e.Server.URL()
	for _, r := range e.Server.Routes() {
		if !web.IsUIRoute(r.Path) || strings.HasPrefix(r.Path, "/static/") || r.Path == "/signin" || r.Path == "/setup" {
			continue
		}
		if r.Method == http.MethodPost && (r.Path == "/signin/mfa" || strings.HasPrefix(r.Path, "/signin/passkey/") || strings.HasPrefix(r.Path, "/signin/mfa/passkey/")) {
			continue // pre-session forms and ceremonies, as POST /signin (their refusals: TestMFA_SignInMFAPage, TestUIPasskey_Browser, TestUIPasskey_Refusals)
		}
		if strings.HasPrefix(r.Path, "/sso/") {
			continue // single sign-on's pages are the sign-in's own, public (TestSSO_Callback, the visibility matrix)
		}
		req, _ := http.NewRequest(r.Method, base+r.Path, strings.NewReader(""))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.Transport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.StatusCode, http.StatusSeeOther; got != want || resp.Header.Get("Location") != "/signin" {
			t.Errorf("%s %s signed out: %d to %q, want %d to /signin", r.Method, r.Path, got, resp.Header.Get("Location"), want)
		}
	}
	// /setup, once a firm exists, is the sign-in page too.
	resp, err := c.Transport.RoundTrip(mustRequest(t, "GET", base+"/setup"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
		t.Errorf("GET /setup with a firm: %d to %q, want 303 to /signin", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestUI_Headers checks the security headers of a page and the cookies'
// attributes, plain and behind a TLS proxy.
func TestUI_Headers(t *testing.T) {
	e := newEnv(t)
	_, email, password := e.uiUser(t, "", "")
	for _, tc := range []struct {
		name   string
		proxy  bool
		secure bool
	}{{"Plain", false, false}, {"BehindTLSProxy", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := e.server(t, func(s *web.Server) { s.BehindTLSProxy = tc.proxy })
			base := srv.URL()
			resp, err := http.Get(base + "/signin")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'", "form-action 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q: want %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("CSP %q allows inline or eval", csp)
			}
			for h, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s: got %q, want %q", h, got, want)
				}
			}
			c := uiClient(t)
			cookies := uiClientSignIn(t, c, base, email, password)
			var session *http.Cookie
			for _, ck := range cookies {
				if ck.Name == "cv_session" {
					session = ck
				}
			}
			if session == nil {
				t.Fatal("no session cookie")
			}
			if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure != tc.secure {
				t.Errorf("session cookie: HttpOnly %v SameSite %v Secure %v, want true Strict %v", session.HttpOnly, session.SameSite, session.Secure, tc.secure)
			}
		})
	}
}

// TestStatic_Vendored checks the vendored files against their checksums
// (scripts/vendor-ui.sh writes them) and that assets are served under a
// content hash with a long cache lifetime.
func TestStatic_Vendored(t *testing.T) {
	sums, err := os.ReadFile(filepath.Join("static", "vendor", "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		want, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", line)
		}
		b, err := os.ReadFile(filepath.Join("static", "vendor", name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("%s: sha256 %s, want %s (run scripts/vendor-ui.sh)", name, got, want)
		}
		n++
	}
	if n == 0 {
		t.Fatal("SHA256SUMS lists nothing")
	}

	e := newEnv(t)
	resp, err := http.Get(e.Server.URL() + "/setup")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	links := regexp.MustCompile(`href="(/static/[^"]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(links) < 2 {
		t.Fatalf("setup page links %d stylesheets, want 2", len(links))
	}
	for _, l := range links {
		resp, err := http.Get(e.Server.URL() + l[1])
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
			t.Errorf("GET %s: %d %q %q, want 200, immutable, text/css", l[1], resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Type"))
		}
	}
	resp, err = http.Get(e.Server.URL() + "/static/000000000000/app.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("asset under a wrong hash: %d, want 404", resp.StatusCode)
	}
}
