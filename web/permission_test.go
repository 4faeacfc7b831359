package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// The permission matrix of docs/PERMISSIONS.md, as outcomes over HTTP. Each
// cell is one role acting on a document it stands in one relation to.
// "yes" means allowed (2xx, and for list: the document is listed); "no"
// means refused with 403 forbidden (for list: 200 without the document);
// "walled" means 403 for the listing of the matter too; "404" means
// not_found with the body of a nonexistent id.

// mxActions are the matrix's columns, in the order they run: trash last, as
// it changes the document.
var mxActions = []string{"list", "metadata", "view", "download", "grant", "edit", "trash"}

// mxRelations are the matrix's rows within each role.
var mxRelations = []string{"uploader", "document grant", "matter grant", "expired grant", "revoked grant", "walled", "other firm"}

// mxExpect is docs/PERMISSIONS.md's matrix: role → relation → the outcome
// of each action in mxActions order.
var mxExpect = map[vault.Role]map[string]string{
	vault.RoleOwner: {
		"uploader":       "yes yes yes yes yes yes yes",
		"document grant": "yes yes yes yes yes yes yes",
		"matter grant":   "yes yes yes yes yes yes yes",
		"expired grant":  "no  no  no  no  yes no  no",
		"revoked grant":  "no  no  no  no  yes no  no",
		"walled":         "walled no no no no no no",
		"other firm":     "404 404 404 404 404 404 404",
	},
	vault.RoleAdmin: {
		"uploader":       "yes yes yes yes yes yes yes",
		"document grant": "yes yes yes yes yes yes yes",
		"matter grant":   "yes yes yes yes yes yes yes",
		"expired grant":  "no  no  no  no  yes no  no",
		"revoked grant":  "no  no  no  no  yes no  no",
		"walled":         "walled no no no no no no",
		"other firm":     "404 404 404 404 404 404 404",
	},
	vault.RoleLawyer: {
		"uploader":       "yes yes yes yes yes yes yes",
		"document grant": "yes yes yes yes no  yes yes",
		"matter grant":   "yes yes yes yes no  yes yes",
		"expired grant":  "no  no  no  no  no  no  no",
		"revoked grant":  "no  no  no  no  no  no  no",
		"walled":         "walled no no no no no no",
		"other firm":     "404 404 404 404 404 404 404",
	},
	vault.RoleAuditor: {
		"uploader":       "no  no  no  no  no  no  no",
		"document grant": "no  no  no  no  no  no  no",
		"matter grant":   "no  no  no  no  no  no  no",
		"expired grant":  "no  no  no  no  no  no  no",
		"revoked grant":  "no  no  no  no  no  no  no",
		"walled":         "walled no no no no no no",
		"other firm":     "404 404 404 404 404 404 404",
	},
}

// mxCell is one prepared cell: an actor and a document in a matter.
type mxCell struct {
	role     vault.Role
	relation string
	actor    *client
	matterID string
	docID    string
}

func TestPermissions_Matrix(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	firmA, ownerA := e.firm(t, "us")
	_, ownerB := e.firm(t, "ca")
	_ = firmA
	_, uploaderA := e.user(t, ownerA.TenantID, vault.RoleLawyer)  // uploads what actors do not own
	_, colleagueA := e.user(t, ownerA.TenantID, vault.RoleLawyer) // receives the "grant" action's grants
	_, colleagueB := e.user(t, ownerB.TenantID, vault.RoleLawyer) // same, in firm B
	all := []vault.Permission{vault.PermRead, vault.PermDownload, vault.PermEdit}

	// One actor per role in each firm. The auditors start as lawyers so that
	// they can upload and be granted access, the way a lawyer who moves to
	// the compliance team would; their role changes before any action runs.
	roles := []vault.Role{vault.RoleOwner, vault.RoleAdmin, vault.RoleLawyer, vault.RoleAuditor}
	actorsA := map[vault.Role]*vault.User{}
	clientsA := map[vault.Role]*client{}
	clientsB := map[vault.Role]*client{}
	for _, r := range roles {
		setupRole := r
		if r == vault.RoleAuditor {
			setupRole = vault.RoleLawyer
		}
		clientsA[r], actorsA[r] = e.user(t, ownerA.TenantID, setupRole)
		clientsB[r], _ = e.user(t, ownerB.TenantID, r)
	}

	put := func(u *vault.User, matterID string) string {
		t.Helper()
		d, err := e.Svc.PutDocument(ctx, u, vault.NewDocument{MatterID: matterID, Name: "Affidavit.pdf", ContentType: "application/pdf"},
			bytes.NewReader([]byte("sworn statement")), 15)
		if err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	grant := func(ng vault.NewGrant) *vault.Grant {
		t.Helper()
		g, created, err := e.Svc.CreateGrant(ctx, ownerA, ng)
		if err != nil || !created {
			t.Fatalf("CreateGrant(%+v) = %v, created %v", ng, err, created)
		}
		return g
	}

	var cells []*mxCell
	for _, r := range roles {
		for _, rel := range mxRelations {
			u := actorsA[r]
			m, err := e.Svc.CreateMatter(ctx, ownerA, "Matter "+string(r)+" "+rel, "Client")
			if err != nil {
				t.Fatal(err)
			}
			cell := &mxCell{role: r, relation: rel, actor: clientsA[r], matterID: m.ID}
			switch rel {
			case "uploader":
				cell.docID = put(u, m.ID)
			case "document grant":
				cell.docID = put(uploaderA, m.ID)
				grant(vault.NewGrant{UserID: u.ID, DocumentID: cell.docID, Permissions: all})
			case "matter grant":
				cell.docID = put(uploaderA, m.ID)
				grant(vault.NewGrant{UserID: u.ID, MatterID: m.ID, Permissions: all})
			case "expired grant":
				cell.docID = put(uploaderA, m.ID)
				exp := e.Clock.Now().Add(time.Hour)
				grant(vault.NewGrant{UserID: u.ID, DocumentID: cell.docID, Permissions: all, ExpiresAt: &exp})
			case "revoked grant":
				cell.docID = put(uploaderA, m.ID)
				g := grant(vault.NewGrant{UserID: u.ID, DocumentID: cell.docID, Permissions: all})
				if _, err := e.Svc.RevokeGrant(ctx, ownerA, g.ID); err != nil {
					t.Fatal(err)
				}
			case "walled":
				// Uploader and grantee both, and still walled: the wall wins.
				cell.docID = put(u, m.ID)
				grant(vault.NewGrant{UserID: u.ID, MatterID: m.ID, Permissions: all})
				if _, _, err := e.Svc.AddWall(ctx, ownerA, m.ID, u.ID); err != nil {
					t.Fatal(err)
				}
			case "other firm":
				cell.actor = clientsB[r]
				cell.docID = put(uploaderA, m.ID)
				grant(vault.NewGrant{UserID: colleagueA.ID, DocumentID: cell.docID, Permissions: all})
			}
			cells = append(cells, cell)
		}
	}

	auditor := vault.RoleAuditor
	if _, err := e.Svc.UpdateUser(ctx, ownerA, actorsA[vault.RoleAuditor].ID, vault.UserUpdate{Role: &auditor}); err != nil {
		t.Fatal(err)
	}
	// The expired grants lapse on the service's clock, an hour and a
	// minute later; sessions last longer than that.
	e.Clock.Advance(time.Hour + time.Minute)

	for _, cell := range cells {
		want := strings.Fields(mxExpect[cell.role][cell.relation])
		if len(want) != len(mxActions) {
			t.Fatalf("matrix row %s/%s has %d cells", cell.role, cell.relation, len(want))
		}
		grantee := colleagueA.ID
		if cell.relation == "other firm" {
			grantee = colleagueB.ID
		}
		for i, action := range mxActions {
			name := fmt.Sprintf("%s/%s/%s", cell.role, cell.relation, action)
			got := mxDo(t, e, cell, action, grantee)
			if got != want[i] {
				t.Errorf("%s = %s, want %s (docs/PERMISSIONS.md)", name, got, want[i])
			}
		}
	}
}

// mxDo runs one action of a cell and classifies its outcome as the matrix
// spells it.
func mxDo(t *testing.T, e *env, cell *mxCell, action, grantee string) string {
	t.Helper()
	c, id := cell.actor, cell.docID
	var resp *http.Response
	var body []byte
	switch action {
	case "list":
		resp, body = c.read(t, "GET", "/api/v1/matters/"+cell.matterID+"/documents", nil, nil)
		if resp.StatusCode == http.StatusOK {
			var docs []docJSON
			if err := json.Unmarshal(body, &docs); err != nil {
				t.Fatal(err)
			}
			for _, d := range docs {
				if d.ID == id {
					return "yes"
				}
			}
			return "no"
		}
		if resp.StatusCode == http.StatusForbidden {
			wantError(t, resp, body, http.StatusForbidden, "forbidden")
			return "walled"
		}
	case "metadata":
		resp, body = c.read(t, "GET", "/api/v1/documents/"+id, nil, nil)
	case "view":
		resp, body = c.read(t, "GET", "/api/v1/documents/"+id+"/content", nil, nil)
	case "download":
		resp, body = c.read(t, "GET", "/api/v1/documents/"+id+"/download", nil, nil)
		if resp.StatusCode == http.StatusOK && string(body) != "sworn statement" {
			t.Fatalf("download body %q", body)
		}
	case "grant":
		b, _ := json.Marshal(map[string]any{"user_id": grantee, "document_id": id, "permissions": []string{"read"}})
		resp, body = c.read(t, "POST", "/api/v1/grants", bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}})
	case "edit":
		resp, body = c.read(t, "PATCH", "/api/v1/documents/"+id, strings.NewReader(`{"name":"Renamed.pdf"}`), http.Header{"Content-Type": {"application/json"}})
	case "trash":
		resp, body = c.read(t, "DELETE", "/api/v1/documents/"+id, nil, nil)
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return "yes"
	case resp.StatusCode == http.StatusForbidden:
		wantError(t, resp, body, http.StatusForbidden, "forbidden")
		return "no"
	case resp.StatusCode == http.StatusNotFound:
		// Another firm's id must answer exactly like an id that exists
		// nowhere.
		ghost := vault.NewID(vault.PrefixDocument)
		path := strings.Replace(resp.Request.URL.RequestURI(), id, ghost, 1)
		if action == "list" {
			path = strings.Replace(path, cell.matterID, vault.NewID(vault.PrefixMatter), 1)
		}
		var gbody []byte
		var gresp *http.Response
		if action == "grant" {
			b, _ := json.Marshal(map[string]any{"user_id": grantee, "document_id": ghost, "permissions": []string{"read"}})
			gresp, gbody = c.read(t, "POST", path, bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}})
		} else {
			var in *strings.Reader
			if action == "edit" {
				in = strings.NewReader(`{"name":"Renamed.pdf"}`)
			}
			if in != nil {
				gresp, gbody = c.read(t, resp.Request.Method, path, in, http.Header{"Content-Type": {"application/json"}})
			} else {
				gresp, gbody = c.read(t, resp.Request.Method, path, nil, nil)
			}
		}
		if gresp.StatusCode != http.StatusNotFound || !bytes.Equal(body, gbody) {
			t.Errorf("%s %s: other firm's id answers %d %s, a nonexistent id %d %s",
				resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body, gresp.StatusCode, gbody)
		}
		return "404"
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// TestPermissions_Single checks each permission alone, per endpoint.
func TestPermissions_Single(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, owner := e.firm(t, "us")
	up, uploader := e.user(t, owner.TenantID, vault.RoleLawyer)
	mid := up.matter(t, "Estate of Doe")
	for _, p := range []vault.Permission{vault.PermRead, vault.PermDownload, vault.PermEdit} {
		t.Run(string(p), func(t *testing.T) {
			c, u := e.user(t, owner.TenantID, vault.RoleLawyer)
			d, err := e.Svc.PutDocument(ctx, uploader, vault.NewDocument{MatterID: mid, Name: "Will.pdf"}, strings.NewReader("last will"), -1)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.Svc.CreateGrant(ctx, owner, vault.NewGrant{UserID: u.ID, DocumentID: d.ID, Permissions: []vault.Permission{p}}); err != nil {
				t.Fatal(err)
			}
			is := func(q vault.Permission) int {
				if p == q {
					return http.StatusOK
				}
				return http.StatusForbidden
			}
			json := http.Header{"Content-Type": {"application/json"}}
			for _, step := range []struct {
				method, path string
				body         string
				want         int
			}{
				{"GET", "/api/v1/documents/" + d.ID, "", http.StatusOK},
				{"GET", "/api/v1/documents/" + d.ID + "/versions", "", http.StatusOK},
				{"GET", "/api/v1/documents/" + d.ID + "/content", "", is(vault.PermRead)},
				{"GET", "/api/v1/documents/" + d.ID + "/download", "", is(vault.PermDownload)},
				{"PATCH", "/api/v1/documents/" + d.ID, `{"name":"Will (signed).pdf"}`, is(vault.PermEdit)},
				{"PUT", "/api/v1/documents/" + d.ID + "/content", "codicil", is(vault.PermEdit)},
				{"DELETE", "/api/v1/documents/" + d.ID, "", is(vault.PermEdit)},
				{"POST", "/api/v1/documents/" + d.ID + "/restore", "", is(vault.PermEdit)},
			} {
				var body *strings.Reader
				h := json
				if step.body == "" {
					body, h = strings.NewReader(""), nil
				} else {
					body = strings.NewReader(step.body)
				}
				if step.method == "PUT" {
					h = http.Header{"Content-Type": {"application/octet-stream"}}
				}
				resp, b := c.read(t, step.method, step.path, body, h)
				got := resp.StatusCode
				if got == http.StatusCreated {
					got = http.StatusOK
				}
				if got != step.want {
					t.Errorf("%s %s with only %s = %d %s, want %d", step.method, step.path, p, resp.StatusCode, b, step.want)
				}
			}
			resp, b := c.read(t, "GET", "/api/v1/matters/"+mid+"/documents", nil, nil)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), d.ID) {
				t.Errorf("listing with only %s = %d, document listed %v", p, resp.StatusCode, strings.Contains(string(b), d.ID))
			}
		})
	}
}
