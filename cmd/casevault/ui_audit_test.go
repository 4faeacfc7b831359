package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	cvbrowser "github.com/casevault/casevault/internal/browser"
)

// pdfTools fails in CI and skips elsewhere when poppler-utils is missing
// (make debs installs it).
func pdfTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"pdftoppm", "pdftotext"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s (poppler-utils) is required in CI", tool)
			}
			t.Skipf("%s not installed (apt-get install poppler-utils)", tool)
		}
	}
}

// TestUIFlow_Auditor runs the real binary: lawyers upload, view and
// download through the API and one is refused; the auditor signs in in
// Chromium, filters the trail to one lawyer's downloads, checks the rows,
// exports CSV, JSONL and PDF with the page's buttons, and the test checks
// the three files: the PDF renders to PNG pages (pdftoppm), its summary
// (pdftotext) counts the events of the CSV and of the bundle, and the
// bundle verifies with `casevault audit verify` and the key the checkpoint
// page shows.
func TestUIFlow_Auditor(t *testing.T) {
	pdfTools(t)
	b := cvbrowser.New(t)
	srv := startServer(t, filepath.Join(t.TempDir(), "data"), "")
	owner, _ := firstRun(t, srv)

	users := map[string]struct{ ID string }{}
	for _, u := range []struct{ email, role string }{{"ann@maple.example", "lawyer"}, {"ben@maple.example", "lawyer"}, {"cy@maple.example", "auditor"}} {
		var out struct{ ID string }
		owner.json(t, "POST", "/api/v1/users", map[string]string{"email": u.email, "role": u.role, "password": "correct horse battery " + u.role}, http.StatusCreated, &out)
		users[u.email] = out
	}
	login := func(email, password string) *client {
		c := newClient(srv.URL)
		var l struct{ Token string }
		c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password}, http.StatusOK, &l)
		c.token = l.Token
		return c
	}
	ann, ben := login("ann@maple.example", "correct horse battery lawyer"), login("ben@maple.example", "correct horse battery lawyer")
	var matter struct{ ID string }
	ann.json(t, "POST", "/api/v1/matters", map[string]string{"name": "Harbour lease", "client": "Harbour Foods Ltd"}, http.StatusCreated, &matter)
	var docs []string
	for _, name := range []string{"Lease – final.pdf", "Side letter.txt"} {
		resp := ann.request(t, "POST", "/api/v1/matters/"+matter.ID+"/documents?name="+strings.ReplaceAll(name, " ", "%20"), strings.NewReader("terms of "+name), http.Header{"Content-Type": {"text/plain"}})
		docs = append(docs, decodeDoc(t, resp, http.StatusCreated).ID)
	}
	fetch(t, ann, "/api/v1/documents/"+docs[0]+"/content", "")
	fetch(t, ann, "/api/v1/documents/"+docs[0]+"/download", "")
	fetch(t, ann, "/api/v1/documents/"+docs[1]+"/download", "")
	fetch(t, ann, "/api/v1/documents/"+docs[0]+"/download", "")
	if resp := ben.request(t, "GET", "/api/v1/documents/"+docs[0]+"/download", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("ben's download: %d, want 403", resp.StatusCode)
	} else {
		resp.Body.Close()
	}

	// The auditor signs in and filters the trail in the page.
	err := chromedp.Do(b.Ctx, chromedp.EmulateViewport(1100, 700))
	if err == nil {
		err = b.SignIn(srv.URL, "cy@maple.example", "correct horse battery auditor")
	}
	if err == nil {
		err = chromedp.Do(b.Ctx, chromedp.Navigate(srv.URL+"/audit"),
			chromedp.Click(chromedp.CSS("details.audit-filters summary")),
			chromedp.WaitVisible(chromedp.ID("f-action")),
			chromedp.SetValue(chromedp.ID("f-action"), "document.download"),
			chromedp.SendKeys(chromedp.ID("f-actor"), users["ann@maple.example"].ID))
	}
	if err == nil {
		err = b.ClickAndLoad("#apply-filter")
	}
	if err != nil {
		t.Fatalf("filter the trail: %v", err)
	}
	rows, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#audit-events tbody tr')).map(tr => tr.innerText)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("filtered trail has %d rows, want ann's 3 downloads: %q", len(rows), rows)
	}
	for _, r := range rows {
		if !strings.Contains(r, "ann@maple.example") || !strings.Contains(r, "Downloaded a document") || strings.Contains(r, "ben@") {
			t.Errorf("row %q, want one of ann's downloads", r)
		}
	}
	sum, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.ID("sum-events")))
	if err != nil || sum != "3" {
		t.Errorf("summary: %q events (%v), want 3", sum, err)
	}

	// Export all three formats from the page's buttons.
	dir := t.TempDir()
	progress := chromedp.Events(b.Ctx, browser.DownloadProgress)
	done := make(chan string, 3)
	go func() {
		for ev, err := range progress {
			if err != nil {
				return
			}
			if ev.State == browser.DownloadProgressStateCompleted {
				done <- ev.GUID
			}
		}
	}()
	err = chromedp.Do(b.Ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		events := true
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events,
		})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for i, format := range []string{"csv", "jsonl", "pdf"} {
		sel := fmt.Sprintf("#exports a[data-export]:nth-of-type(%d)", i+1)
		attr, err := chromedp.Run(b.Ctx, chromedp.AttributeValue(chromedp.CSS(sel), "href"))
		href := attr.Value
		if err != nil || !strings.Contains(href, "format="+format) || !strings.Contains(href, "action=document.download") {
			t.Fatalf("export button %d: %q (%v), want the %s export of the filter", i+1, href, err, format)
		}
		if err := chromedp.Do(b.Ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatal(err)
		}
		select {
		case guid := <-done:
			files[format] = filepath.Join(dir, guid)
		case <-time.After(30 * time.Second):
			t.Fatalf("%s export did not complete", format)
		}
	}
	noViolations(t, b)

	// CSV: a header and ann's three downloads.
	f, err := os.Open(files["csv"])
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 4 {
		t.Fatalf("csv: %d rows (%v), want a header and 3", len(recs), err)
	}
	for _, r := range recs[1:] {
		if r[6] != "document.download" || r[3] != "ann@maple.example" {
			t.Errorf("csv row %q, want ann's download", r)
		}
	}
	// JSONL: the same three events and the export's own.
	bundle, err := os.ReadFile(files["jsonl"])
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(bundle), `{"type":"event"`); n != 4 {
		t.Errorf("bundle has %d events, want 3 and its export event", n)
	}
	// PDF: pages render to PNG, and the summary counts the same events.
	png := filepath.Join(t.TempDir(), "page")
	if out, err := exec.Command("pdftoppm", "-png", "-r", "50", files["pdf"], png).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	pages, _ := filepath.Glob(png + "*.png")
	if len(pages) == 0 {
		t.Fatal("pdftoppm wrote no page")
	}
	for _, p := range pages {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("page %s is empty (%v)", p, err)
		}
	}
	out, err := exec.Command("pdftotext", "-layout", files["pdf"], "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	n := len(recs) - 1
	for _, want := range []string{
		"Maple & Pine LLP",
		fmt.Sprintf("%d events: %d ok, 0 denied, 0 errors, by 1 user.", n, n),
		fmt.Sprintf("Downloaded a document %d", n),
		fmt.Sprintf("ann@maple.example %d", n),
		"Denials: 0",
		fmt.Sprintf("End of the events: %d listed.", n),
		"done by ann@maple.example",
		"Page 1 of " + fmt.Sprint(len(pages)),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF lacks %q:\n%s", want, out)
		}
	}
	if got := len(regexp.MustCompile(`#\d+ \d{4}-\d\d-\d\d ann@maple\.example Downloaded a document`).FindAllString(text, -1)); got != n {
		t.Errorf("PDF lists %d download rows, want %d", got, n)
	}

	// The checkpoint page's key verifies the bundle with the real binary.
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(srv.URL+"/audit/checkpoint"), chromedp.WaitVisible(chromedp.CSS("input[data-key]"))); err != nil {
		t.Fatal(err)
	}
	key, err := chromedp.Run(b.Ctx, chromedp.Value(chromedp.CSS("input[data-key]")))
	if err != nil || key == "" {
		t.Fatalf("checkpoint page key %q (%v)", key, err)
	}
	if !strings.Contains(string(out), key) {
		t.Error("PDF does not carry the verifier key of the checkpoint page")
	}
	vout, err := exec.Command(binary(t), "audit", "verify", "--key", key, files["jsonl"]).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(vout), "OK") {
		t.Errorf("casevault audit verify: %v\n%s", err, vout)
	}
	noViolations(t, b)
}

// noViolations fails on CSP violations in b's console.
func noViolations(t *testing.T, b *cvbrowser.Browser) {
	t.Helper()
	if got := b.CSPViolations(); len(got) != 0 {
		t.Errorf("CSP violations: %q, want none", got)
	}
}
