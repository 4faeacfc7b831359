package web_test

import (
	"bytes"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
)

// mxPreRoutes are the UI's forms posted before a session exists; their CSRF
// token is the pre-session cookie's, shown by the sign-in page.
var mxPreRoutes = map[string]bool{"/signin": true, "/setup": true, "/signin/mfa": true}

// mxForgery is one way a request may come without the right to act: each
// must be refused before any handler runs.
type mxForgery struct {
	Name string
	// Build returns the request's body, its Content-Type and its extra
	// headers, given the session's token and another session's.
	Build func(form url.Values, token, other string) ([]byte, string, http.Header)
}

// mxFormType is the Content-Type of a browser's form post.
const mxFormType = "application/x-www-form-urlencoded"

// mxWithToken returns form with csrf set to token.
func mxWithToken(form url.Values, token string) []byte {
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("csrf", token)
	return []byte(f.Encode())
}

// mxForgeries are the forged posts each UI POST route must refuse.
var mxForgeries = []mxForgery{
	{"cross-site (Sec-Fetch-Site: cross-site)", func(f url.Values, tok, _ string) ([]byte, string, http.Header) {
		return mxWithToken(f, tok), mxFormType, http.Header{"Sec-Fetch-Site": {"cross-site"}}
	}},
	{"same-site, another origin (Sec-Fetch-Site: same-site)", func(f url.Values, tok, _ string) ([]byte, string, http.Header) {
		return mxWithToken(f, tok), mxFormType, http.Header{"Sec-Fetch-Site": {"same-site"}}
	}},
	{"cross-origin (Origin: https://evil.example, no Sec-Fetch-Site)", func(f url.Values, tok, _ string) ([]byte, string, http.Header) {
		return mxWithToken(f, tok), mxFormType, http.Header{"Origin": {"https://evil.example"}}
	}},
	{"no csrf field", func(f url.Values, _, _ string) ([]byte, string, http.Header) {
		return []byte(f.Encode()), mxFormType, nil
	}},
	{"another session's token", func(f url.Values, _, other string) ([]byte, string, http.Header) {
		return mxWithToken(f, other), mxFormType, nil
	}},
	{"a wrong X-CSRF-Token header (and the right field)", func(f url.Values, tok, _ string) ([]byte, string, http.Header) {
		wrong := "x" + tok[1:]
		if tok[0] == 'x' { // else it would be the right token: one run in 64
			wrong = "y" + tok[1:]
		}
		return mxWithToken(f, tok), mxFormType, http.Header{"X-Csrf-Token": {wrong}}
	}},
	{"an empty X-CSRF-Token header (and the right field)", func(f url.Values, tok, _ string) ([]byte, string, http.Header) {
		return mxWithToken(f, tok), mxFormType, http.Header{"X-Csrf-Token": {""}}
	}},
	{"a multipart form with the right field and no header", func(f url.Values, tok, _ string) ([]byte, string, http.Header) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		w.WriteField("csrf", tok)
		for k, vs := range f {
			for _, v := range vs {
				w.WriteField(k, v)
			}
		}
		fw, _ := w.CreateFormFile("file", "zqcsrf.txt")
		fw.Write([]byte("forged upload\n"))
		w.Close()
		return b.Bytes(), w.FormDataContentType(), nil
	}},
}

// validForm holds the fields of every UI form, filled for actor a so that
// the action would succeed if the request were not refused.
func (m *matrix) validForm(a *mxActor) url.Values {
	next := "zqcsrf a brand new passphrase"
	return url.Values{
		"name": {"zqcsrf renamed"}, "client": {"zqcsrf client"}, "matter_id": {m.M1}, "user_id": {m.by["L2"].User.ID},
		"permission": {"read"}, "permissions": {"read", "download"}, "role": {"admin"}, "status": {"disabled"},
		"email": {a.Email}, "password": {a.Password}, "old_password": {a.Password}, "new_password": {next},
		"confirm_password": {next}, "firm_name": {"zqcsrf firm"}, "owner_email": {"zqcsrf@example.com"},
		"owner_password": {next}, "owner_name": {"zqcsrf"}, "region": {"us"}, "version": {"1"},
		"description": {"zqcsrf incident"},
	}
}

// validObjects are the objects that post routes' parameters name: those
// the actor may act on.
func (m *matrix) validObjects(kind string) []mxObject {
	id := map[string]string{"matter": m.M1, "document": m.D1, "user": m.by["L2"].User.ID, "grant": m.G1, "alert": m.objects["alert"][0].ID,
		"agreement": "v1", "breach": m.objects["breach"][0].ID}[kind]
	return []mxObject{{m.object(id), id}}
}

// TestUI_CSRFMatrix posts to every POST route of the UI in the router, with
// valid parameters, as a signed-in owner (and as lawyer L1 on routes about
// an object), forged in every way of mxForgeries: each is refused with the
// 403 error page (code forbidden) before any handler runs, and neither a
// row of casevault.db nor an audit event changes. Then Chromium, signed in,
// opens another origin's page whose form posts to the vault by itself.
func TestUI_CSRFMatrix(t *testing.T) {
	m := newMatrix(t)
	routes := m.uiRoutes(http.MethodPost)
	if len(routes) == 0 {
		t.Fatal("no UI POST routes")
	}
	other := map[string]*mxActor{"owner": m.by["admin"], "L1": m.by["L2"]}
	for _, r := range routes {
		actors := []*mxActor{m.by["owner"]}
		if strings.Contains(r.Path, "/:") {
			actors = append(actors, m.by["L1"])
		}
		for _, a := range actors {
			for _, p := range m.expand(t, r, m.validObjects) {
				tok, otherTok := a.CSRF, other[a.Label].CSRF
				if mxPreRoutes[r.Path] {
					tok, otherTok = uiClientCSRF(t, a.UI, m.base+"/signin"), uiClientCSRF(t, uiClient(t), m.base+"/signin")
				}
				for _, f := range mxForgeries {
					m.forge(t, p, a, f, tok, otherTok)
				}
			}
		}
	}
	t.Logf("%d POST routes, %d mxForgeries each", len(routes), len(mxForgeries))
	t.Run("Chromium", func(t *testing.T) { m.crossSiteInBrowser(t) })
}

// forge sends one forged post and checks that it was refused and left no
// trace.
func (m *matrix) forge(t *testing.T, p mxPage, a *mxActor, f mxForgery, tok, other string) {
	t.Helper()
	what := fmt.Sprintf("%s as %s, %s", p, a.Label, f.Name)
	// A request first, so that the session's last use (mxTouchColumn) is
	// fresh.
	mxGet(t, a.UI, m.base+"/account/password")
	before := m.state(t)
	body, ctype, h := f.Build(m.validForm(a), tok, other)
	req, err := http.NewRequest(http.MethodPost, m.base+p.Path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "text/html")
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := a.UI.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	resp.Body.Close()
	got := mxAnswer{Status: resp.StatusCode, Header: resp.Header, Body: buf.String()}
	mxCheckHeaders(t, what, got)
	if got.Status != http.StatusForbidden || !strings.Contains(got.Body, `<code id="error-code">forbidden</code>`) ||
		!strings.HasPrefix(got.Header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: %d %s, want the 403 error page with code forbidden: %s", what, got.Status, got.Header.Get("Content-Type"), mxSnippet(got.Body, 0, 0))
	} else if msg := html.UnescapeString(got.Body); !strings.Contains(msg, "was not sent from CaseVault") && !strings.Contains(msg, "sent from another site") {
		t.Errorf("%s: refused, but not by the CSRF guards (their message is missing): %s", what, mxSnippet(got.Body, strings.Index(got.Body, "<h1>"), 0))
	}
	if d := before.diff(m.state(t)); d != "" {
		t.Errorf("%s: refused, but the vault changed: %s", what, d)
	}
}

// crossSiteInBrowser signs Chromium in as L1, then opens a page of another
// origin (a second server, on another loopback port) whose forms post by
// themselves to the vault's password page and sign-out: the browser sends
// the session cookie (same site: loopback), and the vault refuses both.
func (m *matrix) crossSiteInBrowser(t *testing.T) {
	a := m.by["L1"]
	b := browser.New(t)
	uiSignIn(t, b, m.base, a.Email, a.Password)
	for _, target := range []struct{ action, fields string }{
		{"/account/password", `<input name="old_password" value="` + html.EscapeString(a.Password) + `">` +
			`<input name="new_password" value="zqcsrf a brand new passphrase"><input name="confirm_password" value="zqcsrf a brand new passphrase">`},
		{"/signout", ""},
	} {
		// The attacker even knows the session's CSRF token.
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><title>Win a prize</title><form id="f" method="post" action="%s%s">%s<input name="csrf" value="%s"></form>`+
				`<script>document.getElementById('f').submit()</script>`, m.base, target.action, target.fields, a.CSRF)
		}))
		before := m.state(t)
		err := chromedp.Do(b.Ctx, chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.ID("error-code")))
		evil.Close()
		if err != nil {
			t.Fatalf("cross-site post to %s: %v", target.action, err)
		}
		if got, want := location(t, b), target.action; got != want {
			t.Errorf("cross-site post to %s: at %q, want %q", target.action, got, want)
		}
		if got := text(t, b, "#error-code"); got != "forbidden" {
			t.Errorf("cross-site post to %s: code %q, want forbidden", target.action, got)
		}
		time.Sleep(100 * time.Millisecond)
		if d := before.diff(m.state(t)); d != "" {
			t.Errorf("cross-site post to %s from %s: refused, but the vault changed: %s", target.action, evil.URL, d)
		}
	}
	// Still signed in, with the same password.
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(m.base+"/account/password"), chromedp.WaitVisible(chromedp.ID("old_password"))); err != nil {
		t.Errorf("after the forged posts: %v, want the session alive", err)
	}
	m.e.login(t, a.Email, a.Password)
}

// TestUI_CSRFHeader posts the way the UI's scripts do: the token in the
// X-CSRF-Token header, none in the body, which the guard leaves unread for
// the handler. The right token passes (the password is changed); the
// matrix above shows that a wrong one does not.
func TestUI_CSRFHeader(t *testing.T) {
	e := newEnv(t)
	owner, _, _ := e.uiUser(t, "", "")
	_, email, password := e.uiUser(t, owner.TenantID, "lawyer")
	c := uiClient(t)
	uiClientSignIn(t, c, e.Server.URL(), email, password)
	tok := uiClientCSRF(t, c, e.Server.URL()+"/account/password")
	next := "a brand new passphrase for the header"
	form := url.Values{"old_password": {password}, "new_password": {next}, "confirm_password": {next}}
	req, err := http.NewRequest(http.MethodPost, e.Server.URL()+"/account/password", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mxFormType)
	req.Header.Set("X-CSRF-Token", tok)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusSeeOther; got != want {
		t.Fatalf("POST with the X-CSRF-Token header: %d, want %d", got, want)
	}
	e.login(t, email, next)
}
