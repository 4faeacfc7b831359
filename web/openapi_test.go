package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/casevault/casevault/web"
)

// TestOpenAPI loads the served OpenAPI document with kin-openapi, validates
// it, and checks that every route the server registers is described, and
// nothing more.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t)
	resp, b := e.client().read(t, "GET", "/api/v1/openapi.json", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("openapi.json = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if string(b) != string(web.OpenAPI) {
		t.Fatal("served document differs from the embedded one")
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(b)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}

	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	registered := map[string]bool{}
	for _, r := range e.Server.Routes() {
		path := param.ReplaceAllString(r.Path, "{$1}")
		if web.IsUIRoute(r.Path) {
			continue // HTML pages, in docs/API.md's "Web UI", not JSON
		}
		registered[r.Method+" "+path] = true
		item := doc.Paths.Value(path)
		if item == nil {
			t.Errorf("%s %s: path not in openapi.json", r.Method, path)
			continue
		}
		op := item.GetOperation(r.Method)
		if op == nil {
			t.Errorf("%s %s: method not in openapi.json", r.Method, path)
			continue
		}
		if op.OperationID == "" || op.Summary == "" {
			t.Errorf("%s %s: no operationId or summary", r.Method, path)
		}
		if strings.HasPrefix(path, "/api/v1/") && path != "/api/v1/openapi.json" && op.Responses.Value("default") == nil {
			t.Errorf("%s %s: no default (error) response", r.Method, path)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !registered[method+" "+path] {
				t.Errorf("openapi.json describes %s %s, which the server does not register", method, path)
			}
		}
	}
}
