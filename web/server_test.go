package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

func TestErrorStatusCode(t *testing.T) {
	for code, want := range map[string]int{
		vault.EINVALID:       400,
		vault.EUNAUTHORIZED:  401,
		vault.EFORBIDDEN:     403,
		vault.ENOTFOUND:      404,
		vault.ECONFLICT:      409,
		vault.ETOOLARGE:      413,
		vault.ERATELIMITED:   429,
		vault.EUNAVAILABLE:   503,
		vault.ECANNOTDECRYPT: 500,
		vault.EINTERNAL:      500,
		"something_new":      500,
	} {
		if got := web.ErrorStatusCode(code); got != want {
			t.Errorf("ErrorStatusCode(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestServer_Errors(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	anon := e.client()

	t.Run("UnknownRoute", func(t *testing.T) {
		resp, b := owner.read(t, "GET", "/api/v1/nope", nil, nil)
		wantError(t, resp, b, 404, "not_found")
		resp, b = anon.read(t, "GET", "/api/v1/matters/", nil, nil) // no trailing-slash redirect
		wantError(t, resp, b, 404, "not_found")
	})
	t.Run("WrongMethod", func(t *testing.T) {
		resp, b := owner.read(t, "PUT", "/api/v1/matters", nil, nil)
		wantError(t, resp, b, 405, "method_not_allowed")
		if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
			t.Errorf("Allow = %q", allow)
		}
	})
	t.Run("Unauthorized", func(t *testing.T) {
		for _, auth := range []string{"", "Bearer", "Bearer ", "Basic Zm9vOmJhcg==", "Bearer not-a-token"} {
			h := http.Header{}
			if auth != "" {
				h.Set("Authorization", auth)
			}
			resp, b := anon.read(t, "GET", "/api/v1/me", nil, h)
			wantError(t, resp, b, 401, "unauthorized")
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%q: no WWW-Authenticate", auth)
			}
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		resp, b := owner.read(t, "GET", "/api/v1/matters/"+vault.NewID(vault.PrefixMatter), nil, nil)
		if e := wantError(t, resp, b, 404, "not_found"); e.Error.Message != "Matter not found." {
			t.Errorf("message = %q", e.Error.Message)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		resp, b := owner.read(t, "POST", "/api/v1/matters", strings.NewReader(`{"name":"","client":"x"}`), nil)
		wantError(t, resp, b, 400, "invalid")
	})

	bad := []struct {
		name, body, code string
		status           int
		message          string
	}{
		{"Empty", ``, "invalid", 400, "Request body must be a JSON object."},
		{"Syntax", `{"name":`, "invalid", 400, "Request body is not valid JSON: it ends too early."},
		{"Garbage", `{"name" "x"}`, "invalid", 400, "Request body is not valid JSON (at byte 9)."},
		{"Array", `[1,2]`, "invalid", 400, "Request body must be a JSON object."},
		{"WrongType", `{"name":1,"client":"c"}`, "invalid", 400, `Field "name" must be a string.`},
		{"UnknownField", `{"name":"n","client":"c","secret":1}`, "invalid", 400, `Unknown field "secret".`},
		{"Trailing", `{"name":"n","client":"c"} {}`, "invalid", 400, "Request body must hold one JSON object and nothing after it."},
		{"TrailingGarbage", `{"name":"n","client":"c"}x`, "invalid", 400, "Request body must hold one JSON object and nothing after it."},
		{"Oversized", `{"name":"` + strings.Repeat("a", web.MaxJSONBodySize) + `","client":"c"}`, "too_large", 413, ""},
	}
	for _, tt := range bad {
		t.Run("JSON"+tt.name, func(t *testing.T) {
			resp, b := owner.read(t, "POST", "/api/v1/matters", strings.NewReader(tt.body), http.Header{"Content-Type": {"application/json"}})
			got := wantError(t, resp, b, tt.status, tt.code)
			if tt.message != "" && got.Error.Message != tt.message {
				t.Errorf("message = %q, want %q", got.Error.Message, tt.message)
			}
		})
	}
	t.Run("JSONTrailingWhitespace", func(t *testing.T) {
		resp, b := owner.read(t, "POST", "/api/v1/matters", strings.NewReader("{\"name\":\"n\",\"client\":\"c\"}\n \n"), nil)
		if resp.StatusCode != 201 {
			t.Fatalf("status = %d %s", resp.StatusCode, b)
		}
	})
}

func TestServer_Headers(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")

	resp, _ := owner.read(t, "GET", "/api/v1/me", nil, http.Header{"X-Request-Id": {"my-trace.42"}})
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
		"Cache-Control":          "no-store",
		"X-Request-Id":           "my-trace.42",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("HSTS over plain HTTP: %q", got)
	}

	// A malformed id is replaced, never echoed.
	resp, _ = owner.read(t, "GET", "/api/v1/me", nil, http.Header{"X-Request-Id": {"bad id\"<x>"}})
	if id := resp.Header.Get("X-Request-Id"); id == "" || strings.ContainsAny(id, " \"<>") {
		t.Errorf("X-Request-Id = %q", id)
	}
	// Unknown routes carry the headers too.
	resp, _ = owner.read(t, "GET", "/nope", nil, nil)
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("404 headers = %v", resp.Header)
	}
}

func TestServer_RequestLog(t *testing.T) {
	e := newEnv(t)
	owner, u := e.firm(t, "us")
	mid := owner.matter(t, "Secret Matter Name")
	owner.upload(t, mid, "confidential-name.pdf", "application/pdf", []byte("content bytes"))

	logs := e.Log.String()
	for _, secret := range []string{"Secret Matter Name", "confidential-name", "content bytes", owner.token, "name="} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains %q:\n%s", secret, logs)
		}
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if l["message"] == "request" && l["route"] == "/api/v1/matters/:id/documents" {
			found = true
			for _, k := range []string{"request_id", "method", "status", "bytes_in", "bytes_out", "duration_ms"} {
				if _, ok := l[k]; !ok {
					t.Errorf("log line lacks %s: %s", k, line)
				}
			}
			if l["user_id"] != u.ID || l["bytes_in"].(float64) != float64(len("content bytes")) || l["status"].(float64) != 201 {
				t.Errorf("log line = %s", line)
			}
		}
	}
	if !found {
		t.Errorf("no request line for the upload:\n%s", logs)
	}
}

func TestServer_Health(t *testing.T) {
	e := newEnv(t)
	c := e.client()

	resp, b := c.read(t, "GET", "/healthz", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("healthz = %d %s", resp.StatusCode, b)
	}
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
		Error  *struct{ Code, Message string }
	}
	c.json(t, "GET", "/readyz", nil, 200, &ready)
	if ready.Status != "ok" || ready.Checks["database"] != "ok" || ready.Checks["region:us"] != "ok" || ready.Checks["region:ca"] != "ok" {
		t.Fatalf("readyz = %+v", ready)
	}

	e.DB.Close()
	resp, b = c.read(t, "GET", "/readyz", nil, nil)
	if resp.StatusCode != 503 {
		t.Fatalf("readyz with a closed database = %d %s", resp.StatusCode, b)
	}
	ready.Error = nil
	if err := json.Unmarshal(b, &ready); err != nil {
		t.Fatal(err)
	}
	if ready.Checks["database"] != "unavailable" || ready.Checks["region:us"] != "ok" || ready.Error == nil ||
		ready.Error.Code != "unavailable" || !strings.Contains(ready.Error.Message, "database") {
		t.Fatalf("readyz = %s", b)
	}
}

func TestServer_Metrics(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	mid := owner.matter(t, "M")
	d := owner.upload(t, mid, "a.bin", "application/octet-stream", random(1, 1000))
	owner.read(t, "GET", "/api/v1/documents/"+d.ID+"/download", nil, nil)
	owner.read(t, "GET", "/api/v1/documents/"+vault.NewID(vault.PrefixDocument), nil, nil)

	resp, b := e.client().read(t, "GET", "/metrics", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("metrics = %d", resp.StatusCode)
	}
	text := string(b)
	for _, want := range []string{
		`casevault_http_requests_total{method="POST",route="/api/v1/matters/:id/documents",status="201"} 1`,
		`casevault_http_requests_total{method="GET",route="/api/v1/documents/:id",status="404"} 1`,
		`casevault_http_request_bytes_total{route="/api/v1/matters/:id/documents"} 1000`,
		`casevault_http_response_bytes_total{route="/api/v1/documents/:id/download"} 1000`,
		`casevault_http_errors_total{code="not_found"} 1`,
		`casevault_http_request_duration_seconds_bucket{method="GET",route="/api/v1/documents/:id/download",le="+Inf"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, d.ID) {
		t.Error("metrics carry a raw path")
	}
	// The audit log's counters: the firm's creation, sign-in, matter,
	// upload, download open and completion at least.
	var events float64
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(line, "casevault_audit_events_total "); ok {
			events, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if events < 6 || !strings.Contains(text, "casevault_audit_failures_total 0") {
		t.Errorf("audit metrics: events %v\n%s", events, text)
	}
	// The read-ahead budget: its limit, and nothing held once reads end.
	for _, want := range []string{
		fmt.Sprintf("casevault_readahead_memory_limit_bytes %g\n", float64(keys.DefaultReadAheadMemory)),
		"casevault_readahead_memory_in_use_bytes 0\n",
		"casevault_readahead_denied_total 0\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestServer_Close(t *testing.T) {
	e := newEnv(t)
	// A request in flight holds Close until it finishes; here none is, so
	// Close returns at once and the port stops answering.
	ctx := t.Context()
	if err := e.Server.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(e.Server.URL() + "/healthz"); err == nil {
		t.Fatal("server still answers after Close")
	}
	if err := e.Server.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// jsonReader encodes v for a request body.
func jsonReader(t testing.TB, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}
