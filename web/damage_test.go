package web_test

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// flipSealed damages one sealed cell in the database file behind the
// server's back: it flips a byte in the middle of the ciphertext, so the
// cell no longer authenticates.
func flipSealed(tb testing.TB, e *env, table, column, id string) {
	tb.Helper()
	raw, err := sql.Open("sqlite", filepath.Join(e.Dir, "casevault.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer raw.Close()
	var ct []byte
	if err := raw.QueryRow(`SELECT `+column+` FROM `+table+` WHERE id = ?`, id).Scan(&ct); err != nil {
		tb.Fatalf("read %s.%s of %s: %v", table, column, id, err)
	}
	ct[len(ct)/2] ^= 0x5a
	if _, err := raw.Exec(`UPDATE `+table+` SET `+column+` = ? WHERE id = ?`, ct, id); err != nil {
		tb.Fatal(err)
	}
}

// rows lists path as generic JSON objects, wanting 200.
func (c *client) rows(tb testing.TB, path string) map[string]map[string]any {
	tb.Helper()
	var list []map[string]any
	c.json(tb, "GET", path, nil, http.StatusOK, &list)
	byID := map[string]map[string]any{}
	for _, r := range list {
		byID[r["id"].(string)] = r
	}
	return byID
}

// wantDamaged checks that row is listed as damaged: its id, the error, and
// none of the sealed fields.
func wantDamaged(tb testing.TB, what string, row map[string]any) {
	tb.Helper()
	if row == nil {
		tb.Fatalf("%s: not listed", what)
	}
	if row["error"] != vault.ECANNOTDECRYPT {
		tb.Errorf("%s: error = %v, want %q", what, row["error"], vault.ECANNOTDECRYPT)
	}
	for _, f := range []string{"name", "client"} {
		if _, ok := row[f]; ok {
			tb.Errorf("%s: listed with %s %q", what, f, row[f])
		}
	}
}

// wantHealthy checks that row is listed with its name and no error.
func wantHealthy(tb testing.TB, what string, row map[string]any, name string) {
	tb.Helper()
	if row == nil {
		tb.Fatalf("%s: not listed", what)
	}
	if _, ok := row["error"]; ok || row["name"] != name {
		tb.Errorf("%s: listed as %v, want name %q and no error", what, row, name)
	}
}

// TestDamage_OneBadRow corrupts one sealed matter name and one document name
// in the database file and checks that each damages only its own row:
// every listing answers 200 with the others and marks the damaged ones, a
// walled user sees nothing of it, single reads say what cannot be
// decrypted, it is logged and audited once, and a rename repairs each.
func TestDamage_OneBadRow(t *testing.T) {
	e := newEnv(t)
	owner, ownerU := e.firm(t, "us")
	admin, _ := e.user(t, ownerU.TenantID, vault.RoleAdmin)
	walled, walledU := e.user(t, ownerU.TenantID, vault.RoleLawyer)
	auditor, _ := e.user(t, ownerU.TenantID, vault.RoleAuditor)

	damagedM := owner.matter(t, "Damaged matter")
	healthyM := owner.matter(t, "Healthy matter")
	inDamaged := owner.upload(t, damagedM, "in-damaged-matter.pdf", "application/pdf", []byte("a"))
	bad := owner.upload(t, healthyM, "damaged-name.pdf", "application/pdf", []byte("the bytes are fine"))
	good := owner.upload(t, healthyM, "fine.pdf", "application/pdf", []byte("c"))
	owner.json(t, "POST", "/api/v1/matters/"+damagedM+"/walls", map[string]string{"user_id": walledU.ID}, http.StatusCreated, nil)
	owner.createGrant(t, map[string]any{"user_id": walledU.ID, "matter_id": healthyM, "permissions": []string{"read"}}, http.StatusCreated)

	flipSealed(t, e, "matters", "name", damagedM)
	flipSealed(t, e, "documents", "name", bad.ID)

	t.Run("Listings", func(t *testing.T) {
		for range 3 { // reads repeat; the report does not
			ms := owner.rows(t, "/api/v1/matters")
			wantDamaged(t, "damaged matter", ms[damagedM])
			wantHealthy(t, "healthy matter", ms[healthyM], "Healthy matter")

			docs := owner.rows(t, "/api/v1/matters/"+healthyM+"/documents")
			wantDamaged(t, "damaged document", docs[bad.ID])
			wantHealthy(t, "healthy document", docs[good.ID], "fine.pdf")
			if docs[bad.ID]["matter_id"] != healthyM || docs[bad.ID]["size"] != float64(len("the bytes are fine")) {
				t.Errorf("damaged document lost its other fields: %v", docs[bad.ID])
			}

			// The damaged matter's own documents still list.
			wantHealthy(t, "document of the damaged matter", owner.rows(t, "/api/v1/matters/"+damagedM+"/documents")[inDamaged.ID], "in-damaged-matter.pdf")
		}
		// The trash listing too.
		owner.json(t, "DELETE", "/api/v1/documents/"+bad.ID, nil, http.StatusOK, nil)
		wantDamaged(t, "trashed damaged document", owner.rows(t, "/api/v1/matters/"+healthyM+"/documents?trashed=true")[bad.ID])
		owner.json(t, "POST", "/api/v1/documents/"+bad.ID+"/restore", nil, http.StatusOK, nil)
		// Grants, the access report and the audit listing do not open names
		// of damaged rows and keep answering.
		owner.json(t, "GET", "/api/v1/grants", nil, http.StatusOK, nil)
		owner.json(t, "GET", "/api/v1/documents/"+bad.ID+"/access", nil, http.StatusOK, nil)
		auditor.json(t, "GET", "/api/v1/audit/events", nil, http.StatusOK, nil)
	})

	t.Run("WalledUserUnaffected", func(t *testing.T) {
		ms := walled.rows(t, "/api/v1/matters")
		if len(ms) != 1 {
			t.Fatalf("walled user lists %v, want only the healthy matter", ms)
		}
		wantHealthy(t, "healthy matter", ms[healthyM], "Healthy matter")
		resp, b := walled.read(t, "GET", "/api/v1/matters/"+damagedM, nil, nil)
		wantError(t, resp, b, http.StatusForbidden, "forbidden")
		docs := walled.rows(t, "/api/v1/matters/"+healthyM+"/documents")
		wantHealthy(t, "healthy document", docs[good.ID], "fine.pdf")
	})

	t.Run("SingleReads", func(t *testing.T) {
		resp, b := owner.read(t, "GET", "/api/v1/matters/"+damagedM, nil, nil)
		if got := wantError(t, resp, b, http.StatusInternalServerError, "cannot_decrypt"); got.Error.Message != "Matter name cannot be decrypted." {
			t.Errorf("matter message = %q", got.Error.Message)
		}
		resp, b = owner.read(t, "GET", "/api/v1/documents/"+bad.ID, nil, nil)
		if got := wantError(t, resp, b, http.StatusInternalServerError, "cannot_decrypt"); got.Error.Message != "Document name cannot be decrypted." {
			t.Errorf("document message = %q", got.Error.Message)
		}
		// The bytes are not damaged: they download, under the id.
		resp, b = owner.read(t, "GET", "/api/v1/documents/"+bad.ID+"/download", nil, nil)
		if resp.StatusCode != http.StatusOK || string(b) != "the bytes are fine" ||
			!strings.Contains(resp.Header.Get("Content-Disposition"), `filename="`+bad.ID+`"`) {
			t.Errorf("download of the damaged document = %d %q %q", resp.StatusCode, b, resp.Header.Get("Content-Disposition"))
		}
	})

	t.Run("LoggedAndAuditedOnce", func(t *testing.T) {
		log := e.Log.String()
		for _, id := range []string{damagedM, bad.ID} {
			if n := strings.Count(log, `"object_id":"`+id+`","fields":"name","message":"sealed fields cannot be decrypted"`); n != 1 {
				t.Errorf("damage of %s logged %d times, want once:\n%s", id, n, log)
			}
		}
		for _, name := range []string{"Damaged matter", "Healthy matter", "damaged-name", "fine.pdf", "in-damaged-matter"} {
			if strings.Contains(log, name) {
				t.Errorf("log holds the name %q", name)
			}
		}
		evs := auditEvents(t, auditor, "action="+vault.ActCannotDecrypt)
		got := map[string]int{}
		for _, ev := range evs {
			got[ev.ObjectType+" "+ev.ObjectID]++
			if ev.Outcome != vault.OutcomeError || ev.Details["fields"] != "name" || len(ev.Private) != 0 {
				t.Errorf("damage event = %+v", ev)
			}
		}
		if len(got) != 2 || got["matter "+damagedM] != 1 || got["document "+bad.ID] != 1 {
			t.Errorf("cannot_decrypt events = %v, want one for the matter and one for the document", got)
		}
	})

	t.Run("RenameRepairs", func(t *testing.T) {
		// The repair right is a rename of a damaged document only: not a
		// move, not a healthy document, not for a lawyer without edit.
		resp, b := walled.read(t, "PATCH", "/api/v1/documents/"+bad.ID, strings.NewReader(`{"name":"x.pdf"}`), nil)
		wantError(t, resp, b, http.StatusForbidden, "forbidden")
		resp, b = admin.read(t, "PATCH", "/api/v1/documents/"+bad.ID, strings.NewReader(`{"matter_id":"`+damagedM+`"}`), nil)
		wantError(t, resp, b, http.StatusForbidden, "forbidden")
		resp, b = admin.read(t, "PATCH", "/api/v1/documents/"+good.ID, strings.NewReader(`{"name":"x.pdf"}`), nil)
		wantError(t, resp, b, http.StatusForbidden, "forbidden")

		// An admin who holds nothing on the document renames it.
		var d docJSON
		admin.json(t, "PATCH", "/api/v1/documents/"+bad.ID, map[string]string{"name": "repaired.pdf"}, http.StatusOK, &d)
		if d.Name != "repaired.pdf" {
			t.Errorf("repaired document = %+v", d)
		}
		var m map[string]any
		owner.json(t, "PATCH", "/api/v1/matters/"+damagedM, map[string]string{"name": "Repaired matter"}, http.StatusOK, &m)
		if m["name"] != "Repaired matter" || m["client"] != "Client of Damaged matter" || m["error"] != nil {
			t.Errorf("repaired matter = %v", m)
		}

		ms := owner.rows(t, "/api/v1/matters")
		wantHealthy(t, "repaired matter", ms[damagedM], "Repaired matter")
		wantHealthy(t, "repaired document", owner.rows(t, "/api/v1/matters/"+healthyM+"/documents")[bad.ID], "repaired.pdf")
		var got vault.Matter
		owner.json(t, "GET", "/api/v1/matters/"+damagedM, nil, http.StatusOK, &got)
		owner.json(t, "GET", "/api/v1/documents/"+bad.ID, nil, http.StatusOK, nil)

		var repairs []string
		for _, ev := range auditEvents(t, auditor, "") {
			if ev.Details["repaired"] != "" {
				repairs = append(repairs, ev.Action+" "+ev.ObjectID+" "+ev.Details["repaired"])
				if _, ok := ev.Private["old_name"]; ok {
					t.Errorf("repair event has an old name: %+v", ev)
				}
			}
		}
		want := []string{vault.ActDocumentRename + " " + bad.ID + " name", vault.ActMatterRename + " " + damagedM + " name"}
		if b, _ := json.Marshal(repairs); string(b) != mustJSON(t, want) {
			t.Errorf("repair events = %v, want %v", repairs, want)
		}
	})
}

// mustJSON is v as JSON.
func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
