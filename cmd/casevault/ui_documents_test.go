package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/web"
)

// TestUIFlow_LawyerDocument drives the document pages of the real binary
// in Chromium. Documents are uploaded through the API beforehand (uploads
// in the browser are the matter page's). The lawyer opens a PDF and a text
// file inline (with the inline CSP), downloads them (bytes compared),
// uploads a new version from the page and downloads each version,
// renames, trashes and restores one, and shares it with a colleague, who
// then opens and downloads it; after the lawyer revokes the grant the
// colleague's access is gone.
func TestUIFlow_LawyerDocument(t *testing.T) {
	b := browser.New(t)
	srv := startServer(t, filepath.Join(t.TempDir(), "data"), "")
	owner, _ := firstRun(t, srv)
	const pw = "correct horse battery staple"
	for _, u := range []string{"lawyer@maple.example", "colleague@maple.example"} {
		owner.json(t, "POST", "/api/v1/users", map[string]string{"email": u, "role": "lawyer", "password": pw}, http.StatusCreated, nil)
	}
	lawyer := newClient(srv.URL)
	var login struct {
		Token string `json:"token"`
	}
	lawyer.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "lawyer@maple.example", "password": pw}, http.StatusOK, &login)
	lawyer.token = login.Token
	var matter struct {
		ID string `json:"id"`
	}
	lawyer.json(t, "POST", "/api/v1/matters", map[string]string{"name": "Harbour lease", "client": "Harbour Foods"}, http.StatusCreated, &matter)
	pdf, txt := udTinyPDF("Lease schedule"), []byte("Notes on the lease: rent review in year 3.\n")
	upload := func(name, ctype string, body []byte) string {
		resp := lawyer.request(t, "POST", "/api/v1/matters/"+matter.ID+"/documents?name="+name, bytes.NewReader(body), http.Header{"Content-Type": {ctype}})
		return decodeDoc(t, resp, http.StatusCreated).ID
	}
	pdfID, txtID := upload("Schedule.pdf", "application/pdf", pdf), upload("notes.txt", "text/plain; charset=utf-8", txt)

	downloads := t.TempDir()
	progress := make(chan string, 16)
	err := chromedp.Listen(b.Ctx, func(ev any) {
		if ev, ok := ev.(*cdpbrowser.EventDownloadProgress); ok && ev.State == cdpbrowser.DownloadProgressStateCompleted {
			select {
			case progress <- ev.GUID:
			default:
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = chromedp.Call(b.Ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: udPtrTo(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	browserSignIn(t, b, srv.URL, "lawyer@maple.example", pw)

	// View inline and download, for each.
	for _, d := range []struct {
		id, name, ctype string
		body            []byte
	}{{pdfID, "Schedule.pdf", "application/pdf", pdf}, {txtID, "notes.txt", "text/plain", txt}} {
		udOpen(t, b, srv.URL+"/documents/"+d.id)
		if got := udText(t, b, "#doc-name"); got != d.name {
			t.Fatalf("document page: name %q, want %q", got, d.name)
		}
		href := udAttr(t, b, "#view", "href")
		resp, err := chromedp.Run(b.Ctx, chromedp.NavigateResponse(href))
		if err != nil {
			t.Fatalf("view %s: %v", d.name, err)
		}
		if got := udAttr(t, b, "documentElement", "ownerDocument.contentType"); got != d.ctype {
			t.Errorf("view %s: the tab shows a %s document, want %s (shown, not downloaded)", d.name, got, d.ctype)
		}
		if resp.Status != 200 {
			t.Errorf("view %s: %d, want 200", d.name, resp.Status)
		}
		// The browser's session, asked again over HTTP: DevTools does not
		// report every header of a response its PDF viewer takes over.
		h := udSessionGet(t, b, href)
		if h.Get("Content-Security-Policy") != web.ContentSecurityPolicy || !strings.HasPrefix(h.Get("Content-Disposition"), "inline") ||
			h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("view %s: headers %v, want inline with the inline CSP", d.name, h)
		}
		if d.id == txtID {
			if got := udHeader(resp.Headers, "Content-Security-Policy"); got != web.ContentSecurityPolicy {
				t.Errorf("text view as the browser saw it: CSP %q, want %q", got, web.ContentSecurityPolicy)
			}
			if got := udText(t, b, "body"); !strings.Contains(got, "rent review") {
				t.Errorf("text view shows %q", got)
			}
		}
		udOpen(t, b, srv.URL+"/documents/"+d.id)
		if err := chromedp.Do(b.Ctx, chromedp.Click(chromedp.CSS("#download"))); err != nil {
			t.Fatal(err)
		}
		if got := udWaitDownload(t, progress, downloads); !bytes.Equal(got, d.body) {
			t.Errorf("downloaded %s: %d bytes, want the %d uploaded", d.name, len(got), len(d.body))
		}
	}

	// A new version, uploaded from the document page's form, then each
	// version downloaded from the versions table (bytes compared).
	doc := srv.URL + "/documents/" + txtID
	v2 := []byte("Notes on the lease, revised: rent review in year 4.\n")
	v2path := filepath.Join(t.TempDir(), "notes-v2.txt")
	if err := os.WriteFile(v2path, v2, 0o600); err != nil {
		t.Fatal(err)
	}
	udOpen(t, b, doc)
	err = chromedp.Do(b.Ctx, chromedp.SetUploadFiles(chromedp.ID("version-file"), []string{v2path}),
		chromedp.Click(chromedp.ID("upload-version")))
	if err == nil {
		_, err = chromedp.Run(b.Ctx, chromedp.Poll[bool](`document.querySelector('.upload-list li[data-state="done"], .upload-list li[data-state="failed"]') !== null`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	}
	if err != nil {
		t.Fatalf("new version: %v", err)
	}
	if state := udAttr(t, b, ".upload-list li", "dataset.state"); state != "done" {
		t.Fatalf("new version's row: %q (%s), want done", state, udText(t, b, ".upload-list li"))
	}
	udOpen(t, b, doc)
	for n, want := range map[int][]byte{1: txt, 2: v2} {
		if err := chromedp.Do(b.Ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href$="download?version=%d"]`, n)))); err != nil {
			t.Fatalf("version %d's download link: %v", n, err)
		}
		if got := udWaitDownload(t, progress, downloads); !bytes.Equal(got, want) {
			t.Errorf("version %d downloaded: %q, want %q", n, got, want)
		}
	}
	txt = v2 // the current version, which the colleague downloads below

	// Rename, trash, restore.
	udOpen(t, b, doc)
	if err := chromedp.Do(b.Ctx, chromedp.SetValue(chromedp.ID("rename-name"), "Lease notes.txt")); err != nil {
		t.Fatal(err)
	}
	udClick(t, b, "#rename")
	if got := udText(t, b, "#doc-name"); got != "Lease notes.txt" {
		t.Errorf("after rename: %q", got)
	}
	udClick(t, b, "#trash")
	if got := udText(t, b, "#trashed"); got != "In the trash" {
		t.Errorf("after trash: %q", got)
	}
	udOpen(t, b, srv.URL+"/matters/"+matter.ID+"/trash")
	if got := udText(t, b, "#trash"); !strings.Contains(got, "Lease notes.txt") {
		t.Errorf("trash page: %q", got)
	}
	udClick(t, b, "button.restore")
	if got := udText(t, b, "main"); !strings.Contains(got, "The trash is empty") {
		t.Errorf("trash after restore: %q", got)
	}
	udOpen(t, b, doc)
	if udHas(t, b, "#trashed") || !udHas(t, b, "#view") {
		t.Errorf("restored document still trashed or not viewable")
	}

	// Share with a colleague: read and download.
	err = chromedp.Do(b.Ctx,
		chromedp.SendKeys(chromedp.ID("share-email"), "colleague@maple.example"),
		chromedp.Click(chromedp.ID("perm-download")))
	if err != nil {
		t.Fatal(err)
	}
	udClick(t, b, "#share")
	if got := udText(t, b, "#grants"); !strings.Contains(got, "colleague@maple.example") || !strings.Contains(got, "read, download") {
		t.Fatalf("grants after share: %q", got)
	}
	udNoViolations(t, b)

	// The colleague sees it and can open it.
	udSignOut(t, b, srv.URL)
	browserSignIn(t, b, srv.URL, "colleague@maple.example", pw)
	if status := udNavigate(t, b, doc); status != 200 || udText(t, b, "#doc-name") != "Lease notes.txt" {
		t.Fatalf("colleague's document page: %d", status)
	}
	if udHas(t, b, "#share-form") || udHas(t, b, "#rename") {
		t.Errorf("colleague is offered sharing or editing")
	}
	if status := udNavigate(t, b, doc+"/view"); status != 200 || !strings.Contains(udText(t, b, "body"), "rent review") {
		t.Errorf("colleague's view: %d", status)
	}
	udOpen(t, b, doc)
	if err := chromedp.Do(b.Ctx, chromedp.Click(chromedp.CSS("#download"))); err != nil {
		t.Fatal(err)
	}
	if got := udWaitDownload(t, progress, downloads); !bytes.Equal(got, txt) {
		t.Errorf("colleague's download: %d bytes", len(got))
	}
	// matterListed opens the matter's page: its status, and whether it
	// lists the document.
	matterListed := func() (int64, bool) {
		status := udNavigate(t, b, srv.URL+"/matters/"+matter.ID)
		return status, strings.Contains(udText(t, b, "main"), "Lease notes.txt")
	}
	if status, listed := matterListed(); status != 200 || !listed {
		t.Errorf("the colleague's matter page does not list the shared document")
	}

	// The lawyer revokes; the colleague's access is gone.
	udSignOut(t, b, srv.URL)
	browserSignIn(t, b, srv.URL, "lawyer@maple.example", pw)
	udOpen(t, b, doc)
	udClick(t, b, "button.revoke")
	if !udHas(t, b, "#no-grants") {
		t.Errorf("after revoke the grant is still listed")
	}
	udSignOut(t, b, srv.URL)
	browserSignIn(t, b, srv.URL, "colleague@maple.example", pw)
	for _, p := range []string{"", "/view", "/download"} {
		if status := udNavigate(t, b, doc+p); status != 403 {
			t.Errorf("colleague after revoke, %s: %d, want 403 as the API", doc+p, status)
		}
		if strings.Contains(udText(t, b, "body"), "Lease notes") {
			t.Errorf("colleague after revoke sees the name at %s", p)
		}
	}
	if _, listed := matterListed(); listed {
		t.Errorf("the colleague's matter page still lists the document after revocation")
	}
	udNoViolations(t, b)
}

// udTinyPDF is a one-page PDF showing line, with a correct cross-reference
// table.
func udTinyPDF(line string) []byte {
	stream := fmt.Sprintf("BT /F1 24 Tf 72 720 Td (%s) Tj ET", line)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var buf bytes.Buffer
	buf.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = buf.Len()
		fmt.Fprintf(&buf, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := buf.Len()
	fmt.Fprintf(&buf, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&buf, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&buf, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return buf.Bytes()
}

func udPtrTo[T any](v T) *T { return &v }

// udHeader reads a response header from the DevTools protocol's map.
func udHeader(h map[string]any, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// udWaitDownload waits for the next completed download and returns its
// bytes.
func udWaitDownload(tb testing.TB, progress <-chan string, dir string) []byte {
	tb.Helper()
	select {
	case guid := <-progress:
		b, err := os.ReadFile(filepath.Join(dir, guid))
		if err != nil {
			tb.Fatal(err)
		}
		return b
	case <-time.After(30 * time.Second):
		tb.Fatal("no download completed in 30 s")
	}
	return nil
}

// udSessionGet fetches u over HTTP with the browser's cookies and returns
// the answer's headers.
func udSessionGet(tb testing.TB, b *browser.Browser, u string) http.Header {
	tb.Helper()
	res, err := chromedp.Call(b.Ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	if err != nil {
		tb.Fatal(err)
	}
	req, _ := http.NewRequest("GET", u, nil)
	for _, c := range res.Cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		tb.Fatalf("GET %s with the browser's session: %d", u, resp.StatusCode)
	}
	return resp.Header
}

// udSignOut presses the Sign out button of a signed-in page's header.
func udSignOut(tb testing.TB, b *browser.Browser, base string) {
	tb.Helper()
	udOpen(tb, b, base+"/account/password")
	udClick(tb, b, `header form[action="/signout"] button`)
}

// udOpen navigates to u.
func udOpen(tb testing.TB, b *browser.Browser, u string) {
	tb.Helper()
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(u)); err != nil {
		tb.Fatalf("open %s: %v", u, err)
	}
}

// udNavigate opens u and returns the status of its document.
func udNavigate(tb testing.TB, b *browser.Browser, u string) int64 {
	tb.Helper()
	resp, err := chromedp.Run(b.Ctx, chromedp.NavigateResponse(u))
	if err != nil {
		tb.Fatalf("open %s: %v", u, err)
	}
	return resp.Status
}

// udClick clicks sel and waits for the page it leads to.
func udClick(tb testing.TB, b *browser.Browser, sel string) {
	tb.Helper()
	if err := b.ClickAndLoad(sel); err != nil {
		tb.Fatalf("click %s: %v", sel, err)
	}
}

// udText returns the text of sel, waiting up to 10 s for it.
func udText(tb testing.TB, b *browser.Browser, sel string) string {
	tb.Helper()
	js := fmt.Sprintf("(function(){ const e = document.querySelector(%q); return e ? e.innerText : null })()", sel)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := chromedp.Run(b.Ctx, chromedp.Evaluate[*string](js))
		if err == nil && s != nil {
			return strings.TrimSpace(*s)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("text of %s: %v", sel, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// udAttr returns a property of sel ("documentElement" for the document's
// root), resolved as a URL for href.
func udAttr(tb testing.TB, b *browser.Browser, sel, name string) string {
	tb.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](udAttrJS(sel, name)))
	if err != nil {
		tb.Fatalf("%s of %s: %v", name, sel, err)
	}
	return s
}

// udHas reports whether the page has an element sel.
func udHas(tb testing.TB, b *browser.Browser, sel string) bool {
	tb.Helper()
	ok, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", sel)))
	if err != nil {
		tb.Fatal(err)
	}
	return ok
}

// udNoViolations fails on any CSP violation so far.
func udNoViolations(tb testing.TB, b *browser.Browser) {
	tb.Helper()
	if got := b.CSPViolations(); len(got) != 0 {
		tb.Errorf("CSP violations: %q, want none", got)
	}
}

// udAttrJS is the expression of udAttr.
func udAttrJS(sel, name string) string {
	if sel == "documentElement" {
		return "document.documentElement." + name
	}
	return fmt.Sprintf("document.querySelector(%q).%s", sel, name)
}
