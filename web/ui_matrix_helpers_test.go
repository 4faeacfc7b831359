package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// The matrix fixture of the UI's generic tests (visibility, CSRF, CSP): two
// firms whose every name is a unique marker string, so that a leak is found
// by a substring search, and one signed-in HTTP client per actor.
//
// Firm A: owner, admin, lawyer L1 (who opened M1 and M2 and uploaded D1 and
// D2 into M1 and D3 into M2), lawyer L2 (a read grant on D1 only, given by
// L1), lawyer L3 (walled off M2), an auditor (also walled off M2, so that
// the audit pages' withholding is tested). Firm B: its owner, with MB and
// DB.

// mxActor is one actor of the matrix.
type mxActor struct {
	Label           string // "owner", "L1", "B-owner", "signed-out"
	Firm            string // "A", "B" or "" (signed out)
	User            *vault.User
	Email, Password string
	API             *client      // the JSON API with the actor's token
	UI              *http.Client // the UI with the actor's session cookie
	CSRF            string       // the session's CSRF token
	// content and audit are the markers the API shows the actor: content
	// from every answer but the audit log's, audit from all of them.
	content, audit map[string]bool
}

// mxObject is one fixture object that a path parameter can name.
type mxObject struct {
	Label string // "M1", "D3", "user L2", "ghost"
	ID    string
}

// matrix is the fixture and a server whose rate limits never get in the
// way of a test that asks for every page as every actor.
type matrix struct {
	e       *env
	srv     *web.Server
	base    string
	actors  []*mxActor // A's actors, B's owner, then the signed-out visitor
	by      map[string]*mxActor
	markers map[string]string // marker → what it names ("name of document D2")
	firmOf  map[string]string // marker → "A" or "B"
	objects map[string][]mxObject
	// Named objects.
	M1, M2, MB, D1, D2, D3, DB, G1 string
}

// marker returns a fresh marker for what, of firm.
func (m *matrix) marker(firm, short, what string) string {
	b := make([]byte, 5)
	rand.Read(b)
	s := "zq" + short + "x" + hex.EncodeToString(b)
	m.markers[s], m.firmOf[s] = what, firm
	return s
}

// newMatrix builds the fixture on a fresh env.
func newMatrix(tb testing.TB) *matrix {
	tb.Helper()
	e := newEnv(tb)
	// The residency report is built by cmd/casevault (tested there); here
	// a stand-in names the firm it is for.
	e.Svc.Residency = func(_ context.Context, tenantID string) ([]byte, error) {
		return []byte("casevault-residency/1 " + tenantID + "\n"), nil
	}
	ctx := context.Background()
	m := &matrix{e: e, by: map[string]*mxActor{}, markers: map[string]string{}, firmOf: map[string]string{}, objects: map[string][]mxObject{}}
	m.srv = e.server(tb, func(s *web.Server) { s.UserRate, s.UserBurst = 1e6, 1e6 })
	m.base = m.srv.URL()

	newFirm := func(firm string) *mxActor {
		a := &mxActor{Label: "owner", Firm: firm}
		if firm == "B" {
			a.Label = "B-owner"
		}
		name := m.marker(firm, "u"+strings.ToLower(a.Label), "user "+a.Label)
		a.Email, a.Password = name+"@example.com", "correct horse battery "+name
		_, owner, _, err := e.Svc.CreateTenant(ctx, vault.NewTenant{
			Name: m.marker(firm, "firm"+strings.ToLower(firm), "name of firm "+firm), Region: "us",
			Owner: vault.NewUser{Email: a.Email, Password: a.Password, Name: name},
		})
		if err != nil {
			tb.Fatalf("CreateTenant: %v", err)
		}
		a.User = owner
		return a
	}
	addUser := func(owner *mxActor, label string, role vault.Role) *mxActor {
		a := &mxActor{Label: label, Firm: owner.Firm}
		name := m.marker(owner.Firm, "u"+strings.ToLower(label), "user "+label)
		a.Email, a.Password = name+"@example.com", "correct horse battery "+name
		u, _, err := e.Svc.AddUser(ctx, owner.User.TenantID, vault.NewUser{Email: a.Email, Password: a.Password, Name: name, Role: role})
		if err != nil {
			tb.Fatalf("AddUser %s: %v", label, err)
		}
		a.User = u
		return a
	}
	owner, ownerB := newFirm("A"), newFirm("B")
	admin := addUser(owner, "admin", vault.RoleAdmin)
	l1 := addUser(owner, "L1", vault.RoleLawyer)
	l2 := addUser(owner, "L2", vault.RoleLawyer)
	l3 := addUser(owner, "L3", vault.RoleLawyer)
	auditor := addUser(owner, "auditor", vault.RoleAuditor)
	m.actors = []*mxActor{owner, admin, l1, l2, l3, auditor, ownerB, {Label: "signed-out"}}
	for _, a := range m.actors {
		m.by[a.Label] = a
	}

	matter := func(a *mxActor, label string) string {
		mt, err := e.Svc.CreateMatter(ctx, a.User, m.marker(a.Firm, strings.ToLower(label), "name of matter "+label),
			m.marker(a.Firm, "c"+strings.ToLower(label), "client of matter "+label))
		if err != nil {
			tb.Fatalf("CreateMatter %s: %v", label, err)
		}
		m.objects["matter"] = append(m.objects["matter"], mxObject{label, mt.ID})
		return mt.ID
	}
	doc := func(a *mxActor, matterID, label string) string {
		body := []byte("The content of a test document.\n")
		d, err := e.Svc.PutDocument(ctx, a.User, vault.NewDocument{MatterID: matterID,
			Name: m.marker(a.Firm, strings.ToLower(label), "name of document "+label) + ".txt", ContentType: "text/plain"},
			bytes.NewReader(body), int64(len(body)))
		if err != nil {
			tb.Fatalf("PutDocument %s: %v", label, err)
		}
		m.objects["document"] = append(m.objects["document"], mxObject{label, d.ID})
		return d.ID
	}
	m.M1, m.M2, m.MB = matter(l1, "M1"), matter(l1, "M2"), matter(ownerB, "MB")
	m.D1, m.D2, m.D3, m.DB = doc(l1, m.M1, "D1"), doc(l1, m.M1, "D2"), doc(l1, m.M2, "D3"), doc(ownerB, m.MB, "DB")
	g, _, err := e.Svc.CreateGrant(ctx, l1.User, vault.NewGrant{UserID: l2.User.ID, DocumentID: m.D1, Permissions: []vault.Permission{vault.PermRead}})
	if err != nil {
		tb.Fatalf("CreateGrant: %v", err)
	}
	m.G1 = g.ID
	m.objects["grant"] = []mxObject{{"G1", g.ID}}
	for _, walled := range []*mxActor{l3, auditor} {
		if _, _, err := e.Svc.AddWall(ctx, owner.User, m.M2, walled.User.ID); err != nil {
			tb.Fatalf("AddWall %s: %v", walled.Label, err)
		}
	}
	for _, a := range m.actors[:7] {
		m.objects["user"] = append(m.objects["user"], mxObject{"user " + a.Label, a.User.ID})
	}
	m.objects["version"] = []mxObject{{"version 1", "1"}, {"version 99", "99"}}
	// An alert of each firm, as breach detection stores them.
	for _, a := range []*mxActor{l1, ownerB} {
		al := &vault.Alert{TenantID: a.User.TenantID, Rule: vault.RuleSessionVolume, UserID: a.User.ID, Status: vault.AlertOpen,
			Seq: 1, Evidence: []int64{1}, Threshold: 0, Observed: 1}
		if err := e.DB.CreateAlert(ctx, al); err != nil {
			tb.Fatalf("CreateAlert: %v", err)
		}
		m.objects["alert"] = append(m.objects["alert"], mxObject{"alert of " + a.Label, al.ID})
	}
	m.objects["agreement"] = []mxObject{{"BAA v1", "v1"}, {"BAA v99", "v99"}}
	desc := "incident of firm A"
	br, err := e.Svc.CreateBreach(ctx, owner.User, vault.BreachChange{Description: &desc})
	if err != nil {
		tb.Fatalf("CreateBreach: %v", err)
	}
	m.objects["breach"] = []mxObject{{"breach A", br.ID}}
	m.objects["tenant"] = []mxObject{{"firm A", owner.User.TenantID}, {"ghost firm", vault.NewID(vault.PrefixTenant)}}
	// An object of each kind that does not exist: 404 for everyone.
	for kind, prefix := range map[string]string{"matter": vault.PrefixMatter, "document": vault.PrefixDocument, "user": vault.PrefixUser, "grant": vault.PrefixGrant, "alert": vault.PrefixAlert, "breach": vault.PrefixBreach} {
		m.objects[kind] = append(m.objects[kind], mxObject{"ghost " + kind, vault.NewID(prefix)})
	}

	for _, a := range m.actors[:7] {
		a.API = e.login(tb, a.Email, a.Password)
		a.API.base = m.base
		a.UI = uiClient(tb)
		uiClientSignIn(tb, a.UI, m.base, a.Email, a.Password)
		a.CSRF = uiClientCSRF(tb, a.UI, m.base+"/account/password")
	}
	m.by["signed-out"].UI = uiClient(tb)
	return m
}

// object returns the label of the fixture object id.
func (m *matrix) object(id string) string {
	for _, objs := range m.objects {
		for _, o := range objs {
			if o.ID == id {
				return o.Label
			}
		}
	}
	return id
}

// mxAnswer is one answer of the server, with what the leak check searches: the
// body and the headers.
type mxAnswer struct {
	Status   int
	Location string
	Header   http.Header
	Body     string
}

// mxGet fetches u with c (Accept: text/html, like a browser).
func mxGet(tb testing.TB, c *http.Client, u string) mxAnswer {
	tb.Helper()
	req := mustRequest(tb, http.MethodGet, u)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := c.Do(req)
	if err != nil {
		tb.Errorf("GET %s: %v", u, err)
		return mxAnswer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return mxAnswer{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Header: resp.Header, Body: string(b)}
}

// mxAPIGet returns the status and body of the API's GET path for a.
func mxAPIGet(tb testing.TB, a *mxActor, path string) (int, string) {
	tb.Helper()
	resp, b := a.API.read(tb, http.MethodGet, path, nil, nil)
	return resp.StatusCode, string(b)
}

// apiReads are the API's readings from which "what the actor may see" is
// computed, for the fixture's objects.
func (m *matrix) apiReads() (content, audit []string) {
	content = []string{"/api/v1/me", "/api/v1/matters", "/api/v1/matters?closed=true", "/api/v1/users", "/api/v1/grants", "/api/v1/tokens"}
	for _, o := range m.objects["matter"] {
		content = append(content, "/api/v1/matters/"+o.ID, "/api/v1/matters/"+o.ID+"/documents?trashed=true", "/api/v1/matters/"+o.ID+"/walls",
			"/api/v1/grants?matter_id="+o.ID)
	}
	for _, o := range m.objects["document"] {
		content = append(content, "/api/v1/documents/"+o.ID, "/api/v1/documents/"+o.ID+"/versions", "/api/v1/documents/"+o.ID+"/access",
			"/api/v1/grants?document_id="+o.ID)
		audit = append(audit, "/api/v1/audit/documents/"+o.ID)
	}
	for _, o := range m.objects["user"] {
		content = append(content, "/api/v1/users/"+o.ID)
		audit = append(audit, "/api/v1/audit/users/"+o.ID)
	}
	audit = append(audit, "/api/v1/audit/events?limit=1000", "/api/v1/audit/checkpoint", "/api/v1/audit/keys")
	return content, audit
}

// learn computes, for every signed-in actor, the markers the API shows
// them. The actor's own firm's name is shown on every page (the layout's
// header): the API has no reading of it for lawyers. An API answer that
// names another firm's marker fails the test: that is a leak of the API.
func (m *matrix) learn(tb testing.TB) {
	tb.Helper()
	content, audit := m.apiReads()
	var wg sync.WaitGroup
	for _, a := range m.actors[:7] {
		wg.Go(func() {
			a.content, a.audit = map[string]bool{}, map[string]bool{}
			for i, paths := range [][]string{content, audit} {
				for _, p := range paths {
					status, body := mxAPIGet(tb, a, p)
					if status != http.StatusOK {
						continue
					}
					for mk := range m.markers {
						if !strings.Contains(body, mk) {
							continue
						}
						if m.firmOf[mk] != a.Firm {
							tb.Errorf("API GET %s as %s shows %s (%s) of another firm", p, a.Label, mk, m.markers[mk])
						}
						a.audit[mk] = true
						if i == 0 {
							a.content[mk] = true
						}
					}
				}
			}
			// One's own firm, and its people: pages name the colleagues
			// who uploaded, changed or shared what they show
			// (vault.Service.Colleagues: people are not secret within
			// their firm; documents, matters and clients are).
			for mk, f := range m.firmOf {
				if f == a.Firm && (strings.HasPrefix(mk, "zqfirm") || strings.HasPrefix(mk, "zqu")) {
					a.content[mk], a.audit[mk] = true, true
				}
			}
		})
	}
	wg.Wait()
}

// leaks returns each marker in p that a must not see (allowed is the
// actor's set; nil for the signed-out visitor, who sees none), with what
// it names and a snippet of the answer around it.
func (m *matrix) leaks(p mxAnswer, a *mxActor, allowed map[string]bool) map[string]string {
	var hdr strings.Builder
	p.Header.Write(&hdr)
	text := hdr.String() + "\n" + p.Body
	out := map[string]string{}
	for mk, what := range m.markers {
		if allowed[mk] && m.firmOf[mk] == a.Firm {
			continue
		}
		if i := strings.Index(text, mk); i >= 0 {
			out[mk] = what + " (" + mk + "), in: …" + mxSnippet(text, i, len(mk)) + "…"
		}
	}
	return out
}

// mxSnippet returns the text around text[i:i+n].
func mxSnippet(text string, i, n int) string {
	from, to := max(i-80, 0), min(i+n+80, len(text))
	return strings.Join(strings.Fields(text[from:to]), " ")
}

// mxTitle returns the <title> of an HTML page.
func mxTitle(body string) string {
	_, rest, ok := strings.Cut(body, "<title>")
	if !ok {
		return ""
	}
	t, _, _ := strings.Cut(rest, "</title>")
	return t
}

// mxParallel runs fn(i) for i < n on a few goroutines.
func mxParallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}

// mxState is what a request could have changed: the rows of every table of
// casevault.db (a count and a hash per table) and each firm's audit events.
type mxState struct {
	Tables map[string]string // table → "N rows, sha256 …"
	Events map[string]string // firm → "N events, last seq S"
}

// mxTouchColumn is the one column a refused request may change: a session's
// last use, recorded at most once a minute by whatever request it makes
// (the idle limit needs it); it records no action.
const mxTouchColumn = "tokens.last_used_at"

// state reads casevault.db read-only, behind the running server, and the
// firms' audit events straight from the log (reading them through the
// service would itself be recorded).
func (m *matrix) state(tb testing.TB) mxState {
	tb.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(m.e.Dir, "casevault.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	st := mxState{Tables: map[string]string{}, Events: map[string]string{}}
	tables, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	for _, name := range names {
		cols, err := db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", name)
		if err != nil {
			tb.Fatal(err)
		}
		var list []string
		for cols.Next() {
			var c string
			cols.Scan(&c)
			if name+"."+c != mxTouchColumn {
				list = append(list, `"`+c+`"`)
			}
		}
		cols.Close()
		rows, err := db.QueryContext(ctx, "SELECT "+strings.Join(list, ", ")+` FROM "`+name+`" ORDER BY 1`)
		if err != nil {
			tb.Fatalf("read table %s: %v", name, err)
		}
		h, n := sha256.New(), 0
		vals := make([]any, len(list))
		ptrs := make([]any, len(list))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			fmt.Fprintf(h, "%q\n", vals)
			n++
		}
		rows.Close()
		st.Tables[name] = fmt.Sprintf("%d rows, sha256 %x", n, h.Sum(nil)[:8])
	}
	for _, a := range []*mxActor{m.by["owner"], m.by["B-owner"]} {
		n, last := 0, int64(0)
		err := m.e.Svc.AuditReader.Events(ctx, a.User.TenantID, vault.AuditFilter{}, func(r *vault.AuditRecord) error {
			n, last = n+1, r.Seq
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
		st.Events[a.Firm] = fmt.Sprintf("%d events, last seq %d", n, last)
	}
	return st
}

// diff describes how after differs from before, "" when it does not.
func (before mxState) diff(after mxState) string {
	var out []string
	for _, kv := range []struct{ b, a map[string]string }{{before.Tables, after.Tables}, {before.Events, after.Events}} {
		for k, v := range kv.a {
			if kv.b[k] != v {
				out = append(out, fmt.Sprintf("%s: %s, was %s", k, v, kv.b[k]))
			}
		}
		for k := range kv.b {
			if _, ok := kv.a[k]; !ok {
				out = append(out, k+": gone")
			}
		}
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}
