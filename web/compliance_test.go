package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/casevault/casevault/compliance"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// complianceEnv is a server with the default regions' countries and an
// operator listener.
func complianceEnv(t *testing.T) (*env, *client) {
	t.Helper()
	e := newEnv(t)
	e.Svc.RegionCountries = map[string]string{"us": "US", "ca": "CA"}
	srv := e.server(t, func(s *web.Server) {
		s.Operator = web.OperatorListener{Addr: "127.0.0.1:0", Token: operatorToken, Moves: &fakeOperator{}}
	})
	return e, &client{base: srv.OperatorURL(), token: operatorToken, hc: http.DefaultClient}
}

// eventsOf returns the firm's events with action, read as owner.
func eventsOf(t *testing.T, e *env, owner *vault.User, action string) []*vault.AuditRecord {
	t.Helper()
	evs, _, err := e.Svc.AuditEvents(context.Background(), owner, vault.AuditFilter{})
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	var out []*vault.AuditRecord
	for _, ev := range evs {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

type agreementsJSON struct {
	HIPAA      bool              `json:"hipaa"`
	Agreements []vault.Agreement `json:"agreements"`
}

// TestCompliance_AddonOnlyUS: a ca firm is refused the HIPAA add-on through
// the operator API (nothing changes, the refusal is recorded); a us firm
// gets it, recorded as tenant.addon.
func TestCompliance_AddonOnlyUS(t *testing.T) {
	e, op := complianceEnv(t)
	caOwner, ca := e.firm(t, "ca")
	_, us := e.firm(t, "us")

	resp, b := op.read(t, "POST", "/operator/v1/tenants/"+ca.TenantID+"/addons", strings.NewReader(`{"addon":"hipaa","enabled":true}`), nil)
	er := wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
	if !strings.Contains(er.Error.Message, "US region") {
		t.Errorf("refusal = %q, want it to say the add-on needs a US region", er.Error.Message)
	}
	var got agreementsJSON
	caOwner.json(t, "GET", "/api/v1/compliance/agreements", nil, http.StatusOK, &got)
	if got.HIPAA || len(got.Agreements) != 0 {
		t.Errorf("ca firm after the refusal: %+v, want no add-on and no agreement", got)
	}
	if evs := eventsOf(t, e, ca, vault.ActTenantAddon); len(evs) != 1 || evs[0].Outcome != vault.OutcomeDenied || evs[0].Details["country"] != "CA" {
		t.Errorf("ca firm's tenant.addon events = %+v, want one denied with country CA", evs)
	}

	var st vault.TenantAddonState
	op.json(t, "POST", "/operator/v1/tenants/"+us.TenantID+"/addons", map[string]any{"addon": "hipaa", "enabled": true}, http.StatusOK, &st)
	if !st.HIPAA || !st.Changed || st.Country != "US" {
		t.Errorf("us firm: %+v, want the add-on turned on", st)
	}
	evs := eventsOf(t, e, us, vault.ActTenantAddon)
	if len(evs) != 1 || evs[0].Outcome != vault.OutcomeOK || evs[0].ActorID != vault.ActorOperator || evs[0].Details["enabled"] != "true" {
		t.Errorf("us firm's tenant.addon events = %+v, want one ok by the operator", evs)
	}
}

// TestCompliance_AcceptBAA: a us owner reads the text and accepts it, the
// event carries version, hash, source and user agent; admins, lawyers and
// auditors cannot; another firm's owner sees nothing; a new version makes
// the BAA pending again.
func TestCompliance_AcceptBAA(t *testing.T) {
	e, op := complianceEnv(t)
	owner, ou := e.firm(t, "us")
	op.json(t, "POST", "/operator/v1/tenants/"+ou.TenantID+"/addons", map[string]any{"addon": "hipaa", "enabled": true}, http.StatusOK, nil)

	var pending agreementsJSON
	owner.json(t, "GET", "/api/v1/compliance/agreements?status=pending", nil, http.StatusOK, &pending)
	if !pending.HIPAA || len(pending.Agreements) != 1 || pending.Agreements[0].Version != "v1" || pending.Agreements[0].Status != vault.BAAPending {
		t.Fatalf("pending = %+v, want v1 pending", pending)
	}
	var a vault.Agreement
	owner.json(t, "GET", "/api/v1/compliance/agreements/v1", nil, http.StatusOK, &a)
	shipped, err := compliance.BAA.ReadFile("baa/v1.md")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.Text, string(shipped); got != want {
		t.Fatalf("served text differs from compliance/baa/v1.md (%d bytes, want %d)", len(got), len(want))
	}
	if got, want := a.SHA256, vault.TextSHA256(string(shipped)); got != want {
		t.Fatalf("sha256 = %s, want %s", got, want)
	}

	for _, role := range []vault.Role{vault.RoleAdmin, vault.RoleLawyer, vault.RoleAuditor} {
		c, _ := e.user(t, ou.TenantID, role)
		resp, b := c.read(t, "GET", "/api/v1/compliance/agreements", nil, nil)
		wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
		resp, b = c.read(t, "POST", "/api/v1/compliance/agreements/v1/accept", strings.NewReader(`{"sha256":"`+a.SHA256+`"}`), nil)
		wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
	}
	other, _ := e.firm(t, "us")
	resp, b := other.read(t, "GET", "/api/v1/compliance/agreements/v1", nil, nil)
	wantError(t, resp, b, http.StatusNotFound, vault.ENOTFOUND)

	// A hash that is not the served text's is refused.
	resp, b = owner.read(t, "POST", "/api/v1/compliance/agreements/v1/accept", strings.NewReader(`{"sha256":"`+strings.Repeat("0", 64)+`"}`), nil)
	wantError(t, resp, b, http.StatusConflict, vault.ECONFLICT)

	h := http.Header{"User-Agent": {"BAA-Test-Agent/1.0"}, "Content-Type": {"application/json"}}
	resp, b = owner.read(t, "POST", "/api/v1/compliance/agreements/v1/accept", strings.NewReader(`{"sha256":"`+a.SHA256+`"}`), h)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("accept = %d %s", resp.StatusCode, b)
	}
	evs := eventsOf(t, e, ou, vault.ActBAAAccept)
	if len(evs) != 1 {
		t.Fatalf("baa.accept events = %d, want 1", len(evs))
	}
	ev := evs[0]
	if ev.Details["version"] != "v1" || ev.Details["sha256"] != a.SHA256 || ev.ActorID != ou.ID ||
		ev.UserAgent != "BAA-Test-Agent/1.0" || ev.Source == "" || ev.Time.IsZero() {
		t.Errorf("baa.accept = %+v, want version v1, the text's hash, the owner, the user agent and a source", ev)
	}
	owner.json(t, "GET", "/api/v1/compliance/agreements?status=pending", nil, http.StatusOK, &pending)
	if len(pending.Agreements) != 0 {
		t.Errorf("pending after accepting = %+v, want none", pending.Agreements)
	}

	// A new version ships: the BAA is pending again, v1 stays accepted.
	e.Svc.AgreementTexts = fstest.MapFS{
		"baa/v1.md": {Data: shipped},
		"baa/v2.md": {Data: []byte("# CaseVault Business Associate Agreement — version 2\n\nChanged terms.\n")},
	}
	owner.json(t, "GET", "/api/v1/compliance/agreements?status=pending", nil, http.StatusOK, &pending)
	if len(pending.Agreements) != 1 || pending.Agreements[0].Version != "v2" {
		t.Fatalf("pending after v2 ships = %+v, want v2", pending.Agreements)
	}
	var all agreementsJSON
	owner.json(t, "GET", "/api/v1/compliance/agreements", nil, http.StatusOK, &all)
	if len(all.Agreements) != 2 || all.Agreements[1].Version != "v1" || all.Agreements[1].Status != vault.BAAAccepted {
		t.Errorf("all = %+v, want v2 then v1 accepted", all.Agreements)
	}
	// The old version cannot be accepted any more; the new one can be declined.
	resp, b = owner.read(t, "POST", "/api/v1/compliance/agreements/v1/accept", strings.NewReader(`{"sha256":"`+a.SHA256+`"}`), nil)
	wantError(t, resp, b, http.StatusConflict, vault.ECONFLICT)
	var v2 vault.Agreement
	owner.json(t, "GET", "/api/v1/compliance/agreements/v2", nil, http.StatusOK, &v2)
	owner.json(t, "POST", "/api/v1/compliance/agreements/v2/decline", map[string]string{"sha256": v2.SHA256}, http.StatusOK, &v2)
	if v2.Status != vault.BAADeclined {
		t.Errorf("v2 after decline = %q", v2.Status)
	}
	if evs := eventsOf(t, e, ou, vault.ActBAADecline); len(evs) != 1 || evs[0].Details["version"] != "v2" {
		t.Errorf("baa.decline events = %+v", evs)
	}
}
