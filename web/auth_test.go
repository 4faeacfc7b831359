package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

func TestAuth_SetupLoginLogout(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	token, err := e.Svc.IssueSetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	setup := map[string]string{"token": token, "firm_name": "Maple & Pine LLP", "region": "ca",
		"owner_email": "owner@maple.example", "owner_password": "correct horse battery staple"}

	bad := map[string]string{}
	for k, v := range setup {
		bad[k] = v
	}
	bad["token"] = "wrong"
	resp, b := c.read(t, "POST", "/api/v1/setup", jsonReader(t, bad), nil)
	wantError(t, resp, b, 401, "unauthorized")

	var created struct {
		Tenant vault.Tenant `json:"tenant"`
		Owner  vault.User   `json:"owner"`
	}
	c.json(t, "POST", "/api/v1/setup", setup, http.StatusCreated, &created)
	if created.Tenant.Region != "ca" || created.Owner.Email != "owner@maple.example" || created.Owner.Role != vault.RoleOwner {
		t.Fatalf("setup = %+v", created)
	}
	resp, b = c.read(t, "POST", "/api/v1/setup", jsonReader(t, setup), nil)
	wantError(t, resp, b, 401, "unauthorized")

	resp, b = c.read(t, "POST", "/api/v1/auth/login", jsonReader(t, map[string]string{"email": "owner@maple.example", "password": "wrong password!"}), nil)
	wantError(t, resp, b, 401, "unauthorized")
	resp, b = c.read(t, "POST", "/api/v1/auth/login", jsonReader(t, map[string]string{"email": "nobody@maple.example", "password": "wrong password!"}), nil)
	wantError(t, resp, b, 401, "unauthorized")

	var login struct {
		Token     string     `json:"token"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "owner@maple.example", "password": "correct horse battery staple"}, 200, &login)
	if login.Token == "" || login.ExpiresAt == nil {
		t.Fatalf("login = %+v", login)
	}
	c.token = login.Token
	var me vault.User
	c.json(t, "GET", "/api/v1/me", nil, 200, &me)
	if me.ID != created.Owner.ID {
		t.Fatalf("me = %+v", me)
	}
	c.json(t, "POST", "/api/v1/auth/logout", nil, http.StatusNoContent, nil)
	resp, b = c.read(t, "GET", "/api/v1/me", nil, nil)
	wantError(t, resp, b, 401, "unauthorized")
}

func TestAuth_APITokens(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	exp := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	var tok struct {
		Token     string     `json:"token"`
		ID        string     `json:"id"`
		Kind      string     `json:"kind"`
		Name      string     `json:"name"`
		UserID    string     `json:"user_id"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	owner.json(t, "POST", "/api/v1/tokens", map[string]any{"name": "backup script", "expires_at": exp}, http.StatusCreated, &tok)
	if tok.Token == "" || tok.ID == "" || tok.Kind != vault.TokenAPI || tok.Name != "backup script" || tok.UserID != o.ID ||
		tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(exp) {
		t.Fatalf("new token = %+v", tok)
	}
	script := e.client()
	script.token = tok.Token
	script.json(t, "GET", "/api/v1/me", nil, 200, nil)

	var list []map[string]any
	owner.json(t, "GET", "/api/v1/tokens", nil, 200, &list)
	found := false
	for _, l := range list {
		if l["id"] == tok.ID {
			found = true
		}
		if _, ok := l["token"]; ok {
			t.Errorf("token list shows a secret: %v", l)
		}
	}
	if !found {
		t.Fatalf("token list %v lacks %s", list, tok.ID)
	}
	resp, b := owner.read(t, "POST", "/api/v1/tokens", jsonReader(t, map[string]any{"name": "x", "expires_at": "next tuesday"}), nil)
	wantError(t, resp, b, 400, "invalid")

	owner.json(t, "DELETE", "/api/v1/tokens/"+tok.ID, nil, http.StatusNoContent, nil)
	resp, b = script.read(t, "GET", "/api/v1/me", nil, nil)
	wantError(t, resp, b, 401, "unauthorized")
}

func TestUsersAndMatters(t *testing.T) {
	e := newEnv(t)
	owner, o := e.firm(t, "us")
	lawyer, _ := e.user(t, o.TenantID, vault.RoleLawyer)
	auditor, _ := e.user(t, o.TenantID, vault.RoleAuditor)

	var created struct {
		vault.User
		Password string `json:"password"`
	}
	owner.json(t, "POST", "/api/v1/users", map[string]string{"email": "new@example.com", "name": "New Person", "role": "lawyer"}, http.StatusCreated, &created)
	if created.ID == "" || created.Role != vault.RoleLawyer || len(created.Password) < vault.MinPasswordLength {
		t.Fatalf("created = %+v", created)
	}
	newbie := e.login(t, "new@example.com", created.Password)
	newbie.json(t, "POST", "/api/v1/me/password", map[string]string{"old_password": created.Password, "new_password": "a much better passphrase"}, http.StatusNoContent, nil)
	e.login(t, "new@example.com", "a much better passphrase")

	var chosen map[string]any
	owner.json(t, "POST", "/api/v1/users", map[string]string{"email": "chosen@example.com", "role": "auditor", "password": "my own long password"}, http.StatusCreated, &chosen)
	if _, ok := chosen["password"]; ok {
		t.Errorf("a chosen password is echoed: %v", chosen)
	}
	resp, b := lawyer.read(t, "POST", "/api/v1/users", jsonReader(t, map[string]string{"email": "x@example.com", "role": "lawyer"}), nil)
	wantError(t, resp, b, 403, "forbidden")
	resp, b = owner.read(t, "POST", "/api/v1/users", jsonReader(t, map[string]string{"email": "new@example.com", "role": "lawyer"}), nil)
	wantError(t, resp, b, 409, "conflict")

	var users []vault.User
	owner.json(t, "GET", "/api/v1/users", nil, 200, &users)
	if len(users) != 5 {
		t.Fatalf("%d users", len(users))
	}
	var got vault.User
	owner.json(t, "GET", "/api/v1/users/"+created.ID, nil, 200, &got)
	owner.json(t, "PATCH", "/api/v1/users/"+created.ID, map[string]any{"role": "admin", "name": "Renamed"}, 200, &got)
	if got.Role != vault.RoleAdmin || got.Name != "Renamed" {
		t.Fatalf("PATCH = %+v", got)
	}
	owner.json(t, "PATCH", "/api/v1/users/"+created.ID, map[string]any{"disabled": true}, 200, &got)
	if !got.Disabled {
		t.Fatalf("PATCH disabled = %+v", got)
	}
	resp, b = owner.read(t, "PATCH", "/api/v1/users/"+created.ID, jsonReader(t, map[string]any{}), nil)
	wantError(t, resp, b, 400, "invalid")
	resp, b = owner.read(t, "PATCH", "/api/v1/users/"+vault.NewID(vault.PrefixUser), jsonReader(t, map[string]any{"disabled": true}), nil)
	wantError(t, resp, b, 404, "not_found")

	// Matters.
	var m vault.Matter
	lawyer.json(t, "POST", "/api/v1/matters", map[string]string{"name": "Doe v. Roe", "client": "J. Doe"}, http.StatusCreated, &m)
	if m.ID == "" || m.Name != "Doe v. Roe" || m.Client != "J. Doe" {
		t.Fatalf("matter = %+v", m)
	}
	resp, b = auditor.read(t, "POST", "/api/v1/matters", jsonReader(t, map[string]string{"name": "x", "client": "y"}), nil)
	wantError(t, resp, b, 403, "forbidden")
	var ms []vault.Matter
	owner.json(t, "GET", "/api/v1/matters", nil, 200, &ms)
	if len(ms) != 1 || ms[0].ID != m.ID {
		t.Fatalf("matters = %+v", ms)
	}
	owner.json(t, "GET", "/api/v1/matters/"+m.ID, nil, 200, &m)
	var docs []docJSON
	b = owner.json(t, "GET", "/api/v1/matters/"+m.ID+"/documents", nil, 200, &docs)
	if string(b) != "[]\n" {
		t.Errorf("empty list = %q, want []", b)
	}
}
