package vault_test

import (
	"context"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// TestService_GrantByEmail: a grant names its grantee by email within the
// actor's firm. For a lawyer every address that cannot receive the grant
// answers the same not_found; owners and admins get the precise reason.
// Another firm's account with the same address is never found.
func TestService_GrantByEmail(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	firm, owner := e.firm(t, "Hale", "us")
	lawyer, colleague := e.user(t, firm.ID, vault.RoleLawyer), e.user(t, firm.ID, vault.RoleLawyer)
	auditor, disabled, walled := e.user(t, firm.ID, vault.RoleAuditor), e.user(t, firm.ID, vault.RoleLawyer), e.user(t, firm.ID, vault.RoleLawyer)
	yes := true
	if _, err := e.Svc.UpdateUser(ctx, owner, disabled.ID, vault.UserUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	m := e.matter(t, lawyer, "Estate")
	if _, _, err := e.Svc.AddWall(ctx, owner, m.ID, walled.ID); err != nil {
		t.Fatal(err)
	}
	d := e.put(t, lawyer, m.ID, "will.pdf", []byte("will"))
	other, otherOwner := e.firm(t, "Other", "ca")
	twin, _, err := e.Svc.AddUser(ctx, other.ID, vault.NewUser{Email: colleague.Email, Role: vault.RoleLawyer})
	if err != nil {
		t.Fatal(err)
	}

	share := func(actor *vault.User, email string) (*vault.Grant, error) {
		g, _, err := e.Svc.CreateGrant(ctx, actor, vault.NewGrant{Email: email, DocumentID: d.ID, Permissions: read})
		return g, err
	}
	var first string
	for _, email := range []string{"nobody@example.com", auditor.Email, disabled.Email, walled.Email, otherOwner.Email} {
		_, err := share(lawyer, email)
		wantCode(t, err, vault.ENOTFOUND)
		if first == "" {
			first = err.Error()
		} else if err.Error() != first {
			t.Errorf("lawyer shares with %s: %q, want the same answer as %q", email, err, first)
		}
	}
	for email, code := range map[string]string{"nobody@example.com": vault.ENOTFOUND, auditor.Email: vault.EINVALID, disabled.Email: vault.ECONFLICT, walled.Email: vault.ECONFLICT} {
		_, err := share(owner, email)
		wantCode(t, err, code)
	}
	g, err := share(lawyer, "  "+strings.ToUpper(colleague.Email)+" ")
	if err != nil {
		t.Fatal(err)
	}
	if g.UserID != colleague.ID || g.UserID == twin.ID {
		t.Errorf("grant to %s, want the colleague %s of this firm", g.UserID, colleague.ID)
	}
}

// TestService_Colleagues names users of the actor's firm only.
func TestService_Colleagues(t *testing.T) {
	e := newEnv(t, nil)
	firm, owner := e.firm(t, "Hale", "us")
	lawyer := e.user(t, firm.ID, vault.RoleLawyer)
	_, stranger := e.firm(t, "Other", "ca")
	got, err := e.Svc.Colleagues(context.Background(), lawyer, []string{owner.ID, stranger.ID, "garbage", owner.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[owner.ID].Email != owner.Email {
		t.Errorf("Colleagues: got %v, want only the owner", got)
	}
}

// TestService_SharePermissions matches what CreateGrant and RevokeGrant
// would allow, role by role.
func TestService_SharePermissions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	firm, owner := e.firm(t, "Hale", "us")
	lawyer, other := e.user(t, firm.ID, vault.RoleLawyer), e.user(t, firm.ID, vault.RoleLawyer)
	admin, walledAdmin, auditor := e.user(t, firm.ID, vault.RoleAdmin), e.user(t, firm.ID, vault.RoleAdmin), e.user(t, firm.ID, vault.RoleAuditor)
	m := e.matter(t, lawyer, "Estate")
	d := e.put(t, lawyer, m.ID, "will.pdf", []byte("will"))
	if _, _, err := e.Svc.AddWall(ctx, owner, m.ID, walledAdmin.ID); err != nil {
		t.Fatal(err)
	}
	g, _, err := e.Svc.CreateGrant(ctx, lawyer, vault.NewGrant{UserID: other.ID, DocumentID: d.ID, Permissions: read})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		u      *vault.User
		perms  string
		revoke bool
	}{
		{"uploader", lawyer, "read,download,edit", true},
		{"grantee", other, "", false},
		{"admin", admin, "read,download,edit", true},
		{"walled admin", walledAdmin, "", false},
		{"auditor", auditor, "", false},
	} {
		ps, err := e.Svc.SharePermissions(ctx, tc.u, d.ID)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := vault.FormatPermissions(ps); got != tc.perms {
			t.Errorf("%s: SharePermissions %q, want %q", tc.name, got, tc.perms)
		}
		ok, err := e.Svc.MayRevokeGrant(ctx, tc.u, g)
		if err != nil || ok != tc.revoke {
			t.Errorf("%s: MayRevokeGrant %v %v, want %v", tc.name, ok, err, tc.revoke)
		}
	}
	_, stranger := e.firm(t, "Other", "ca")
	_, err = e.Svc.SharePermissions(ctx, stranger, d.ID)
	wantCode(t, err, vault.ENOTFOUND)
	_, err = e.Svc.MayRevokeGrant(ctx, stranger, g)
	wantCode(t, err, vault.ENOTFOUND)
}
