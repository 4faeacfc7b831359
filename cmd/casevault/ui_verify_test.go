package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/casevault/casevault/internal/browser"
)

// TestUIFlow_AuditorVerify runs the real binary: an auditor signs in, gets
// the firm's JSONL bundle (the API export, with the auditor's token),
// verifies it on the "Verify a bundle" page in Chromium, then a copy with
// one event line altered, and sees the page fail at the seq that
// `casevault audit verify` prints for it.
func TestUIFlow_AuditorVerify(t *testing.T) {
	b := browser.New(t)
	srv := startServer(t, filepath.Join(t.TempDir(), "data"), "")
	owner := newClient(srv.URL)
	owner.json(t, "POST", "/api/v1/setup", map[string]string{"token": srv.SetupToken(t), "firm_name": "Maple & Pine LLP", "region": "ca",
		"owner_email": "owner@maple.example", "owner_password": "correct horse battery staple"}, http.StatusCreated, nil)
	login := func(c *client, email, password string) {
		var tok struct{ Token string }
		c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password}, http.StatusOK, &tok)
		c.token = tok.Token
	}
	login(owner, "owner@maple.example", "correct horse battery staple")
	const auditorEmail, auditorPassword = "audrey@maple.example", "an auditor's long passphrase"
	owner.json(t, "POST", "/api/v1/users", map[string]string{"email": auditorEmail, "password": auditorPassword, "name": "Audrey Auditor", "role": "auditor"}, http.StatusCreated, nil)
	for _, m := range []string{"Estate of Doe", "Harbour lease renewal"} {
		owner.json(t, "POST", "/api/v1/matters", map[string]string{"name": m, "client": "Client of " + m}, http.StatusCreated, nil)
	}

	auditor := newClient(srv.URL)
	login(auditor, auditorEmail, auditorPassword)
	var keys struct {
		Keys []struct {
			VerifierKey string `json:"verifier_key"`
			State       string `json:"state"`
		}
	}
	auditor.json(t, "GET", "/api/v1/audit/keys", nil, http.StatusOK, &keys)
	key := ""
	for _, k := range keys.Keys {
		if k.State == "current" {
			key = k.VerifierKey
		}
	}
	resp := auditor.request(t, "GET", "/api/v1/audit/export?format=jsonl", nil, nil)
	bundle, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("export = %d, %v", resp.StatusCode, err)
	}
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "audit-tampered.jsonl")
	if err := os.WriteFile(good, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	// One event line altered: the leaf of the matter.create of the first
	// matter now says it was denied.
	lines := strings.Split(string(bundle), "\n")
	altered := false
	for i, l := range lines {
		var ev struct {
			Type string `json:"type"`
			Leaf string `json:"leaf"`
		}
		if json.Unmarshal([]byte(l), &ev) != nil || ev.Type != "event" {
			continue
		}
		leaf, _ := base64.StdEncoding.DecodeString(ev.Leaf)
		if bytes.Contains(leaf, []byte(`"action":"matter.create"`)) {
			edited := bytes.Replace(leaf, []byte(`"outcome":"ok"`), []byte(`"outcome":"denied"`), 1)
			lines[i] = strings.Replace(l, ev.Leaf, base64.StdEncoding.EncodeToString(edited), 1)
			altered = true
			break
		}
	}
	if !altered {
		t.Fatal("no matter.create event in the bundle")
	}
	if err := os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(binary(t), "audit", "verify", "--key", key, good).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "OK: ") {
		t.Fatalf("casevault audit verify of the export: %v\n%s", err, out)
	}
	out, _ = exec.Command(binary(t), "audit", "verify", "--key", key, bad).CombinedOutput()
	m := regexp.MustCompile(`FAIL at seq (\d+): `).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("casevault audit verify of the tampered copy: %s, want FAIL at seq N", out)
	}
	cliSeq := m[1]
	t.Logf("casevault audit verify of the tampered copy: %s", strings.TrimSpace(string(out)))

	// The auditor, in the browser.
	err = b.SignIn(srv.URL, auditorEmail, auditorPassword)
	if err == nil {
		err = chromedp.Do(b.Ctx, chromedp.Navigate(srv.URL+"/audit/verify"), chromedp.WaitVisible(chromedp.ID("bundle")))
	}
	if err != nil {
		t.Fatalf("sign in and open the page: %v", err)
	}
	prefilled, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.getElementById('keys').value`))
	if err != nil || strings.TrimSpace(prefilled) != key {
		t.Errorf("the page's keys %q (%v), want the firm's published key %q", prefilled, err, key)
	}
	verify := func(file string) (state, seq, text string) {
		t.Helper()
		if err := chromedp.Do(b.Ctx, chromedp.SetUploadFiles(chromedp.ID("bundle"), []string{file})); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`document.getElementById('result').dataset.state = 'idle', true`)); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(b.Ctx, chromedp.Click(chromedp.ID("verify"))); err != nil {
			t.Fatal(err)
		}
		state, err := chromedp.Run(b.Ctx, chromedp.Poll[string](`(function () { var s = document.getElementById('result').dataset.state; return s === 'ok' || s === 'fail' || s === 'error' ? s : false; })()`,
			chromedp.WithPollingTimeout(30*time.Second)))
		if err != nil {
			t.Fatal(err)
		}
		seq, _ = chromedp.Run(b.Ctx, chromedp.Evaluate[string](`document.getElementById('result').dataset.seq`))
		text, _ = chromedp.Run(b.Ctx, chromedp.Text(chromedp.ID("verdict")))
		return state, seq, text
	}
	if state, _, text := verify(good); state != "ok" || !strings.HasPrefix(text, "Verified: ") {
		t.Errorf("the export on the page: %s %q, want ok and Verified: …", state, text)
	}
	state, seq, text := verify(bad)
	if state != "fail" || seq != cliSeq || !strings.HasPrefix(text, "Failed at seq "+cliSeq+": ") {
		t.Errorf("the tampered copy on the page: %s seq %s %q; casevault audit verify: %s", state, seq, text, out)
	}
	if got := b.CSPViolations(); len(got) != 0 {
		t.Errorf("CSP violations: %q, want none", got)
	}
}
