package sqlite_test

import (
	"context"
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
		u := newUser(tenant.ID, "jane.doe@firm.example", vault.RoleLawyer)
		u.Name = "Jane"
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
		if !sameUser(got, u) {
			t.Errorf("User = %+v, want %+v", got, u)
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		MustCreateUser(t, db, tenant.ID, vault.RoleLawyer) // unrelated
		if err := db.CreateUser(ctx, newUser(tenant.ID, "sam@firm.example", vault.RoleAdmin)); err != nil {
			t.Fatal(err)
		}
		// An email index is unique within its firm.
		err := db.CreateUser(ctx, newUser(tenant.ID, "sam@firm.example", vault.RoleLawyer))
		wantCode(t, err, vault.ECONFLICT)
	})

	t.Run("SameEmailOtherFirm", func(t *testing.T) {
		// Another firm's account with the same email is another account.
		u := newUser(other.ID, "sam@firm.example", vault.RoleLawyer)
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser in another firm: %v", err)
		}
		got, err := db.UsersByEmailIndex(ctx, [][]byte{testIndex("sam@firm.example")})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].TenantID != tenant.ID || got[1].TenantID != other.ID || !sameUser(got[1], u) {
			t.Errorf("UsersByEmailIndex = %+v, want the accounts of both firms, oldest first", got)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		err := db.CreateUser(ctx, newUser(vault.NewID(vault.PrefixTenant), "x@y.example", vault.RoleLawyer))
		wantCode(t, err, vault.ENOTFOUND)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		noIndex := newUser(tenant.ID, "a@x", vault.RoleLawyer)
		noIndex.EmailIndex = nil
		shortIndex := newUser(tenant.ID, "a@x", vault.RoleLawyer)
		shortIndex.EmailIndex = shortIndex.EmailIndex[:16]
		for _, tt := range []struct {
			name string
			u    *vault.User
		}{
			{"NoTenant", newUser("", "a@x", vault.RoleLawyer)},
			{"NoEmail", newUser(tenant.ID, " ", vault.RoleLawyer)},
			{"NoEmailIndex", noIndex},
			{"ShortEmailIndex", shortIndex},
			{"NoRole", newUser(tenant.ID, "a@x", "")},
			{"BadRole", newUser(tenant.ID, "a@x", "root")},
			{"BadID", &vault.User{ID: "usr_1", TenantID: tenant.ID, Email: "a@x", EmailIndex: testIndex("a@x"), Role: vault.RoleLawyer}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantCode(t, db.CreateUser(ctx, tt.u), vault.EINVALID)
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
		none, err := db.UsersByEmailIndex(ctx, [][]byte{testIndex("nobody@example.com")})
		if err != nil || len(none) != 0 {
			t.Errorf("UsersByEmailIndex(unknown) = %v, %v; want none", none, err)
		}
	})

	t.Run("UsersByEmailIndex", func(t *testing.T) {
		// One index per region's key; any of them finds the user.
		got, err := db.UsersByEmailIndex(ctx, [][]byte{testIndex("nobody@example.com"), testIndex(lawyer.Email)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !sameUser(got[0], lawyer) {
			t.Errorf("UsersByEmailIndex = %+v, want %+v", got, lawyer)
		}
		if none, err := db.UsersByEmailIndex(ctx, nil); err != nil || len(none) != 0 {
			t.Errorf("UsersByEmailIndex(nil) = %v, %v; want none", none, err)
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
			if !sameUser(got[i], want[i]) {
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
		if !sameUser(got, &want) {
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
