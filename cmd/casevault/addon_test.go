package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLI_TenantAddon: `casevault tenant addon` refuses the HIPAA add-on to
// a ca firm and gives it to a us firm, in process; with a server running it
// goes through the server's operator API (refusal included), and the owner
// then sees the BAA over HTTP. The server also serves the default
// security.txt.
func TestCLI_TenantAddon(t *testing.T) {
	dataDir := newDataDir(t)
	caID, _ := createFirm(t, dataDir, "", "Maple LLP", "ca", "owner@maple.example")
	usID, usPW := createFirm(t, dataDir, "", "Hale LLP", "us", "owner@hale.example")

	_, _, err := cli(t, dataDir, "tenant", "addon", "--tenant", caID, "--hipaa", "on")
	if err == nil || !strings.Contains(err.Error(), "only to firms in a US region") {
		t.Fatalf("tenant addon on a ca firm = %v, want the US-only refusal", err)
	}
	out, errOut, err := cli(t, dataDir, "tenant", "addon", "--tenant", usID, "--hipaa", "on", "--json")
	if err != nil {
		t.Fatalf("tenant addon on a us firm: %v\n%s", err, errOut)
	}
	var st struct {
		HIPAA, Changed bool
		Country        string
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || !st.HIPAA || !st.Changed || st.Country != "US" {
		t.Fatalf("tenant addon --json = %q (%v), want hipaa on, changed, country US", out, err)
	}

	srv := startServer(t, dataDir, "")
	// Forwarded: off, on again, and the ca refusal.
	for _, tc := range []struct{ state, want string }{{"off", "is now off"}, {"on", "is now on"}, {"on", "already"}} {
		out, errOut, err = cli(t, dataDir, "tenant", "addon", "--tenant", usID, "--hipaa", tc.state)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Fatalf("forwarded tenant addon --hipaa %s = %q, %v\n%s; want %q", tc.state, out, err, errOut, tc.want)
		}
	}
	if _, _, err := cli(t, dataDir, "tenant", "addon", "--tenant", caID, "--hipaa", "on"); err == nil || !strings.Contains(err.Error(), "US region") {
		t.Fatalf("forwarded tenant addon on a ca firm = %v, want the US-only refusal", err)
	}

	c := newClient(srv.URL)
	var l struct{ Token string }
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "owner@hale.example", "password": usPW}, http.StatusOK, &l)
	c.token = l.Token
	var list struct {
		HIPAA      bool `json:"hipaa"`
		Agreements []struct {
			Version, Status string
		} `json:"agreements"`
	}
	c.json(t, "GET", "/api/v1/compliance/agreements?status=pending", nil, http.StatusOK, &list)
	if !list.HIPAA || len(list.Agreements) != 1 || list.Agreements[0].Version != "v1" {
		t.Errorf("agreements = %+v, want v1 pending", list)
	}

	resp, err := http.Get(srv.URL + "/.well-known/security.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" ||
		!strings.Contains(string(b), "Contact: https://github.com/casevault/casevault/security/advisories/new\n") ||
		!strings.Contains(string(b), "\nExpires: ") || !strings.Contains(string(b), "Policy: https://github.com/casevault/casevault/blob/main/SECURITY.md") {
		t.Errorf("security.txt = %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
}

// TestServe_RefusesStaleSecurityTxt: serve refuses a security_txt.expires
// that has passed; other commands still run with that file.
func TestServe_RefusesStaleSecurityTxt(t *testing.T) {
	dataDir := newDataDir(t)
	cfg := filepath.Join(t.TempDir(), "casevault.yaml")
	if err := os.WriteFile(cfg, []byte("security_txt:\n  contact: [\"mailto:sec@firm.example\"]\n  expires: 2020-01-01T00:00:00Z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := cli(t, dataDir, "serve", "--addr", "127.0.0.1:0", "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), "security_txt.expires") || !strings.Contains(err.Error(), "has passed") {
		t.Fatalf("serve with a past Expires = %v, want the refusal naming security_txt.expires", err)
	}
	if _, errOut, err := cli(t, dataDir, "tenant", "list", "--config", cfg); err != nil {
		t.Fatalf("tenant list with the same file: %v\n%s", err, errOut)
	}
}
