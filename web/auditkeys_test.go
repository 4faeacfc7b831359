package web_test

import (
	"net/http"
	"testing"

	"github.com/casevault/casevault/vault"
)

// GET /api/v1/audit/keys lists the keys of the firm's region, to owners,
// admins and auditors only, and the read is on the record.
func TestAudit_Keys(t *testing.T) {
	e := newEnv(t)
	owner, u := e.firm(t, "ca")
	var cp vault.AuditCheckpoint
	owner.json(t, "GET", "/api/v1/audit/checkpoint", nil, http.StatusOK, &cp)
	auditor, _ := e.user(t, u.TenantID, vault.RoleAuditor)
	var got struct {
		Keys []vault.AuditKey `json:"keys"`
	}
	auditor.json(t, "GET", "/api/v1/audit/keys", nil, http.StatusOK, &got)
	if len(got.Keys) != 1 {
		t.Fatalf("keys %+v, want one", got.Keys)
	}
	k := got.Keys[0]
	if k.Region != "ca" || k.VerifierKey != cp.VerifierKey || k.State != vault.AuditKeyCurrent || k.ValidUntil != nil || k.ValidFrom.IsZero() {
		t.Fatalf("key %+v, want ca's current key %q", k, cp.VerifierKey)
	}
	lawyer, _ := e.user(t, u.TenantID, vault.RoleLawyer)
	lawyer.json(t, "GET", "/api/v1/audit/keys", nil, http.StatusForbidden, nil)
	var read bool
	for _, r := range auditEvents(t, owner, "action=audit.read") {
		read = read || r.Details["read"] == "keys"
	}
	if !read {
		t.Error("the read of the keys is not in the audit log")
	}
}
