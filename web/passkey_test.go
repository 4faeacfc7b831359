package web_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

var pkHeader = http.Header{"Content-Type": {"application/json"}}

func pkBody(t *testing.T, v any) io.Reader { return strings.NewReader(mustJSON(t, v)) }

// storePasskey stores a passkey for u straight in the database, as a
// finished registration would.
func storePasskey(t *testing.T, e *env, u *vault.User, name string) *vault.Passkey {
	t.Helper()
	pk := &vault.Passkey{ID: vault.NewID(vault.PrefixPasskey), TenantID: u.TenantID, UserID: u.ID,
		CredentialID: []byte(vault.NewID("cred")), Credential: []byte(`{}`), Name: name, CreatedAt: time.Now().UTC()}
	if err := e.DB.CreatePasskey(context.Background(), pk); err != nil {
		t.Fatalf("CreatePasskey: %v", err)
	}
	return pk
}

func TestPasskey_Policy(t *testing.T) {
	e := newEnv(t)
	owner, ownerU := e.firm(t, "us")
	on := map[string]bool{"passkey_sign_in": true}
	for _, role := range []vault.Role{vault.RoleAdmin, vault.RoleLawyer, vault.RoleAuditor} {
		t.Run(string(role), func(t *testing.T) {
			c, _ := e.user(t, ownerU.TenantID, role)
			resp, body := c.read(t, "PUT", "/api/v1/passkeys/policy", pkBody(t, on), pkHeader)
			wantError(t, resp, body, http.StatusForbidden, "forbidden")
			var got struct {
				PasskeySignIn bool `json:"passkey_sign_in"`
			}
			c.json(t, "GET", "/api/v1/passkeys/policy", nil, http.StatusOK, &got)
			if got.PasskeySignIn {
				t.Errorf("passkey_sign_in: got true, want false (the default)")
			}
		})
	}
	t.Run("Owner", func(t *testing.T) {
		owner.json(t, "PUT", "/api/v1/passkeys/policy", on, http.StatusOK, nil)
		evs := auditEvents(t, owner, "action="+vault.ActPasskeyPolicy)
		if got, want := len(evs), 1; got != want {
			t.Fatalf("passkey.policy events: got %d, want %d", got, want)
		}
		if got, want := evs[0].Details["passkey_sign_in"], "on"; got != want {
			t.Errorf("detail: got %q, want %q", got, want)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		resp, body := owner.read(t, "PUT", "/api/v1/passkeys/policy", pkBody(t, map[string]string{}), pkHeader)
		wantError(t, resp, body, http.StatusBadRequest, "invalid")
	})
}

func TestPasskey_Delete(t *testing.T) {
	e := newEnv(t)
	owner, ownerU := e.firm(t, "us")
	other, _ := e.firm(t, "us")
	colleague, colleagueU := e.user(t, ownerU.TenantID, vault.RoleAdmin)
	pk := storePasskey(t, e, ownerU, "PKDELMARKER")
	_ = colleagueU

	t.Run("OtherFirm", func(t *testing.T) {
		resp, body := other.read(t, "DELETE", "/api/v1/me/passkeys/"+pk.ID, nil, nil)
		wantError(t, resp, body, http.StatusNotFound, "not_found")
	})
	t.Run("OtherUser", func(t *testing.T) {
		resp, body := colleague.read(t, "DELETE", "/api/v1/me/passkeys/"+pk.ID, nil, nil)
		wantError(t, resp, body, http.StatusNotFound, "not_found")
	})
	t.Run("Own", func(t *testing.T) {
		resp, body := owner.read(t, "DELETE", "/api/v1/me/passkeys/"+pk.ID, nil, nil)
		if got, want := resp.StatusCode, http.StatusNoContent; got != want {
			t.Fatalf("status %d, want %d: %s", got, want, body)
		}
		if got, want := len(auditEvents(t, owner, "action="+vault.ActPasskeyRemove)), 1; got != want {
			t.Errorf("passkey.remove events: got %d, want %d", got, want)
		}
		var list struct {
			Passkeys []vault.Passkey `json:"passkeys"`
		}
		owner.json(t, "GET", "/api/v1/me/passkeys", nil, http.StatusOK, &list)
		if got := len(list.Passkeys); got != 0 {
			t.Errorf("passkeys after delete: got %d, want 0", got)
		}
	})
}

// TestPasskey_NameSealed: a passkey's name is not in the database files.
func TestPasskey_NameSealed(t *testing.T) {
	e := newEnv(t)
	owner, ownerU := e.firm(t, "us")
	const marker = "PASSKEYNAMEMARKER"
	storePasskey(t, e, ownerU, marker+" phone")
	var list struct {
		Passkeys []vault.Passkey `json:"passkeys"`
	}
	owner.json(t, "GET", "/api/v1/me/passkeys", nil, http.StatusOK, &list)
	if len(list.Passkeys) != 1 || list.Passkeys[0].Name != marker+" phone" {
		t.Fatalf("passkeys: got %+v, want the one named %q", list.Passkeys, marker+" phone")
	}
	for _, db := range []string{"/casevault.db", "/audit.db"} {
		hits, read := vaulttest.MarkersInDatabase(t, e.Dir+db, marker)
		if len(hits) > 0 {
			t.Errorf("%s: marker found: %v", db, hits)
		}
		if db == "/casevault.db" && read == 0 {
			t.Errorf("%s: nothing read", db)
		}
	}
}

func TestPasskey_Ceremonies(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	other, _ := e.firm(t, "us")
	var begin vault.PasskeyBegin
	owner.json(t, "POST", "/api/v1/me/passkeys/begin", map[string]any{}, http.StatusOK, &begin)
	if begin.Ceremony == "" {
		t.Fatal("no ceremony")
	}
	// Another firm's user cannot finish the owner's ceremony, and the try
	// spends it.
	resp, body := other.read(t, "POST", "/api/v1/me/passkeys/finish",
		pkBody(t, map[string]any{"ceremony": begin.Ceremony, "name": "x", "credential": map[string]string{}}), pkHeader)
	wantError(t, resp, body, http.StatusUnauthorized, "unauthorized")
	resp, body = owner.read(t, "POST", "/api/v1/me/passkeys/finish",
		pkBody(t, map[string]any{"ceremony": begin.Ceremony, "name": "x", "credential": map[string]string{}}), pkHeader)
	wantError(t, resp, body, http.StatusUnauthorized, "unauthorized")
	// A registration ceremony is not a sign-in ceremony.
	owner.json(t, "POST", "/api/v1/me/passkeys/begin", map[string]any{}, http.StatusOK, &begin)
	resp, body = e.client().read(t, "POST", "/api/v1/auth/passkey/finish",
		pkBody(t, map[string]any{"ceremony": begin.Ceremony, "credential": map[string]string{}}), pkHeader)
	wantError(t, resp, body, http.StatusUnauthorized, "unauthorized")
}

// TestPasskey_DuringEnrolment: a user the firm's MFA policy sends to
// enrolment may start registering a passkey, and nothing else.
func TestPasskey_DuringEnrolment(t *testing.T) {
	e := newEnv(t)
	owner, ownerU := e.firm(t, "us")
	lawyer, _ := e.user(t, ownerU.TenantID, vault.RoleLawyer)
	storePasskey(t, e, ownerU, "owner key") // a passkey is a factor: the owner may require one
	owner.json(t, "PUT", "/api/v1/mfa/policy", map[string]string{"required": vault.MFAPolicyEveryone}, http.StatusOK, nil)
	resp, body := lawyer.read(t, "GET", "/api/v1/matters", nil, nil)
	wantError(t, resp, body, http.StatusForbidden, vault.EMFAENROL)
	var begin vault.PasskeyBegin
	lawyer.json(t, "POST", "/api/v1/me/passkeys/begin", map[string]any{}, http.StatusOK, &begin)
	if begin.Ceremony == "" {
		t.Error("no ceremony")
	}
}

// TestPasskey_Reset: an admin's MFA reset of a locked-out user removes
// their passkeys too, so their next sign-in needs only the password.
func TestPasskey_Reset(t *testing.T) {
	e := newEnv(t)
	owner, ownerU := e.firm(t, "us")
	email := vault.NewID("u")[2:14] + "@example.com"
	u, pw, err := e.Svc.AddUser(context.Background(), ownerU.TenantID, vault.NewUser{Email: email, Role: vault.RoleLawyer})
	if err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	storePasskey(t, e, u, "lost key")
	var ch struct {
		MFARequired bool `json:"mfa_required"`
	}
	e.client().json(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": pw}, http.StatusOK, &ch)
	if !ch.MFARequired {
		t.Fatal("a user with a passkey signed in with the password alone")
	}
	resp, body := owner.read(t, "POST", "/api/v1/users/"+u.ID+"/mfa-reset", nil, nil)
	if got, want := resp.StatusCode, http.StatusNoContent; got != want {
		t.Fatalf("mfa-reset: status %d, want %d: %s", got, want, body)
	}
	pks, err := e.DB.Passkeys(context.Background(), u.TenantID, u.ID)
	if err != nil || len(pks) != 0 {
		t.Errorf("passkeys after reset: %d, %v; want none", len(pks), err)
	}
	e.login(t, email, pw) // the password alone, again
}

// TestPasskey_UserHandle: what a registration hands the authenticator to
// keep names the user by id: the user handle is the user id's bytes, and
// the options carry no email (the README's claim).
func TestPasskey_UserHandle(t *testing.T) {
	e := newEnv(t)
	_, ownerU := e.firm(t, "us")
	lawyer, u := e.user(t, ownerU.TenantID, vault.RoleLawyer)
	var begin struct {
		Options struct {
			PublicKey struct {
				User struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"user"`
			} `json:"publicKey"`
		} `json:"options"`
	}
	raw := lawyer.json(t, "POST", "/api/v1/me/passkeys/begin", map[string]any{}, http.StatusOK, &begin)
	handle, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(begin.Options.PublicKey.User.ID, "="))
	if err != nil {
		t.Fatalf("user handle %q: %v", begin.Options.PublicKey.User.ID, err)
	}
	if got, want := string(handle), u.ID; got != want {
		t.Errorf("user handle %q, want the user id %q", got, want)
	}
	if strings.Contains(strings.ToLower(string(raw)), strings.ToLower(u.Email)) {
		t.Errorf("registration options carry the email %s: %s", u.Email, raw)
	}
}
