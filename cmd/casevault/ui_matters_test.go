package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
	"github.com/casevault/casevault/vault/vaulttest"
)

// uploadRecorder runs in the matter page before a drop: it records every
// data-progress value and every state change of the upload rows, with the
// time, in window.__uploads[file name].
const uploadRecorder = `(() => {
  window.__uploads = {};
  const list = document.querySelector('.upload-list');
  new MutationObserver(muts => {
    for (const m of muts) {
      const li = m.target;
      if (!li.dataset || !li.dataset.file) continue;
      const u = (window.__uploads[li.dataset.file] ||= {progress: [], states: []});
      if (m.attributeName === 'data-progress') u.progress.push(Number(li.dataset.progress));
      if (m.attributeName === 'data-state') u.states.push({state: li.dataset.state, t: performance.now()});
    }
  }).observe(list, {subtree: true, attributes: true, attributeFilter: ['data-progress', 'data-state']});
  return true;
})()`

// uploadRecord is what uploadRecorder saw of one file.
type uploadRecord struct {
	Progress []int `json:"progress"`
	States   []struct {
		State string  `json:"state"`
		T     float64 `json:"t"`
	} `json:"states"`
}

// browserSignIn signs in through the sign-in page.
func browserSignIn(tb testing.TB, b *browser.Browser, base, email, password string) {
	tb.Helper()
	if err := b.SignIn(base, email, password); err != nil {
		tb.Fatalf("sign in as %s: %v", email, err)
	}
}

// dropOnUploadForm drops files on the page's upload form (browser.DropFiles).
func dropOnUploadForm(tb testing.TB, b *browser.Browser, paths ...string) {
	tb.Helper()
	if err := b.DropFiles(paths...); err != nil {
		tb.Fatalf("drop %d files: %v", len(paths), err)
	}
}

// waitUploadsDone waits until n upload rows are done (failing on any
// failed row) and returns what uploadRecorder saw.
func waitUploadsDone(tb testing.TB, b *browser.Browser, n int, timeout time.Duration) map[string]uploadRecord {
	tb.Helper()
	_, err := chromedp.Run(b.Ctx, chromedp.Poll[bool](
		fmt.Sprintf(`document.querySelectorAll('.upload-list li[data-state="done"], .upload-list li[data-state="failed"]').length >= %d`, n),
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		tb.Fatalf("waiting for %d uploads: %v", n, err)
	}
	failed, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll('.upload-list li[data-state="failed"]')).map(li => li.textContent)`))
	if err != nil || len(failed) != 0 {
		tb.Fatalf("failed uploads: %q (%v)", failed, err)
	}
	rec, err := chromedp.Run(b.Ctx, chromedp.Evaluate[map[string]uploadRecord](`window.__uploads`))
	if err != nil {
		tb.Fatal(err)
	}
	return rec
}

// writeGenFile writes size bytes of vaulttest.NewGen(seed) to name under
// dir and returns its path and SHA-256.
func writeGenFile(tb testing.TB, dir, name string, seed byte, size int64) (string, [32]byte) {
	tb.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), vaulttest.NewGen(seed, size)); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return p, [32]byte(h.Sum(nil))
}

// TestUIFlow_LawyerUpload runs the real binary: a lawyer (created by the
// owner through the API) signs in, creates a matter in the page, drops
// three files on its upload form, one of 200 MiB whose progress is seen
// rising to 100; the three documents are then listed on the matter page,
// and each downloads through the API with the bytes uploaded.
func TestUIFlow_LawyerUpload(t *testing.T) {
	b := browser.New(t)
	srv := startServer(t, newDataDir(t), "")
	owner, _ := firstRun(t, srv)
	const lemail, lpassword = "lena@maple.example", "lena's long passphrase"
	owner.json(t, "POST", "/api/v1/users", map[string]string{"email": lemail, "name": "Lena Lawyer", "role": "lawyer", "password": lpassword}, http.StatusCreated, nil)

	browserSignIn(t, b, srv.URL, lemail, lpassword)
	err := chromedp.Do(b.Ctx,
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "Harbour lease renewal"),
		chromedp.SendKeys(chromedp.ID("client"), "Harbour Foods Ltd"),
	)
	if err == nil {
		err = b.ClickAndLoad("#create-matter")
	}
	if err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(b.Ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	matterID := loc[strings.LastIndex(loc, "/")+1:]
	if !strings.HasPrefix(matterID, "mat_") {
		t.Fatalf("after creating the matter: at %q, want its page", loc)
	}

	dir := t.TempDir()
	sizes := map[string]int64{"engagement letter.pdf": 48 << 10, "site plan.png": 3 << 20, "walkthrough.mp4": 200 << 20}
	paths, sums := []string{}, map[string][32]byte{}
	for i, name := range []string{"engagement letter.pdf", "site plan.png", "walkthrough.mp4"} {
		p, sum := writeGenFile(t, dir, name, byte(i+1), sizes[name])
		paths, sums[name] = append(paths, p), sum
	}
	if _, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](uploadRecorder)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	dropOnUploadForm(t, b, paths...)
	rec := waitUploadsDone(t, b, 3, 2*time.Minute)
	t.Logf("three uploads (200 MiB + 3 MiB + 48 KiB) in %v", time.Since(start).Round(time.Millisecond))

	big := rec["walkthrough.mp4"].Progress
	distinct := 0
	for i, p := range big {
		if i > 0 && p < big[i-1] {
			t.Fatalf("200 MiB progress %v: falls from %d to %d", big, big[i-1], p)
		}
		if i == 0 || p != big[i-1] {
			distinct++
		}
	}
	if distinct < 4 || big[len(big)-1] != 100 {
		t.Fatalf("200 MiB progress %v: want several rising values ending at 100", big)
	}
	for name, r := range rec {
		if len(r.Progress) == 0 || r.Progress[len(r.Progress)-1] != 100 {
			t.Errorf("%s: progress %v, want it to end at 100", name, r.Progress)
		}
	}
	t.Logf("200 MiB progress events: %d, %d distinct values", len(big), distinct)

	if err := b.ClickAndLoad("#reload"); err != nil {
		t.Fatal(err)
	}
	table, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.ID("documents")))
	if err != nil {
		t.Fatal(err)
	}
	for name := range sizes {
		if !strings.Contains(table, name) {
			t.Errorf("matter page: no %q in %q", name, table)
		}
	}
	if !strings.Contains(table, "200.0 MiB") || !strings.Contains(table, "You") {
		t.Errorf("matter page: %q, want the 200 MiB size and who added it", table)
	}
	if got := b.CSPViolations(); len(got) != 0 {
		t.Errorf("CSP violations: %q, want none", got)
	}

	// Each document downloads through the API with the bytes dropped.
	lawyer := newClient(srv.URL)
	var login struct {
		Token string `json:"token"`
	}
	lawyer.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": lemail, "password": lpassword}, http.StatusOK, &login)
	lawyer.token = login.Token
	var docs []docJSON
	lawyer.json(t, "GET", "/api/v1/matters/"+matterID+"/documents", nil, http.StatusOK, &docs)
	if len(docs) != 3 {
		t.Fatalf("documents through the API: %d, want 3", len(docs))
	}
	for _, d := range docs {
		resp := lawyer.request(t, "GET", "/api/v1/documents/"+d.ID+"/download", nil, nil)
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("download %s: %d, %v", d.Name, resp.StatusCode, err)
		}
		if [32]byte(h.Sum(nil)) != sums[d.Name] || n != sizes[d.Name] {
			t.Errorf("download %s: %d bytes, sha256 differs or size, want %d bytes as uploaded", d.Name, n, sizes[d.Name])
		}
	}
}
