package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/web"
)

// unlabelled is a script that lists the visible form fields with no label
// (a <label for>, an enclosing <label> or aria-label).
const unlabelled = `Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && !el.hidden)
  .filter(el => !(el.id && document.querySelector('label[for="' + el.id + '"]')) && !el.closest('label') && !el.getAttribute('aria-label'))
  .map(el => el.name || el.outerHTML)`

// overflows reports whether the page is wider than the window (it would
// scroll sideways on a phone).
const overflows = `document.documentElement.scrollWidth > window.innerWidth`

// TestUI_Accessible checks every page the UI has so far, on a phone-sized
// screen: each form field has a label, nothing scrolls sideways; and signs
// in with the keyboard alone.
func TestUI_Accessible(t *testing.T) {
	e := newEnv(t)
	b := browser.New(t)
	if err := chromedp.Do(b.Ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	base := e.Server.URL()
	check := func(path, wait string) {
		t.Helper()
		if err := chromedp.Do(b.Ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS(wait))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](unlabelled)); err != nil || len(got) != 0 {
			t.Errorf("%s: fields without a label %q (%v), want none", path, got, err)
		}
		if got, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](overflows)); err != nil || got {
			t.Errorf("%s: wider than a 390px phone (%v)", path, err)
		}
	}
	if _, err := e.Svc.IssueSetupToken(context.Background()); err != nil {
		t.Fatal(err)
	}
	check("/setup", "#token")

	owner, email, password := e.uiUser(t, "", "")
	if _, err := e.Svc.CreateMatter(context.Background(), owner, "Estate of Doe", "J. Doe"); err != nil {
		t.Fatal(err)
	}
	check("/signin", "#email")
	// Keyboard only: the email field has the focus, Tab moves to the
	// password, Enter submits.
	err := chromedp.Do(b.Ctx, chromedp.KeyEvent(email), chromedp.KeyEvent("\t"), chromedp.KeyEvent(password))
	if err == nil {
		err = b.DoAndLoad(chromedp.KeyEvent("\r"))
	}
	if err != nil {
		t.Fatalf("keyboard sign-in: %v", err)
	}
	if got, want := location(t, b), "/matters"; got != want {
		t.Fatalf("keyboard sign-in: at %q, want %q", got, want)
	}
	check("/matters", "#matters")
	check("/account/password", "#old_password")
	check("/no/such/page", "#error-code")
	noCSPViolations(t, b)
}

// TestUI_RateLimited exceeds the per-user request rate on UI pages: the
// answer is the error page with the API's code, status and Retry-After.
func TestUI_RateLimited(t *testing.T) {
	e := newEnv(t)
	_, email, password := e.uiUser(t, "", "")
	srv := e.server(t, func(s *web.Server) { s.UserRate, s.UserBurst = 0.001, 2 })
	c := uiClient(t)
	uiClientSignIn(t, c, srv.URL(), email, password)
	var last *http.Response
	for range 3 {
		resp, err := c.Get(srv.URL() + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = resp
		if resp.StatusCode == http.StatusTooManyRequests {
			if !strings.Contains(string(body), "rate_limited") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("429: %q %q, want the HTML error page with rate_limited and Retry-After", resp.Header.Get("Content-Type"), body)
			}
			return
		}
	}
	t.Fatalf("3 pages at a burst of 2: last %d, want 429", last.StatusCode)
}

// TestUI_RateLimitedScript: a request of the UI's scripts (X-CSRF-Token)
// beyond the rate gets the API's JSON error, which the script shows.
func TestUI_RateLimitedScript(t *testing.T) {
	e := newEnv(t)
	_, email, password := e.uiUser(t, "", "")
	srv := e.server(t, func(s *web.Server) { s.UserRate, s.UserBurst = 0.001, 1 })
	c := uiClient(t)
	uiClientSignIn(t, c, srv.URL(), email, password)
	for range 3 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/documents/doc_aaaaaaaaaaaaaaaaaaaaaaaaaa/versions", strings.NewReader("x"))
		req.Header.Set("X-CSRF-Token", "wrong")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(string(body), `"code":"rate_limited"`) || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("429: %q %q, want the JSON error with rate_limited and Retry-After", resp.Header.Get("Content-Type"), body)
			}
			return
		}
	}
	t.Fatal("3 scripted requests at a burst of 1: no 429")
}

// TestUI_FormTooLarge posts a sign-in form of 1 MiB: refused as invalid
// before anything else happens.
func TestUI_FormTooLarge(t *testing.T) {
	e := newEnv(t)
	e.uiUser(t, "", "")
	c := uiClient(t)
	base := e.Server.URL()
	tok := uiClientCSRF(t, c, base+"/signin")
	body := "csrf=" + tok + "&email=a%40b.example&password=" + strings.Repeat("x", 1<<20)
	resp, err := c.Post(base+"/signin", "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "invalid") {
		t.Fatalf("1 MiB form: %d, want 400 invalid", resp.StatusCode)
	}
}
