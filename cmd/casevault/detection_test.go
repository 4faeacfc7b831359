package main

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestCLI_UserRelease runs the whole server: breach detection is wired
// into its audit log. The firm's only owner (it has no admin) trips a rule
// that contains; nobody in the firm can release them, so the operator
// does, from the command line, and it is recorded as the operator's.
func TestCLI_UserRelease(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := casevault(t, dir, "tenant", "create", "--name", "Maple & Pine LLP", "--region", "ca", "--owner-email", "owner@maple.example", "--json")
	if code != 0 {
		t.Fatalf("tenant create: exit %d\n%s", code, errOut)
	}
	var firm struct {
		TenantID      string `json:"tenant_id"`
		OwnerID       string `json:"owner_id"`
		OwnerPassword string `json:"owner_password"`
	}
	if err := json.Unmarshal([]byte(out), &firm); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, dir, "")
	owner := newClient(srv.URL)
	var login struct {
		Token string `json:"token"`
	}
	owner.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "owner@maple.example", "password": firm.OwnerPassword}, http.StatusOK, &login)
	owner.token = login.Token
	owner.json(t, "PUT", "/api/v1/detection/settings", map[string]any{"rules": map[string]any{
		"session_volume": map[string]any{"enabled": true, "threshold": 1, "contain": true}}}, http.StatusOK, nil)
	var m struct {
		ID string `json:"id"`
	}
	owner.json(t, "POST", "/api/v1/matters", map[string]string{"name": "M", "client": "C"}, http.StatusCreated, &m)
	doc := owner.uploadBytes(t, m.ID, "a.txt", []byte("hello"))
	for range 2 {
		owner.downloadBytes(t, doc.ID)
	}
	var refusal struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	owner.json(t, "GET", "/api/v1/me", nil, http.StatusForbidden, &refusal)
	if refusal.Error.Code != "suspended" {
		t.Fatalf("contained owner: code %q, want suspended", refusal.Error.Code)
	}
	if _, stderr, code := casevault(t, dir, "user", "release", "--tenant", firm.TenantID); code != 2 {
		t.Errorf("release without --user: exit %d %s, want 2", code, stderr)
	}
	if out, stderr, code := casevault(t, dir, "user", "release", "--tenant", firm.TenantID, "--user", firm.OwnerID); code != 0 {
		t.Fatalf("user release: exit %d\n%s%s", code, out, stderr)
	}
	var page struct {
		Events []struct {
			ActorID  string `json:"actor_id"`
			Action   string `json:"action"`
			ObjectID string `json:"object_id"`
		} `json:"events"`
	}
	owner.json(t, "GET", "/api/v1/audit/events?object_id="+firm.OwnerID+"&object_type=user", nil, http.StatusOK, &page)
	var got []string
	for _, ev := range page.Events {
		if ev.Action == "user.contain" || ev.Action == "user.release" {
			got = append(got, ev.Action+" by "+ev.ActorID)
		}
	}
	if len(got) != 2 || got[0] != "user.contain by " || got[1] != "user.release by operator" {
		t.Errorf("containment events = %q, want the contain then the operator's release", got)
	}
	var alerts []struct {
		Rule      string  `json:"rule"`
		Contained bool    `json:"contained"`
		Evidence  []int64 `json:"evidence"`
	}
	owner.json(t, "GET", "/api/v1/alerts", nil, http.StatusOK, &alerts)
	if len(alerts) != 1 || alerts[0].Rule != "session_volume" || !alerts[0].Contained || len(alerts[0].Evidence) != 2 {
		t.Errorf("alerts = %+v", alerts)
	}
}
