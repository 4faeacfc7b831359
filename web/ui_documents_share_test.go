package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// uploadVersion sends a new version as static/upload.js does: multipart
// with the csrf field then the file, and (unless token is "-") the
// X-CSRF-Token header.
func uploadVersion(tb testing.TB, s *uiSession, docID, token string, content []byte) (int, []byte) {
	tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", s.csrf)
	fw, _ := mw.CreateFormFile("file", "will-v2.txt")
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", s.base+"/documents/"+docID+"/versions", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Origin", s.base)
	if token != "-" {
		req.Header.Set("X-CSRF-Token", token)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestUIDocuments_VersionUpload posts new versions over real HTTP as the
// page's script would: with the header a version is stored and the answer
// is the contract's JSON; without it, with a wrong one, or without edit,
// the answer is a refusal and nothing is stored.
func TestUIDocuments_VersionUpload(t *testing.T) {
	f := newDocFirm(t, "will.txt")
	s := f.as(t, f.lawyer)
	blobs := f.e.blobCount(t)

	for _, tok := range []string{"-", "wrong"} {
		if status, body := uploadVersion(t, s, f.doc.ID, tok, []byte("forged")); status != 403 {
			t.Errorf("token %q: %d %s, want 403", tok, status, body)
		}
	}
	f.grant(t, f.colleague, vault.PermRead)
	c := f.as(t, f.colleague)
	status, body := uploadVersion(t, c, f.doc.ID, c.csrf, []byte("reader's"))
	var refused struct{ Error struct{ Code string } }
	if json.Unmarshal(body, &refused); status != 403 || refused.Error.Code != "forbidden" {
		t.Errorf("reader uploads: %d %s, want 403 forbidden JSON", status, body)
	}
	if status, body := uploadVersion(t, f.as(t, f.outsider), f.doc.ID, "", nil); status != 403 && status != 404 {
		t.Errorf("other firm uploads: %d %s", status, body)
	}
	if got := f.e.blobCount(t); got != blobs {
		t.Fatalf("blobs after refusals: got %d, want %d", got, blobs)
	}
	if d, _ := f.e.Svc.Document(context.Background(), f.lawyer, f.doc.ID); d.CurrentVersion != 1 {
		t.Fatalf("version after refusals: got %d, want 1", d.CurrentVersion)
	}

	v2 := bytes.Repeat([]byte("amended clause\n"), 100000) // 1.5 MB, several parts
	status, body = uploadVersion(t, s, f.doc.ID, s.csrf, v2)
	var ok struct {
		Document struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
			Size    int64  `json:"size"`
			Region  string `json:"region"`
		} `json:"document"`
		Location string `json:"location"`
	}
	if err := json.Unmarshal(body, &ok); err != nil || status != 200 {
		t.Fatalf("upload: %d %s", status, body)
	}
	if ok.Document.Version != 2 || ok.Document.Size != int64(len(v2)) || ok.Location != "/documents/"+f.doc.ID || ok.Document.Region != "us" {
		t.Errorf("upload answer: %+v", ok)
	}
	if _, got, _ := s.get("/documents/" + f.doc.ID + "/download?version=2"); got != string(v2) {
		t.Errorf("version 2 downloaded: %d bytes, want the %d uploaded", len(got), len(v2))
	}
	if _, got, _ := s.get("/documents/" + f.doc.ID + "/download?version=1"); got != string(f.content) {
		t.Errorf("version 1 changed")
	}
}

// TestUIDocuments_Share shares by email, lists and revokes the grant, and
// checks that the form reveals nothing of other firms' users, nor more of
// this firm's than whether an address can be given access.
func TestUIDocuments_Share(t *testing.T) {
	f := newDocFirm(t, "will.txt")
	s := f.as(t, f.lawyer)
	path := "/documents/" + f.doc.ID

	_, body, _ := s.get(path)
	if !strings.Contains(body, `id="share-form"`) || !strings.Contains(body, `id="no-grants"`) {
		t.Fatalf("uploader's page: no share form or no empty state")
	}
	for _, u := range []*vault.User{f.owner, f.admin, f.colleague, f.auditor, f.outsider} {
		if strings.Contains(body, u.Email) {
			t.Errorf("the share form lists %s", u.Email)
		}
	}

	c := f.as(t, f.colleague)
	if status, _, _ := c.get(path); status != 403 {
		t.Fatalf("colleague before the share: %d, want 403", status)
	}
	// Refusals: an address of another firm, an unknown one, an auditor's
	// and a disabled colleague's answer alike.
	disabled := f.e.mustLawyer(t, f)
	yes := true
	if _, err := f.e.Svc.UpdateUser(context.Background(), f.owner, disabled.ID, vault.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	var first string
	for _, email := range []string{f.outsider.Email, "nobody@example.com", f.auditor.Email, disabled.Email} {
		status, body, _ := s.post(path+"/shares", url.Values{"email": {email}, "perm": {"read"}})
		msg := formErrorOf(body)
		if status != 404 || !strings.Contains(msg, "(not_found)") {
			t.Errorf("share with %s: %d %q, want 404 not_found", email, status, msg)
		}
		if first == "" {
			first = msg
		} else if msg != first {
			t.Errorf("share with %s: %q, want the same answer as %q", email, msg, first)
		}
	}
	if _, err := f.e.Svc.Grants(context.Background(), f.owner, vault.GrantFilter{DocumentID: f.doc.ID}); err != nil {
		t.Fatal(err)
	}
	if status, body, _ := s.post(path+"/shares", url.Values{"email": {f.colleague.Email}}); status != 400 || !strings.Contains(body, "(invalid)") {
		t.Errorf("share without permissions: %d, want 400 invalid", status)
	}
	if status, body, _ := s.post(path+"/shares", url.Values{"email": {f.colleague.Email}, "perm": {"read"}, "expires": {"2001-01-01"}}); status != 400 || !strings.Contains(body, "(invalid)") {
		t.Errorf("share with a past expiry: %d, want 400 invalid", status)
	}

	day := f.e.Clock.Now().Add(72 * time.Hour).UTC().Format(time.DateOnly)
	status, _, loc := s.post(path+"/shares", url.Values{"email": {strings.ToUpper(f.colleague.Email)}, "perm": {"read", "download"}, "expires": {day}})
	if status != 303 || loc != path+"?done=shared" {
		t.Fatalf("share: %d to %q", status, loc)
	}
	gs, err := f.e.Svc.Grants(context.Background(), f.owner, vault.GrantFilter{DocumentID: f.doc.ID})
	if err != nil || len(gs) != 1 {
		t.Fatalf("grants after share: %v %v", gs, err)
	}
	g := gs[0]
	if g.UserID != f.colleague.ID || vault.FormatPermissions(g.Permissions) != "read,download" || g.ExpiresAt == nil || g.ExpiresAt.Format(time.DateOnly) <= day {
		t.Errorf("grant: %+v, want read,download to the colleague until the end of %s", g, day)
	}
	_, body, _ = s.get(loc)
	if !strings.Contains(body, f.colleague.Email) || !strings.Contains(body, "/shares/"+g.ID+"/revoke") || !strings.Contains(body, "The document is shared.") {
		t.Errorf("page after share lacks the grant, its Revoke or the notice")
	}
	if status, _, loc := s.post(path+"/shares", url.Values{"email": {f.colleague.Email}, "perm": {"read"}, "expires": {day}}); status != 303 || loc != path+"?done=unchanged" {
		t.Errorf("share less again: %d to %q, want 303 to ?done=unchanged", status, loc)
	}

	status, body, _ = c.get(path)
	if status != 200 || !strings.Contains(body, `id="view"`) || !strings.Contains(body, `id="download"`) || strings.Contains(body, `id="share-form"`) || strings.Contains(body, `id="rename"`) {
		t.Errorf("colleague's page: %d, want view and download only", status)
	}
	if status, got, _ := c.get(path + "/download"); status != 200 || got != string(f.content) {
		t.Errorf("colleague downloads: %d", status)
	}
	// The colleague cannot revoke; the lawyer can.
	if status, _, _ := c.post(path+"/shares/"+g.ID+"/revoke", nil); status != 403 {
		t.Errorf("colleague revokes: %d, want 403", status)
	}
	if status, _, loc := s.post(path+"/shares/"+g.ID+"/revoke", nil); status != 303 || loc != path+"?done=revoked" {
		t.Errorf("revoke: %d to %q", status, loc)
	}
	if status, _, _ := c.get(path); status != 403 {
		t.Errorf("colleague after revoke: %d, want 403", status)
	}
	if status, _, _ := c.get(path + "/view"); status != 403 {
		t.Errorf("colleague views after revoke: %d, want 403", status)
	}
	if status, body, _ := s.post(path+"/shares/"+g.ID+"/revoke", nil); status != 409 || !strings.Contains(body, "(conflict)") {
		t.Errorf("revoke twice: %d, want 409 on the page", status)
	}
	// Another firm's user cannot revoke or share, and learns nothing.
	o := f.as(t, f.outsider)
	for _, p := range []string{"/shares", "/shares/" + g.ID + "/revoke"} {
		if status, body, _ := o.post(path+p, url.Values{"email": {f.lawyer.Email}, "perm": {"read"}}); status != 404 || strings.Contains(body, "will.txt") {
			t.Errorf("other firm posts %s: %d, want 404", p, status)
		}
	}
	want := []string{"grant.create:ok", "grant.revoke:ok"}
	if got := f.e.actions(t, f.owner); !hasAll(got, want) {
		t.Errorf("audit: %v, want %v among them", got, want)
	}
}

// formErrorOf returns the text of a page's form error.
func formErrorOf(body string) string {
	i := strings.Index(body, `id="form-error">`)
	if i < 0 {
		return ""
	}
	rest := body[i+len(`id="form-error">`):]
	return rest[:strings.Index(rest, "</p>")]
}

// TestUIDocuments_Access shows "who has access and why" to an admin, in
// words, with grants that can be revoked from it; lawyers, auditors and
// other firms are refused; the document's name is shown only to an admin
// who may open it.
func TestUIDocuments_Access(t *testing.T) {
	f := newDocFirm(t, "Secret will.txt")
	ctx := context.Background()
	f.grant(t, f.colleague, vault.PermRead)
	walled := f.e.mustLawyer(t, f)
	if _, _, err := f.e.Svc.CreateGrant(ctx, f.owner, vault.NewGrant{UserID: walled.ID, MatterID: f.matter.ID, Permissions: []vault.Permission{vault.PermRead}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.e.Svc.AddWall(ctx, f.owner, f.matter.ID, walled.ID); err != nil {
		t.Fatal(err)
	}
	path := "/documents/" + f.doc.ID + "/access"
	a := f.as(t, f.admin)
	status, body, _ := a.get(path)
	if status != 200 {
		t.Fatalf("admin: %d", status)
	}
	for _, want := range []string{
		f.lawyer.Email, "Uploaded the document: holds every permission on it.",
		f.colleague.Email, "Granted read on this document by", "with no expiry",
		walled.Email, "Granted read on the whole matter by", "Walled off this matter by",
		"Can do nothing now", `class="secondary outline revoke"`, `id="share-form"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("access page lacks %q", want)
		}
	}
	if strings.Contains(body, "Secret will") {
		t.Errorf("the access page shows the name to an admin who may not open the document")
	}
	// An admin may give themselves access from it (on the record), and
	// then sees the name.
	status, _, loc := a.post("/documents/"+f.doc.ID+"/shares", url.Values{"email": {f.admin.Email}, "perm": {"read"}, "from": {"access"}})
	if status != 303 || loc != path+"?done=shared" {
		t.Fatalf("admin shares from the access page: %d to %q", status, loc)
	}
	if _, body, _ := a.get(loc); !strings.Contains(body, "Secret will.txt") {
		t.Errorf("an admin with access is not shown the name")
	}
	for _, u := range []*vault.User{f.lawyer, f.auditor} {
		if status, _, _ := f.as(t, u).get(path); status != 403 {
			t.Errorf("%s: %d, want 403", u.Role, status)
		}
	}
	if status, body, _ := f.as(t, f.outsider).get(path); status != 404 || strings.Contains(body, f.lawyer.Email) {
		t.Errorf("other firm: %d, want 404 with nothing of the firm", status)
	}
	if status, _, _ := f.as(t, f.owner).get("/documents/doc_aaaaaaaaaaaaaaaaaaaaaaaaaa/access"); status != 404 {
		t.Errorf("unknown document: %d, want 404", status)
	}
}
