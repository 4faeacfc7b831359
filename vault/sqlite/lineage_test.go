package sqlite_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// TestDB_UserLineage checks that who created an account, issued its
// password and promoted it, and the must-change flag, are stored and read
// back, and that a new user's inherited walls are written with it or not
// at all.
func TestDB_UserLineage(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	walled := MustCreateUser(t, db, tenant.ID, vault.RoleAdmin)
	m := MustCreateMatter(t, db, owner, "Takeover", "Client")
	MustCreateWall(t, db, m, walled.ID, owner.ID)

	at := time.Date(2026, 11, 25, 12, 0, 0, 123, time.UTC)
	u := &vault.User{
		TenantID: tenant.ID, Email: "sock@firm.example", Name: "Sock", Role: vault.RoleAdmin, PasswordHash: "$argon2id$x",
		EmailIndex: bytes.Repeat([]byte{7}, 32), CreatedAt: at, CreatedBy: walled.ID, MustChangePassword: true,
		Lineage: vault.Lineage{CredentialsBy: walled.ID, CredentialsAt: at, PromotedBy: walled.ID, PromotedAt: at},
	}
	u.ID = vault.NewID(vault.PrefixUser)
	w := &vault.Wall{TenantID: tenant.ID, MatterID: m.ID, UserID: u.ID, CreatedBy: owner.ID, Via: walled.ID}
	if err := db.CreateUser(ctx, u, w); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, err := db.User(ctx, tenant.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, u) {
		t.Fatalf("User = %+v, want %+v", got, u)
	}
	ws, err := db.Walls(ctx, tenant.ID, vault.WallFilter{UserID: u.ID})
	if err != nil || len(ws) != 1 || ws[0].Via != walled.ID || ws[0].MatterID != m.ID {
		t.Fatalf("walls of the new user: %+v, %v", ws, err)
	}

	later := at.Add(time.Hour)
	got.CredentialsBy, got.CredentialsAt, got.MustChangePassword = vault.ActorOperator, later, false
	got.PromotedBy, got.PromotedAt = owner.ID, later
	if err := db.UpdateUser(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, err := db.User(ctx, tenant.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Lineage != got.Lineage || again.MustChangePassword || again.CreatedBy != walled.ID {
		t.Fatalf("after UpdateUser: %+v", again)
	}

	// Accounts older than the record read as unknown, not as anyone's.
	if o, err := db.User(ctx, tenant.ID, owner.ID); err != nil || o.CreatedBy != "" || (o.Lineage != vault.Lineage{}) {
		t.Fatalf("owner made without lineage: %+v, %v", o, err)
	}

	// A wall that cannot be written undoes the user.
	v := &vault.User{ID: vault.NewID(vault.PrefixUser), TenantID: tenant.ID, Email: "v@firm.example", EmailIndex: bytes.Repeat([]byte{8}, 32), Role: vault.RoleLawyer}
	bad := &vault.Wall{TenantID: tenant.ID, MatterID: vault.NewID(vault.PrefixMatter), UserID: v.ID, CreatedBy: owner.ID}
	wantCode(t, db.CreateUser(ctx, v, bad), vault.ENOTFOUND)
	_, err = db.User(ctx, tenant.ID, v.ID)
	wantCode(t, err, vault.ENOTFOUND)
	other := &vault.Wall{TenantID: tenant.ID, MatterID: m.ID, UserID: walled.ID, CreatedBy: owner.ID}
	wantCode(t, db.CreateUser(ctx, v, other), vault.EINVALID)
}
