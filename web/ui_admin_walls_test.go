package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// TestUIAdmin_Grants lists the firm's grants with the API's filters, names
// documents only where the service lists them to the admin, links each to
// its access explanation and never to content, and revokes.
func TestUIAdmin_Grants(t *testing.T) {
	e := newEnv(t)
	f := newAdminFirm(t, e)
	ctx := context.Background()
	exp := e.Clock.Now().Add(time.Hour)
	mg, _, err := e.Svc.CreateGrant(ctx, f.admin, vault.NewGrant{UserID: f.lawyer.ID, MatterID: f.matter.ID,
		Permissions: []vault.Permission{vault.PermRead, vault.PermEdit}, ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}

	a := f.adminP.get(t, "/admin/grants")
	a.want(t, "grants", http.StatusOK, `id="grant-`+f.grant.ID+`"`, `id="grant-`+mg.ID+`"`,
		"<code>"+f.doc.ID+"</code>", `href="/documents/`+f.doc.ID+`/access"`, adminHostileEsc+" matter", `href="/admin/walls/`+f.matter.ID+`"`)
	// The admin holds no grant on the document: its name is not theirs to
	// read, and no content route is offered.
	a.lacks(t, "grants", "Secret", adminHostile, `href="/documents/`+f.doc.ID+`"`, "/view", "/download")

	// The lawyer who uploaded it sees its name once granted... but a lawyer
	// has no grants page; an admin given a grant sees the name.
	if _, _, err := e.Svc.CreateGrant(ctx, f.owner, vault.NewGrant{UserID: f.admin.ID, DocumentID: f.doc.ID, Permissions: []vault.Permission{vault.PermRead}}); err != nil {
		t.Fatal(err)
	}
	f.adminP.get(t, "/admin/grants?document_id="+f.doc.ID).want(t, "granted admin", http.StatusOK, "Secret "+adminHostileEsc+".pdf")

	for _, tc := range []struct {
		query      string
		has, lacks []string
	}{
		{"?user_id=" + f.colleague.ID, []string{f.grant.ID}, []string{mg.ID}},
		{"?matter_id=" + f.matter.ID, []string{mg.ID}, []string{f.grant.ID}},
		{"?permission=edit", []string{mg.ID}, []string{f.grant.ID}},
		{"?status=active&user_id=" + f.lawyer.ID, []string{mg.ID}, []string{f.grant.ID}},
		{"?status=revoked", []string{`id="no-grants"`}, []string{mg.ID}},
	} {
		a := f.adminP.get(t, "/admin/grants"+tc.query)
		a.want(t, tc.query, http.StatusOK, tc.has...)
		a.lacks(t, tc.query, tc.lacks...)
	}
	f.adminP.get(t, "/admin/grants?status=gone").want(t, "bad status", http.StatusBadRequest, "invalid")
	f.adminP.get(t, "/admin/grants?permission=own").want(t, "bad permission", http.StatusBadRequest, "invalid")

	a = f.adminP.post(t, "/admin/grants/"+mg.ID+"/revoke", nil)
	if a.Status != http.StatusSeeOther || a.Header.Get("Location") != "/admin/grants?revoked=1" {
		t.Fatalf("revoke: %d to %q, want 303 to /admin/grants?revoked=1", a.Status, a.Header.Get("Location"))
	}
	f.adminP.get(t, "/admin/grants?status=revoked").want(t, "revoked", http.StatusOK, mg.ID)
	gs, _ := e.Svc.Grants(ctx, f.owner, vault.GrantFilter{MatterID: f.matter.ID})
	if len(gs) != 1 || gs[0].RevokedAt == nil {
		t.Fatalf("after revoke: %+v, want the grant revoked", gs)
	}
	a = f.adminP.post(t, "/admin/grants/"+mg.ID+"/revoke", nil)
	a.want(t, "revoke again", http.StatusConflict, "Grant is already revoked.", "(conflict)")
	if got, want := e.actions(t, f.owner), []string{vault.ActGrantRevoke + ":ok"}; !hasAll(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
}

// TestUIAdmin_Walls walls a lawyer off a matter on its page, which then
// says who and by whom; the lawyer's home page loses the matter; the
// service's independence refusals are shown and change nothing; and the
// wall is lifted.
func TestUIAdmin_Walls(t *testing.T) {
	e := newEnv(t)
	f := newAdminFirm(t, e)
	ctx := context.Background()
	path := "/admin/walls/" + f.matter.ID

	f.lawyerP.get(t, "/matters").want(t, "lawyer's matters before", http.StatusOK, adminHostileEsc+" matter")
	a := f.adminP.get(t, path)
	a.want(t, "walls page", http.StatusOK, `id="no-walls"`, `<option value="`+f.lawyer.ID+`">`)
	a.lacks(t, "walls page", adminHostile, `<option value="`+f.admin.ID+`">`)

	a = f.adminP.post(t, path+"/add", url.Values{"user_id": {f.lawyer.ID}})
	if a.Status != http.StatusSeeOther {
		t.Fatalf("add wall: %d, want 303\n%s", a.Status, a.Body)
	}
	a = f.adminP.get(t, path+"?done=added")
	a.want(t, "walled", http.StatusOK, "Wall added", `id="wall-list"`, f.lawyer.Email, "<td>"+f.admin.Name+"</td>")
	a.lacks(t, "walled", `<option value="`+f.lawyer.ID+`">`)
	f.adminP.get(t, "/admin/walls").want(t, "walls list", http.StatusOK, "<td>1: "+f.lawyer.Name+"</td>")
	f.lawyerP.get(t, "/matters").lacks(t, "lawyer's matters after", adminHostileEsc, "Secret", f.matter.ID)
	walled := f.lawyerP.get(t, "/matters/"+f.matter.ID)
	walled.want(t, "lawyer's walled matter page", http.StatusForbidden)
	walled.lacks(t, "lawyer's walled matter page", adminHostileEsc, "Secret")

	for _, tc := range []struct {
		user   string
		status int
		text   string
	}{
		{f.admin.ID, http.StatusBadRequest, "You cannot wall yourself off a matter"},
		{"", http.StatusBadRequest, "user_id required."},
		{"usr_nosuchuser", http.StatusNotFound, "not_found"},
	} {
		f.adminP.post(t, path+"/add", url.Values{"user_id": {tc.user}}).want(t, "add "+tc.user, tc.status, tc.text)
	}

	// An admin created after the wall may not lift it.
	e.Clock.Advance(time.Minute)
	_, email, password := e.uiUser(t, f.owner.TenantID, vault.RoleAdmin)
	late := e.adminClient(t, email, password)
	a = late.post(t, path+"/remove", url.Values{"user_id": {f.lawyer.ID}})
	a.want(t, "late admin lifts", http.StatusForbidden, "Your account was created after the wall was made.", "(forbidden)", f.lawyer.Email)
	if ws, _ := e.Svc.Walls(ctx, f.owner, f.matter.ID); len(ws) != 1 {
		t.Fatalf("after a refused lift: %d walls, want 1", len(ws))
	}
	if got, want := e.actions(t, f.owner), []string{vault.ActWallAdd + ":ok", vault.ActWallRemove + ":denied"}; !hasAll(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
	// A walled admin sees neither the matter in the list nor its page.
	if _, _, err := e.Svc.AddWall(ctx, f.owner, f.matter.ID, f.admin.ID); err != nil {
		t.Fatal(err)
	}
	f.adminP.get(t, "/admin/walls").lacks(t, "walled admin's list", adminHostileEsc, f.matter.ID)
	a = f.adminP.get(t, path)
	a.want(t, "walled admin's page", http.StatusForbidden)
	a.lacks(t, "walled admin's page", "matter</", adminHostileEsc)
	a = f.adminP.post(t, path+"/remove", url.Values{"user_id": {f.admin.ID}})
	a.want(t, "walled admin lifts own", http.StatusForbidden, "You cannot remove a wall that stands in front of you.")
	a.lacks(t, "walled admin lifts own", adminHostileEsc)

	// The owner lifts the lawyer's wall.
	a = f.ownerP.post(t, path+"/remove", url.Values{"user_id": {f.lawyer.ID}})
	if a.Status != http.StatusSeeOther {
		t.Fatalf("owner lifts: %d, want 303\n%s", a.Status, a.Body)
	}
	f.ownerP.get(t, path+"?done=removed").want(t, "lifted", http.StatusOK, "Wall lifted.")
	f.lawyerP.get(t, "/matters").want(t, "lawyer's matters after the lift", http.StatusOK, adminHostileEsc+" matter")
	if strings.Contains(e.Log.String(), adminHostile) {
		t.Error("server log: holds a matter name")
	}
}
