package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

func TestMFA_Enforcement(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	lawyer := newMFAUser(t, e, o.TenantID, vault.RoleLawyer)
	admin := newMFAUser(t, e, o.TenantID, vault.RoleAdmin)

	// The owner must enrol before requiring it of themselves.
	resp, b := owner.read(t, "PUT", "/api/v1/mfa/policy", strings.NewReader(`{"required":"admins"}`), http.Header{"Content-Type": {"application/json"}})
	wantError(t, resp, b, http.StatusConflict, vault.ECONFLICT)
	enrolTOTP(t, e, &mfaUser{client: owner, u: o, email: o.Email})
	owner.json(t, "PUT", "/api/v1/mfa/policy", map[string]string{"required": "admins"}, http.StatusOK, nil)
	evs := auditEvents(t, owner, "action="+vault.ActMFAPolicy)
	if len(evs) != 1 || evs[0].Details["from"] != "off" || evs[0].Details["to"] != "admins" {
		t.Fatalf("mfa.policy events = %+v", evs)
	}

	t.Run("PolicyAppliesToAdminsOnly", func(t *testing.T) {
		lawyer.json(t, "GET", "/api/v1/matters", nil, http.StatusOK, nil)
		resp, b := admin.read(t, "GET", "/api/v1/matters", nil, nil)
		wantError(t, resp, b, http.StatusForbidden, vault.EMFAENROL)
		owner.json(t, "GET", "/api/v1/users", nil, http.StatusOK, nil)
	})
	t.Run("UnenrolledMayReadMeEnrolAndSignOut", func(t *testing.T) {
		var me vault.User
		admin.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &me)
		if !me.MFAEnrolmentRequired {
			t.Errorf("GET /me mfa_enrolment_required = false, want true")
		}
		var st vault.MFAStatus
		admin.json(t, "GET", "/api/v1/me/mfa", nil, http.StatusOK, &st)
		if !st.Required || st.Policy != "admins" || len(st.Factors) != 0 {
			t.Errorf("status = %+v, want required with no factors", st)
		}
		for _, path := range []string{"/api/v1/tokens", "/api/v1/audit/events", "/api/v1/firm/tokens"} {
			resp, b := admin.read(t, "GET", path, nil, nil)
			wantError(t, resp, b, http.StatusForbidden, vault.EMFAENROL)
		}
		// A fresh sign-in still works, so they can enrol.
		c := e.login(t, admin.email, admin.password)
		c.json(t, "POST", "/api/v1/auth/logout", nil, http.StatusNoContent, nil)
	})
	t.Run("EnrolmentLiftsTheRefusal", func(t *testing.T) {
		enrolTOTP(t, e, admin)
		admin.json(t, "GET", "/api/v1/matters", nil, http.StatusOK, nil)
		var me vault.User
		admin.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &me)
		if me.MFAEnrolmentRequired {
			t.Errorf("after enrolment mfa_enrolment_required = true")
		}
	})
	t.Run("EveryoneIncludesLawyers", func(t *testing.T) {
		owner.json(t, "PUT", "/api/v1/mfa/policy", map[string]string{"required": "everyone"}, http.StatusOK, nil)
		resp, b := lawyer.read(t, "GET", "/api/v1/matters", nil, nil)
		wantError(t, resp, b, http.StatusForbidden, vault.EMFAENROL)
	})
	t.Run("APITokensMustExpire", func(t *testing.T) {
		resp, b := admin.read(t, "POST", "/api/v1/tokens", strings.NewReader(`{"name":"ci"}`), http.Header{"Content-Type": {"application/json"}})
		wantError(t, resp, b, http.StatusBadRequest, vault.EINVALID)
		far := e.Clock.Now().Add(91 * 24 * time.Hour).Format(time.RFC3339)
		resp, b = admin.read(t, "POST", "/api/v1/tokens", strings.NewReader(`{"name":"ci","expires_at":"`+far+`"}`), http.Header{"Content-Type": {"application/json"}})
		wantError(t, resp, b, http.StatusBadRequest, vault.EINVALID)
		near := e.Clock.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)
		admin.json(t, "POST", "/api/v1/tokens", map[string]string{"name": "ci", "expires_at": near}, http.StatusCreated, nil)
	})
	t.Run("InvalidPolicy", func(t *testing.T) {
		resp, b := owner.read(t, "PUT", "/api/v1/mfa/policy", strings.NewReader(`{"required":"sometimes"}`), http.Header{"Content-Type": {"application/json"}})
		wantError(t, resp, b, http.StatusBadRequest, vault.EINVALID)
	})
}

// TestMFA_Roles is the role matrix of the MFA routes that act on others.
func TestMFA_Roles(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	other, _ := e.firm(t, "us")
	target := newMFAUser(t, e, o.TenantID, vault.RoleLawyer)
	otherUser := newMFAUser(t, e, mustMe(t, other).TenantID, vault.RoleLawyer)
	var otherTok struct {
		ID string `json:"id"`
	}
	otherUser.json(t, "POST", "/api/v1/tokens", map[string]string{"name": "theirs"}, http.StatusCreated, &otherTok)

	clients := map[vault.Role]*client{vault.RoleOwner: owner}
	for _, r := range []vault.Role{vault.RoleAdmin, vault.RoleLawyer, vault.RoleAuditor} {
		clients[r] = newMFAUser(t, e, o.TenantID, r).client
	}
	for _, tc := range []struct {
		role                          vault.Role
		policyGet, policyPut, oversee int
	}{
		{vault.RoleOwner, 200, 200, 200},
		{vault.RoleAdmin, 200, 403, 200},
		{vault.RoleLawyer, 403, 403, 403},
		{vault.RoleAuditor, 403, 403, 403},
	} {
		t.Run(string(tc.role), func(t *testing.T) {
			c := clients[tc.role]
			status := func(method, path, body string) int {
				h := http.Header{"Content-Type": {"application/json"}}
				var r *strings.Reader
				if body == "" {
					r = strings.NewReader("")
				} else {
					r = strings.NewReader(body)
				}
				resp, _ := c.read(t, method, path, r, h)
				return resp.StatusCode
			}
			if got := status("GET", "/api/v1/mfa/policy", ""); got != tc.policyGet {
				t.Errorf("GET policy = %d, want %d", got, tc.policyGet)
			}
			if got := status("PUT", "/api/v1/mfa/policy", `{"required":"off"}`); got != tc.policyPut {
				t.Errorf("PUT policy = %d, want %d", got, tc.policyPut)
			}
			if got := status("GET", "/api/v1/firm/tokens", ""); got != tc.oversee {
				t.Errorf("GET firm tokens = %d, want %d", got, tc.oversee)
			}
			wantReset, wantRevoke := 204, 204
			if tc.oversee != 200 {
				wantReset, wantRevoke = 403, 403
			}
			var tok struct {
				ID string `json:"id"`
			}
			target.json(t, "POST", "/api/v1/tokens", map[string]string{"name": "script"}, http.StatusCreated, &tok)
			if got := status("DELETE", "/api/v1/firm/tokens/"+tok.ID, ""); got != wantRevoke {
				t.Errorf("DELETE firm token = %d, want %d", got, wantRevoke)
			}
			if got := status("POST", "/api/v1/users/"+target.u.ID+"/mfa-reset", ""); got != wantReset {
				t.Errorf("POST mfa-reset = %d, want %d", got, wantReset)
			}
			if tc.oversee == 200 {
				// Another firm's token and user do not exist here.
				if got := status("DELETE", "/api/v1/firm/tokens/"+otherTok.ID, ""); got != 404 {
					t.Errorf("DELETE other firm's token = %d, want 404", got)
				}
				if got := status("POST", "/api/v1/users/"+otherUser.u.ID+"/mfa-reset", ""); got != 404 {
					t.Errorf("POST other firm's user mfa-reset = %d, want 404", got)
				}
				target = newMFAUser(t, e, o.TenantID, vault.RoleLawyer) // the reset ended its sessions
			}
		})
	}
	// The other firm's token still works: nothing here touched it.
	otherUser.json(t, "GET", "/api/v1/me", nil, http.StatusOK, nil)
	if n := len(auditEvents(t, owner, "action="+vault.ActTokenFirmRevoke)); n != 2 {
		t.Errorf("token.firm_revoke events = %d, want 2", n)
	}
}

// mustMe returns the signed-in user of c.
func mustMe(t *testing.T, c *client) *vault.User {
	t.Helper()
	var me vault.User
	c.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &me)
	return &me
}

func TestMFA_FirmTokensAndReset(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	m := newMFAUser(t, e, o.TenantID, vault.RoleLawyer)
	var tok struct {
		ID string `json:"id"`
	}
	m.json(t, "POST", "/api/v1/tokens", map[string]string{"name": "nightly export"}, http.StatusCreated, &tok)
	var list []vault.Token
	owner.json(t, "GET", "/api/v1/firm/tokens", nil, http.StatusOK, &list)
	if len(list) != 1 || list[0].ID != tok.ID || list[0].UserID != m.u.ID || list[0].Name != "nightly export" {
		t.Fatalf("firm tokens = %+v, want the lawyer's one", list)
	}
	owner.json(t, "DELETE", "/api/v1/firm/tokens/"+tok.ID, nil, http.StatusNoContent, nil)
	owner.json(t, "GET", "/api/v1/firm/tokens", nil, http.StatusOK, &list)
	if len(list) != 0 {
		t.Fatalf("after revoke firm tokens = %+v", list)
	}

	enrolTOTP(t, e, m)
	// Only an owner resets an owner's; nobody their own.
	admin := newMFAUser(t, e, o.TenantID, vault.RoleAdmin)
	resp, b := admin.read(t, "POST", "/api/v1/users/"+o.ID+"/mfa-reset", nil, nil)
	wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
	resp, b = owner.read(t, "POST", "/api/v1/users/"+o.ID+"/mfa-reset", nil, nil)
	wantError(t, resp, b, http.StatusForbidden, vault.EFORBIDDEN)
	owner.json(t, "POST", "/api/v1/users/"+m.u.ID+"/mfa-reset", nil, http.StatusNoContent, nil)
	resp, b = m.read(t, "GET", "/api/v1/me", nil, nil)
	wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
	// The password alone signs in again; they enrol anew.
	e.login(t, m.email, m.password)
	evs := auditEvents(t, owner, "action="+vault.ActMFAReset)
	if len(evs) != 1 || evs[0].ObjectID != m.u.ID || evs[0].ActorID != o.ID {
		t.Fatalf("mfa.reset events = %+v", evs)
	}
}

func TestMFA_DisableAndRegenerate(t *testing.T) {
	e := newEnv(t)
	_, o := e.firm(t, "us")
	m := newMFAUser(t, e, o.TenantID, vault.RoleLawyer)
	enrolTOTP(t, e, m)

	resp, b := m.read(t, "POST", "/api/v1/me/mfa/totp", nil, nil)
	wantError(t, resp, b, http.StatusConflict, vault.ECONFLICT)

	// Wrong codes from a signed-in session are throttled like sign-ins.
	good := totpCode(t, e, m.secret, 0)
	for i := range 6 {
		bad := "00000" + string(rune('0'+i))
		if bad == good {
			bad = "99999" + string(rune('0'+i))
		}
		resp, b := m.read(t, "DELETE", "/api/v1/me/mfa/totp", strings.NewReader(`{"code":"`+bad+`"}`), http.Header{"Content-Type": {"application/json"}})
		if i < 5 {
			wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
		} else {
			wantError(t, resp, b, http.StatusTooManyRequests, vault.ERATELIMITED)
		}
	}
	e.Clock.Advance(time.Hour)

	nextStep(e)
	var rc struct {
		Codes []string `json:"recovery_codes"`
	}
	m.json(t, "POST", "/api/v1/me/mfa/recovery-codes", map[string]string{"code": totpCode(t, e, m.secret, 0)}, http.StatusOK, &rc)
	if len(rc.Codes) != vault.RecoveryCodeCount || rc.Codes[0] == m.recovery[0] {
		t.Fatalf("regenerated codes = %v", rc.Codes)
	}
	// The old codes are gone.
	resp, b = m.read(t, "DELETE", "/api/v1/me/mfa/totp", strings.NewReader(`{"recovery_code":"`+m.recovery[0]+`"}`), http.Header{"Content-Type": {"application/json"}})
	wantError(t, resp, b, http.StatusUnauthorized, vault.EUNAUTHORIZED)
	m.json(t, "DELETE", "/api/v1/me/mfa/totp", map[string]string{"recovery_code": rc.Codes[0]}, http.StatusNoContent, nil)
	// The password alone signs in now.
	e.login(t, m.email, m.password)
}

// TestMFA_SecretsNotInDatabase scans the database files for the TOTP
// secret, the recovery codes and a challenge.
func TestMFA_SecretsNotInDatabase(t *testing.T) {
	e := newEnv(t)
	_, o := e.firm(t, "us")
	m := newMFAUser(t, e, o.TenantID, vault.RoleLawyer)
	enrolTOTP(t, e, m)
	ch := passwordStep(t, e, m)
	markers := []string{m.secret, ch.Challenge}
	for _, c := range m.recovery {
		markers = append(markers, c, strings.ReplaceAll(c, "-", ""))
	}
	for _, db := range []string{"casevault.db", "audit.db"} {
		hits, read := vaulttest.MarkersInDatabase(t, e.Dir+"/"+db, markers...)
		if read == 0 {
			t.Fatalf("%s: nothing read", db)
		}
		if len(hits) > 0 {
			t.Errorf("%s holds %d secrets in plaintext", db, len(hits))
		}
	}
	// The scan can fail: the secret is found where it is written plainly.
	if hits, _ := vaulttest.MarkersInDatabase(t, e.Dir+"/casevault.db", "mfa_totp"); len(hits) == 0 {
		t.Fatal("scan finds nothing, not even a table name")
	}
}
