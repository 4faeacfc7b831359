package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// The route tables of the UI's generic tests. Every UI route of the router
// is tested; a route these tables do not cover fails the tests, naming
// itself, so a new page cannot escape them.

// mxParamKinds maps a path parameter, written with the segment before it
// ("matters/:id"), to the kind of fixture object it names.
var mxParamKinds = map[string]string{
	"matters/:id":         "matter",
	"documents/:id":       "document",
	"users/:id":           "user",
	"walls/:matter":       "matter",
	"walls/:user":         "user",
	"grants/:id":          "grant",
	"shares/:grant":       "grant",
	":matter/:user":       "user", // /admin/walls/:matter/:user
	"users/:user":         "user",
	"versions/:n":         "version",
	"versions/:version":   "version",
	"channels/:id":        "channel",  // none in the fixture: web/notify_test.go tests these
	"dead-letters/:id":    "delivery", // likewise
	"alerts/:id":          "alert",
	"compliance/:version": "agreement",
	"breaches/:id":        "breach",
	"sso/:tenant_id":      "tenant",  // single sign-on's start (issue #16)
	"passkeys/:id":        "passkey", // none in the fixture: web/passkey_test.go and TestUIPasskey_Browser test these
}

// mxPageAPI is the API reading that answers a page's question, for the
// status the page must give: the page shows what the API shows the actor
// and refuses what it refuses, with the same status.
type mxPageAPI struct {
	Page string // a route, or the start of routes ("/documents/:id" covers /documents/:id/versions)
	// API is the API's path, with {param} for the page's parameters; ""
	// when the page shows no data of the server (any of 200, 303 or 403).
	API string
	// Query is added to the page's URL (an export needs its format);
	// {D1}, {M1}, ... name fixture objects.
	Query string
	// Admin pages are for owners and admins: others get 403 (or the API's
	// own refusal).
	Admin bool
	// Audit pages read the audit log: the markers the actor may see there
	// are those of the API's audit readings too.
	Audit bool
	// Public pages answer signed-out visitors.
	Public bool
	// Heavy pages (exports) are fetched without the query variants.
	Heavy bool
	// Status, when set, is what the page answers everyone, signed in or
	// not: single sign-on's pages refuse a request without the
	// provider's answer (401) or for a firm without SSO (404).
	Status int
}

// mxPageAPIs is the table, most specific first.
var mxPageAPIs = []mxPageAPI{
	{Page: "/setup", Public: true},
	{Page: "/signin", Public: true},
	{Page: "/account/password", API: "/api/v1/me"},
	{Page: "/signin/mfa", Public: true},
	{Page: "/account/security", API: "/api/v1/me/mfa"},
	{Page: "/settings/mfa", API: "/api/v1/mfa/policy", Admin: true},
	{Page: "/matters/:id/trash", API: "/api/v1/matters/{id}/documents?trashed=true"},
	{Page: "/matters/:id", API: "/api/v1/matters/{id}"},
	{Page: "/matters", API: "/api/v1/matters"},
	{Page: "/documents/:id/view", API: "/api/v1/documents/{id}/content"},
	{Page: "/documents/:id/download", API: "/api/v1/documents/{id}/download"},
	{Page: "/documents/:id/access", API: "/api/v1/documents/{id}/access"},
	{Page: "/documents/:id", API: "/api/v1/documents/{id}"},
	{Page: "/admin/users/:id", API: "/api/v1/users/{id}", Admin: true},
	{Page: "/admin/users", API: "/api/v1/users", Admin: true},
	{Page: "/admin/grants", API: "/api/v1/grants", Admin: true},
	{Page: "/admin/access", Query: "?document={D1}"}, // a redirect to /documents/ID/access
	{Page: "/admin/walls/:matter", API: "/api/v1/matters/{matter}/walls", Admin: true},
	{Page: "/admin/walls", API: "/api/v1/matters", Admin: true},
	{Page: "/audit/documents/:id", API: "/api/v1/audit/documents/{id}", Audit: true},
	{Page: "/audit/users/:id", API: "/api/v1/audit/users/{id}", Audit: true},
	{Page: "/audit/export", API: "/api/v1/audit/export?format=csv", Query: "?format=csv", Audit: true, Heavy: true},
	{Page: "/audit/checkpoint", API: "/api/v1/audit/checkpoint", Audit: true},
	{Page: "/audit/verify", Audit: true},
	{Page: "/audit", API: "/api/v1/audit/events?limit=1", Audit: true},
	{Page: "/durability", API: "/api/v1/durability"},
	{Page: "/settings/security/notifications", API: "/api/v1/notifications/channels"},
	{Page: "/settings/security/alerts/:id", API: "/api/v1/alerts/{id}"},
	{Page: "/settings/security/alerts", API: "/api/v1/alerts"},
	{Page: "/settings/security/compliance/:version", API: "/api/v1/compliance/agreements/{version}"},
	{Page: "/settings/security/compliance", API: "/api/v1/compliance/agreements"},
	{Page: "/settings/security/breaches/export", API: "/api/v1/breaches/export?format=csv", Query: "?format=csv", Heavy: true},
	{Page: "/settings/security/breaches/:id", API: "/api/v1/breaches/{id}"},
	{Page: "/settings/security/breaches", API: "/api/v1/breaches"},
	{Page: "/settings/security/sso", Admin: true},
	{Page: "/settings/security"},
	// Single sign-on (issue #16): the fixture's firms have none.
	{Page: "/sso/start", Status: http.StatusNotFound},
	{Page: "/sso/callback", Status: http.StatusUnauthorized},
	{Page: "/sso/:tenant_id/start", Status: http.StatusNotFound},
	// The home page of each role: the matters, or for auditors the trail.
	{Page: "/", API: "/api/v1/me", Audit: true},
}

// mxAPIFor returns the table's entry for route, or false.
func mxAPIFor(route string) (mxPageAPI, bool) {
	for _, p := range mxPageAPIs {
		if route == p.Page || (p.Page != "/" && strings.HasPrefix(route, p.Page+"/")) {
			return p, true
		}
	}
	return mxPageAPI{}, false
}

// mxPage is one UI route with its parameters filled with fixture objects.
type mxPage struct {
	Route   web.Route
	Path    string            // the URL path
	Params  map[string]string // parameter name → object id
	Objects []string          // labels of the objects, for messages
}

// String names the page for messages: its route and objects.
func (p mxPage) String() string {
	if len(p.Objects) == 0 {
		return p.Route.Method + " " + p.Path
	}
	return fmt.Sprintf("%s %s (%s as %s)", p.Route.Method, p.Route.Path, p.Path, strings.Join(p.Objects, ", "))
}

// uiRoutes returns the UI's routes of method: every one IsUIRoute keeps
// but the static assets.
func (m *matrix) uiRoutes(method string) []web.Route {
	var out []web.Route
	for _, r := range m.srv.Routes() {
		if r.Method == method && web.IsUIRoute(r.Path) && !strings.HasPrefix(r.Path, "/static/") {
			out = append(out, r)
		}
	}
	return out
}

// expand fills the parameters of route with objects: every fixture object
// of each parameter's kind (pick nil), or the one pick chooses. A parameter
// the table does not know fails the test.
func (m *matrix) expand(tb testing.TB, r web.Route, pick func(kind string) []mxObject) []mxPage {
	tb.Helper()
	segs := strings.Split(r.Path, "/")
	pages := []mxPage{{Route: r, Params: map[string]string{}}}
	for i, seg := range segs {
		if seg == "" {
			continue
		}
		if seg[0] != ':' && seg[0] != '*' {
			for j := range pages {
				pages[j].Path += "/" + seg
			}
			continue
		}
		kind, ok := mxParamKinds[segs[i-1]+"/"+seg]
		if !ok || seg[0] == '*' {
			tb.Errorf("add %s %s to the visibility table: no fixture objects for its parameter %s (mxParamKinds in web/ui_matrix_routes_test.go)", r.Method, r.Path, seg)
			return nil
		}
		objs := m.objects[kind]
		if pick != nil {
			objs = pick(kind)
		}
		var next []mxPage
		for _, p := range pages {
			for _, o := range objs {
				q := mxPage{Route: r, Path: p.Path + "/" + o.ID, Params: map[string]string{}, Objects: append(append([]string(nil), p.Objects...), o.Label)}
				for k, v := range p.Params {
					q.Params[k] = v
				}
				q.Params[seg[1:]] = o.ID
				next = append(next, q)
			}
		}
		pages = next
	}
	for j := range pages {
		if pages[j].Path == "" {
			pages[j].Path = "/"
		}
	}
	return pages
}

// query returns e's query with the fixture objects it names filled in.
func (m *matrix) query(e mxPageAPI) string {
	return strings.NewReplacer("{M1}", m.M1, "{M2}", m.M2, "{MB}", m.MB, "{D1}", m.D1, "{D2}", m.D2, "{D3}", m.D3, "{DB}", m.DB).Replace(e.Query)
}

// apiPath fills the API template of e with p's parameters.
func (p mxPage) apiPath(e mxPageAPI) string {
	s := e.API
	for k, v := range p.Params {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// mxWantStatus says whether status is what the page may answer a signed-in
// actor a, given the API's status for the same question (0 when the page
// has no API reading), and describes the expectation.
func mxWantStatus(e mxPageAPI, p mxPage, a *mxActor, api, status int) (bool, string) {
	object := len(p.Params) > 0
	admin := a.User.Role == vault.RoleOwner || a.User.Role == vault.RoleAdmin
	switch {
	case e.Status != 0:
		return status == e.Status, fmt.Sprintf("%d (the page's one answer)", e.Status)
	case e.Public:
		return status == http.StatusOK || status == http.StatusSeeOther, "200 or 303 (a public page)"
	case e.API == "":
		return status == http.StatusOK || status == http.StatusSeeOther || status == http.StatusForbidden,
			"200, 303 or 403 (a page without data of the server)"
	case e.Admin && !admin:
		return status == http.StatusForbidden || status == api,
			fmt.Sprintf("403 (an admin page) or %d (as the API answers)", api)
	case api == http.StatusOK && object:
		return status == http.StatusOK, "200, as the API answers"
	case api == http.StatusOK:
		return status == http.StatusOK || status == http.StatusSeeOther, "200 or 303, as the API answers 200"
	}
	return status == api, fmt.Sprintf("%d, as the API answers", api)
}

// mxCheckHeaders fails unless an answer carries the UI's framing and script
// rules: X-Frame-Options DENY always, and on HTML the strict CSP.
func mxCheckHeaders(tb testing.TB, what string, p mxAnswer) {
	tb.Helper()
	if got := p.Header.Get("X-Frame-Options"); got != "DENY" {
		tb.Errorf("%s: X-Frame-Options %q, want DENY", what, got)
	}
	if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
		return
	}
	csp := p.Header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			tb.Errorf("%s: Content-Security-Policy %q, want %s", what, csp, want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval"} {
		if strings.Contains(csp, bad) {
			tb.Errorf("%s: Content-Security-Policy %q allows %s", what, csp, bad)
		}
	}
}
