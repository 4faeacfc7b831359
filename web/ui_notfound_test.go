package web_test

import (
	"io"
	"strings"
	"testing"
)

// TestUI_NotFoundPage asks for unknown paths and a known one with the
// wrong method: a browser (Accept: text/html) outside /api/ gets the human
// error page with the API's code and status and the UI's headers; the JSON
// API, and clients that do not ask for HTML, keep the JSON error.
func TestUI_NotFoundPage(t *testing.T) {
	e := newEnv(t)
	c := uiClient(t)
	for _, tc := range []struct {
		method, path, accept string
		status               int
		code                 string
		page                 bool
	}{
		{"GET", "/no/such/page", "text/html,application/xhtml+xml", 404, "not_found", true},
		{"GET", "/matters/no/such/page/either", "text/html", 404, "not_found", true},
		{"GET", "/signout", "text/html", 405, "method_not_allowed", true},
		{"GET", "/api/v1/no/such/endpoint", "text/html", 404, "not_found", false},
		{"GET", "/api/v1/setup", "text/html", 405, "method_not_allowed", false},
		{"GET", "/no/such/page", "", 404, "not_found", false},
		{"GET", "/no/such/page", "application/json", 404, "not_found", false},
	} {
		req := mustRequest(t, tc.method, e.Server.URL()+tc.path)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		what := tc.method + " " + tc.path + " (Accept " + tc.accept + ")"
		body := string(raw)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", what, resp.StatusCode, tc.status)
		}
		if !tc.page {
			wantError(t, resp, []byte(body), tc.status, tc.code)
			continue
		}
		p := mxAnswer{Status: resp.StatusCode, Header: resp.Header, Body: body}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type %q, want HTML", what, ct)
		}
		if want := `<code id="error-code">` + tc.code + `</code>`; !strings.Contains(body, want) {
			t.Errorf("%s: no %s in the page: %s", what, want, mxSnippet(body, 0, 0))
		}
		mxCheckHeaders(t, what, p)
		for h, want := range map[string]string{"Cross-Origin-Opener-Policy": "same-origin", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s: %s %q, want %q", what, h, got, want)
			}
		}
	}
}
