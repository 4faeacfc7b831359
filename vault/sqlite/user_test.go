package sqlite_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

func TestDB_CreateUser(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, _ := MustCreateTenant(t, db, "Firm")
	other, _ := MustCreateTenant(t, db, "Other")

	t.Run("OK", func(t *testing.T) {
		u := &vault.User{TenantID: tenant.ID, Email: "Jane.Doe@Firm.example", Name: "Jane", Role: vault.RoleLawyer, PasswordHash: "$argon2id$x"}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if !vault.ValidID(vault.PrefixUser, u.ID) {
			t.Errorf("ID = %q, want a new user id", u.ID)
		}
		got, err := db.User(ctx, tenant.ID, u.ID)
		if err != nil {
			t.Fatalf("User: %v", err)
		}
		if *got != *u {
			t.Errorf("User = %+v, want %+v", got, u)
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		MustCreateUser(t, db, tenant.ID, vault.RoleLawyer) // unrelated
		if err := db.CreateUser(ctx, &vault.User{TenantID: tenant.ID, Email: "sam@firm.example", Role: vault.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		// Emails are unique across the whole service, whatever their case.
		for _, tt := range []struct{ name, tenantID, email string }{
			{"Same", tenant.ID, "sam@firm.example"},
			{"Upper", tenant.ID, "SAM@FIRM.EXAMPLE"},
			{"Mixed", tenant.ID, "Sam@Firm.Example"},
			{"OtherTenant", other.ID, "sAm@firm.example"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				err := db.CreateUser(ctx, &vault.User{TenantID: tt.tenantID, Email: tt.email, Role: vault.RoleLawyer})
				wantCode(t, err, vault.ECONFLICT)
			})
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		err := db.CreateUser(ctx, &vault.User{TenantID: vault.NewID(vault.PrefixTenant), Email: "x@y.example", Role: vault.RoleLawyer})
		wantCode(t, err, vault.ENOTFOUND)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			u    vault.User
		}{
			{"NoTenant", vault.User{Email: "a@x", Role: vault.RoleLawyer}},
			{"NoEmail", vault.User{TenantID: tenant.ID, Email: " ", Role: vault.RoleLawyer}},
			{"NoRole", vault.User{TenantID: tenant.ID, Email: "a@x"}},
			{"BadRole", vault.User{TenantID: tenant.ID, Email: "a@x", Role: "root"}},
			{"BadID", vault.User{ID: "usr_1", TenantID: tenant.ID, Email: "a@x", Role: vault.RoleLawyer}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, db.CreateUser(ctx, &tt.u), vault.EINVALID)
			})
		}
	})
}

func TestDB_User(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, owner := MustCreateTenant(t, db, "Firm")
	other, otherOwner := MustCreateTenant(t, db, "Other")
	lawyer := MustCreateUser(t, db, tenant.ID, vault.RoleLawyer)
	auditor := MustCreateUser(t, db, tenant.ID, vault.RoleAuditor)

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, tt := range []struct{ name, tenantID, id string }{
			{"Missing", tenant.ID, vault.NewID(vault.PrefixUser)},
			{"OtherTenant", tenant.ID, otherOwner.ID},
			{"OtherTenantReverse", other.ID, lawyer.ID},
		} {
			t.Run(tt.name, func(t *testing.T) {
				u, err := db.User(ctx, tt.tenantID, tt.id)
				wantCode(t, err, vault.ENOTFOUND)
				if u != nil {
					t.Errorf("User = %+v, want nil", u)
				}
			})
		}
		_, err := db.UserByEmail(ctx, "nobody@example.com")
		wantCode(t, err, vault.ENOTFOUND)
	})

	t.Run("UserByEmail", func(t *testing.T) {
		for _, email := range []string{lawyer.Email, strings.ToUpper(lawyer.Email)} {
			got, err := db.UserByEmail(ctx, email)
			if err != nil {
				t.Fatalf("UserByEmail(%q): %v", email, err)
			}
			if got.ID != lawyer.ID {
				t.Errorf("UserByEmail(%q).ID = %q, want %q", email, got.ID, lawyer.ID)
			}
		}
	})

	t.Run("Users", func(t *testing.T) {
		got, err := db.Users(ctx, tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []*vault.User{owner, lawyer, auditor}
		if len(got) != len(want) {
			t.Fatalf("len(Users) = %d, want %d", len(got), len(want))
		}
		for i := range want {
			if *got[i] != *want[i] {
				t.Errorf("Users[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
		none, err := db.Users(ctx, vault.NewID(vault.PrefixTenant))
		if err != nil {
			t.Fatal(err)
		}
		if len(none) != 0 {
			t.Errorf("Users(unknown tenant) = %d users, want none", len(none))
		}
	})
}

func TestDB_UpdateUser(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	tenant, _ := MustCreateTenant(t, db, "Firm")
	other, _ := MustCreateTenant(t, db, "Other")
	u := MustCreateUser(t, db, tenant.ID, vault.RoleLawyer)

	t.Run("OK", func(t *testing.T) {
		later := u.CreatedAt.Add(time.Hour)
		db.Now = func() time.Time { return later }
		defer func() { db.Now = time.Now }()

		upd := *u
		upd.Name, upd.Role, upd.PasswordHash, upd.Disabled = "Renamed", vault.RoleAdmin, "newhash", true
		upd.Email = "ignored@example.com"
		if err := db.UpdateUser(ctx, &upd); err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		got, err := db.User(ctx, tenant.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *u
		want.Name, want.Role, want.PasswordHash, want.Disabled, want.UpdatedAt = "Renamed", vault.RoleAdmin, "newhash", true, later.UTC()
		if *got != want {
			t.Errorf("User = %+v, want %+v", got, &want)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		upd := *u
		upd.TenantID = other.ID
		wantCode(t, db.UpdateUser(ctx, &upd), vault.ENOTFOUND)
		upd = *u
		upd.ID = vault.NewID(vault.PrefixUser)
		wantCode(t, db.UpdateUser(ctx, &upd), vault.ENOTFOUND)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		upd := *u
		upd.Role = "superuser"
		wantCode(t, db.UpdateUser(ctx, &upd), vault.EINVALID)
	})
}
