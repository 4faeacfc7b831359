package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// adminClient is a browser-like HTTP client signed in through the sign-in
// form, with the session's CSRF token for its posts.
type adminClient struct {
	hc   *http.Client
	base string
	csrf string
}

// adminClient signs email in through the form.
func (e *env) adminClient(tb testing.TB, email, password string) *adminClient {
	tb.Helper()
	c := uiClient(tb)
	base := e.Server.URL()
	uiClientSignIn(tb, c, base, email, password)
	return &adminClient{hc: c, base: base, csrf: uiClientCSRF(tb, c, base+"/account/password")}
}

// adminAnswer is one page's answer.
type adminAnswer struct {
	Status int
	Header http.Header
	Body   string
}

// get fetches path.
func (p *adminClient) get(tb testing.TB, path string) adminAnswer {
	tb.Helper()
	resp, err := p.hc.Get(p.base + path)
	if err != nil {
		tb.Fatal(err)
	}
	return readAdminAnswer(tb, resp)
}

// post submits form (with the CSRF token) to path.
func (p *adminClient) post(tb testing.TB, path string, form url.Values) adminAnswer {
	tb.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", p.csrf)
	resp, err := p.hc.PostForm(p.base+path, form)
	if err != nil {
		tb.Fatal(err)
	}
	return readAdminAnswer(tb, resp)
}

// readAdminAnswer reads and closes resp.
func readAdminAnswer(tb testing.TB, resp *http.Response) adminAnswer {
	tb.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		tb.Fatal(err)
	}
	return adminAnswer{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// want fails unless the answer has status and every one of texts.
func (a adminAnswer) want(tb testing.TB, what string, status int, texts ...string) {
	tb.Helper()
	if a.Status != status {
		tb.Fatalf("%s: status %d, want %d\n%s", what, a.Status, status, a.Body)
	}
	for _, s := range texts {
		if !strings.Contains(a.Body, s) {
			tb.Errorf("%s: page lacks %q", what, s)
		}
	}
}

// lacks fails if the answer shows any of texts.
func (a adminAnswer) lacks(tb testing.TB, what string, texts ...string) {
	tb.Helper()
	for _, s := range texts {
		if s != "" && strings.Contains(a.Body, s) {
			tb.Errorf("%s: page shows %q, want it absent", what, s)
		}
	}
}

// adminHostile is a name that would run script if a page printed it raw (with
// no slash, which document names refuse).
const adminHostile = `<img src=x onerror="alert(1)"> & Co`

// adminHostileEsc is adminHostile as html/template prints it.
const adminHostileEsc = `&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; Co`

// adminFirm is a firm for the admin pages' tests: its owner, an admin, a
// lawyer and an auditor (each with a page client), a matter with a hostile
// name holding a lawyer's document no one else holds a grant on, the owner's grant
// to another lawyer on that document, and another firm with its own owner,
// matter, user and grant.
type adminFirm struct {
	owner, admin, lawyer, colleague, auditor *vault.User
	ownerP, adminP, lawyerP, auditorP        *adminClient
	matter                                   *vault.Matter
	doc                                      *vault.Document
	grant                                    *vault.Grant

	other                           *vault.User // the other firm's owner
	otherP                          *adminClient
	otherMatter, otherUser, otherGr string
}

// newAdminFirm builds an adminFirm on e.
func newAdminFirm(t *testing.T, e *env) *adminFirm {
	t.Helper()
	ctx := context.Background()
	f := &adminFirm{}
	var email, password string
	f.owner, email, password = e.uiUser(t, "", "")
	f.ownerP = e.adminClient(t, email, password)
	f.admin, email, password = e.uiUser(t, f.owner.TenantID, vault.RoleAdmin)
	f.adminP = e.adminClient(t, email, password)
	f.lawyer, email, password = e.uiUser(t, f.owner.TenantID, vault.RoleLawyer)
	f.lawyerP = e.adminClient(t, email, password)
	f.colleague, _, _ = e.uiUser(t, f.owner.TenantID, vault.RoleLawyer)
	f.auditor, email, password = e.uiUser(t, f.owner.TenantID, vault.RoleAuditor)
	f.auditorP = e.adminClient(t, email, password)
	var err error
	if f.matter, err = e.Svc.CreateMatter(ctx, f.lawyer, adminHostile+" matter", "Client "+adminHostile); err != nil {
		t.Fatal(err)
	}
	if f.doc, err = e.Svc.PutDocument(ctx, f.lawyer, vault.NewDocument{MatterID: f.matter.ID, Name: "Secret " + adminHostile + ".pdf"},
		strings.NewReader("privileged"), -1); err != nil {
		t.Fatal(err)
	}
	if f.grant, _, err = e.Svc.CreateGrant(ctx, f.owner, vault.NewGrant{UserID: f.colleague.ID, DocumentID: f.doc.ID,
		Permissions: []vault.Permission{vault.PermRead}}); err != nil {
		t.Fatal(err)
	}

	f.other, email, password = e.uiUser(t, "", "")
	f.otherP = e.adminClient(t, email, password)
	om, err := e.Svc.CreateMatter(ctx, f.other, "Other firm's matter", "Other client")
	if err != nil {
		t.Fatal(err)
	}
	ou, _, _ := e.uiUser(t, f.other.TenantID, vault.RoleLawyer)
	og, _, err := e.Svc.CreateGrant(ctx, f.other, vault.NewGrant{UserID: ou.ID, MatterID: om.ID, Permissions: []vault.Permission{vault.PermRead}})
	if err != nil {
		t.Fatal(err)
	}
	f.otherMatter, f.otherUser, f.otherGr = om.ID, ou.ID, og.ID
	return f
}
