package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"
)

// casevault runs the real binary with args against dataDir and returns
// its stdout, stderr and exit code.
func casevault(t *testing.T, dataDir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary(t), append(args, "--data-dir", dataDir)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &ee):
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	t.Fatalf("casevault %v: %v", args, err)
	return "", "", 0
}

// TestCLI_UserResetPassword is the locked-out firm: its only owner forgot
// the password. The operator resets it from the command line while the
// server runs; the owner's sessions end, the one-time password signs in and
// must be changed first, and the reset is in the firm's audit log as the
// operator's.
func TestCLI_UserResetPassword(t *testing.T) {
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
	login := func(password string, status int) *client {
		t.Helper()
		c := newClient(srv.URL)
		var resp struct {
			Token string `json:"token"`
		}
		c.json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "owner@maple.example", "password": password}, status, &resp)
		c.token = resp.Token
		return c
	}
	old := login(firm.OwnerPassword, http.StatusOK)

	// Usage errors name what is missing and exit 2, before touching data.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--email", "owner@maple.example"}, "--tenant"},
		{[]string{"--tenant", firm.TenantID}, "--user or --email"},
		{[]string{"--tenant", firm.TenantID, "--user", firm.OwnerID, "--email", "owner@maple.example"}, "not both"},
		{[]string{"--tenant", firm.TenantID, "--bogus"}, "bogus"},
	} {
		_, stderr, code := casevault(t, dir, append([]string{"user", "reset-password"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("reset-password %v: exit %d, stderr %q; want 2 naming %q", tt.args, code, stderr, tt.want)
		}
	}
	// An email no user of the firm has is an error (exit 1), naming it.
	if _, stderr, code := casevault(t, dir, "user", "reset-password", "--tenant", firm.TenantID, "--email", "nobody@maple.example"); code != 1 || !strings.Contains(stderr, "email") {
		t.Fatalf("unknown email: exit %d, stderr %q", code, stderr)
	}

	out, errOut, code = casevault(t, dir, "user", "reset-password", "--tenant", firm.TenantID, "--email", "Owner@Maple.example", "--json")
	if code != 0 {
		t.Fatalf("reset-password: exit %d\n%s", code, errOut)
	}
	var reset struct {
		UserID   string `json:"user_id"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(out), &reset); err != nil || reset.UserID != firm.OwnerID || reset.Role != "owner" || len(reset.Password) < 12 {
		t.Fatalf("reset-password --json = %q, %v", out, err)
	}
	// The text form prints the password once, too.
	out, _, code = casevault(t, dir, "user", "reset-password", "--tenant", firm.TenantID, "--user", firm.OwnerID)
	_, text, _ := strings.Cut(out, "One-time password: ")
	text, _, _ = strings.Cut(text, "\n")
	if code != 0 || len(text) < 12 {
		t.Fatalf("reset-password = exit %d, %q", code, out)
	}

	old.json(t, "GET", "/api/v1/matters", nil, http.StatusUnauthorized, nil)
	login(firm.OwnerPassword, http.StatusUnauthorized)
	login(reset.Password, http.StatusUnauthorized) // replaced by the second reset
	owner := login(text, http.StatusOK)
	var refusal struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	owner.json(t, "GET", "/api/v1/matters", nil, http.StatusForbidden, &refusal)
	if refusal.Error.Code != "password_change_required" {
		t.Fatalf("before the change: code %q", refusal.Error.Code)
	}
	owner.json(t, "POST", "/api/v1/me/password", map[string]string{"old_password": text, "new_password": "a fresh long passphrase"}, http.StatusNoContent, nil)
	owner.json(t, "GET", "/api/v1/matters", nil, http.StatusOK, nil)

	var page struct {
		Events []struct {
			ActorID  string `json:"actor_id"`
			ObjectID string `json:"object_id"`
			Outcome  string `json:"outcome"`
		} `json:"events"`
	}
	owner.json(t, "GET", "/api/v1/audit/events?action=user.password_reset", nil, http.StatusOK, &page)
	if len(page.Events) != 2 {
		t.Fatalf("user.password_reset events: %+v, want the two resets", page.Events)
	}
	for _, ev := range page.Events {
		if ev.ActorID != "operator" || ev.ObjectID != firm.OwnerID || ev.Outcome != "ok" {
			t.Fatalf("event %+v, want the operator's reset of the owner", ev)
		}
	}
}
