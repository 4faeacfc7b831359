package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	// JSON decoders keep the last of a repeated member silently: a
	// document that repeats one says two things.
	if err := noRepeatedMembers(json.NewDecoder(bytes.NewReader(b)), "$"); err != nil {
		t.Fatal(err)
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

// noRepeatedMembers reads one JSON value from dec and reports an object in
// it (at path) that has a member name twice.
func noRepeatedMembers(dec *json.Decoder, path string) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := t.(json.Delim)
	if !ok {
		return nil
	}
	seen := map[string]bool{}
	for i := 0; dec.More(); i++ {
		at := fmt.Sprintf("%s[%d]", path, i)
		if d == '{' {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			name := k.(string)
			if seen[name] {
				return fmt.Errorf("openapi.json: %s has the member %q twice", path, name)
			}
			seen[name] = true
			at = path + "." + name
		}
		if err := noRepeatedMembers(dec, at); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}
