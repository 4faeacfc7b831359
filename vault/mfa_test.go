package vault_test

import (
	"context"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/casevault/casevault/vault"
)

// TestService_MFAChallenge checks the contract the passkey sign-in builds
// on: a user with TOTP gets mfa_required with a challenge from
// LoginToFirm; ChallengeUser names the user without consuming it;
// CompleteMFA consumes it and signs in with SignInMFA.
func TestService_MFAChallenge(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, owner := e.firm(t, "Harbour LLP", "us")
	email := vault.NewID("u")[2:14] + "@example.com"
	u, password, err := e.Svc.AddUser(ctx, owner.TenantID, vault.NewUser{Email: email, Role: vault.RoleLawyer})
	if err != nil {
		t.Fatal(err)
	}
	if f, err := e.Svc.UserFactors(ctx, u); err != nil || len(f) != 0 {
		t.Fatalf("factors before enrolment = %v, %v; want none", f, err)
	}
	if _, err := e.Svc.BeginTOTP(ctx, u); err != nil {
		t.Fatal(err)
	}
	tf, err := e.DB.TOTP(ctx, u.TenantID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	code := func() string {
		c, err := totp.GenerateCodeCustom(tf.Secret, e.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, err := e.Svc.ConfirmTOTP(ctx, u, code()); err != nil {
		t.Fatal(err)
	}
	if f, _ := e.Svc.UserFactors(ctx, u); len(f) != 1 || f[0] != vault.FactorTOTP {
		t.Fatalf("factors = %v, want [totp]", f)
	}

	_, tok, err := e.Svc.Login(ctx, email, password, "192.0.2.1")
	ch := vault.MFAChallengeOf(err)
	if !vault.IsCode(err, vault.EMFAREQUIRED) || ch == nil || tok != nil {
		t.Fatalf("Login = %v, %v; want mfa_required with a challenge and no token", tok, err)
	}
	if got, want := ch.ExpiresAt.Sub(e.clock.Now()), vault.MFAChallengeTTL; got != want {
		t.Errorf("challenge lives %v, want %v", got, want)
	}
	for range 2 { // not consumed by looking
		cu, err := e.Svc.ChallengeUser(ctx, ch.Secret)
		if err != nil || cu.ID != u.ID {
			t.Fatalf("ChallengeUser = %v, %v; want %s", cu, err, u.ID)
		}
	}
	if _, err := e.Svc.ChallengeUser(ctx, "cvmfa_nonsense"); !vault.IsCode(err, vault.EUNAUTHORIZED) {
		t.Errorf("ChallengeUser(nonsense) = %v, want unauthorized", err)
	}
	e.clock.Add(30 * time.Second)
	_, tok, err = e.Svc.CompleteMFA(ctx, ch.Secret, vault.MFAProof{Code: code()}, "192.0.2.1")
	if err != nil || tok.Method != vault.SignInMFA {
		t.Fatalf("CompleteMFA = %v, %v; want a session with method mfa", tok, err)
	}
	if _, err := e.Svc.ChallengeUser(ctx, ch.Secret); !vault.IsCode(err, vault.EUNAUTHORIZED) {
		t.Errorf("ChallengeUser after use = %v, want unauthorized", err)
	}
}
