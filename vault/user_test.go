package vault_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// staff is a firm with one user of each role, a second owner, and a lawyer
// to act on, all with testPassword.
type staff struct {
	owner, owner2, admin, lawyer, auditor, target *vault.User
}

func (e *env) staff(tb testing.TB) *staff {
	tb.Helper()
	tenant, owner := e.firm(tb, "Firm", "us")
	hash, err := vault.HashPassword(testPassword, e.Svc.PasswordParams)
	if err != nil {
		tb.Fatal(err)
	}
	owner.PasswordHash = hash
	if err := e.DB.UpdateUser(context.Background(), owner); err != nil {
		tb.Fatal(err)
	}
	return &staff{
		owner:   owner,
		owner2:  e.member(tb, tenant.ID, vault.RoleOwner),
		admin:   e.member(tb, tenant.ID, vault.RoleAdmin),
		lawyer:  e.member(tb, tenant.ID, vault.RoleLawyer),
		auditor: e.member(tb, tenant.ID, vault.RoleAuditor),
		target:  e.member(tb, tenant.ID, vault.RoleLawyer),
	}
}

func (s *staff) as(r vault.Role) *vault.User {
	return map[vault.Role]*vault.User{
		vault.RoleOwner: s.owner, vault.RoleAdmin: s.admin, vault.RoleLawyer: s.lawyer, vault.RoleAuditor: s.auditor,
	}[r]
}

func ptr[T any](v T) *T { return &v }

func TestService_UserPermissions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	newEmail := func() string { return vault.NewID("n")[2:14] + "@example.com" }
	const (
		ok   = ""
		forb = vault.EFORBIDDEN
		conf = vault.ECONFLICT
	)

	for _, tt := range []struct {
		name string
		do   func(s *staff, actor *vault.User) error
		// want is the error code for an owner, admin, lawyer and auditor.
		want [4]string
	}{
		{"CreateLawyer", func(s *staff, a *vault.User) error {
			_, _, err := e.Svc.CreateUser(ctx, a, vault.NewUser{Email: newEmail(), Role: vault.RoleLawyer})
			return err
		}, [4]string{ok, ok, forb, forb}},
		{"CreateAdmin", func(s *staff, a *vault.User) error {
			_, _, err := e.Svc.CreateUser(ctx, a, vault.NewUser{Email: newEmail(), Role: vault.RoleAdmin})
			return err
		}, [4]string{ok, ok, forb, forb}},
		{"CreateOwner", func(s *staff, a *vault.User) error {
			_, _, err := e.Svc.CreateUser(ctx, a, vault.NewUser{Email: newEmail(), Role: vault.RoleOwner})
			return err
		}, [4]string{ok, forb, forb, forb}},
		{"List", func(s *staff, a *vault.User) error {
			_, err := e.Svc.Users(ctx, a)
			return err
		}, [4]string{ok, ok, forb, forb}},
		{"GetOther", func(s *staff, a *vault.User) error {
			_, err := e.Svc.User(ctx, a, s.target.ID)
			return err
		}, [4]string{ok, ok, forb, forb}},
		{"GetSelf", func(s *staff, a *vault.User) error {
			_, err := e.Svc.User(ctx, a, a.ID)
			return err
		}, [4]string{ok, ok, ok, ok}},
		{"Rename", func(s *staff, a *vault.User) error {
			_, err := e.Svc.UpdateUser(ctx, a, s.target.ID, vault.UserUpdate{Name: ptr("Renamed")})
			return err
		}, [4]string{ok, ok, forb, forb}},
		{"ChangeRole", func(s *staff, a *vault.User) error {
			_, err := e.Svc.UpdateUser(ctx, a, s.target.ID, vault.UserUpdate{Role: ptr(vault.RoleAdmin)})
			return err
		}, [4]string{ok, ok, forb, forb}},
		{"Disable", func(s *staff, a *vault.User) error {
			_, err := e.Svc.UpdateUser(ctx, a, s.target.ID, vault.UserUpdate{Disabled: ptr(true)})
			return err
		}, [4]string{ok, ok, forb, forb}},
		{"PromoteToOwner", func(s *staff, a *vault.User) error {
			_, err := e.Svc.UpdateUser(ctx, a, s.target.ID, vault.UserUpdate{Role: ptr(vault.RoleOwner)})
			return err
		}, [4]string{ok, forb, forb, forb}},
		{"PromoteSelfToOwner", func(s *staff, a *vault.User) error {
			_, err := e.Svc.UpdateUser(ctx, a, a.ID, vault.UserUpdate{Role: ptr(vault.RoleOwner)})
			return err
		}, [4]string{ok, forb, forb, forb}},
		{"RenameOwner", func(s *staff, a *vault.User) error {
			_, err := e.Svc.UpdateUser(ctx, a, s.owner2.ID, vault.UserUpdate{Name: ptr("Renamed")})
			return err
		}, [4]string{ok, forb, forb, forb}},
		{"DemoteOwner", func(s *staff, a *vault.User) error {
			_, err := e.Svc.UpdateUser(ctx, a, s.owner2.ID, vault.UserUpdate{Role: ptr(vault.RoleAdmin)})
			return err
		}, [4]string{ok, forb, forb, forb}},
		{"DisableOwner", func(s *staff, a *vault.User) error {
			_, err := e.Svc.UpdateUser(ctx, a, s.owner2.ID, vault.UserUpdate{Disabled: ptr(true)})
			return err
		}, [4]string{ok, forb, forb, forb}},
		{"DisableSelf", func(s *staff, a *vault.User) error {
			_, err := e.Svc.UpdateUser(ctx, a, a.ID, vault.UserUpdate{Disabled: ptr(true)})
			return err
		}, [4]string{conf, conf, forb, forb}},
		{"DemoteSelf", func(s *staff, a *vault.User) error {
			_, err := e.Svc.UpdateUser(ctx, a, a.ID, vault.UserUpdate{Role: ptr(vault.RoleLawyer)})
			return err
		}, [4]string{ok, ok, forb, forb}},
		{"DemoteSelf_LastOwner", func(s *staff, a *vault.User) error {
			// The second owner is disabled, so the first is the last
			// enabled owner.
			s.owner2.Disabled = true
			if err := e.DB.UpdateUser(ctx, s.owner2); err != nil {
				t.Fatal(err)
			}
			_, err := e.Svc.UpdateUser(ctx, a, s.owner.ID, vault.UserUpdate{Role: ptr(vault.RoleAdmin)})
			return err
		}, [4]string{conf, forb, forb, forb}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for i, role := range []vault.Role{vault.RoleOwner, vault.RoleAdmin, vault.RoleLawyer, vault.RoleAuditor} {
				t.Run(string(role), func(t *testing.T) {
					s := e.staff(t)
					err := tt.do(s, s.as(role))
					if got, want := vault.ErrorCode(err), tt.want[i]; got != want {
						t.Fatalf("%s as %s: error %v (code %q), want code %q", tt.name, role, err, got, want)
					}
				})
			}
		})
	}
}

func TestService_CreateUser(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	s := e.staff(t)
	_, otherOwner := e.firm(t, "Other", "ca")

	t.Run("GeneratedPassword", func(t *testing.T) {
		u, password, err := e.Svc.CreateUser(ctx, s.admin, vault.NewUser{Email: " New.Lawyer@Firm.example ", Name: "New Lawyer", Role: vault.RoleLawyer})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if u.TenantID != s.admin.TenantID || u.Email != "new.lawyer@firm.example" || u.Role != vault.RoleLawyer || u.PasswordHash == "" || password == "" {
			t.Fatalf("CreateUser = %+v, %q", u, password)
		}
		if strings.Contains(u.PasswordHash, password) {
			t.Fatal("password stored in clear")
		}
		secret, _, err := e.Svc.Login(ctx, u.Email, password, "")
		if err != nil {
			t.Fatalf("Login with the generated password: %v", err)
		}
		e.wantAuth(t, secret, u)
	})

	t.Run("OneTime", func(t *testing.T) {
		// A one-time password must be changed before anything else; a
		// chosen password is never one-time.
		u, password, err := e.Svc.CreateUser(ctx, s.admin, vault.NewUser{Email: "once@firm.example", Role: vault.RoleLawyer, OneTime: true})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if !u.MustChangePassword {
			t.Fatal("one-time: MustChangePassword false, want true")
		}
		stored, err := e.Svc.User(ctx, s.owner, u.ID)
		if err != nil || !stored.MustChangePassword {
			t.Fatalf("stored user %+v, %v: want MustChangePassword", stored, err)
		}
		_, err = e.Svc.Matters(ctx, stored, false)
		wantCode(t, err, vault.EPASSWORDCHANGE)
		if err := e.Svc.ChangePassword(ctx, stored, password, testPassword); err != nil {
			t.Fatalf("ChangePassword: %v", err)
		}
		chosen, _, err := e.Svc.CreateUser(ctx, s.admin, vault.NewUser{Email: "chosen@firm.example", Role: vault.RoleLawyer, Password: testPassword, OneTime: true})
		if err != nil || chosen.MustChangePassword {
			t.Fatalf("CreateUser with a chosen password and OneTime = %+v, %v: want no MustChangePassword", chosen, err)
		}
	})

	t.Run("GivenPassword", func(t *testing.T) {
		u, password, err := e.Svc.CreateUser(ctx, s.owner, vault.NewUser{Email: "given@firm.example", Role: vault.RoleAuditor, Password: testPassword})
		if err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if password != "" {
			t.Errorf("password = %q, want \"\" when the caller chose it", password)
		}
		e.login(t, u)
	})

	t.Run("ErrConflict", func(t *testing.T) {
		// Emails are unique within a firm, whatever their case.
		_, _, err := e.Svc.CreateUser(ctx, s.owner, vault.NewUser{Email: strings.ToUpper(s.lawyer.Email), Role: vault.RoleLawyer})
		wantCode(t, err, vault.ECONFLICT)
	})

	t.Run("SameEmailAnotherFirm", func(t *testing.T) {
		// Another firm's account of the same email is no conflict.
		u, _, err := e.Svc.CreateUser(ctx, otherOwner, vault.NewUser{Email: strings.ToUpper(s.lawyer.Email), Role: vault.RoleLawyer})
		if err != nil {
			t.Fatalf("CreateUser with an email another firm uses: %v", err)
		}
		if u.TenantID != otherOwner.TenantID || u.ID == s.lawyer.ID || u.Email != s.lawyer.Email {
			t.Fatalf("user = %+v", u)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, nu := range []vault.NewUser{
			{Email: "x@firm.example", Role: "root"},
			{Email: "x@firm.example"},
			{Email: "not-an-email", Role: vault.RoleLawyer},
			{Email: "x@firm.example", Role: vault.RoleLawyer, Password: "too short"},
		} {
			_, _, err := e.Svc.CreateUser(ctx, s.owner, nu)
			wantCode(t, err, vault.EINVALID)
		}
	})

	t.Run("ErrForbidden_DisabledActor", func(t *testing.T) {
		d := *s.admin
		d.Disabled = true
		_, _, err := e.Svc.CreateUser(ctx, &d, vault.NewUser{Email: "y@firm.example", Role: vault.RoleLawyer})
		wantCode(t, err, vault.EFORBIDDEN)
		_, _, err = e.Svc.CreateUser(ctx, nil, vault.NewUser{Email: "y@firm.example", Role: vault.RoleLawyer})
		wantCode(t, err, vault.EUNAUTHORIZED)
	})
}

func TestService_UpdateUser(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	s := e.staff(t)
	other := e.staff(t)

	t.Run("OK", func(t *testing.T) {
		u, err := e.Svc.UpdateUser(ctx, s.admin, s.target.ID, vault.UserUpdate{Name: ptr("  Alex Doe "), Role: ptr(vault.RoleAuditor)})
		if err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		got, err := e.Svc.User(ctx, s.admin, s.target.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Alex Doe" || got.Role != vault.RoleAuditor || !reflect.DeepEqual(got, u) {
			t.Errorf("User = %+v, want %+v", got, u)
		}
		// Nothing to change is not an error.
		if _, err := e.Svc.UpdateUser(ctx, s.admin, s.target.ID, vault.UserUpdate{}); err != nil {
			t.Errorf("empty UpdateUser: %v", err)
		}
	})

	t.Run("DisableRevokesTokens", func(t *testing.T) {
		u := s.lawyer
		session, _ := e.login(t, u)
		api, _, err := e.Svc.CreateAPIToken(ctx, u, "script", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Svc.UpdateUser(ctx, s.admin, u.ID, vault.UserUpdate{Disabled: ptr(true)}); err != nil {
			t.Fatalf("disable: %v", err)
		}
		e.wantNoAuth(t, session)
		e.wantNoAuth(t, api)
		_, _, err = e.Svc.Login(ctx, u.Email, testPassword, "")
		wantCode(t, err, vault.EUNAUTHORIZED)

		// Enabling the account again does not revive its old tokens.
		if _, err := e.Svc.UpdateUser(ctx, s.admin, u.ID, vault.UserUpdate{Disabled: ptr(false)}); err != nil {
			t.Fatalf("enable: %v", err)
		}
		e.wantNoAuth(t, session)
		e.wantNoAuth(t, api)
		fresh, _ := e.login(t, u)
		e.wantAuth(t, fresh, u)
		if toks, err := e.Svc.Tokens(ctx, u); err != nil || len(toks) != 1 {
			t.Errorf("Tokens = %d, %v; want only the new session", len(toks), err)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		// Another firm's user reads exactly like a missing one.
		_, missing := e.Svc.User(ctx, s.owner, vault.NewID(vault.PrefixUser))
		wantCode(t, missing, vault.ENOTFOUND)
		for _, id := range []string{other.lawyer.ID, other.owner.ID, "usr_bad", ""} {
			_, err := e.Svc.User(ctx, s.owner, id)
			wantCode(t, err, vault.ENOTFOUND)
			if got, want := vault.ErrorMessage(err), vault.ErrorMessage(missing); got != want {
				t.Errorf("User(%q) message = %q, want %q", id, got, want)
			}
			_, err = e.Svc.UpdateUser(ctx, s.owner, id, vault.UserUpdate{Disabled: ptr(true)})
			wantCode(t, err, vault.ENOTFOUND)
		}
		// And it is untouched.
		if u, err := e.DB.User(ctx, other.lawyer.TenantID, other.lawyer.ID); err != nil || u.Disabled {
			t.Fatalf("other firm's user = %+v, %v", u, err)
		}
		users, err := e.Svc.Users(ctx, s.owner)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if u.TenantID != s.owner.TenantID {
				t.Errorf("Users lists %s of another firm", u.ID)
			}
		}
		if len(users) != 6 {
			t.Errorf("Users = %d, want 6", len(users))
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := e.Svc.UpdateUser(ctx, s.owner, s.target.ID, vault.UserUpdate{Role: ptr(vault.Role("root"))})
		wantCode(t, err, vault.EINVALID)
		_, err = e.Svc.UpdateUser(ctx, s.owner, s.target.ID, vault.UserUpdate{Name: ptr(" ")})
		wantCode(t, err, vault.EINVALID)
	})
}

func TestService_ChangePassword(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	s := e.staff(t)
	u := s.lawyer
	const newPassword = "a much better passphrase"

	current, curTok := e.login(t, u)
	other, _ := e.login(t, u)
	api, _, err := e.Svc.CreateAPIToken(ctx, u, "script", nil)
	if err != nil {
		t.Fatal(err)
	}
	reqCtx := vault.ContextWithToken(ctx, e.wantAuth(t, current, u))
	if got := vault.TokenFromContext(reqCtx); got == nil || got.ID != curTok.ID {
		t.Fatalf("TokenFromContext = %v", got)
	}

	t.Run("ErrForbidden_WrongPassword", func(t *testing.T) {
		err := e.Svc.ChangePassword(reqCtx, u, "not my password", newPassword)
		wantCode(t, err, vault.EFORBIDDEN)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		wantCode(t, e.Svc.ChangePassword(reqCtx, u, testPassword, "short"), vault.EINVALID)
		wantCode(t, e.Svc.ChangePassword(reqCtx, u, testPassword, testPassword), vault.EINVALID)
	})
	e.wantAuth(t, other, u) // failures changed nothing

	if err := e.Svc.ChangePassword(reqCtx, u, testPassword, newPassword); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	e.wantAuth(t, current, u) // the session that changed it lives on
	e.wantNoAuth(t, other)    // other sessions are signed out
	e.wantAuth(t, api, u)     // API tokens stay
	_, _, err = e.Svc.Login(ctx, u.Email, testPassword, "")
	wantCode(t, err, vault.EUNAUTHORIZED)
	if _, _, err := e.Svc.Login(ctx, u.Email, newPassword, ""); err != nil {
		t.Fatalf("Login with the new password: %v", err)
	}

	t.Run("WithoutSession", func(t *testing.T) {
		// Without the caller's token in ctx every session ends.
		v := s.auditor
		a, _ := e.login(t, v)
		if err := e.Svc.ChangePassword(ctx, v, testPassword, newPassword); err != nil {
			t.Fatal(err)
		}
		e.wantNoAuth(t, a)
	})

	t.Run("ErrRateLimited", func(t *testing.T) {
		v := s.admin
		for range 5 {
			wantCode(t, e.Svc.ChangePassword(ctx, v, "guess guess guess", newPassword), vault.EFORBIDDEN)
		}
		wantCode(t, e.Svc.ChangePassword(ctx, v, testPassword, newPassword), vault.ERATELIMITED)
		_, _, err := e.Svc.Login(ctx, v.Email, testPassword, "")
		wantCode(t, err, vault.ERATELIMITED)
	})
}
