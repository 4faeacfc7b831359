package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// TestWall_WalledOwnerCannotLiftOwnWall replays, over real HTTP, the attack
// that once worked: owner A, walled off a matter by admin B, demotes B,
// creates admin C with a password A knows, signs in as C and removes A's
// wall. It must fail at that step, and every step must be on record.
func TestWall_WalledOwnerCannotLiftOwnWall(t *testing.T) {
	e := newEnv(t)
	a, aUser := e.firm(t, "us")
	b, bUser := e.user(t, aUser.TenantID, vault.RoleAdmin)
	o2, _ := e.user(t, aUser.TenantID, vault.RoleOwner) // independent, for the end
	mid := a.matter(t, "Conflicted Takeover")
	d := a.upload(t, mid, "memo.pdf", "application/pdf", []byte("%PDF memo"))

	b.json(t, "POST", "/api/v1/matters/"+mid+"/walls", map[string]string{"user_id": aUser.ID}, http.StatusCreated, nil)
	resp, body := a.read(t, "GET", "/api/v1/documents/"+d.ID+"/content", nil, nil)
	wantError(t, resp, body, http.StatusForbidden, "forbidden")

	// A demotes the admin who walled them: allowed, and on record.
	a.json(t, "PATCH", "/api/v1/users/"+bUser.ID, map[string]string{"role": "lawyer"}, http.StatusOK, nil)
	// A creates admin C with a password A knows, and signs in as C.
	var cUser vault.User
	a.json(t, "POST", "/api/v1/users", map[string]string{
		"email": "c@sock.example", "role": "admin", "password": "a password A knows well",
	}, http.StatusCreated, &cUser)
	c := e.login(t, "c@sock.example", "a password A knows well")

	// C tries to remove A's wall: refused, saying who could.
	resp, body = c.read(t, "DELETE", "/api/v1/matters/"+mid+"/walls/"+aUser.ID, nil, nil)
	eb := wantError(t, resp, body, http.StatusForbidden, "forbidden")
	if !strings.Contains(eb.Error.Message, "independent") || !strings.Contains(eb.Error.Message, "owner or admin") {
		t.Errorf("refusal message %q does not say a second, independent owner or admin is needed", eb.Error.Message)
	}
	// Nor may C grant itself around the wall, nor A lift it directly.
	resp, body = c.read(t, "POST", "/api/v1/grants", strings.NewReader(`{"user_id":"`+cUser.ID+`","matter_id":"`+mid+`","permissions":["read"]}`),
		http.Header{"Content-Type": {"application/json"}})
	wantError(t, resp, body, http.StatusForbidden, "forbidden")
	resp, body = c.read(t, "GET", "/api/v1/documents/"+d.ID+"/content", nil, nil)
	wantError(t, resp, body, http.StatusForbidden, "forbidden")
	resp, body = a.read(t, "DELETE", "/api/v1/matters/"+mid+"/walls/"+aUser.ID, nil, nil)
	wantError(t, resp, body, http.StatusForbidden, "forbidden")
	resp, body = a.read(t, "GET", "/api/v1/documents/"+d.ID+"/content", nil, nil)
	wantError(t, resp, body, http.StatusForbidden, "forbidden")

	// The walls stand: A's, and the one C inherited from A.
	var walls []vault.Wall
	o2.json(t, "GET", "/api/v1/matters/"+mid+"/walls", nil, http.StatusOK, &walls)
	got := map[string]string{}
	for _, w := range walls {
		got[w.UserID] = w.Via
	}
	if via, ok := got[aUser.ID]; !ok || via != "" || got[cUser.ID] != aUser.ID || len(walls) != 2 {
		t.Fatalf("walls after the attempt: %+v; want A's and C's (via A)", walls)
	}

	// Every step is on record, in order, the refusals included.
	type step struct{ action, actor, outcome, reason string }
	want := []step{
		{vault.ActWallAdd, bUser.ID, "ok", ""},
		{vault.ActAccessDenied, aUser.ID, "denied", ""},
		{vault.ActUserRoleChange, aUser.ID, "ok", ""},
		{vault.ActUserCreate, aUser.ID, "ok", ""},
		{vault.ActWallAdd, aUser.ID, "ok", "inherited"},
		{vault.ActLogin, cUser.ID, "ok", ""},
		{vault.ActWallRemove, cUser.ID, "denied", "actor_walled"},
		{vault.ActAccessDenied, cUser.ID, "denied", ""},
		{vault.ActWallRemove, aUser.ID, "denied", "walled_user"},
		{vault.ActAccessDenied, aUser.ID, "denied", ""},
	}
	var steps []step
	started := false
	for _, ev := range auditEvents(t, o2, "") {
		if ev.Action == vault.ActWallAdd && ev.ActorID == bUser.ID {
			started = true
		}
		if !started || ev.Action == vault.ActAuditRead {
			continue
		}
		steps = append(steps, step{ev.Action, ev.ActorID, ev.Outcome, ev.Details["reason"]})
		switch {
		case ev.Action == vault.ActUserRoleChange && (ev.ObjectID != bUser.ID || ev.Details["role"] != "lawyer"),
			ev.Action == vault.ActUserCreate && (ev.ObjectID != cUser.ID || ev.Details["role"] != "admin"),
			ev.Action == vault.ActWallAdd && ev.ActorID == aUser.ID && (ev.Details["user_id"] != cUser.ID || ev.Details["via"] != aUser.ID),
			ev.Action == vault.ActWallRemove && (ev.Details["user_id"] != aUser.ID || ev.Details["matter_id"] != mid):
			t.Errorf("event %s %s: details %v", ev.Action, ev.ObjectID, ev.Details)
		}
	}
	if len(steps) != len(want) {
		t.Fatalf("audit steps:\n got %v\nwant %v", steps, want)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Errorf("audit step %d = %v, want %v", i, steps[i], want[i])
		}
	}

	// An independent owner, older than the wall, may lift it.
	o2.json(t, "DELETE", "/api/v1/matters/"+mid+"/walls/"+aUser.ID, nil, http.StatusNoContent, nil)
	if resp, body := a.read(t, "GET", "/api/v1/documents/"+d.ID+"/content", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the independent owner lifted the wall: %d %s", resp.StatusCode, body)
	}
}
