package web_test

import (
	"bytes"
	"encoding/csv"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

const breachMarker = "ZEBRA-BREACH-MARKER-41"

// TestBreach_Permissions: owners and admins write, auditors read, lawyers
// get nothing, another firm's owner gets not_found; every change is
// recorded with the names of the fields it changed, never their contents.
func TestBreach_Permissions(t *testing.T) {
	e := newEnv(t)
	owner, ou := e.firm(t, "us")
	admin, _ := e.user(t, ou.TenantID, vault.RoleAdmin)
	auditor, _ := e.user(t, ou.TenantID, vault.RoleAuditor)
	lawyer, lu := e.user(t, ou.TenantID, vault.RoleLawyer)
	other, _ := e.firm(t, "us")
	matter := owner.matter(t, "Matter of the breach")
	otherMatter := other.matter(t, "Not theirs")

	var b vault.Breach
	owner.json(t, "POST", "/api/v1/breaches", map[string]any{
		"description": "Laptop lost " + breachMarker, "matter_ids": []string{matter}, "user_ids": []string{lu.ID},
		"real_risk_of_significant_harm": true, "risk_assessment": "Assessed " + breachMarker, "alert_id": "alr_0123",
		"regulator_notified_at": "2026-11-30",
	}, http.StatusCreated, &b)
	if b.Status != vault.BreachOpen || !b.RealRisk || len(b.MatterIDs) != 1 || b.RegulatorNotifiedAt == nil || b.ClientsNotifiedAt != nil {
		t.Fatalf("created = %+v", b)
	}
	var upd vault.Breach
	admin.json(t, "PATCH", "/api/v1/breaches/"+b.ID, map[string]any{"status": "closed", "clients_notified_at": "2026-12-01T10:00:00Z"}, http.StatusOK, &upd)
	if upd.Status != vault.BreachClosed || upd.ClientsNotifiedAt == nil || upd.Description != b.Description {
		t.Errorf("updated = %+v", upd)
	}
	auditor.json(t, "GET", "/api/v1/breaches/"+b.ID, nil, http.StatusOK, nil)
	var list breachesJSON
	auditor.json(t, "GET", "/api/v1/breaches", nil, http.StatusOK, &list)
	if len(list.Breaches) != 1 {
		t.Errorf("auditor's list = %d entries, want 1", len(list.Breaches))
	}

	for _, tc := range []struct {
		name   string
		c      *client
		method string
		path   string
		body   string
		status int
		code   string
	}{
		{"AuditorCreates", auditor, "POST", "/api/v1/breaches", `{"description":"x"}`, 403, vault.EFORBIDDEN},
		{"AuditorUpdates", auditor, "PATCH", "/api/v1/breaches/" + b.ID, `{"status":"open"}`, 403, vault.EFORBIDDEN},
		{"LawyerLists", lawyer, "GET", "/api/v1/breaches", "", 403, vault.EFORBIDDEN},
		{"LawyerReads", lawyer, "GET", "/api/v1/breaches/" + b.ID, "", 403, vault.EFORBIDDEN},
		{"LawyerExports", lawyer, "GET", "/api/v1/breaches/export?format=csv", "", 403, vault.EFORBIDDEN},
		{"LawyerCreates", lawyer, "POST", "/api/v1/breaches", `{"description":"x"}`, 403, vault.EFORBIDDEN},
		{"OtherFirmReads", other, "GET", "/api/v1/breaches/" + b.ID, "", 404, vault.ENOTFOUND},
		{"OtherFirmUpdates", other, "PATCH", "/api/v1/breaches/" + b.ID, `{"status":"open"}`, 404, vault.ENOTFOUND},
		{"OtherFirmDeletes", other, "DELETE", "/api/v1/breaches/" + b.ID, "", 404, vault.ENOTFOUND},
		{"ForeignMatter", owner, "POST", "/api/v1/breaches", `{"description":"x","matter_ids":["` + otherMatter + `"]}`, 400, vault.EINVALID},
		{"ForeignUser", owner, "PATCH", "/api/v1/breaches/" + b.ID, `{"user_ids":["usr_nobody"]}`, 400, vault.EINVALID},
		{"NoDescription", admin, "POST", "/api/v1/breaches", `{"status":"open"}`, 400, vault.EINVALID},
		{"BadDate", admin, "PATCH", "/api/v1/breaches/" + b.ID, `{"regulator_notified_at":"yesterday"}`, 400, vault.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body *strings.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			h := http.Header{"Content-Type": {"application/json"}}
			var resp *http.Response
			var rb []byte
			if body != nil {
				resp, rb = tc.c.read(t, tc.method, tc.path, body, h)
			} else {
				resp, rb = tc.c.read(t, tc.method, tc.path, nil, nil)
			}
			wantError(t, resp, rb, tc.status, tc.code)
		})
	}
	var otherList breachesJSON
	other.json(t, "GET", "/api/v1/breaches", nil, http.StatusOK, &otherList)
	if len(otherList.Breaches) != 0 {
		t.Errorf("other firm lists %d entries, want 0", len(otherList.Breaches))
	}

	creates, updates := eventsOf(t, e, ou, vault.ActBreachCreate), eventsOf(t, e, ou, vault.ActBreachUpdate)
	if len(creates) != 1 || len(updates) != 1 {
		t.Fatalf("breach.create, breach.update events = %d, %d, want 1, 1", len(creates), len(updates))
	}
	if got, want := creates[0].Details["fields"], "alert_id,description,matter_ids,real_risk_of_significant_harm,regulator_notified_at,risk_assessment,user_ids"; got != want {
		t.Errorf("breach.create fields = %q, want %q", got, want)
	}
	if got, want := updates[0].Details["fields"], "clients_notified_at,status"; got != want {
		t.Errorf("breach.update fields = %q, want %q", got, want)
	}
	for _, ev := range append(creates, updates...) {
		for k, v := range ev.Details {
			if strings.Contains(v, breachMarker) {
				t.Errorf("%s detail %s carries the description's marker", ev.Action, k)
			}
		}
	}

	// No file under the data directory (databases, WAL, audit log) holds
	// the marker: the description and assessment are sealed.
	err := filepath.WalkDir(e.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(raw, []byte(breachMarker)) {
			t.Errorf("%s holds the marker in the clear", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type breachesJSON struct {
	Breaches []vault.Breach `json:"breaches"`
}

// TestBreach_Retention: an entry cannot be deleted before 24 months (the
// refusal is recorded, code retention); after them it can.
func TestBreach_Retention(t *testing.T) {
	e := newEnv(t)
	owner, ou := e.firm(t, "us")
	var b vault.Breach
	owner.json(t, "POST", "/api/v1/breaches", map[string]any{"description": "Misdirected email"}, http.StatusCreated, &b)

	// Sessions expire meanwhile: an admin signs in afresh each time.
	e.Clock.Advance(23 * 30 * 24 * time.Hour)
	admin, _ := e.user(t, ou.TenantID, vault.RoleAdmin)
	resp, rb := admin.read(t, "DELETE", "/api/v1/breaches/"+b.ID, nil, nil)
	wantError(t, resp, rb, http.StatusConflict, vault.ERETENTION)
	admin.json(t, "GET", "/api/v1/breaches/"+b.ID, nil, http.StatusOK, nil)
	evs := eventsOf(t, e, ou, vault.ActBreachDelete)
	if len(evs) != 1 || evs[0].Outcome != vault.OutcomeDenied || evs[0].Details["error"] != vault.ERETENTION {
		t.Fatalf("breach.delete events = %+v, want one denied with error retention", evs)
	}

	e.Clock.Advance(2 * 31 * 24 * time.Hour)
	admin, _ = e.user(t, ou.TenantID, vault.RoleAdmin)
	resp, rb = admin.read(t, "DELETE", "/api/v1/breaches/"+b.ID, nil, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE after 24 months = %d %s, want 204", resp.StatusCode, rb)
	}
	resp, rb = admin.read(t, "GET", "/api/v1/breaches/"+b.ID, nil, nil)
	wantError(t, resp, rb, http.StatusNotFound, vault.ENOTFOUND)
	if evs := eventsOf(t, e, ou, vault.ActBreachDelete); len(evs) != 2 || evs[1].Outcome != vault.OutcomeOK {
		t.Errorf("breach.delete events = %+v, want the refusal then an ok", evs)
	}
}

// TestBreach_Export: the CSV and the PDF hold every entry; each export is
// recorded.
func TestBreach_Export(t *testing.T) {
	e := newEnv(t)
	owner, ou := e.firm(t, "us")
	auditor, _ := e.user(t, ou.TenantID, vault.RoleAuditor)
	matter := owner.matter(t, "Exported matter")
	var b vault.Breach
	owner.json(t, "POST", "/api/v1/breaches", map[string]any{"description": "Stolen phone, =cmd", "matter_ids": []string{matter},
		"risk_assessment": "Low: encrypted", "individuals_notified_at": "2026-11-02"}, http.StatusCreated, &b)

	resp, body := auditor.read(t, "GET", "/api/v1/breaches/export?format=csv", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("CSV export = %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || strings.Join(rows[0], ",") != strings.Join(audit.BreachCSVHeader, ",") {
		t.Fatalf("CSV = %q, want the header and one row", rows)
	}
	row := map[string]string{}
	for i, h := range rows[0] {
		row[h] = rows[1][i]
	}
	if row["id"] != b.ID || row["description"] != "Stolen phone, =cmd" || row["matter_ids"] != matter ||
		row["risk_assessment"] != "Low: encrypted" || row["individuals_notified_at"] != "2026-11-02T00:00:00Z" ||
		row["real_risk_of_significant_harm"] != "no" || row["regulator_notified_at"] != "" {
		t.Errorf("CSV row = %v", row)
	}

	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftotext (poppler-utils) is required in CI")
		}
		t.Skip("pdftotext not installed (apt-get install poppler-utils)")
	}
	resp, pdf := owner.read(t, "GET", "/api/v1/breaches/export?format=pdf", nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("PDF export = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	path := filepath.Join(t.TempDir(), "breaches.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{"Breach register", "Firm us", b.ID + " (open)", "Stolen phone, =cmd", "Low: encrypted",
		"Affected matters: " + matter, "Real risk of significant harm: no", "Individuals: 2 Nov 2026 00:00 UTC", "Regulator: not notified"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
	evs := eventsOf(t, e, ou, vault.ActBreachExport)
	if len(evs) != 2 || evs[0].Details["format"] != "csv" || evs[1].Details["format"] != "pdf" || evs[1].Details["entries"] != "1" {
		t.Errorf("breach.export events = %+v, want csv then pdf", evs)
	}
}
