package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// docFirm is a firm with a lawyer's matter and document, the people of
// each role around it, and another firm.
type docFirm struct {
	e                        *env
	base                     string
	owner, lawyer, colleague *vault.User
	admin, auditor, outsider *vault.User
	pw                       map[string]string // email → password
	matter, other            *vault.Matter
	doc                      *vault.Document
	content                  []byte
}

// newDocFirm builds a docFirm; the document is a text file named name
// uploaded by the lawyer.
func newDocFirm(tb testing.TB, name string) *docFirm {
	tb.Helper()
	e := newEnv(tb)
	f := &docFirm{e: e, base: e.Server.URL(), pw: map[string]string{}}
	add := func(tenant string, role vault.Role) *vault.User {
		u, email, pw := e.uiUser(tb, tenant, role)
		f.pw[email] = pw
		return u
	}
	f.owner = add("", "")
	f.lawyer = add(f.owner.TenantID, vault.RoleLawyer)
	f.colleague = add(f.owner.TenantID, vault.RoleLawyer)
	f.admin = add(f.owner.TenantID, vault.RoleAdmin)
	f.auditor = add(f.owner.TenantID, vault.RoleAuditor)
	other := add("", "")
	f.outsider = add(other.TenantID, vault.RoleLawyer)
	ctx := context.Background()
	var err error
	if f.matter, err = e.Svc.CreateMatter(ctx, f.lawyer, "Estate of Doe", "J. Doe"); err != nil {
		tb.Fatal(err)
	}
	if f.other, err = e.Svc.CreateMatter(ctx, f.lawyer, "Harbour lease", "Harbour Foods"); err != nil {
		tb.Fatal(err)
	}
	f.content = []byte("Last will and testament.\n")
	f.doc = f.put(tb, f.lawyer, f.matter.ID, name, "text/plain; charset=utf-8", f.content)
	return f
}

// put uploads a document as u.
func (f *docFirm) put(tb testing.TB, u *vault.User, matterID, name, ctype string, b []byte) *vault.Document {
	tb.Helper()
	d, err := f.e.Svc.PutDocument(context.Background(), u, vault.NewDocument{MatterID: matterID, Name: name, ContentType: ctype}, bytes.NewReader(b), int64(len(b)))
	if err != nil {
		tb.Fatalf("PutDocument: %v", err)
	}
	return d
}

// grant gives u perms on the document, made by the owner.
func (f *docFirm) grant(tb testing.TB, u *vault.User, perms ...vault.Permission) *vault.Grant {
	tb.Helper()
	g, _, err := f.e.Svc.CreateGrant(context.Background(), f.owner, vault.NewGrant{UserID: u.ID, DocumentID: f.doc.ID, Permissions: perms})
	if err != nil {
		tb.Fatalf("CreateGrant: %v", err)
	}
	return g
}

// as returns a browser-like client signed in as u, and its CSRF token.
func (f *docFirm) as(tb testing.TB, u *vault.User) *uiSession {
	tb.Helper()
	c := uiClient(tb)
	uiClientSignIn(tb, c, f.base, u.Email, f.pw[u.Email])
	return &uiSession{tb: tb, c: c, base: f.base, csrf: uiClientCSRF(tb, c, f.base+"/account/password")}
}

// uiSession is a signed-in client of the UI.
type uiSession struct {
	tb   testing.TB
	c    *http.Client
	base string
	csrf string
}

// get fetches path and returns the status, body and headers.
func (s *uiSession) get(path string) (int, string, http.Header) {
	s.tb.Helper()
	resp, err := s.c.Get(s.base + path)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// post sends a form with the CSRF token and returns the status, body and
// the redirect's Location.
func (s *uiSession) post(path string, v url.Values) (int, string, string) {
	s.tb.Helper()
	if v == nil {
		v = url.Values{}
	}
	v.Set("csrf", s.csrf)
	req, _ := http.NewRequest("POST", s.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.base)
	resp, err := s.c.Do(req)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}
