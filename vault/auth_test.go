package vault_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// testPassword is a password that meets the policy.
const testPassword = "correct horse battery staple"

// member adds a user with role and testPassword to a firm.
func (e *env) member(tb testing.TB, tenantID string, role vault.Role) *vault.User {
	tb.Helper()
	u, _, err := e.Svc.AddUser(context.Background(), tenantID, vault.NewUser{
		Email: vault.NewID("m")[2:14] + "@example.com", Role: role, Password: testPassword,
	})
	if err != nil {
		tb.Fatalf("AddUser: %v", err)
	}
	return u
}

// login signs u in with testPassword and returns the session secret.
func (e *env) login(tb testing.TB, u *vault.User) (string, *vault.Token) {
	tb.Helper()
	secret, tok, err := e.Svc.Login(context.Background(), u.Email, testPassword, "192.0.2.1")
	if err != nil {
		tb.Fatalf("Login(%s): %v", u.Email, err)
	}
	return secret, tok
}

// wantAuth fails unless secret authenticates as u.
func (e *env) wantAuth(tb testing.TB, secret string, u *vault.User) *vault.Token {
	tb.Helper()
	got, tok, err := e.Svc.Authenticate(context.Background(), secret)
	if err != nil {
		tb.Fatalf("Authenticate: %v", err)
	}
	if got.ID != u.ID || tok.UserID != u.ID || tok.TenantID != u.TenantID {
		tb.Fatalf("Authenticate = user %s, token of %s; want %s", got.ID, tok.UserID, u.ID)
	}
	return tok
}

// wantNoAuth fails unless secret is refused as unauthorized.
func (e *env) wantNoAuth(tb testing.TB, secret string) {
	tb.Helper()
	u, tok, err := e.Svc.Authenticate(context.Background(), secret)
	wantCode(tb, err, vault.EUNAUTHORIZED)
	if u != nil || tok != nil {
		tb.Fatalf("Authenticate returned %v, %v with its error", u, tok)
	}
}

func TestService_Login(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	tenant, _ := e.firm(t, "Firm", "us")
	lawyer := e.member(t, tenant.ID, vault.RoleLawyer)

	t.Run("OK", func(t *testing.T) {
		secret, tok, err := e.Svc.Login(ctx, "  "+strings.ToUpper(lawyer.Email)+" ", testPassword, "192.0.2.1")
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		if !strings.HasPrefix(secret, "cvs_") || len(secret) < 4+43 {
			t.Errorf("secret = %q, want cvs_ and 256 bits", secret)
		}
		if !vault.ValidID(vault.PrefixToken, tok.ID) || tok.Kind != vault.TokenSession || tok.UserID != lawyer.ID || tok.TenantID != lawyer.TenantID {
			t.Errorf("token = %+v", tok)
		}
		if got, want := tok.CreatedAt, e.clock.Now(); !got.Equal(want) {
			t.Errorf("CreatedAt = %v, want %v", got, want)
		}
		if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(e.clock.Now().Add(12*time.Hour)) {
			t.Errorf("ExpiresAt = %v, want in 12h", tok.ExpiresAt)
		}
		e.wantAuth(t, secret, lawyer)

		// Two sign-ins are two sessions.
		secret2, tok2 := e.login(t, lawyer)
		if secret2 == secret || tok2.ID == tok.ID {
			t.Error("second sign-in reused the first session")
		}
	})

	t.Run("SessionTTL", func(t *testing.T) {
		e.Svc.SessionTTL = time.Hour
		defer func() { e.Svc.SessionTTL = vault.DefaultSessionTTL }()
		_, tok := e.login(t, lawyer)
		if tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(e.clock.Now().Add(time.Hour)) {
			t.Errorf("ExpiresAt = %v, want in 1h", tok.ExpiresAt)
		}
	})

	// Unknown email, wrong password and disabled account are told apart by
	// nothing: code and message are the same.
	t.Run("ErrUnauthorized", func(t *testing.T) {
		disabled := e.member(t, tenant.ID, vault.RoleLawyer)
		yes := true
		if _, err := e.Svc.UpdateUser(ctx, e.owner(t, tenant.ID), disabled.ID, vault.UserUpdate{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, tt := range []struct{ name, email, password string }{
			{"WrongPassword", lawyer.Email, testPassword + "!"},
			{"UnknownEmail", "nobody@example.com", testPassword},
			{"MalformedEmail", "not an email", testPassword},
			{"Disabled", disabled.Email, testPassword},
		} {
			t.Run(tt.name, func(t *testing.T) {
				secret, tok, err := e.Svc.Login(ctx, tt.email, tt.password, "192.0.2."+fmt.Sprint(len(msgs)+10))
				wantCode(t, err, vault.EUNAUTHORIZED)
				if secret != "" || tok != nil {
					t.Errorf("Login returned %q, %v with its error", secret, tok)
				}
				msgs = append(msgs, vault.ErrorMessage(err))
			})
		}
		for _, m := range msgs {
			if m != "Email or password is incorrect." {
				t.Errorf("message = %q, want the one message for every failure", m)
			}
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tt := range [][2]string{{"", testPassword}, {lawyer.Email, ""}, {"  ", testPassword}} {
			_, _, err := e.Svc.Login(ctx, tt[0], tt[1], "")
			wantCode(t, err, vault.EINVALID)
		}
	})
}

// owner returns the first owner of a firm.
func (e *env) owner(tb testing.TB, tenantID string) *vault.User {
	tb.Helper()
	users, err := e.DB.Users(context.Background(), tenantID)
	if err != nil {
		tb.Fatal(err)
	}
	for _, u := range users {
		if u.Role == vault.RoleOwner && !u.Disabled {
			return u
		}
	}
	tb.Fatal("firm has no owner")
	return nil
}

func TestService_Authenticate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	tenant, _ := e.firm(t, "Firm", "us")
	u := e.member(t, tenant.ID, vault.RoleLawyer)

	t.Run("Expiry", func(t *testing.T) {
		secret, _ := e.login(t, u)
		e.clock.Add(12*time.Hour - time.Second)
		e.wantAuth(t, secret, u)
		e.clock.Add(time.Second)
		e.wantNoAuth(t, secret)
		if msg := func() string { _, _, err := e.Svc.Authenticate(ctx, secret); return vault.ErrorMessage(err) }(); !strings.Contains(msg, "Sign in again") {
			t.Errorf("message = %q, want to sign in again", msg)
		}
	})

	t.Run("LastUsedAt", func(t *testing.T) {
		secret, tok := e.login(t, u)
		if tok.LastUsedAt != nil {
			t.Errorf("new token LastUsedAt = %v, want nil", tok.LastUsedAt)
		}
		lastUsed := func() time.Time {
			t.Helper()
			toks, err := e.Svc.Tokens(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range toks {
				if x.ID == tok.ID {
					if x.LastUsedAt == nil {
						t.Fatal("LastUsedAt not recorded")
					}
					return *x.LastUsedAt
				}
			}
			t.Fatal("token not listed")
			return time.Time{}
		}
		first := e.clock.Now()
		got := e.wantAuth(t, secret, u)
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(first) {
			t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, first)
		}
		e.clock.Add(59 * time.Second)
		e.wantAuth(t, secret, u)
		if got := lastUsed(); !got.Equal(first) {
			t.Errorf("LastUsedAt after 59s = %v, want unchanged %v", got, first)
		}
		e.clock.Add(time.Second)
		e.wantAuth(t, secret, u)
		if got, want := lastUsed(), first.Add(time.Minute); !got.Equal(want) {
			t.Errorf("LastUsedAt after 1m = %v, want %v", got, want)
		}
	})

	t.Run("ErrUnauthorized", func(t *testing.T) {
		secret, _ := e.login(t, u)
		api, _, err := e.Svc.CreateAPIToken(ctx, u, "script", nil)
		if err != nil {
			t.Fatal(err)
		}
		body := strings.TrimPrefix(secret, "cvs_")
		flipped := []byte(secret)
		if flipped[10] == 'A' {
			flipped[10] = 'B'
		} else {
			flipped[10] = 'A'
		}
		for _, bad := range []string{
			"", "cvs_", "cvt_", body, "Bearer " + secret, secret + "A", secret[:len(secret)-1], " " + secret,
			string(flipped),
			"cvt_" + body,                            // a session's secret as an API token
			"cvs_" + strings.TrimPrefix(api, "cvt_"), // and the other way round
			"cvsetup_" + body,
		} {
			e.wantNoAuth(t, bad)
		}
		e.wantAuth(t, secret, u)
		e.wantAuth(t, api, u)
	})

	t.Run("ErrUnauthorized_Disabled", func(t *testing.T) {
		v := e.member(t, tenant.ID, vault.RoleAuditor)
		secret, _ := e.login(t, v)
		// Disabled behind the Service's back: Authenticate still checks.
		v.Disabled = true
		if err := e.DB.UpdateUser(ctx, v); err != nil {
			t.Fatal(err)
		}
		e.wantNoAuth(t, secret)
	})
}

func TestService_Logout(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	tenant, _ := e.firm(t, "Firm", "us")
	u := e.member(t, tenant.ID, vault.RoleLawyer)
	colleague := e.member(t, tenant.ID, vault.RoleLawyer)

	secret, _ := e.login(t, u)
	other, _ := e.login(t, u)
	theirs, theirTok := e.login(t, colleague)
	tok := e.wantAuth(t, secret, u)

	t.Run("ErrNotFound_OthersToken", func(t *testing.T) {
		wantCode(t, e.Svc.Logout(ctx, u, theirTok), vault.ENOTFOUND)
		wantCode(t, e.Svc.Logout(ctx, u, nil), vault.ENOTFOUND)
		e.wantAuth(t, theirs, colleague)
	})

	if err := e.Svc.Logout(ctx, u, tok); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	e.wantNoAuth(t, secret)
	e.wantAuth(t, other, u) // other sessions live on
	if err := e.Svc.Logout(ctx, u, tok); err != nil {
		t.Errorf("second Logout: %v, want nil", err)
	}
	wantCode(t, e.Svc.Logout(ctx, nil, tok), vault.EUNAUTHORIZED)
}

func TestService_APITokens(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	tenant, owner := e.firm(t, "Firm", "us")
	_, otherOwner := e.firm(t, "Other", "ca")
	u := e.member(t, tenant.ID, vault.RoleAuditor)
	colleague := e.member(t, tenant.ID, vault.RoleLawyer)

	session, sessTok := e.login(t, u)
	exp := e.clock.Now().Add(48 * time.Hour)
	secret, tok, err := e.Svc.CreateAPIToken(ctx, u, "  Nightly export ", &exp)
	if err != nil {
		t.Fatalf("CreateAPIToken: %v", err)
	}
	if !strings.HasPrefix(secret, "cvt_") || tok.Kind != vault.TokenAPI || tok.Name != "Nightly export" ||
		tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(exp) || tok.UserID != u.ID {
		t.Fatalf("CreateAPIToken = %q, %+v", secret, tok)
	}
	forever, foreverTok, err := e.Svc.CreateAPIToken(ctx, u, "", nil)
	if err != nil {
		t.Fatalf("CreateAPIToken without name or expiry: %v", err)
	}
	if foreverTok.ExpiresAt != nil {
		t.Errorf("ExpiresAt = %v, want nil", foreverTok.ExpiresAt)
	}
	e.wantAuth(t, secret, u)
	e.wantAuth(t, forever, u)

	ids := func(actor *vault.User) []string {
		t.Helper()
		toks, err := e.Svc.Tokens(ctx, actor)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, x := range toks {
			ids = append(ids, x.ID)
		}
		return ids
	}
	if got, want := fmt.Sprint(ids(u)), fmt.Sprint([]string{sessTok.ID, tok.ID, foreverTok.ID}); got != want {
		t.Errorf("Tokens = %s, want %s", got, want)
	}
	if got := ids(colleague); len(got) != 0 {
		t.Errorf("colleague's Tokens = %v, want none", got)
	}
	if toks, _ := e.Svc.Tokens(ctx, colleague); toks == nil {
		t.Error("Tokens = nil, want an empty list")
	}

	t.Run("ErrInvalid", func(t *testing.T) {
		past := e.clock.Now()
		_, _, err := e.Svc.CreateAPIToken(ctx, u, "x", &past)
		wantCode(t, err, vault.EINVALID)
		_, _, err = e.Svc.CreateAPIToken(ctx, u, "bad\nname", nil)
		wantCode(t, err, vault.EINVALID)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		// Another user's, another firm's, a missing and a malformed id
		// are all not_found, and revoke nothing.
		for _, tt := range []struct {
			name  string
			actor *vault.User
			id    string
		}{
			{"Colleague", colleague, tok.ID},
			{"FirmOwner", owner, tok.ID},
			{"OtherFirm", otherOwner, tok.ID},
			{"Missing", u, vault.NewID(vault.PrefixToken)},
			{"Malformed", u, "tok_1'--"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				err := e.Svc.RevokeToken(ctx, tt.actor, tt.id)
				wantCode(t, err, vault.ENOTFOUND)
				if got, want := vault.ErrorMessage(err), "Token not found."; got != want {
					t.Errorf("message = %q, want %q", got, want)
				}
			})
		}
		e.wantAuth(t, secret, u)
	})

	t.Run("Revoke", func(t *testing.T) {
		if err := e.Svc.RevokeToken(ctx, u, tok.ID); err != nil {
			t.Fatalf("RevokeToken: %v", err)
		}
		e.wantNoAuth(t, secret)
		wantCode(t, e.Svc.RevokeToken(ctx, u, tok.ID), vault.ENOTFOUND)
		if got, want := fmt.Sprint(ids(u)), fmt.Sprint([]string{sessTok.ID, foreverTok.ID}); got != want {
			t.Errorf("Tokens = %s, want %s", got, want)
		}
		e.wantAuth(t, session, u)
	})

	t.Run("Expiry", func(t *testing.T) {
		exp := e.clock.Now().Add(time.Hour)
		short, shortTok, err := e.Svc.CreateAPIToken(ctx, colleague, "short", &exp)
		if err != nil {
			t.Fatal(err)
		}
		e.wantAuth(t, short, colleague)
		if got := ids(colleague); len(got) != 1 || got[0] != shortTok.ID {
			t.Errorf("Tokens = %v, want [%s]", got, shortTok.ID)
		}
		e.clock.Add(time.Hour)
		e.wantNoAuth(t, short)
		if got := ids(colleague); len(got) != 0 {
			t.Errorf("Tokens after expiry = %v, want none", got)
		}
		// Sessions expire too; the never-expiring API token does not.
		e.clock.Add(12 * time.Hour)
		e.wantNoAuth(t, session)
		e.wantAuth(t, forever, u)
		if got, want := fmt.Sprint(ids(u)), fmt.Sprint([]string{foreverTok.ID}); got != want {
			t.Errorf("Tokens = %s, want %s", got, want)
		}
	})
}

func TestService_Setup(t *testing.T) {
	ctx := context.Background()
	nt := vault.NewTenant{Name: "Maple & Pine LLP", Region: "ca", Owner: vault.NewUser{Email: "Owner@Maple.example", Password: testPassword}}

	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, nil)
		if needs, err := e.Svc.NeedsSetup(ctx); err != nil || !needs {
			t.Fatalf("NeedsSetup = %v, %v; want true", needs, err)
		}
		first, err := e.Svc.IssueSetupToken(ctx)
		if err != nil {
			t.Fatalf("IssueSetupToken: %v", err)
		}
		secret, err := e.Svc.IssueSetupToken(ctx)
		if err != nil {
			t.Fatalf("IssueSetupToken again: %v", err)
		}
		if first == secret || !strings.HasPrefix(secret, "cvsetup_") {
			t.Fatalf("setup tokens %q, %q: want two distinct cvsetup_ secrets", first, secret)
		}

		// The replaced token, a wrong one and garbage are refused alike.
		for _, bad := range []string{first, "cvsetup_" + strings.Repeat("A", 43), "", secret[:len(secret)-1]} {
			_, _, err := e.Svc.Setup(ctx, bad, nt)
			wantCode(t, err, vault.EUNAUTHORIZED)
		}
		// A refused owner password does not use the token up.
		weak := nt
		weak.Owner.Password = "short"
		_, _, err = e.Svc.Setup(ctx, secret, weak)
		wantCode(t, err, vault.EINVALID)
		weak.Owner.Password = ""
		_, _, err = e.Svc.Setup(ctx, secret, weak)
		wantCode(t, err, vault.EINVALID)
		badRegion := nt
		badRegion.Region = "eu"
		_, _, err = e.Svc.Setup(ctx, secret, badRegion)
		wantCode(t, err, vault.EINVALID)

		tenant, owner, err := e.Svc.Setup(ctx, secret, nt)
		if err != nil {
			t.Fatalf("Setup: %v", err)
		}
		if tenant.Name != nt.Name || tenant.Region != "ca" || owner.Role != vault.RoleOwner || owner.TenantID != tenant.ID || owner.Email != "owner@maple.example" {
			t.Fatalf("Setup = %+v, %+v", tenant, owner)
		}
		// The owner signs in and works in the new firm.
		session, _, err := e.Svc.Login(ctx, "owner@maple.example", testPassword, "")
		if err != nil {
			t.Fatalf("Login as the new owner: %v", err)
		}
		e.wantAuth(t, session, owner)
		e.matter(t, owner, "First matter")

		// The token worked once; setup is now closed.
		_, _, err = e.Svc.Setup(ctx, secret, nt)
		wantCode(t, err, vault.EUNAUTHORIZED)
		if needs, err := e.Svc.NeedsSetup(ctx); err != nil || needs {
			t.Fatalf("NeedsSetup = %v, %v; want false", needs, err)
		}
		_, err = e.Svc.IssueSetupToken(ctx)
		wantCode(t, err, vault.ECONFLICT)
	})

	t.Run("ErrConflict_FirmExists", func(t *testing.T) {
		e := newEnv(t, nil)
		secret, err := e.Svc.IssueSetupToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.firm(t, "Made by the operator", "us")
		_, _, err = e.Svc.Setup(ctx, secret, nt)
		wantCode(t, err, vault.ECONFLICT)
		_, err = e.Svc.IssueSetupToken(ctx)
		wantCode(t, err, vault.ECONFLICT)
	})

	t.Run("Race", func(t *testing.T) {
		e := newEnv(t, nil)
		secret, err := e.Svc.IssueSetupToken(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const n = 4
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				x := nt
				x.Owner.Email = fmt.Sprintf("owner%d@maple.example", i)
				_, _, errs[i] = e.Svc.Setup(ctx, secret, x)
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch vault.ErrorCode(err) {
			case "":
				ok++
			case vault.EUNAUTHORIZED, vault.ECONFLICT:
			default:
				t.Errorf("Setup: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d of %d racing Setups succeeded, want 1", ok, n)
		}
		ts, err := e.Svc.Tenants(ctx)
		if err != nil || len(ts) != 1 {
			t.Fatalf("Tenants = %d, %v; want 1", len(ts), err)
		}
	})
}

func TestService_AuthenticateSession(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	tenant, _ := e.firm(t, "Firm", "us")
	u := e.member(t, tenant.ID, vault.RoleLawyer)
	const idle = 30 * time.Minute

	t.Run("Idle", func(t *testing.T) {
		secret, _ := e.login(t, u)
		for range 3 { // used in time, again and again
			e.clock.Add(idle - time.Minute)
			if _, _, err := e.Svc.AuthenticateSession(ctx, secret, idle); err != nil {
				t.Fatalf("used within %v: %v", idle, err)
			}
		}
		e.clock.Add(idle)
		if _, _, err := e.Svc.AuthenticateSession(ctx, secret, idle); !vault.IsCode(err, vault.EUNAUTHORIZED) {
			t.Fatalf("unused for %v: err %v, want unauthorized", idle, err)
		}
		// The API, with no idle limit, still takes it until its expiry.
		e.wantAuth(t, secret, u)
	})

	t.Run("APIToken", func(t *testing.T) {
		secret, _, err := e.Svc.CreateAPIToken(ctx, u, "script", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.Svc.AuthenticateSession(ctx, secret, idle); !vault.IsCode(err, vault.EUNAUTHORIZED) {
			t.Fatalf("an API token as a UI session: err %v, want unauthorized", err)
		}
	})
}
