package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// grantAnswer is a grant as the API returns it: the grant and its status.
type grantAnswer struct {
	vault.Grant
	Status string `json:"status"`
}

// createGrant posts a grant request, wants status, and returns the grant.
func (c *client) createGrant(tb testing.TB, req map[string]any, status int) grantAnswer {
	tb.Helper()
	var g grantAnswer
	c.json(tb, "POST", "/api/v1/grants", req, status, &g)
	return g
}

// grantIDs lists the grants at path and returns their ids in order.
func (c *client) grantIDs(tb testing.TB, path string) []string {
	tb.Helper()
	var gs []grantAnswer
	c.json(tb, "GET", path, nil, http.StatusOK, &gs)
	ids := []string{}
	for _, g := range gs {
		ids = append(ids, g.ID)
	}
	return ids
}

// perms is a list of permissions, for comparisons.
func perms(ps ...vault.Permission) []vault.Permission { return ps }

func TestGrant_CreateListRevoke(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	mid := owner.matter(t, "Estate")
	d := owner.upload(t, mid, "will.pdf", "application/pdf", []byte("%PDF will"))
	lawyer, l := e.user(t, o.TenantID, vault.RoleLawyer)
	_, l2 := e.user(t, o.TenantID, vault.RoleLawyer)

	// Before any grant the lawyer holds nothing.
	resp, b := lawyer.read(t, "GET", "/api/v1/documents/"+d.ID, nil, nil)
	wantError(t, resp, b, 403, "forbidden")

	docGrant := owner.createGrant(t, map[string]any{
		"user_id": l.ID, "document_id": d.ID, "permissions": []string{"download", "read", "read"},
	}, http.StatusCreated)
	if !strings.HasPrefix(docGrant.ID, vault.PrefixGrant+"_") || docGrant.UserID != l.ID || docGrant.DocumentID != d.ID ||
		docGrant.MatterID != "" || !slices.Equal(docGrant.Permissions, perms(vault.PermRead, vault.PermDownload)) ||
		docGrant.CreatedBy != o.ID || docGrant.CreatedAt.IsZero() || docGrant.ExpiresAt != nil ||
		docGrant.RevokedAt != nil || docGrant.Status != vault.GrantActive {
		t.Fatalf("document grant = %+v", docGrant)
	}

	t.Run("SameAgain", func(t *testing.T) {
		for _, ps := range [][]string{{"read", "download"}, {"read"}} {
			again := owner.createGrant(t, map[string]any{"user_id": l.ID, "document_id": d.ID, "permissions": ps}, http.StatusOK)
			if again.ID != docGrant.ID || again.Status != vault.GrantActive {
				t.Errorf("granting %v again = %+v, want the grant %s", ps, again, docGrant.ID)
			}
		}
	})
	t.Run("GranteeSeesPermissions", func(t *testing.T) {
		var got struct {
			docJSON
			Permissions []vault.Permission `json:"permissions"`
		}
		lawyer.json(t, "GET", "/api/v1/documents/"+d.ID, nil, http.StatusOK, &got)
		if !slices.Equal(got.Permissions, perms(vault.PermRead, vault.PermDownload)) || got.ID != d.ID {
			t.Fatalf("lawyer's GET = %+v", got)
		}
		if s := body2(t, lawyer, "/api/v1/documents/"+d.ID+"/download"); s != "%PDF will" {
			t.Fatalf("download = %q", s)
		}
		resp, b := lawyer.read(t, "PATCH", "/api/v1/documents/"+d.ID, jsonReader(t, map[string]string{"name": "x.pdf"}), nil)
		wantError(t, resp, b, 403, "forbidden")
	})

	expires := e.Clock.Now().Add(time.Hour).Truncate(time.Second)
	matterGrant := owner.createGrant(t, map[string]any{
		"user_id": l2.ID, "matter_id": mid, "permissions": []string{"read"}, "expires_at": expires.Format(time.RFC3339),
	}, http.StatusCreated)
	if matterGrant.MatterID != mid || matterGrant.DocumentID != "" || matterGrant.ExpiresAt == nil ||
		!matterGrant.ExpiresAt.Equal(expires) || matterGrant.Status != vault.GrantActive {
		t.Fatalf("matter grant = %+v", matterGrant)
	}

	t.Run("Filters", func(t *testing.T) {
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"", []string{docGrant.ID, matterGrant.ID}},
			{"?document_id=" + d.ID, []string{docGrant.ID}},
			{"?matter_id=" + mid, []string{matterGrant.ID}},
			{"?user_id=" + l.ID, []string{docGrant.ID}},
			{"?user_id=" + l2.ID, []string{matterGrant.ID}},
			{"?user_id=" + o.ID, []string{}},
			{"?user_id=" + l.ID + "&matter_id=" + mid, []string{}},
			{"?status=active", []string{docGrant.ID, matterGrant.ID}},
			{"?status=revoked", []string{}},
			{"?unknown=1", []string{docGrant.ID, matterGrant.ID}},
		} {
			if got := owner.grantIDs(t, "/api/v1/grants"+tt.query); !slices.Equal(got, tt.want) {
				t.Errorf("GET /api/v1/grants%s = %v, want %v", tt.query, got, tt.want)
			}
		}
		// An empty list is [], not null.
		if _, b := owner.read(t, "GET", "/api/v1/grants?status=revoked", nil, nil); string(b) != "[]\n" {
			t.Errorf("empty list = %q", b)
		}
		resp, b := owner.read(t, "GET", "/api/v1/grants?status=pending", nil, nil)
		wantError(t, resp, b, 400, "invalid")
	})

	var reissued string
	t.Run("Revoke", func(t *testing.T) {
		var revoked grantAnswer
		owner.json(t, "DELETE", "/api/v1/grants/"+docGrant.ID, nil, http.StatusOK, &revoked)
		if revoked.ID != docGrant.ID || revoked.Status != vault.GrantRevoked || revoked.RevokedAt == nil || revoked.RevokedBy != o.ID {
			t.Fatalf("revoked = %+v", revoked)
		}
		resp, b := owner.read(t, "DELETE", "/api/v1/grants/"+docGrant.ID, nil, nil)
		wantError(t, resp, b, 409, "conflict")
		resp, b = lawyer.read(t, "GET", "/api/v1/documents/"+d.ID, nil, nil)
		wantError(t, resp, b, 403, "forbidden")
		if got := owner.grantIDs(t, "/api/v1/grants?status=revoked"); !slices.Equal(got, []string{docGrant.ID}) {
			t.Errorf("revoked grants = %v", got)
		}
		// A new grant after a revoked one is a new grant.
		again := owner.createGrant(t, map[string]any{"user_id": l.ID, "document_id": d.ID, "permissions": []string{"read"}}, http.StatusCreated)
		if again.ID == docGrant.ID {
			t.Fatal("a revoked grant came back")
		}
		reissued = again.ID
		owner.json(t, "DELETE", "/api/v1/grants/"+again.ID, nil, http.StatusOK, nil)
	})

	t.Run("Expired", func(t *testing.T) {
		e.Clock.Advance(2 * time.Hour)
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"?status=active", []string{}},
			{"?status=expired", []string{matterGrant.ID}},
			{"?status=revoked", []string{docGrant.ID, reissued}},
			{"?status=expired&user_id=" + l2.ID, []string{matterGrant.ID}},
			{"?status=expired&user_id=" + l.ID, []string{}},
		} {
			if got := owner.grantIDs(t, "/api/v1/grants"+tt.query); !slices.Equal(got, tt.want) {
				t.Errorf("GET /api/v1/grants%s = %v, want %v", tt.query, got, tt.want)
			}
		}
		var gs []grantAnswer
		owner.json(t, "GET", "/api/v1/grants?matter_id="+mid, nil, http.StatusOK, &gs)
		if len(gs) != 1 || gs[0].Status != vault.GrantExpired {
			t.Fatalf("expired matter grant = %+v", gs)
		}
		// An expired grant can still be revoked.
		var revoked grantAnswer
		owner.json(t, "DELETE", "/api/v1/grants/"+matterGrant.ID, nil, http.StatusOK, &revoked)
		if revoked.Status != vault.GrantRevoked {
			t.Fatalf("revoked expired grant = %+v", revoked)
		}
	})
}

func TestGrant_Roles(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	mid := owner.matter(t, "M")
	ownerDoc := owner.upload(t, mid, "owner.txt", "text/plain", []byte("o"))
	lawyer, l := e.user(t, o.TenantID, vault.RoleLawyer)
	colleague, c := e.user(t, o.TenantID, vault.RoleLawyer)
	auditor, a := e.user(t, o.TenantID, vault.RoleAuditor)
	lawyerDoc := lawyer.upload(t, mid, "lawyer.txt", "text/plain", []byte("l"))

	var shared grantAnswer
	t.Run("LawyerSharesOwnUpload", func(t *testing.T) {
		shared = lawyer.createGrant(t, map[string]any{"user_id": c.ID, "document_id": lawyerDoc.ID, "permissions": []string{"read"}}, http.StatusCreated)
		if shared.CreatedBy != l.ID {
			t.Fatalf("grant = %+v", shared)
		}
		if got := body2(t, colleague, "/api/v1/documents/"+lawyerDoc.ID+"/content"); got != "l" {
			t.Fatalf("colleague reads %q", got)
		}
		// Lawyers see the grants they made and those made to them.
		for _, cl := range []*client{lawyer, colleague} {
			if got := cl.grantIDs(t, "/api/v1/grants"); !slices.Equal(got, []string{shared.ID}) {
				t.Errorf("lawyer's grants = %v", got)
			}
		}
	})
	t.Run("LawyerOnOthersDocument", func(t *testing.T) {
		for _, req := range []map[string]any{
			{"user_id": c.ID, "document_id": ownerDoc.ID, "permissions": []string{"read"}},
			{"user_id": c.ID, "matter_id": mid, "permissions": []string{"read"}},
		} {
			resp, b := lawyer.read(t, "POST", "/api/v1/grants", jsonReader(t, req), nil)
			wantError(t, resp, b, 403, "forbidden")
		}
		// The grantee cannot pass the grant on, nor revoke it.
		resp, b := colleague.read(t, "POST", "/api/v1/grants", jsonReader(t, map[string]any{"user_id": o.ID, "document_id": lawyerDoc.ID, "permissions": []string{"read"}}), nil)
		wantError(t, resp, b, 403, "forbidden")
		resp, b = colleague.read(t, "DELETE", "/api/v1/grants/"+shared.ID, nil, nil)
		wantError(t, resp, b, 403, "forbidden")
	})
	t.Run("Auditor", func(t *testing.T) {
		resp, b := auditor.read(t, "POST", "/api/v1/grants", jsonReader(t, map[string]any{"user_id": c.ID, "document_id": ownerDoc.ID, "permissions": []string{"read"}}), nil)
		wantError(t, resp, b, 403, "forbidden")
		resp, b = auditor.read(t, "DELETE", "/api/v1/grants/"+shared.ID, nil, nil)
		wantError(t, resp, b, 403, "forbidden")
		// Auditors may list every grant.
		if got := auditor.grantIDs(t, "/api/v1/grants"); !slices.Equal(got, []string{shared.ID}) {
			t.Errorf("auditor's grants = %v", got)
		}
	})
	t.Run("GrantToAuditor", func(t *testing.T) {
		resp, b := owner.read(t, "POST", "/api/v1/grants", jsonReader(t, map[string]any{"user_id": a.ID, "document_id": ownerDoc.ID, "permissions": []string{"read"}}), nil)
		wantError(t, resp, b, 400, "invalid")
	})
	t.Run("LawyerRevokesOwnGrant", func(t *testing.T) {
		var g grantAnswer
		lawyer.json(t, "DELETE", "/api/v1/grants/"+shared.ID, nil, http.StatusOK, &g)
		if g.Status != vault.GrantRevoked || g.RevokedBy != l.ID {
			t.Fatalf("revoked = %+v", g)
		}
	})
}

func TestGrant_BadRequests(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	mid := owner.matter(t, "M")
	d := owner.upload(t, mid, "a.txt", "text/plain", []byte("a"))
	_, l := e.user(t, o.TenantID, vault.RoleLawyer)
	past := e.Clock.Now().Add(-time.Minute).Format(time.RFC3339)

	for _, tt := range []struct {
		name string
		body string
	}{
		{"UnknownPermission", `{"user_id":"` + l.ID + `","document_id":"` + d.ID + `","permissions":["read","delete"]}`},
		{"NoPermissions", `{"user_id":"` + l.ID + `","document_id":"` + d.ID + `","permissions":[]}`},
		{"MissingPermissions", `{"user_id":"` + l.ID + `","document_id":"` + d.ID + `"}`},
		{"PermissionsNotArray", `{"user_id":"` + l.ID + `","document_id":"` + d.ID + `","permissions":"read"}`},
		{"UnknownField", `{"user_id":"` + l.ID + `","document_id":"` + d.ID + `","permissions":["read"],"role":"admin"}`},
		{"BothObjects", `{"user_id":"` + l.ID + `","document_id":"` + d.ID + `","matter_id":"` + mid + `","permissions":["read"]}`},
		{"NoObject", `{"user_id":"` + l.ID + `","permissions":["read"]}`},
		{"ExpiryInThePast", `{"user_id":"` + l.ID + `","document_id":"` + d.ID + `","permissions":["read"],"expires_at":"` + past + `"}`},
		{"ExpiryNotRFC3339", `{"user_id":"` + l.ID + `","document_id":"` + d.ID + `","permissions":["read"],"expires_at":"tomorrow"}`},
		{"NotJSON", `{"user_id":`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := owner.read(t, "POST", "/api/v1/grants", strings.NewReader(tt.body), http.Header{"Content-Type": {"application/json"}})
			wantError(t, resp, b, 400, "invalid")
		})
	}
	if got := owner.grantIDs(t, "/api/v1/grants"); len(got) != 0 {
		t.Fatalf("bad requests left grants %v", got)
	}
}

func TestWall(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	mid := owner.matter(t, "Walled")
	other := owner.matter(t, "Open")
	lawyer, l := e.user(t, o.TenantID, vault.RoleLawyer)
	auditor, _ := e.user(t, o.TenantID, vault.RoleAuditor)
	own := lawyer.upload(t, mid, "mine.txt", "text/plain", []byte("mine"))
	path := "/api/v1/matters/" + mid + "/walls"

	var w vault.Wall
	owner.json(t, "POST", path, map[string]string{"user_id": l.ID}, http.StatusCreated, &w)
	if w.MatterID != mid || w.UserID != l.ID || w.CreatedBy != o.ID || w.CreatedAt.IsZero() {
		t.Fatalf("wall = %+v", w)
	}
	var again vault.Wall
	owner.json(t, "POST", path, map[string]string{"user_id": l.ID}, http.StatusOK, &again)
	if again != w {
		t.Fatalf("walling again = %+v, want %+v", again, w)
	}
	for _, c := range []*client{owner, auditor} {
		var ws []vault.Wall
		c.json(t, "GET", path, nil, http.StatusOK, &ws)
		if len(ws) != 1 || ws[0] != w {
			t.Fatalf("walls = %+v", ws)
		}
	}
	if _, b := owner.read(t, "GET", "/api/v1/matters/"+other+"/walls", nil, nil); string(b) != "[]\n" {
		t.Errorf("no walls = %q", b)
	}

	t.Run("WalledUser", func(t *testing.T) {
		resp, b := lawyer.read(t, "GET", "/api/v1/matters/"+mid, nil, nil)
		wantError(t, resp, b, 403, "forbidden")
		var ms []vault.Matter
		lawyer.json(t, "GET", "/api/v1/matters", nil, http.StatusOK, &ms)
		if len(ms) != 1 || ms[0].ID != other {
			t.Fatalf("walled lawyer's matters = %+v", ms)
		}
		// The wall wins over being the uploader.
		resp, b = lawyer.read(t, "GET", "/api/v1/documents/"+own.ID, nil, nil)
		wantError(t, resp, b, 403, "forbidden")
		resp, b = lawyer.read(t, "GET", "/api/v1/documents/"+own.ID+"/download", nil, nil)
		wantError(t, resp, b, 403, "forbidden")
	})
	t.Run("NotAdmin", func(t *testing.T) {
		for _, c := range []*client{lawyer, auditor} {
			resp, b := c.read(t, "POST", "/api/v1/matters/"+other+"/walls", jsonReader(t, map[string]string{"user_id": l.ID}), nil)
			wantError(t, resp, b, 403, "forbidden")
			resp, b = c.read(t, "DELETE", path+"/"+l.ID, nil, nil)
			wantError(t, resp, b, 403, "forbidden")
		}
	})
	t.Run("BadRequests", func(t *testing.T) {
		resp, b := owner.read(t, "POST", path, strings.NewReader(`{"user_id":"`+l.ID+`","reason":"x"}`), nil)
		wantError(t, resp, b, 400, "invalid")
		resp, b = owner.read(t, "POST", path, strings.NewReader(`{"user_id":`), nil)
		wantError(t, resp, b, 400, "invalid")
	})

	t.Run("Delete", func(t *testing.T) {
		resp, b := owner.read(t, "DELETE", path+"/"+l.ID, nil, nil)
		if resp.StatusCode != http.StatusNoContent || len(b) != 0 {
			t.Fatalf("DELETE wall = %d %q", resp.StatusCode, b)
		}
		resp, b = owner.read(t, "DELETE", path+"/"+l.ID, nil, nil)
		wantError(t, resp, b, 404, "not_found")
		lawyer.json(t, "GET", "/api/v1/matters/"+mid, nil, http.StatusOK, nil)
		if got := body2(t, lawyer, "/api/v1/documents/"+own.ID+"/download"); got != "mine" {
			t.Fatalf("download after the wall = %q", got)
		}
	})
}

func TestDocument_AccessReport(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	mid := owner.matter(t, "M")
	uploader, u := e.user(t, o.TenantID, vault.RoleLawyer)
	_, reader := e.user(t, o.TenantID, vault.RoleLawyer)
	_, walled := e.user(t, o.TenantID, vault.RoleLawyer)
	d := uploader.upload(t, mid, "brief.pdf", "application/pdf", []byte("%PDF"))

	docGrant := owner.createGrant(t, map[string]any{"user_id": reader.ID, "document_id": d.ID, "permissions": []string{"read"}}, http.StatusCreated)
	matterGrant := owner.createGrant(t, map[string]any{"user_id": walled.ID, "matter_id": mid, "permissions": []string{"read", "download"}}, http.StatusCreated)
	owner.json(t, "POST", "/api/v1/matters/"+mid+"/walls", map[string]string{"user_id": walled.ID}, http.StatusCreated, nil)

	var rep vault.AccessReport
	b := owner.json(t, "GET", "/api/v1/documents/"+d.ID+"/access", nil, http.StatusOK, &rep)
	if rep.DocumentID != d.ID || rep.MatterID != mid || rep.At.IsZero() || len(rep.Users) != 3 {
		t.Fatalf("report = %s", b)
	}
	if bytes.Contains(b, []byte("brief.pdf")) {
		t.Errorf("the report names the document: %s", b)
	}
	byUser := map[string]vault.UserAccess{}
	for _, ua := range rep.Users {
		byUser[ua.UserID] = ua
	}

	up := byUser[u.ID]
	if up.Email != u.Email || up.Role != vault.RoleLawyer || up.BlockedBy != "" ||
		!slices.Equal(up.Permissions, perms(vault.PermRead, vault.PermDownload, vault.PermEdit)) ||
		len(up.Reasons) != 1 || up.Reasons[0].Kind != vault.ReasonUploader {
		t.Errorf("uploader = %+v", up)
	}
	rd := byUser[reader.ID]
	if !slices.Equal(rd.Permissions, perms(vault.PermRead)) || len(rd.Reasons) != 1 ||
		rd.Reasons[0].Kind != vault.ReasonDocumentGrant || rd.Reasons[0].GrantID != docGrant.ID || rd.Reasons[0].GrantedBy != o.ID {
		t.Errorf("document grantee = %+v", rd)
	}
	wl := byUser[walled.ID]
	if len(wl.Permissions) != 0 || wl.BlockedBy != "wall" || wl.Wall == nil || wl.Wall.UserID != walled.ID ||
		len(wl.Reasons) != 1 || wl.Reasons[0].Kind != vault.ReasonMatterGrant || wl.Reasons[0].GrantID != matterGrant.ID ||
		wl.Reasons[0].MatterID != mid || !slices.Equal(wl.Reasons[0].Permissions, perms(vault.PermRead, vault.PermDownload)) {
		t.Errorf("walled matter grantee = %+v", wl)
	}
	// Empty lists are [], not null.
	var raw struct {
		Users []map[string]json.RawMessage `json:"users"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, ua := range raw.Users {
		if string(ua["permissions"]) == "null" {
			t.Errorf("permissions null in %s", b)
		}
	}

	// Only owners and admins may ask, even the uploader may not.
	resp, body := uploader.read(t, "GET", "/api/v1/documents/"+d.ID+"/access", nil, nil)
	wantError(t, resp, body, 403, "forbidden")
}

func TestDocument_GetPermissions(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	mid := owner.matter(t, "M")
	d := owner.upload(t, mid, "a.txt", "text/plain", []byte("a"))

	var raw map[string]json.RawMessage
	b := owner.json(t, "GET", "/api/v1/documents/"+d.ID, nil, http.StatusOK, &raw)
	if got := string(raw["permissions"]); got != `["read","download","edit"]` {
		t.Errorf("permissions = %s", got)
	}
	// Every other field is as before.
	var got docJSON
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(d.CreatedAt) {
		t.Fatalf("created_at = %v, want %v", got.CreatedAt, d.CreatedAt)
	}
	got.CreatedAt = d.CreatedAt
	if got != d {
		t.Errorf("GET = %+v, upload = %+v", got, d)
	}
	for _, key := range []string{"id", "tenant_id", "matter_id", "name", "content_type", "version", "size", "trashed", "created_by", "created_at", "updated_at", "region"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("GET lost %q: %s", key, b)
		}
	}
	// Only GET carries it.
	var patched map[string]json.RawMessage
	owner.json(t, "PATCH", "/api/v1/documents/"+d.ID, map[string]string{"name": "b.txt"}, http.StatusOK, &patched)
	if _, ok := patched["permissions"]; ok {
		t.Errorf("PATCH answers permissions")
	}
}

// TestPermissionRoutes_CrossFirm calls every new route with another firm's
// ids: each answers exactly as for a well-formed id that names nothing.
func TestPermissionRoutes_CrossFirm(t *testing.T) {
	e := newEnv(t)
	victim, v := e.firm(t, "us")
	vMatter := victim.matter(t, "Victim")
	vDoc := victim.upload(t, vMatter, "secret.txt", "text/plain", []byte("secret"))
	_, vLawyer := e.user(t, v.TenantID, vault.RoleLawyer)
	_, vWalled := e.user(t, v.TenantID, vault.RoleLawyer)
	vGrant := victim.createGrant(t, map[string]any{"user_id": vLawyer.ID, "document_id": vDoc.ID, "permissions": []string{"read"}}, http.StatusCreated)
	victim.json(t, "POST", "/api/v1/matters/"+vMatter+"/walls", map[string]string{"user_id": vWalled.ID}, http.StatusCreated, nil)

	rival, r := e.firm(t, "ca")
	rMatter := rival.matter(t, "Rival")
	rDoc := rival.upload(t, rMatter, "r.txt", "text/plain", []byte("r"))
	_, rLawyer := e.user(t, r.TenantID, vault.RoleLawyer)

	missingDoc, missingMatter := vault.NewID(vault.PrefixDocument), vault.NewID(vault.PrefixMatter)
	missingUser, missingGrant := vault.NewID(vault.PrefixUser), vault.NewID(vault.PrefixGrant)
	grantBody := func(userID, key, id string) string {
		return fmt.Sprintf(`{"user_id":%q,%q:%q,"permissions":["read"]}`, userID, key, id)
	}
	wallBody := func(userID string) string { return fmt.Sprintf(`{"user_id":%q}`, userID) }

	for _, tt := range []struct {
		name               string
		method, path, body string // with the other firm's id
		mPath, mBody       string // with a missing id
	}{
		{"CreateGrantDocument", "POST", "/api/v1/grants", grantBody(rLawyer.ID, "document_id", vDoc.ID),
			"/api/v1/grants", grantBody(rLawyer.ID, "document_id", missingDoc)},
		{"CreateGrantMatter", "POST", "/api/v1/grants", grantBody(rLawyer.ID, "matter_id", vMatter),
			"/api/v1/grants", grantBody(rLawyer.ID, "matter_id", missingMatter)},
		{"CreateGrantUser", "POST", "/api/v1/grants", grantBody(vLawyer.ID, "document_id", rDoc.ID),
			"/api/v1/grants", grantBody(missingUser, "document_id", rDoc.ID)},
		{"ListGrantsDocument", "GET", "/api/v1/grants?document_id=" + vDoc.ID, "", "/api/v1/grants?document_id=" + missingDoc, ""},
		{"ListGrantsMatter", "GET", "/api/v1/grants?matter_id=" + vMatter, "", "/api/v1/grants?matter_id=" + missingMatter, ""},
		{"ListGrantsUser", "GET", "/api/v1/grants?user_id=" + vLawyer.ID, "", "/api/v1/grants?user_id=" + missingUser, ""},
		{"RevokeGrant", "DELETE", "/api/v1/grants/" + vGrant.ID, "", "/api/v1/grants/" + missingGrant, ""},
		{"AddWallMatter", "POST", "/api/v1/matters/" + vMatter + "/walls", wallBody(rLawyer.ID),
			"/api/v1/matters/" + missingMatter + "/walls", wallBody(rLawyer.ID)},
		{"AddWallUser", "POST", "/api/v1/matters/" + rMatter + "/walls", wallBody(vLawyer.ID),
			"/api/v1/matters/" + rMatter + "/walls", wallBody(missingUser)},
		{"ListWalls", "GET", "/api/v1/matters/" + vMatter + "/walls", "", "/api/v1/matters/" + missingMatter + "/walls", ""},
		{"DeleteWallMatter", "DELETE", "/api/v1/matters/" + vMatter + "/walls/" + vWalled.ID, "",
			"/api/v1/matters/" + missingMatter + "/walls/" + missingUser, ""},
		{"DeleteWallUser", "DELETE", "/api/v1/matters/" + rMatter + "/walls/" + vWalled.ID, "",
			"/api/v1/matters/" + rMatter + "/walls/" + missingUser, ""},
		{"DocumentAccess", "GET", "/api/v1/documents/" + vDoc.ID + "/access", "", "/api/v1/documents/" + missingDoc + "/access", ""},
		{"DocumentGet", "GET", "/api/v1/documents/" + vDoc.ID, "", "/api/v1/documents/" + missingDoc, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			send := func(path, body string) (*http.Response, []byte) {
				if body == "" {
					return rival.read(t, tt.method, path, nil, nil)
				}
				return rival.read(t, tt.method, path, strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
			}
			respMissing, bMissing := send(tt.mPath, tt.mBody)
			wantError(t, respMissing, bMissing, 404, "not_found")
			resp, b := send(tt.path, tt.body)
			wantError(t, resp, b, 404, "not_found")
			if !bytes.Equal(b, bMissing) {
				t.Errorf("another firm's id answers %s, a missing one %s", b, bMissing)
			}
		})
	}

	// Nothing of the victim's changed.
	if got := victim.grantIDs(t, "/api/v1/grants?status=active"); !slices.Equal(got, []string{vGrant.ID}) {
		t.Errorf("victim's active grants = %v", got)
	}
	var ws []vault.Wall
	victim.json(t, "GET", "/api/v1/matters/"+vMatter+"/walls", nil, http.StatusOK, &ws)
	if len(ws) != 1 || ws[0].UserID != vWalled.ID {
		t.Errorf("victim's walls = %+v", ws)
	}
	if got := rival.grantIDs(t, "/api/v1/grants"); len(got) != 0 {
		t.Errorf("rival's grants = %v", got)
	}
}
