package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// patchMatter sends PATCH /api/v1/matters/{id} with body and returns the
// response and its body.
func (c *client) patchMatter(tb testing.TB, id, body string) (*http.Response, []byte) {
	tb.Helper()
	return c.read(tb, "PATCH", "/api/v1/matters/"+id, strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
}

// getMatter reads a matter as owner, wanting 200.
func (c *client) getMatter(tb testing.TB, id string) vault.Matter {
	tb.Helper()
	var m vault.Matter
	c.json(tb, "GET", "/api/v1/matters/"+id, nil, http.StatusOK, &m)
	return m
}

// TestMatter_UpdatePermissions checks, over HTTP, who may rename, close and
// reopen a matter opened by a lawyer, and that a refusal changes nothing.
func TestMatter_UpdatePermissions(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	admin, _ := e.user(t, o.TenantID, vault.RoleAdmin)
	creator, _ := e.user(t, o.TenantID, vault.RoleLawyer)
	lawyer, _ := e.user(t, o.TenantID, vault.RoleLawyer)
	auditor, _ := e.user(t, o.TenantID, vault.RoleAuditor)
	walledAdmin, wa := e.user(t, o.TenantID, vault.RoleAdmin)
	stranger, _ := e.firm(t, "us")

	type want struct{ rename, close, reopen int }
	for _, tt := range []struct {
		name string
		c    *client
		want want
	}{
		{"Owner", owner, want{200, 200, 200}},
		{"Admin", admin, want{200, 200, 200}},
		{"CreatorLawyer", creator, want{200, 200, 403}},
		{"OtherLawyer", lawyer, want{403, 403, 403}},
		{"Auditor", auditor, want{403, 403, 403}},
		{"WalledAdmin", walledAdmin, want{403, 403, 403}},
		{"OtherFirm", stranger, want{404, 404, 404}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mid := creator.matter(t, "Matter for "+tt.name)
			owner.json(t, "POST", "/api/v1/matters/"+mid+"/walls", map[string]string{"user_id": wa.ID}, http.StatusCreated, nil)
			check := func(action, body string, status int, wantName string, wantClosed bool) {
				t.Helper()
				resp, b := tt.c.patchMatter(t, mid, body)
				if resp.StatusCode != status {
					t.Fatalf("%s = %d %s, want %d", action, resp.StatusCode, b, status)
				}
				if status != 200 {
					wantError(t, resp, b, status, map[int]string{403: "forbidden", 404: "not_found"}[status])
				}
				if m := owner.getMatter(t, mid); m.Name != wantName || m.Closed != wantClosed {
					t.Fatalf("after %s: matter %q closed %v, want %q closed %v", action, m.Name, m.Closed, wantName, wantClosed)
				}
			}
			name := "Matter for " + tt.name
			if tt.want.rename == 200 {
				name = "Renamed by " + tt.name
			}
			check("rename", `{"name":"Renamed by `+tt.name+`"}`, tt.want.rename, name, false)
			check("close", `{"closed":true}`, tt.want.close, name, tt.want.close == 200)
			owner.json(t, "PATCH", "/api/v1/matters/"+mid, map[string]bool{"closed": true}, http.StatusOK, nil)
			check("reopen", `{"closed":false}`, tt.want.reopen, name, tt.want.reopen != 200)
		})
	}

	t.Run("Audited", func(t *testing.T) {
		mid := creator.matter(t, "Audited")
		owner.json(t, "PATCH", "/api/v1/matters/"+mid, map[string]any{"name": "Audited 2", "client": "New client", "closed": true}, http.StatusOK, nil)
		owner.json(t, "PATCH", "/api/v1/matters/"+mid, map[string]any{"closed": false}, http.StatusOK, nil)
		// A request that changes nothing records nothing.
		owner.json(t, "PATCH", "/api/v1/matters/"+mid, map[string]any{"name": "Audited 2", "closed": false}, http.StatusOK, nil)
		var got []string
		for _, ev := range auditEvents(t, auditor, "object_type=matter&object_id="+mid) {
			got = append(got, ev.Action)
			if ev.Action == vault.ActMatterRename && (ev.Private["old_name"] != "Audited" || ev.Private["name"] != "Audited 2" ||
				ev.Private["old_client"] != "Client of Audited" || ev.Private["client"] != "New client") {
				t.Errorf("rename event private part = %v", ev.Private)
			}
		}
		want := []string{vault.ActMatterCreate, vault.ActMatterRename, vault.ActMatterClose, vault.ActMatterReopen}
		if mustJSON(t, got) != mustJSON(t, want) {
			t.Errorf("matter events = %v, want %v", got, want)
		}
	})

	t.Run("BadRequests", func(t *testing.T) {
		mid := owner.matter(t, "Bad")
		for _, body := range []string{`{}`, `{"name":""}`, `{"client":"  "}`, `{"closed":"yes"}`, `{"name":"x","other":1}`} {
			resp, b := owner.patchMatter(t, mid, body)
			wantError(t, resp, b, http.StatusBadRequest, "invalid")
		}
		resp, b := owner.patchMatter(t, "mat_nope", `{"name":"x"}`)
		wantError(t, resp, b, http.StatusNotFound, "not_found")
		resp, b = owner.read(t, "GET", "/api/v1/matters?closed=perhaps", nil, nil)
		wantError(t, resp, b, http.StatusBadRequest, "invalid")
	})
}

// TestMatter_Closed checks over HTTP that a closed matter is read-only and
// hidden from the default listing: every change inside it answers 409
// "Matter is closed." and leaves nothing behind, while reads and grants
// keep working, until an owner reopens it.
func TestMatter_Closed(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	lawyer, _ := e.user(t, o.TenantID, vault.RoleLawyer)
	reader, readerU := e.user(t, o.TenantID, vault.RoleLawyer)
	mid := lawyer.matter(t, "Closing")
	open := lawyer.matter(t, "Still open")
	d := lawyer.upload(t, mid, "kept.pdf", "application/pdf", []byte("kept bytes"))
	trashed := lawyer.upload(t, mid, "trashed.pdf", "application/pdf", []byte("t"))
	lawyer.json(t, "DELETE", "/api/v1/documents/"+trashed.ID, nil, http.StatusOK, nil)
	elsewhere := lawyer.upload(t, open, "elsewhere.pdf", "application/pdf", []byte("e"))

	var m vault.Matter
	lawyer.json(t, "PATCH", "/api/v1/matters/"+mid, map[string]bool{"closed": true}, http.StatusOK, &m)
	if !m.Closed || m.ClosedAt == nil || m.Name != "Closing" {
		t.Fatalf("closed matter = %+v", m)
	}

	t.Run("Listing", func(t *testing.T) {
		if ms := lawyer.rows(t, "/api/v1/matters"); ms[mid] != nil || ms[open] == nil {
			t.Errorf("default listing = %v, want the open matter only", ms)
		}
		if ms := lawyer.rows(t, "/api/v1/matters?closed=true"); ms[mid] == nil || ms[mid]["closed"] != true || ms[open]["closed"] != false {
			t.Errorf("listing with closed=true = %v", ms)
		}
		if got := lawyer.getMatter(t, mid); !got.Closed {
			t.Errorf("GET closed matter = %+v", got)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		blobs := e.blobCount(t)
		wantClosed := func(what string, resp *http.Response, b []byte) {
			t.Helper()
			if got := wantError(t, resp, b, http.StatusConflict, "conflict"); got.Error.Message != vault.MsgMatterClosed {
				t.Errorf("%s: message %q, want %q", what, got.Error.Message, vault.MsgMatterClosed)
			}
		}
		resp, b := lawyer.read(t, "POST", "/api/v1/matters/"+mid+"/documents?name=new.pdf", strings.NewReader("new bytes"), http.Header{"Content-Type": {"application/pdf"}})
		wantClosed("raw upload", resp, b)
		body, ctype := multipartBody(t, "new.pdf", "application/pdf", []byte("new bytes"))
		resp, b = lawyer.read(t, "POST", "/api/v1/matters/"+mid+"/documents", body, http.Header{"Content-Type": {ctype}})
		wantClosed("multipart upload", resp, b)
		resp, b = lawyer.read(t, "PUT", "/api/v1/documents/"+d.ID+"/content", strings.NewReader("v2"), nil)
		wantClosed("new version", resp, b)
		resp, b = lawyer.read(t, "PATCH", "/api/v1/documents/"+d.ID, strings.NewReader(`{"name":"renamed.pdf"}`), nil)
		wantClosed("rename", resp, b)
		resp, b = lawyer.read(t, "PATCH", "/api/v1/documents/"+d.ID, strings.NewReader(`{"matter_id":"`+open+`"}`), nil)
		wantClosed("move out", resp, b)
		resp, b = lawyer.read(t, "PATCH", "/api/v1/documents/"+elsewhere.ID, strings.NewReader(`{"matter_id":"`+mid+`"}`), nil)
		wantClosed("move in", resp, b)
		resp, b = lawyer.read(t, "DELETE", "/api/v1/documents/"+d.ID, nil, nil)
		wantClosed("trash", resp, b)
		resp, b = lawyer.read(t, "POST", "/api/v1/documents/"+trashed.ID+"/restore", nil, nil)
		wantClosed("restore", resp, b)
		resp, b = owner.patchMatter(t, mid, `{"name":"Renamed while closed"}`)
		wantError(t, resp, b, http.StatusConflict, "conflict")

		// Nothing was left behind or changed.
		if got := e.blobCount(t); got != blobs {
			t.Errorf("blobs = %d, want %d", got, blobs)
		}
		docs := lawyer.rows(t, "/api/v1/matters/"+mid+"/documents?trashed=true")
		if len(docs) != 2 || docs[d.ID]["name"] != "kept.pdf" || docs[d.ID]["version"] != float64(1) || docs[trashed.ID]["trashed"] != true {
			t.Errorf("closed matter's documents = %v", docs)
		}
		if el := lawyer.rows(t, "/api/v1/matters/"+open+"/documents"); el[elsewhere.ID] == nil {
			t.Errorf("the open matter lost its document: %v", el)
		}
		if got := owner.getMatter(t, mid); got.Name != "Closing" || !got.Closed {
			t.Errorf("matter after refusals = %+v", got)
		}
	})

	t.Run("ReadsAndGrants", func(t *testing.T) {
		if got := body2(t, lawyer, "/api/v1/documents/"+d.ID+"/download"); got != "kept bytes" {
			t.Errorf("download = %q", got)
		}
		lawyer.json(t, "GET", "/api/v1/documents/"+d.ID+"/versions", nil, http.StatusOK, nil)
		lawyer.createGrant(t, map[string]any{"user_id": readerU.ID, "document_id": d.ID, "permissions": []string{"read"}}, http.StatusCreated)
		resp, b := reader.read(t, "GET", "/api/v1/documents/"+d.ID+"/content", nil, nil)
		if resp.StatusCode != http.StatusOK || string(b) != "kept bytes" {
			t.Errorf("view through a grant = %d %q", resp.StatusCode, b)
		}
	})

	t.Run("Reopen", func(t *testing.T) {
		var m vault.Matter
		owner.json(t, "PATCH", "/api/v1/matters/"+mid, map[string]any{"closed": false, "name": "Reopened"}, http.StatusOK, &m)
		if m.Closed || m.ClosedAt != nil || m.Name != "Reopened" {
			t.Fatalf("reopened matter = %+v", m)
		}
		lawyer.upload(t, mid, "after.pdf", "application/pdf", []byte("after"))
		lawyer.json(t, "PATCH", "/api/v1/documents/"+d.ID, map[string]string{"name": "renamed.pdf"}, http.StatusOK, nil)
	})
}

// TestMatter_ClosedDuringUpload closes a matter while an upload into it
// streams: the commit is refused inside the database transaction, and the
// upload leaves no document and no blob.
func TestMatter_ClosedDuringUpload(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	mid := owner.matter(t, "Closing mid-upload")
	blobs := e.blobCount(t)

	pr, pw := io.Pipe()
	type answer struct {
		resp *http.Response
		body []byte
	}
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", owner.base+"/api/v1/matters/"+mid+"/documents?name=slow.bin", pr)
		req.Header.Set("Authorization", "Bearer "+owner.token)
		resp, err := owner.hc.Do(req)
		if err != nil {
			done <- answer{}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- answer{resp, b}
	}()
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	if _, err := pw.Write(chunk); err != nil {
		t.Fatal(err)
	}
	// Wait until the server is streaming: it records the pending blob
	// after every check that comes before the body.
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); ; {
		ps, err := e.DB.PendingBlobs(ctx, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("upload never started streaming")
		}
		time.Sleep(10 * time.Millisecond)
	}
	owner.json(t, "PATCH", "/api/v1/matters/"+mid, map[string]bool{"closed": true}, http.StatusOK, nil)
	pw.Write(chunk)
	pw.Close()

	a := <-done
	if a.resp == nil {
		t.Fatal("upload request failed")
	}
	if got := wantError(t, a.resp, a.body, http.StatusConflict, "conflict"); got.Error.Message != vault.MsgMatterClosed {
		t.Errorf("message = %q", got.Error.Message)
	}
	if got := e.blobCount(t); got != blobs {
		t.Errorf("blobs = %d, want %d", got, blobs)
	}
	if ps, _ := e.DB.PendingBlobs(ctx, time.Now().Add(time.Hour)); len(ps) != 0 {
		t.Errorf("pending blobs left: %v", ps)
	}
	if docs := owner.rows(t, "/api/v1/matters/"+mid+"/documents"); len(docs) != 0 {
		t.Errorf("documents = %v", docs)
	}
}
