package vault_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// otherPassword is a second password that meets the policy.
const otherPassword = "another long passphrase"

// account adds an account of email with password to a firm, as the
// operator.
func (e *env) account(tb testing.TB, tenantID, email, password string) *vault.User {
	tb.Helper()
	u, _, err := e.Svc.AddUser(context.Background(), tenantID, vault.NewUser{Email: email, Role: vault.RoleLawyer, Password: password})
	if err != nil {
		tb.Fatalf("AddUser(%s): %v", email, err)
	}
	return u
}

// TestService_Login_AcrossFirms signs in with an email that has accounts in
// three firms: the password decides the account, several matches make the
// client choose among exactly those firms, and failures look alike.
func TestService_Login_AcrossFirms(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	a, _ := e.firm(t, "Alder LLP", "us")
	b, _ := e.firm(t, "Birch LLP", "ca")
	c, ownerC := e.firm(t, "Cedar LLP", "us")
	d, _ := e.firm(t, "Dogwood LLP", "ca") // no account of the email
	const email = "pat@shared.example"
	inA := e.account(t, a.ID, email, testPassword)
	inB := e.account(t, b.ID, "PAT@Shared.Example", otherPassword)
	inC := e.account(t, c.ID, email, testPassword)
	if inA.ID == inB.ID || inB.ID == inC.ID || inA.Email != inB.Email {
		t.Fatalf("accounts = %+v, %+v, %+v", inA, inB, inC)
	}
	// Every subtest starts with the sign-in limits cleared.
	fresh := func() { e.clock.Add(time.Hour) }

	t.Run("PasswordPicksTheAccount", func(t *testing.T) {
		fresh()
		secret, _, err := e.Svc.Login(ctx, email, otherPassword, "192.0.2.1")
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		e.wantAuth(t, secret, inB)
	})

	t.Run("ChooseFirm", func(t *testing.T) {
		fresh()
		_, tok, err := e.Svc.Login(ctx, email, testPassword, "192.0.2.1")
		wantCode(t, err, vault.ECHOOSEFIRM)
		if tok != nil {
			t.Fatalf("choose_firm issued a token: %+v", tok)
		}
		got, want := vault.FirmChoices(err), []vault.FirmChoice{{TenantID: a.ID, Name: a.Name}, {TenantID: c.ID, Name: c.Name}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("firms = %+v, want %+v (never the firm whose password differs)", got, want)
		}
		for _, u := range []*vault.User{inA, inC} {
			secret, _, err := e.Svc.LoginToFirm(ctx, u.TenantID, email, testPassword, "192.0.2.1")
			if err != nil {
				t.Fatalf("LoginToFirm(%s): %v", u.TenantID, err)
			}
			e.wantAuth(t, secret, u)
		}
	})

	t.Run("ChosenFirmMustMatch", func(t *testing.T) {
		fresh()
		_, _, unknown := e.Svc.Login(ctx, "nobody@shared.example", testPassword, "192.0.2.1")
		wantCode(t, unknown, vault.EUNAUTHORIZED)
		for name, tenantID := range map[string]string{
			"PasswordOfAnotherFirm": b.ID,
			"FirmWithoutAccount":    d.ID,
			"MalformedFirm":         "ten_x",
			"UnknownFirm":           vault.NewID(vault.PrefixTenant),
		} {
			_, _, err := e.Svc.LoginToFirm(ctx, tenantID, email, testPassword, "192.0.2.1")
			wantCode(t, err, vault.EUNAUTHORIZED)
			if vault.ErrorMessage(err) != vault.ErrorMessage(unknown) {
				t.Errorf("%s: message %q, want the unknown email's %q", name, vault.ErrorMessage(err), vault.ErrorMessage(unknown))
			}
		}
	})

	t.Run("DisabledAccountIsNotAChoice", func(t *testing.T) {
		fresh()
		disabled := true
		if _, err := e.Svc.UpdateUser(ctx, ownerC, inC.ID, vault.UserUpdate{Disabled: &disabled}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			enabled := false
			if _, err := e.Svc.UpdateUser(ctx, ownerC, inC.ID, vault.UserUpdate{Disabled: &enabled}); err != nil {
				t.Fatal(err)
			}
		}()
		secret, _, err := e.Svc.Login(ctx, email, testPassword, "192.0.2.1")
		if err != nil {
			t.Fatalf("Login with one of two matches disabled: %v", err)
		}
		e.wantAuth(t, secret, inA)
		_, _, err = e.Svc.LoginToFirm(ctx, c.ID, email, testPassword, "192.0.2.1")
		wantCode(t, err, vault.EUNAUTHORIZED)
	})

	t.Run("FailureRecordedInEachFirm", func(t *testing.T) {
		fresh()
		before := len(e.audit(t).Events())
		_, _, err := e.Svc.Login(ctx, email, "wrong password!", "192.0.2.1")
		wantCode(t, err, vault.EUNAUTHORIZED)
		_, _, err = e.Svc.Login(ctx, "nobody@shared.example", "wrong password!", "192.0.2.1")
		wantCode(t, err, vault.EUNAUTHORIZED)
		var firms []string
		for _, ev := range e.audit(t).Events()[before:] {
			if ev.Action == vault.ActLoginFailed {
				firms = append(firms, ev.TenantID)
			}
		}
		// The unknown email goes to the service log (no firm).
		if want := []string{a.ID, b.ID, c.ID, ""}; !reflect.DeepEqual(firms, want) {
			t.Errorf("login_failed events in firms %q, want %q", firms, want)
		}
	})
}

// TestService_Login_ConstantWork counts the password checks of sign-ins
// with emails of 0 to 4 accounts, right and wrong passwords: up to
// LoginMinChecks accounts they all cost the same.
func TestService_Login_ConstantWork(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	var firms []*vault.Tenant
	for i := range 4 {
		f, _ := e.firm(t, fmt.Sprintf("Firm %d", i), []string{"us", "ca"}[i%2])
		firms = append(firms, f)
	}
	checks := func(email, password, tenantID string) uint64 {
		e.clock.Add(time.Hour) // no sign-in limit in the way
		before := vault.PasswordChecks()
		e.Svc.LoginToFirm(ctx, tenantID, email, password, "192.0.2.9")
		return vault.PasswordChecks() - before
	}
	checks("warm@work.example", testPassword, "") // the dummy hash is made on first use
	for n := range 5 {
		email := fmt.Sprintf("n%d@work.example", n)
		for _, f := range firms[:n] {
			e.account(t, f.ID, email, testPassword)
		}
		want := uint64(max(n, vault.LoginMinChecks))
		for _, c := range []struct{ name, password, tenantID string }{
			{"Right", testPassword, ""},
			{"Wrong", "wrong password!", ""},
			{"ChosenFirm", testPassword, firms[0].ID},
		} {
			if got := checks(email, c.password, c.tenantID); got != want {
				t.Errorf("%d accounts, %s: %d password checks, want %d", n, c.name, got, want)
			}
		}
	}
}
