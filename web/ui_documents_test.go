package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// has reports which of the page's action elements (by id) are present.
func actionsOn(body string) map[string]bool {
	out := map[string]bool{}
	for _, id := range []string{"view", "download", "trash", "restore", "rename", "move", "upload-version", "share", "no-actions"} {
		out[id] = strings.Contains(body, `id="`+id+`"`)
	}
	return out
}

// TestUIDocuments_PageByRole fetches the document page as each role and
// relation: it offers exactly the actions the service would allow, and
// refuses (403, 404 for another firm) with no name where the API would.
func TestUIDocuments_PageByRole(t *testing.T) {
	f := newDocFirm(t, `<img src=x onerror=alert(1)> Will & "Testament".txt`)
	reader, downloader := f.colleague, f.e.mustLawyer(t, f)
	f.grant(t, reader, vault.PermRead)
	f.grant(t, downloader, vault.PermDownload)
	adminGranted := f.e.mustAdmin(t, f)
	f.grant(t, adminGranted, vault.PermRead, vault.PermDownload, vault.PermEdit)

	all := []string{"view", "download", "trash", "rename", "move", "upload-version", "share"}
	cases := []struct {
		name   string
		u      *vault.User
		status int
		want   []string // actions present; every other one absent
	}{
		{"uploader", f.lawyer, 200, all},
		{"read grant", reader, 200, []string{"view"}},
		{"download grant", downloader, 200, []string{"download"}},
		{"admin with grant", adminGranted, 200, all},
		{"admin without grant", f.admin, 403, nil},
		{"owner without grant", f.owner, 403, nil},
		{"auditor", f.auditor, 403, nil},
		{"other firm", f.outsider, 404, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := f.as(t, tc.u)
			status, body, h := s.get("/documents/" + f.doc.ID)
			if status != tc.status {
				t.Fatalf("status: got %d, want %d", status, tc.status)
			}
			if strings.Contains(body, "Testament") || strings.Contains(body, "<img src=x") {
				if tc.status != 200 || strings.Contains(body, "<img src=x") {
					t.Fatalf("page shows the name raw or to someone refused:\n%s", body)
				}
			}
			if got := h.Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'self'") {
				t.Errorf("CSP: got %q, want the UI's", got)
			}
			if tc.status != 200 {
				if !strings.Contains(body, `id="error-code"`) {
					t.Errorf("refusal is not the error page:\n%s", body)
				}
				return
			}
			if !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt; Will &amp; &#34;Testament&#34;.txt") {
				t.Errorf("hostile name not shown escaped:\n%s", body)
			}
			got := actionsOn(body)
			for _, a := range all {
				want := false
				for _, w := range tc.want {
					want = want || w == a
				}
				if got[a] != want {
					t.Errorf("action %s: got present=%v, want %v", a, got[a], want)
				}
			}
			if strings.Contains(body, "version-download") != strings.Contains(strings.Join(tc.want, " "), "download") {
				t.Errorf("version download links do not follow the download permission")
			}
			if wantLink := tc.u.Role == vault.RoleAdmin; strings.Contains(body, `id="access-link"`) != wantLink {
				t.Errorf("access link: got %v, want %v", !wantLink, wantLink)
			}
			if strings.Contains(body, "upload.js") && !got["upload-version"] {
				t.Errorf("upload.js loaded on a page without the upload form")
			}
		})
	}
}

// mustLawyer and mustAdmin add a user of f's firm with a known password.
func (e *env) mustLawyer(tb testing.TB, f *docFirm) *vault.User {
	u, email, pw := e.uiUser(tb, f.owner.TenantID, vault.RoleLawyer)
	f.pw[email] = pw
	return u
}

func (e *env) mustAdmin(tb testing.TB, f *docFirm) *vault.User {
	u, email, pw := e.uiUser(tb, f.owner.TenantID, vault.RoleAdmin)
	f.pw[email] = pw
	return u
}

// TestUIDocuments_ViewAndDownload: the inline view carries the API's
// inline CSP and disposition (active types as text), downloads are
// attachments byte-identical to each version, ranges work, and each read
// is audited as the API's.
func TestUIDocuments_ViewAndDownload(t *testing.T) {
	f := newDocFirm(t, "will.txt")
	ctx := context.Background()
	v2 := []byte("Second version, amended.\n")
	if _, err := f.e.Svc.PutVersion(ctx, f.lawyer, f.doc.ID, "text/plain", strings.NewReader(string(v2)), int64(len(v2))); err != nil {
		t.Fatal(err)
	}
	html := f.put(t, f.lawyer, f.matter.ID, "page.html", "text/html", []byte("<script>alert(1)</script>"))
	docx := f.put(t, f.lawyer, f.matter.ID, "brief.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", []byte("PK\x03\x04"))
	s := f.as(t, f.lawyer)

	status, body, h := s.get("/documents/" + f.doc.ID + "/view")
	if status != 200 || body != string(v2) {
		t.Fatalf("view: %d %q, want 200 and the current version", status, body)
	}
	if got := h.Get("Content-Security-Policy"); got != web.ContentSecurityPolicy {
		t.Errorf("view CSP: got %q, want %q", got, web.ContentSecurityPolicy)
	}
	if got := h.Get("Content-Disposition"); !strings.HasPrefix(got, "inline;") || !strings.Contains(got, "will.txt") {
		t.Errorf("view disposition: got %q, want inline with the name", got)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("view headers: %v", h)
	}

	_, _, h = s.get("/documents/" + html.ID + "/view")
	if got := h.Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("HTML viewed inline: Content-Type %q, want text/plain", got)
	}
	_, page, _ := s.get("/documents/" + docx.ID)
	if strings.Contains(page, `id="view"`) || !strings.Contains(page, `id="download-only"`) {
		t.Errorf("a .docx page offers a view, or no download instead")
	}

	for _, tc := range []struct {
		q    string
		want []byte
	}{{"", v2}, {"?version=1", f.content}, {"?version=2", v2}} {
		status, body, h := s.get("/documents/" + f.doc.ID + "/download" + tc.q)
		if status != 200 || body != string(tc.want) {
			t.Errorf("download%s: %d %q, want 200 %q", tc.q, status, body, tc.want)
		}
		if got := h.Get("Content-Disposition"); !strings.HasPrefix(got, "attachment;") {
			t.Errorf("download%s disposition: %q, want attachment", tc.q, got)
		}
	}
	req, _ := http.NewRequest("GET", f.base+"/documents/"+f.doc.ID+"/download?version=1", nil)
	req.Header.Set("Range", "bytes=5-8")
	resp, err := s.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != "bytes 5-8/25" {
		t.Errorf("range: %d %q, want 206 bytes 5-8/25", resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	if status, body, _ := s.get("/documents/" + f.doc.ID + "/download?version=9"); status != 404 || !strings.Contains(body, `id="error-code">not_found<`) {
		t.Errorf("unknown version: %d, want the 404 page", status)
	}

	evs, _, err := f.e.Svc.AuditEvents(ctx, f.owner, vault.AuditFilter{ObjectID: f.doc.ID})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range evs {
		count[ev.Action+":"+ev.Outcome]++
	}
	if count["document.view:ok"] != 1 || count["document.download:ok"] != 4 {
		t.Errorf("audit: got %v, want 1 view and 4 downloads (one a range)", count)
	}

	// Refused: a reader without download, and another firm.
	f.grant(t, f.colleague, vault.PermRead)
	c := f.as(t, f.colleague)
	if status, body, _ := c.get("/documents/" + f.doc.ID + "/download"); status != 403 || strings.Contains(body, "Second version") {
		t.Errorf("download without permission: %d, want 403 page", status)
	}
	o := f.as(t, f.outsider)
	for _, p := range []string{"/view", "/download", "/download?version=1"} {
		if status, body, _ := o.get("/documents/" + f.doc.ID + p); status != 404 || strings.Contains(body, "will.txt") {
			t.Errorf("other firm %s: %d, want 404 without the name", p, status)
		}
	}
}

// TestUIDocuments_EditForms renames, moves, trashes and restores through
// the forms, with refusals shown on the page with their code.
func TestUIDocuments_EditForms(t *testing.T) {
	f := newDocFirm(t, "will.txt")
	s := f.as(t, f.lawyer)
	path := "/documents/" + f.doc.ID

	status, _, loc := s.post(path+"/rename", url.Values{"name": {"Final will.txt"}})
	if status != 303 || loc != path+"?done=renamed" {
		t.Fatalf("rename: %d to %q", status, loc)
	}
	if _, body, _ := s.get(loc); !strings.Contains(body, "Final will.txt") || !strings.Contains(body, "The document is renamed.") {
		t.Errorf("after rename the page lacks the new name or the notice")
	}
	status, body, _ := s.post(path+"/rename", url.Values{"name": {"../etc/passwd"}})
	if status != 400 || !strings.Contains(body, `id="form-error"`) || !strings.Contains(body, "(invalid)") {
		t.Errorf("bad name: %d, want 400 with the message and code:\n%s", status, body)
	}
	if status, body, _ := s.post(path+"/move", url.Values{"matter_id": {"mat_aaaaaaaaaaaaaaaaaaaaaaaaaa"}}); status != 404 || !strings.Contains(body, "(not_found)") {
		t.Errorf("move to an unknown matter: %d, want 404 on the page", status)
	}
	if status, _, loc := s.post(path+"/move", url.Values{"matter_id": {f.other.ID}}); status != 303 || loc != path+"?done=moved" {
		t.Errorf("move: %d to %q", status, loc)
	}
	if d, _ := f.e.Svc.Document(context.Background(), f.lawyer, f.doc.ID); d.MatterID != f.other.ID {
		t.Errorf("after move: matter %s, want %s", d.MatterID, f.other.ID)
	}

	trash := "/matters/" + f.other.ID + "/trash"
	if _, body, _ := s.get(trash); !strings.Contains(body, `id="empty-trash"`) {
		t.Errorf("empty trash: no empty state")
	}
	if status, _, loc := s.post(path+"/trash", nil); status != 303 || loc != path+"?done=trashed" {
		t.Errorf("trash: %d to %q", status, loc)
	}
	_, body, _ = s.get(path + "?done=trashed")
	if !strings.Contains(body, `id="trashed"`) || !strings.Contains(body, `id="restore"`) || strings.Contains(body, `id="view"`) {
		t.Errorf("trashed page: want the mark and Restore, no View")
	}
	if _, body, _ := s.get(trash); !strings.Contains(body, "Final will.txt") || !strings.Contains(body, `class="restore"`) {
		t.Errorf("trash page lacks the document or its Restore")
	}
	// A reader sees the trashed document in the trash without Restore.
	f.grant(t, f.colleague, vault.PermRead)
	if _, body, _ := f.as(t, f.colleague).get(trash); !strings.Contains(body, "Final will.txt") || strings.Contains(body, `class="restore"`) {
		t.Errorf("reader's trash page: want the document without Restore")
	}
	// Another firm, and a lawyer with no grant, learn nothing.
	if status, body, _ := f.as(t, f.outsider).get(trash); status != 404 || strings.Contains(body, "Harbour") {
		t.Errorf("other firm's trash: %d, want 404 without the matter's name", status)
	}
	if _, body, _ := f.as(t, f.e.mustLawyer(t, f)).get(trash); strings.Contains(body, "Final will.txt") {
		t.Errorf("a lawyer without a grant sees the trashed document")
	}
	status, _, loc = s.post(path+"/restore", url.Values{"from": {"trash"}, "matter_id": {f.other.ID}})
	if status != 303 || loc != trash+"?done=restored" {
		t.Errorf("restore from trash: %d to %q", status, loc)
	}
	if _, body, _ := s.get(loc); !strings.Contains(body, `id="empty-trash"`) || !strings.Contains(body, "restored") {
		t.Errorf("after restore the trash is not empty or has no notice")
	}
	// A reader's forms are refused by the service and shown with 403.
	if status, body, _ := f.as(t, f.colleague).post(path+"/rename", url.Values{"name": {"x.txt"}}); status != 403 || !strings.Contains(body, "(forbidden)") {
		t.Errorf("reader renames: %d, want 403 on the page", status)
	}
	want := []string{"document.rename:ok", "document.move:ok", "document.trash:ok", "document.restore:ok", "access.denied:denied"}
	if got := f.e.actions(t, f.owner); !hasAll(got, want) {
		t.Errorf("audit: got %v, want %v among them", got, want)
	}
}

// TestUIDocuments_SignedOutAndForged: every document page sends a
// signed-out visitor to the sign-in page, and a form posted without its
// CSRF token is refused and changes nothing.
func TestUIDocuments_SignedOutAndForged(t *testing.T) {
	f := newDocFirm(t, "will.txt")
	id, grant := f.doc.ID, f.grant(t, f.colleague, vault.PermRead)
	gets := []string{"/documents/" + id, "/documents/" + id + "/view", "/documents/" + id + "/download", "/documents/" + id + "/access", "/matters/" + f.matter.ID + "/trash"}
	posts := []string{"/rename", "/move", "/trash", "/restore", "/shares", "/shares/" + grant.ID + "/revoke", "/versions"}
	anon := uiClient(t)
	for _, p := range gets {
		if resp, err := anon.Get(f.base + p); err != nil || resp.StatusCode != 303 || resp.Header.Get("Location") != "/signin" {
			t.Errorf("signed out GET %s: %v %v, want 303 to /signin", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for _, p := range posts {
		resp, err := anon.PostForm(f.base+"/documents/"+id+p, url.Values{"name": {"x.txt"}})
		if err != nil || resp.StatusCode != 303 || resp.Header.Get("Location") != "/signin" {
			t.Errorf("signed out POST %s: %v, want 303 to /signin", p, resp.StatusCode)
		}
	}
	s := f.as(t, f.lawyer)
	before := len(f.e.actions(t, f.owner))
	for _, p := range posts {
		req, _ := http.NewRequest("POST", f.base+"/documents/"+id+p, strings.NewReader("name=x.txt&email="+url.QueryEscape(f.colleague.Email)+"&perm=edit"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := s.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("POST %s without the token: %d, want 403", p, resp.StatusCode)
		}
	}
	if got := f.e.actions(t, f.owner); len(got) != before {
		t.Errorf("forged posts left audit events: %v", got[before:])
	}
	if d, _ := f.e.Svc.Document(context.Background(), f.lawyer, id); d.Name != "will.txt" || d.Trashed {
		t.Errorf("a forged post changed the document: %+v", d)
	}
}

// TestUIDocuments_ClosedMatter: in a closed matter the page offers view
// and download but no change, and a change posted anyway is refused with
// the service's conflict.
func TestUIDocuments_ClosedMatter(t *testing.T) {
	f := newDocFirm(t, "will.txt")
	yes := true
	if _, err := f.e.Svc.UpdateMatter(context.Background(), f.lawyer, f.matter.ID, vault.MatterUpdate{Closed: &yes}); err != nil {
		t.Fatal(err)
	}
	s := f.as(t, f.lawyer)
	_, body, _ := s.get("/documents/" + f.doc.ID)
	got := actionsOn(body)
	if !got["view"] || !got["download"] || got["rename"] || got["trash"] || got["upload-version"] || !strings.Contains(body, "Matter closed") {
		t.Errorf("closed matter's document page: %v", got)
	}
	if status, body, _ := s.post("/documents/"+f.doc.ID+"/trash", nil); status != 409 || !strings.Contains(body, "(conflict)") {
		t.Errorf("trash in a closed matter: %d, want 409 on the page", status)
	}
}
