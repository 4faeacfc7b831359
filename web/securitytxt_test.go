package web_test

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/web"
)

// parseSecurityTxt reads an RFC 9116 file: "Field: value" lines, comments
// and blank lines; any other line fails the test.
func parseSecurityTxt(t *testing.T, b []byte) map[string][]string {
	t.Helper()
	fields := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok || name == "" || strings.ContainsAny(name, " \t") || value == "" {
			t.Fatalf("line %q is not a field", line)
		}
		fields[strings.ToLower(name)] = append(fields[strings.ToLower(name)], value)
	}
	return fields
}

func TestServer_SecurityTxt(t *testing.T) {
	e := newEnv(t)
	resp, _ := e.client().read(t, "GET", "/.well-known/security.txt", nil, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("without settings: %d, want 404", resp.StatusCode)
	}

	t.Run("Configured", func(t *testing.T) {
		exp := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
		srv := e.server(t, func(s *web.Server) {
			s.SecurityTxt = &web.SecurityTxt{Contact: []string{"mailto:security@firm.example", "https://firm.example/report"},
				Expires: exp, Policy: "https://firm.example/policy", Languages: []string{"en", "fr"},
				Canonical: "https://vault.firm.example/.well-known/security.txt"}
		})
		c := &client{base: srv.URL(), hc: http.DefaultClient}
		resp, b := c.read(t, "GET", "/.well-known/security.txt", nil, nil)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Fatalf("GET = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		f := parseSecurityTxt(t, b)
		if got := strings.Join(f["contact"], " "); got != "mailto:security@firm.example https://firm.example/report" {
			t.Errorf("Contact = %q", got)
		}
		if len(f["expires"]) != 1 || f["expires"][0] != "2027-03-01T00:00:00Z" {
			t.Errorf("Expires = %q, want exactly one, the configured time", f["expires"])
		}
		if got := f["policy"]; len(got) != 1 || got[0] != "https://firm.example/policy" {
			t.Errorf("Policy = %q", got)
		}
		if got := f["preferred-languages"]; len(got) != 1 || got[0] != "en, fr" {
			t.Errorf("Preferred-Languages = %q", got)
		}
		if got := f["canonical"]; len(got) != 1 || got[0] != "https://vault.firm.example/.well-known/security.txt" {
			t.Errorf("Canonical = %q", got)
		}
	})

	t.Run("DefaultExpiry", func(t *testing.T) {
		srv := e.server(t, func(s *web.Server) {
			s.SecurityTxt = &web.SecurityTxt{Contact: []string{"mailto:security@firm.example"}, ExpiresIn: 180 * 24 * time.Hour}
		})
		c := &client{base: srv.URL(), hc: http.DefaultClient}
		_, b := c.read(t, "GET", "/.well-known/security.txt", nil, nil)
		f := parseSecurityTxt(t, b)
		exp, err := time.Parse(time.RFC3339, strings.Join(f["expires"], ""))
		if err != nil {
			t.Fatalf("Expires %q: %v", f["expires"], err)
		}
		if now := time.Now(); !exp.After(now.Add(170*24*time.Hour)) || exp.After(now.Add(365*24*time.Hour)) {
			t.Errorf("Expires = %s, want about 180 days ahead and less than a year", exp)
		}
		if len(f["policy"]) != 0 {
			t.Errorf("Policy = %q, want none", f["policy"])
		}
	})
}
