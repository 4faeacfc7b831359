package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TestCLI_UserResetMFA is the firm whose only owner lost their
// authenticator app and recovery codes: the password alone no longer signs
// in. The operator resets the owner's second factor from the command line
// while the server runs; the password signs in again, the owner's
// sessions are ended, and the reset is in the firm's audit log as the
// operator's mfa.reset.
func TestCLI_UserResetMFA(t *testing.T) {
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
	type loginAnswer struct {
		Token       string `json:"token"`
		MFARequired bool   `json:"mfa_required"`
	}
	login := func() loginAnswer {
		t.Helper()
		var a loginAnswer
		newClient(srv.URL).json(t, "POST", "/api/v1/auth/login", map[string]string{"email": "owner@maple.example", "password": firm.OwnerPassword}, http.StatusOK, &a)
		return a
	}
	owner := newClient(srv.URL)
	owner.token = login().Token
	var en struct {
		Secret string `json:"secret"`
	}
	owner.json(t, "POST", "/api/v1/me/mfa/totp", nil, http.StatusCreated, &en)
	code6, err := totp.GenerateCodeCustom(en.Secret, time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	owner.json(t, "POST", "/api/v1/me/mfa/totp/confirm", map[string]string{"code": code6}, http.StatusOK, nil)
	if a := login(); !a.MFARequired || a.Token != "" {
		t.Fatalf("after enrolment login = %+v, want a challenge", a)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--user", firm.OwnerID}, "--tenant"},
		{[]string{"--tenant", firm.TenantID}, "--user or --email"},
		{[]string{"--tenant", firm.TenantID, "--user", firm.OwnerID, "--email", "owner@maple.example"}, "not both"},
	} {
		_, stderr, code := casevault(t, dir, append([]string{"user", "reset-mfa"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("reset-mfa %v: exit %d, stderr %q; want 2 naming %q", tt.args, code, stderr, tt.want)
		}
	}
	if _, stderr, code := casevault(t, dir, "user", "reset-mfa", "--tenant", firm.TenantID, "--user", "usr_aaaaaaaaaaaaaaaaaaaaaaaaaa"); code != 1 {
		t.Errorf("unknown user: exit %d, stderr %q; want 1", code, stderr)
	}

	out, errOut, code = casevault(t, dir, "user", "reset-mfa", "--tenant", firm.TenantID, "--email", "owner@maple.example")
	if code != 0 || !strings.Contains(out, firm.OwnerID) {
		t.Fatalf("reset-mfa: exit %d, %q\n%s", code, out, errOut)
	}
	owner.json(t, "GET", "/api/v1/me", nil, http.StatusUnauthorized, nil)
	a := login()
	if a.MFARequired || a.Token == "" {
		t.Fatalf("after reset login = %+v, want a session", a)
	}
	owner.token = a.Token
	var page struct {
		Events []struct {
			ActorID  string `json:"actor_id"`
			ObjectID string `json:"object_id"`
		} `json:"events"`
	}
	owner.json(t, "GET", "/api/v1/audit/events?action=mfa.reset", nil, http.StatusOK, &page)
	if len(page.Events) != 1 || page.Events[0].ActorID != "operator" || page.Events[0].ObjectID != firm.OwnerID {
		t.Fatalf("mfa.reset events = %+v, want the operator's reset of the owner", page.Events)
	}
}
