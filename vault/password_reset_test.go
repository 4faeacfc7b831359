package vault_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// TestService_ResetPassword checks that a reset ends every earlier sign-in,
// and that a one-time password opens a session that can only change it.
func TestService_ResetPassword(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	s := e.staff(t)
	session, _ := e.login(t, s.lawyer)
	api, _, err := e.Svc.CreateAPIToken(ctx, s.lawyer, "script", nil)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Second)
	_, otp, err := e.Svc.ResetPassword(ctx, s.admin, s.lawyer.ID)
	if err != nil || len(otp) < 12 {
		t.Fatalf("ResetPassword = %q, %v", otp, err)
	}
	e.wantNoAuth(t, session)
	e.wantNoAuth(t, api)
	ev := e.audit(t).Events()
	if last := ev[len(ev)-1]; last.Action != vault.ActUserReset || last.ActorID != s.admin.ID || last.ObjectID != s.lawyer.ID || last.Outcome != vault.OutcomeOK {
		t.Fatalf("last event %+v, want user.password_reset by the admin", last)
	}
	if _, _, err := e.Svc.Login(ctx, s.lawyer.Email, testPassword, "192.0.2.1"); !vault.IsCode(err, vault.EUNAUTHORIZED) {
		t.Fatalf("sign-in with the old password: %v", err)
	}

	secret, _, err := e.Svc.Login(ctx, s.lawyer.Email, otp, "192.0.2.1")
	if err != nil {
		t.Fatalf("sign-in with the one-time password: %v", err)
	}
	u, tok, err := e.Svc.Authenticate(ctx, secret)
	if err != nil || !u.MustChangePassword {
		t.Fatalf("Authenticate = %+v, %v; want a user who must change their password", u, err)
	}
	_, err = e.Svc.Matters(ctx, u, false)
	wantCode(t, err, vault.EPASSWORDCHANGE)
	_, _, err = e.Svc.CreateAPIToken(ctx, u, "", nil)
	wantCode(t, err, vault.EPASSWORDCHANGE)
	_, err = e.Svc.User(ctx, u, u.ID)
	wantCode(t, err, vault.EPASSWORDCHANGE)
	wantCode(t, e.Svc.ChangePassword(vault.ContextWithToken(ctx, tok), u, otp, otp), vault.EINVALID)
	if err := e.Svc.ChangePassword(vault.ContextWithToken(ctx, tok), u, otp, "another long passphrase"); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	u, _, err = e.Svc.Authenticate(ctx, secret)
	if err != nil || u.MustChangePassword {
		t.Fatalf("after the change: %+v, %v", u, err)
	}
	if _, err := e.Svc.Matters(ctx, u, false); err != nil {
		t.Fatalf("Matters after the change: %v", err)
	}
	if err := e.Svc.Logout(ctx, u, tok); err != nil {
		t.Fatal(err)
	}

	// Who may reset whom.
	for _, tt := range []struct {
		name          string
		actor, target *vault.User
		code          string
	}{
		// Refusals first: a reset user must change their password before
		// acting at all.
		{"AdminResetsOwner", s.admin, s.owner, vault.EFORBIDDEN},
		{"AdminResetsSelf", s.admin, s.admin, vault.EFORBIDDEN},
		{"OwnerResetsSelf", s.owner, s.owner, vault.EFORBIDDEN},
		{"LawyerResetsLawyer", s.lawyer, s.target, vault.EFORBIDDEN},
		{"AuditorResetsLawyer", s.auditor, s.target, vault.EFORBIDDEN},
		{"OwnerResetsOwner", s.owner, s.owner2, ""},
		{"OwnerResetsAdmin", s.owner, s.admin, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			actor, err := e.DB.User(ctx, tt.actor.TenantID, tt.actor.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = e.Svc.ResetPassword(ctx, actor, tt.target.ID)
			wantCode(t, err, tt.code)
		})
	}
	_, stranger := e.firm(t, "Other LLP", "ca")
	_, _, err = e.Svc.ResetPassword(ctx, s.owner, stranger.ID)
	wantCode(t, err, vault.ENOTFOUND)
	_, _, err = e.Svc.ResetPassword(ctx, stranger, s.lawyer.ID)
	wantCode(t, err, vault.ENOTFOUND)
}

func TestService_OperatorResetPassword(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	s := e.staff(t)
	_, stranger := e.firm(t, "Other LLP", "ca")
	e.clock.Add(time.Second)

	u, otp, err := e.Svc.OperatorResetPassword(ctx, s.owner.TenantID, "", "  "+strings.ToUpper(s.owner.Email))
	if err != nil || u.ID != s.owner.ID || otp == "" {
		t.Fatalf("OperatorResetPassword by email = %+v, %q, %v", u, otp, err)
	}
	ev := e.audit(t).Events()
	if last := ev[len(ev)-1]; last.Action != vault.ActUserReset || last.ActorID != vault.ActorOperator || last.TenantID != s.owner.TenantID {
		t.Fatalf("last event %+v, want the operator's user.password_reset", last)
	}
	if got, err := e.DB.User(ctx, u.TenantID, u.ID); err != nil || !got.MustChangePassword || got.CredentialsBy != vault.ActorOperator {
		t.Fatalf("stored user %+v, %v", got, err)
	}
	if _, _, err := e.Svc.Login(ctx, s.owner.Email, otp, "192.0.2.1"); err != nil {
		t.Fatalf("sign-in with the one-time password: %v", err)
	}
	if _, _, err := e.Svc.OperatorResetPassword(ctx, s.owner.TenantID, s.lawyer.ID, ""); err != nil {
		t.Fatalf("by id: %v", err)
	}

	// Another firm's account is never found through this firm.
	_, _, err = e.Svc.OperatorResetPassword(ctx, s.owner.TenantID, "", stranger.Email)
	wantCode(t, err, vault.ENOTFOUND)
	_, _, err = e.Svc.OperatorResetPassword(ctx, s.owner.TenantID, stranger.ID, "")
	wantCode(t, err, vault.ENOTFOUND)
	_, _, err = e.Svc.OperatorResetPassword(ctx, "ten_nope", s.lawyer.ID, "")
	wantCode(t, err, vault.ENOTFOUND)
	_, _, err = e.Svc.OperatorResetPassword(ctx, s.owner.TenantID, s.lawyer.ID, s.lawyer.Email)
	wantCode(t, err, vault.EINVALID)
}
