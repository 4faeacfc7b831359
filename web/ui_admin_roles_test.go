package web_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestUIAdmin_Roles fetches and posts to every admin page as each role and
// as another firm's owner: owners and admins get the pages, lawyers and
// auditors 403 as from the API, another firm's ids 404, and no page shows
// another firm's names. (A lawyer may revoke a grant they made, here as
// through the API; the fixture's grant is the owner's.)
func TestUIAdmin_Roles(t *testing.T) {
	e := newEnv(t)
	f := newAdminFirm(t, e)
	u, m, g := f.lawyer.ID, f.matter.ID, f.grant.ID
	type req struct {
		method, path string
		form         url.Values
	}
	reqs := []req{
		{"GET", "/admin/users", nil},
		{"POST", "/admin/users", url.Values{"email": {"x@hale.example"}, "role": {"lawyer"}}},
		{"GET", "/admin/users/" + u, nil},
		{"POST", "/admin/users/" + u + "/role", url.Values{"role": {"auditor"}}},
		{"POST", "/admin/users/" + u + "/disable", nil},
		{"POST", "/admin/users/" + u + "/enable", nil},
		{"POST", "/admin/users/" + u + "/password-reset", nil},
		{"GET", "/admin/grants", nil},
		{"GET", "/admin/grants?user_id=" + u, nil},
		{"GET", "/admin/grants?matter_id=" + m, nil},
		{"GET", "/admin/grants?document_id=" + f.doc.ID, nil},
		{"POST", "/admin/grants/" + g + "/revoke", nil},
		{"GET", "/admin/walls", nil},
		{"GET", "/admin/walls/" + m, nil},
		{"POST", "/admin/walls/" + m + "/add", url.Values{"user_id": {u}}},
		{"POST", "/admin/walls/" + m + "/remove", url.Values{"user_id": {u}}},
	}
	do := func(p *adminClient, r req) adminAnswer {
		if r.method == "GET" {
			return p.get(t, r.path)
		}
		return p.post(t, r.path, r.form)
	}
	before := len(e.actions(t, f.owner))
	for _, who := range []struct {
		name string
		p    *adminClient
	}{{"lawyer", f.lawyerP}, {"auditor", f.auditorP}} {
		for _, r := range reqs {
			a := do(who.p, r)
			a.want(t, who.name+" "+r.method+" "+r.path, http.StatusForbidden, `id="error-code">forbidden<`)
			a.lacks(t, who.name+" "+r.path, adminHostileEsc, f.owner.Email, "one-time-password")
		}
		// Their own user page too: the API lets them read themselves, but
		// this is the admins' page of the firm's users.
		do(who.p, req{"GET", "/admin/users/" + f.lawyer.ID, nil}).want(t, who.name+" own page", http.StatusForbidden)
	}
	// Nothing but denials went on record.
	for _, a := range e.actions(t, f.owner)[before:] {
		if a[len(a)-len(":denied"):] != ":denied" {
			t.Errorf("audit after refused pages: %q, want only denials", a)
		}
	}

	// Another firm's owner: firm A's ids are not found, lists show only
	// their firm.
	for _, r := range reqs {
		if r.method == "POST" && r.path == "/admin/users" {
			continue
		}
		switch r.path {
		case "/admin/users", "/admin/grants", "/admin/walls":
			a := do(f.otherP, r)
			a.want(t, "other firm "+r.path, http.StatusOK)
			a.lacks(t, "other firm "+r.path, adminHostileEsc, f.owner.Email, f.lawyer.Email, f.doc.ID, m, g)
			continue
		}
		a := do(f.otherP, r)
		a.want(t, "other firm "+r.method+" "+r.path, http.StatusNotFound, `id="error-code">not_found<`)
		a.lacks(t, "other firm "+r.path, adminHostileEsc, f.lawyer.Email)
	}
	// The other firm's ids are not found to firm A's admin either.
	for _, path := range []string{"/admin/users/" + f.otherUser, "/admin/walls/" + f.otherMatter, "/admin/grants?matter_id=" + f.otherMatter} {
		f.adminP.get(t, path).want(t, "admin "+path, http.StatusNotFound)
	}
	f.adminP.post(t, "/admin/grants/"+f.otherGr+"/revoke", nil).want(t, "revoke another firm's grant", http.StatusNotFound)
	f.adminP.post(t, "/admin/walls/"+f.otherMatter+"/add", url.Values{"user_id": {f.otherUser}}).want(t, "wall in another firm", http.StatusNotFound)
	f.adminP.post(t, "/admin/walls/"+m+"/add", url.Values{"user_id": {f.otherUser}}).want(t, "wall another firm's user", http.StatusNotFound)
	// The access lookup only redirects a document id; the access page
	// (part "documents") asks the service.
	for _, bad := range []string{"../../api", "doc_x/../../", "usr_" + f.lawyer.ID[4:], ""} {
		f.adminP.get(t, "/admin/access?document="+url.QueryEscape(bad)).want(t, "access lookup of "+bad, http.StatusNotFound)
	}
	a := f.adminP.get(t, "/admin/access?document="+f.doc.ID)
	if got, want := a.Header.Get("Location"), "/documents/"+f.doc.ID+"/access"; a.Status != http.StatusSeeOther || got != want {
		t.Errorf("access lookup: %d to %q, want 303 to %q", a.Status, got, want)
	}

	// Owners and admins get every page.
	for _, p := range []*adminClient{f.ownerP, f.adminP} {
		for _, path := range []string{"/admin/users", "/admin/users/" + u, "/admin/grants", "/admin/walls", "/admin/walls/" + m} {
			p.get(t, path).want(t, path, http.StatusOK)
		}
	}
}
