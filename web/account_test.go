package web_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// comparableHeaders returns h without the headers that differ on every
// answer (its time and request id) or with the length of ids and times.
func comparableHeaders(h http.Header) http.Header {
	out := h.Clone()
	for _, k := range []string{"Date", "X-Request-Id", "Content-Length"} {
		out.Del(k)
	}
	return out
}

// TestAccounts_BelongToTheirFirm is the outside view of issue #10 item 1
// over real HTTP: a firm that adds an email another firm uses gets exactly
// the answer it gets for a fresh one, both firms end up with their own
// account, sign-in reaches the account the password opens (or asks which
// firm, naming only those), and no answer tells either firm about the other.
func TestAccounts_BelongToTheirFirm(t *testing.T) {
	e := newEnv(t)
	ownerA, _ := e.firm(t, "us")
	ownerB, _ := e.firm(t, "ca")
	ownerC, oC := e.firm(t, "us")
	const shared, unused = "shared@x.example", "unused@x.example" // the same length
	const pwA, pwB = "password of firm A", "password of firm B"

	create := func(c *client, email, password string) (*http.Response, map[string]any) {
		t.Helper()
		resp, b := c.read(t, "POST", "/api/v1/users", jsonReader(t, map[string]string{
			"email": email, "name": "Pat", "role": "lawyer", "password": password,
		}), http.Header{"Content-Type": {"application/json"}})
		var body map[string]any
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("POST /users: %s: %v", b, err)
		}
		return resp, body
	}
	respA, userA := create(ownerA, shared, pwA)
	if respA.StatusCode != http.StatusCreated {
		t.Fatalf("firm A creates %s = %d %v", shared, respA.StatusCode, userA)
	}

	t.Run("SameAnswerAsAFreshEmail", func(t *testing.T) {
		respFresh, fresh := create(ownerB, unused, pwB)
		respShared, used := create(ownerB, shared, pwB)
		if respFresh.StatusCode != http.StatusCreated || respShared.StatusCode != http.StatusCreated {
			t.Fatalf("firm B creates a fresh email = %d, one firm A uses = %d %v; want 201 both",
				respFresh.StatusCode, respShared.StatusCode, used)
		}
		if !reflect.DeepEqual(comparableHeaders(respFresh.Header), comparableHeaders(respShared.Header)) {
			t.Errorf("headers differ:\n fresh  %v\n shared %v", respFresh.Header, respShared.Header)
		}
		for _, m := range []map[string]any{fresh, used} {
			if !vault.ValidID(vault.PrefixUser, m["id"].(string)) {
				t.Fatalf("user = %v", m)
			}
			for _, k := range []string{"id", "email", "created_at", "updated_at"} {
				delete(m, k)
			}
		}
		if !reflect.DeepEqual(fresh, used) {
			t.Errorf("bodies differ beyond id, email and times:\n fresh  %v\n shared %v", fresh, used)
		}
	})

	t.Run("EachFirmItsOwnAccount", func(t *testing.T) {
		accounts := map[string]string{} // firm's tenant → id of its account of shared
		for name, c := range map[string]*client{"A": ownerA, "B": ownerB} {
			var users []vault.User
			c.json(t, "GET", "/api/v1/users", nil, http.StatusOK, &users)
			for _, u := range users {
				if u.Email == shared {
					if accounts[u.TenantID] != "" {
						t.Errorf("firm %s lists two accounts of %s", name, shared)
					}
					accounts[u.TenantID] = u.ID
				}
			}
		}
		if len(accounts) != 2 {
			t.Fatalf("accounts of %s by firm = %v, want one in each of two firms", shared, accounts)
		}
		// Firm B asking for A's account, by its id, learns what it learns
		// of a missing one.
		resp, b := ownerB.read(t, "GET", "/api/v1/users/"+userA["id"].(string), nil, nil)
		respMissing, bMissing := ownerB.read(t, "GET", "/api/v1/users/"+vault.NewID(vault.PrefixUser), nil, nil)
		wantError(t, resp, b, http.StatusNotFound, "not_found")
		if string(b) != string(bMissing) || !reflect.DeepEqual(comparableHeaders(resp.Header), comparableHeaders(respMissing.Header)) {
			t.Errorf("another firm's user = %s %v, a missing one = %s %v", b, resp.Header, bMissing, respMissing.Header)
		}
	})

	t.Run("ConflictOnlyWithinTheFirm", func(t *testing.T) {
		resp, body := create(ownerA, strings.ToUpper(shared), pwA)
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("firm A adds %s again = %d %v, want 409", shared, resp.StatusCode, body)
		}
	})

	login := func(in map[string]string) (*http.Response, []byte) {
		t.Helper()
		return e.client().read(t, "POST", "/api/v1/auth/login", jsonReader(t, in), http.Header{"Content-Type": {"application/json"}})
	}
	me := func(b []byte) vault.User {
		t.Helper()
		var tok struct{ Token string }
		if err := json.Unmarshal(b, &tok); err != nil || tok.Token == "" {
			t.Fatalf("login = %s", b)
		}
		c := e.client()
		c.token = tok.Token
		var u vault.User
		c.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &u)
		return u
	}

	t.Run("SignInReachesTheRightAccount", func(t *testing.T) {
		for _, c := range []struct {
			password, firm string
		}{{pwA, userA["tenant_id"].(string)}, {pwB, ""}} {
			resp, b := login(map[string]string{"email": shared, "password": c.password})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("login with %q = %d %s", c.password, resp.StatusCode, b)
			}
			u := me(b)
			if u.Email != shared || (c.firm != "" && u.TenantID != c.firm) || (c.firm == "" && u.TenantID == userA["tenant_id"]) {
				t.Errorf("login with %q reached %+v", c.password, u)
			}
		}
	})

	t.Run("FailuresLookAlike", func(t *testing.T) {
		respWrong, bWrong := login(map[string]string{"email": shared, "password": "not the password"})
		respNone, bNone := login(map[string]string{"email": "nobody@x.example", "password": "not the password"})
		respFirm, bFirm := login(map[string]string{"email": shared, "password": pwA, "tenant_id": oC.TenantID})
		wantError(t, respWrong, bWrong, http.StatusUnauthorized, "unauthorized")
		for name, r := range map[string]struct {
			resp *http.Response
			b    []byte
		}{"UnknownEmail": {respNone, bNone}, "FirmWithoutThatAccount": {respFirm, bFirm}} {
			if string(r.b) != string(bWrong) || !reflect.DeepEqual(comparableHeaders(r.resp.Header), comparableHeaders(respWrong.Header)) {
				t.Errorf("%s = %d %s %v; wrong password = %d %s %v", name, r.resp.StatusCode, r.b, r.resp.Header,
					respWrong.StatusCode, bWrong, respWrong.Header)
			}
		}
	})

	t.Run("ChooseFirmNamesOnlyTheFirmsThePasswordOpens", func(t *testing.T) {
		if resp, body := create(ownerC, shared, pwA); resp.StatusCode != http.StatusCreated {
			t.Fatalf("firm C creates %s = %d %v", shared, resp.StatusCode, body)
		}
		resp, b := login(map[string]string{"email": shared, "password": pwA})
		var answer struct {
			Error struct {
				Code  string             `json:"code"`
				Firms []vault.FirmChoice `json:"firms"`
			} `json:"error"`
		}
		wantError(t, resp, b, http.StatusConflict, "choose_firm")
		if err := json.Unmarshal(b, &answer); err != nil {
			t.Fatal(err)
		}
		firmA, _ := e.Svc.Tenant(context.Background(), userA["tenant_id"].(string))
		firmC, _ := e.Svc.Tenant(context.Background(), oC.TenantID)
		want := []vault.FirmChoice{{TenantID: firmA.ID, Name: firmA.Name}, {TenantID: firmC.ID, Name: firmC.Name}}
		if !reflect.DeepEqual(answer.Error.Firms, want) {
			t.Errorf("firms = %+v, want %+v", answer.Error.Firms, want)
		}
		var b2 vault.User
		ownerB.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &b2)
		if strings.Contains(string(b), b2.TenantID) {
			t.Errorf("choose_firm %s names firm B, whose password differs", b)
		}
		resp, b = login(map[string]string{"email": shared, "password": pwA, "tenant_id": oC.TenantID})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("login to the chosen firm = %d %s", resp.StatusCode, b)
		}
		if u := me(b); u.TenantID != oC.TenantID || u.Email != shared {
			t.Errorf("login to firm C reached %+v", u)
		}
	})
}

// TestAccounts_DamagedUserIsOneBadRow breaks one user's sealed name in the
// database file: the firm's user list still answers, with that row marked
// and its email intact, the user still signs in, and an admin's rename
// repairs it.
func TestAccounts_DamagedUserIsOneBadRow(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.firm(t, "us")
	victimClient, victim := e.user(t, owner.me(t).TenantID, vault.RoleLawyer)
	raw, err := sql.Open("sqlite", filepath.Join(e.Dir, "casevault.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// Someone with the file copies the email's ciphertext over the name.
	if _, err := raw.Exec(`UPDATE users SET name = email WHERE id = ?`, victim.ID); err != nil {
		t.Fatal(err)
	}

	var users []map[string]any
	owner.json(t, "GET", "/api/v1/users", nil, http.StatusOK, &users)
	if len(users) != 2 {
		t.Fatalf("users = %v", users)
	}
	got := users[1]
	if got["id"] != victim.ID || got["error"] != "cannot_decrypt" || got["email"] != victim.Email || got["name"] != nil {
		t.Errorf("damaged user = %v", got)
	}
	if users[0]["error"] != nil {
		t.Errorf("undamaged user = %v", users[0])
	}
	// Still signed in, and its session still works.
	victimClient.json(t, "GET", "/api/v1/me", nil, http.StatusOK, nil)

	var repaired map[string]any
	owner.json(t, "PATCH", "/api/v1/users/"+victim.ID, map[string]string{"name": "Vic Tim"}, http.StatusOK, &repaired)
	if repaired["name"] != "Vic Tim" || repaired["error"] != nil {
		t.Errorf("after rename = %v", repaired)
	}
	owner.json(t, "GET", "/api/v1/users/"+victim.ID, nil, http.StatusOK, &repaired)
	if repaired["name"] != "Vic Tim" || repaired["error"] != nil {
		t.Errorf("read after rename = %v", repaired)
	}
}

// me returns the signed-in user.
func (c *client) me(t *testing.T) vault.User {
	t.Helper()
	var u vault.User
	c.json(t, "GET", "/api/v1/me", nil, http.StatusOK, &u)
	return u
}
