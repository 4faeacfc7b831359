package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// resetAnswer is the answer of POST /api/v1/users/{id}/password-reset.
type resetAnswer struct {
	vault.User
	Password string `json:"password"`
}

// TestUser_PasswordReset checks who may reset whose password, over real
// HTTP, and that a reset ends the user's sessions and API tokens and is on
// record.
func TestUser_PasswordReset(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	admin, a := e.user(t, o.TenantID, vault.RoleAdmin)
	lawyer, _ := e.user(t, o.TenantID, vault.RoleLawyer)
	auditor, _ := e.user(t, o.TenantID, vault.RoleAuditor)
	stranger, _ := e.firm(t, "ca")

	for _, tt := range []struct {
		name   string
		actor  *client
		role   vault.Role // of the target
		status int
		code   string
	}{
		{"OwnerResetsLawyer", owner, vault.RoleLawyer, http.StatusOK, ""},
		{"OwnerResetsAdmin", owner, vault.RoleAdmin, http.StatusOK, ""},
		{"OwnerResetsOwner", owner, vault.RoleOwner, http.StatusOK, ""},
		{"AdminResetsLawyer", admin, vault.RoleLawyer, http.StatusOK, ""},
		{"AdminResetsAuditor", admin, vault.RoleAuditor, http.StatusOK, ""},
		{"AdminResetsOwner", admin, vault.RoleOwner, http.StatusForbidden, "forbidden"},
		{"LawyerResetsLawyer", lawyer, vault.RoleLawyer, http.StatusForbidden, "forbidden"},
		{"AuditorResetsLawyer", auditor, vault.RoleLawyer, http.StatusForbidden, "forbidden"},
		{"OtherFirmResetsLawyer", stranger, vault.RoleLawyer, http.StatusNotFound, "not_found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			target, tu := e.user(t, o.TenantID, tt.role)
			var tok struct {
				Token string `json:"token"`
			}
			target.json(t, "POST", "/api/v1/tokens", map[string]string{"name": "script"}, http.StatusCreated, &tok)
			api := e.client()
			api.token = tok.Token

			resp, body := tt.actor.read(t, "POST", "/api/v1/users/"+tu.ID+"/password-reset", nil, nil)
			if tt.code != "" {
				wantError(t, resp, body, tt.status, tt.code)
				target.json(t, "GET", "/api/v1/me", nil, http.StatusOK, nil)
				api.json(t, "GET", "/api/v1/me", nil, http.StatusOK, nil)
				return
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("reset = %d %s", resp.StatusCode, body)
			}
			var got resetAnswer
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if got.ID != tu.ID || !got.MustChangePassword || len(got.Password) < 12 {
				t.Fatalf("reset answer %s", body)
			}
			// Every earlier session and API token of the user has ended.
			for _, c := range []*client{target, api} {
				resp, body := c.read(t, "GET", "/api/v1/me", nil, nil)
				wantError(t, resp, body, http.StatusUnauthorized, "unauthorized")
			}
			// And the reset is on record.
			evs := auditEvents(t, owner, "action="+vault.ActUserReset+"&object_id="+tu.ID+"&object_type=user")
			if len(evs) != 1 || evs[0].Outcome != "ok" || evs[0].ObjectID != tu.ID {
				t.Fatalf("user.password_reset events: %+v", evs)
			}
		})
	}
	// Nobody resets their own password this way, and another firm's user
	// does not exist.
	resp, body := owner.read(t, "POST", "/api/v1/users/"+o.ID+"/password-reset", nil, nil)
	wantError(t, resp, body, http.StatusForbidden, "forbidden")
	resp, body = admin.read(t, "POST", "/api/v1/users/"+a.ID+"/password-reset", nil, nil)
	wantError(t, resp, body, http.StatusForbidden, "forbidden")
	resp, body = owner.read(t, "POST", "/api/v1/users/usr_aaaaaaaaaaaaaaaaaaaaaaaaaa/password-reset", nil, nil)
	wantError(t, resp, body, http.StatusNotFound, "not_found")
}

// TestUser_OneTimePassword checks that a session opened with a one-time
// password may only change it or sign out.
func TestUser_OneTimePassword(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	_, u := e.user(t, o.TenantID, vault.RoleLawyer)
	var got resetAnswer
	owner.json(t, "POST", "/api/v1/users/"+u.ID+"/password-reset", nil, http.StatusOK, &got)

	c := e.login(t, u.Email, got.Password)
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/v1/me", ""},
		{"GET", "/api/v1/matters", ""},
		{"GET", "/api/v1/tokens", ""},
		{"POST", "/api/v1/tokens", `{"name":"script"}`},
		{"POST", "/api/v1/matters", `{"name":"M","client":"C"}`},
		{"GET", "/api/v1/documents/doc_aaaaaaaaaaaaaaaaaaaaaaaaaa", ""},
		{"GET", "/api/v1/audit/events", ""},
	} {
		resp, body := c.read(t, r.method, r.path, strings.NewReader(r.body), http.Header{"Content-Type": {"application/json"}})
		wantError(t, resp, body, http.StatusForbidden, vault.EPASSWORDCHANGE)
	}
	// Sign-out works; so does a second session, which changes the password.
	c.json(t, "POST", "/api/v1/auth/logout", nil, http.StatusNoContent, nil)
	c = e.login(t, u.Email, got.Password)
	c.json(t, "POST", "/api/v1/me/password", map[string]string{"old_password": got.Password, "new_password": "my own long passphrase"}, http.StatusNoContent, nil)
	var me vault.User
	c.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &me)
	if me.MustChangePassword {
		t.Fatal("must_change_password still set after the change")
	}
	c.json(t, "GET", "/api/v1/matters", nil, http.StatusOK, nil)
	e.login(t, u.Email, "my own long passphrase")
	e.client().json(t, "POST", "/api/v1/auth/login", map[string]string{"email": u.Email, "password": got.Password}, http.StatusUnauthorized, nil)
}
