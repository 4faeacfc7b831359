package sqlite_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/casevault/casevault/vault"
)

func TestDB_CreateTenant(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t)
		ks := newKeysets(t)
		tenant := &vault.Tenant{Name: "Dewey, Cheatham & Howe", Region: "ca"}
		owner := &vault.User{Email: "boss@dch.example", EmailIndex: testIndex("boss@dch.example"), Name: "Boss", PasswordHash: "hash"}
		if err := db.CreateTenant(ctx, tenant, ks, owner); err != nil {
			t.Fatalf("CreateTenant: %v", err)
		}
		if !vault.ValidID(vault.PrefixTenant, tenant.ID) {
			t.Errorf("tenant ID = %q, want a new tenant id", tenant.ID)
		}
		if got, want := owner.TenantID, tenant.ID; got != want {
			t.Errorf("owner TenantID = %q, want %q", got, want)
		}
		if got, want := owner.Role, vault.RoleOwner; got != want {
			t.Errorf("owner Role = %q, want %q", got, want)
		}

		got, err := db.Tenant(ctx, tenant.ID)
		if err != nil {
			t.Fatalf("Tenant: %v", err)
		}
		if *got != *tenant {
			t.Errorf("Tenant = %+v, want %+v", got, tenant)
		}
		region, gotKS, err := db.TenantKeysets(ctx, tenant.ID)
		if err != nil {
			t.Fatalf("TenantKeysets: %v", err)
		}
		if region != "ca" || !bytes.Equal(gotKS.Document, ks.Document) || !bytes.Equal(gotKS.Field, ks.Field) {
			t.Errorf("TenantKeysets = %q, %x, %x; want ca, %x, %x", region, gotKS.Document, gotKS.Field, ks.Document, ks.Field)
		}
		gotOwner, err := db.UsersByEmailIndex(ctx, [][]byte{testIndex("BOSS@dch.example")})
		if err != nil {
			t.Fatalf("UsersByEmailIndex: %v", err)
		}
		if len(gotOwner) != 1 || !sameUser(gotOwner[0], owner) {
			t.Errorf("owner = %+v, want %+v", gotOwner, owner)
		}
	})

	t.Run("SameOwnerEmailAsAnotherFirm", func(t *testing.T) {
		// An owner email another firm uses is no conflict: accounts belong
		// to their firm.
		db := MustOpenDB(t)
		_, first := MustCreateTenant(t, db, "First")
		tenant := &vault.Tenant{Name: "Second", Region: "us"}
		owner := &vault.User{Email: first.Email, EmailIndex: first.EmailIndex, Name: "Same person"}
		if err := db.CreateTenant(ctx, tenant, newKeysets(t), owner); err != nil {
			t.Fatalf("CreateTenant with another firm's owner email: %v", err)
		}
		got, err := db.UsersByEmailIndex(ctx, [][]byte{first.EmailIndex})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != first.ID || got[1].ID != owner.ID {
			t.Errorf("accounts of the email = %+v, want both owners", got)
		}
	})

	t.Run("RollsBack", func(t *testing.T) {
		db := MustOpenDB(t)
		MustCreateTenant(t, db, "First")
		// An owner that fails to insert (its id is taken) leaves no firm.
		_, taken := MustCreateTenant(t, db, "Taken")
		tenant := &vault.Tenant{Name: "Second", Region: "us"}
		owner := &vault.User{ID: taken.ID, Email: "x@y.example", EmailIndex: testIndex("x@y.example"), Name: "Dup"}
		err := db.CreateTenant(ctx, tenant, newKeysets(t), owner)
		wantCode(t, err, vault.ECONFLICT)
		_, err = db.Tenant(ctx, tenant.ID)
		wantCode(t, err, vault.ENOTFOUND)
		tenants, err := db.Tenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(tenants), 2; got != want {
			t.Errorf("len(Tenants) = %d, want %d", got, want)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		db := MustOpenDB(t)
		for _, tt := range []struct {
			name   string
			tenant vault.Tenant
			ks     vault.TenantKeysets
			owner  vault.User
		}{
			{"NoName", vault.Tenant{Region: "us"}, newKeysets(t), vault.User{Email: "a@x"}},
			{"NoRegion", vault.Tenant{Name: "F"}, newKeysets(t), vault.User{Email: "a@x"}},
			{"NoKeysets", vault.Tenant{Name: "F", Region: "us"}, vault.TenantKeysets{}, vault.User{Email: "a@x"}},
			{"NoFieldKeyset", vault.Tenant{Name: "F", Region: "us"}, vault.TenantKeysets{Document: []byte{1}}, vault.User{Email: "a@x"}},
			{"BadID", vault.Tenant{ID: "ten_nope", Name: "F", Region: "us"}, newKeysets(t), vault.User{Email: "a@x"}},
			{"NoOwnerEmail", vault.Tenant{Name: "F", Region: "us"}, newKeysets(t), vault.User{}},
			{"OwnerNotOwner", vault.Tenant{Name: "F", Region: "us"}, newKeysets(t), vault.User{Email: "a@x", Role: vault.RoleLawyer}},
			{"OwnerOtherTenant", vault.Tenant{Name: "F", Region: "us"}, newKeysets(t), vault.User{Email: "a@x", TenantID: vault.NewID(vault.PrefixTenant)}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				err := db.CreateTenant(ctx, &tt.tenant, tt.ks, &tt.owner)
				wantCode(t, err, vault.EINVALID)
			})
		}
		tenants, err := db.Tenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(tenants) != 0 {
			t.Errorf("Tenants = %d, want none", len(tenants))
		}
	})
}

func TestDB_Tenant(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := db.Tenant(ctx, vault.NewID(vault.PrefixTenant))
		wantCode(t, err, vault.ENOTFOUND)
		_, _, err = db.TenantKeysets(ctx, vault.NewID(vault.PrefixTenant))
		wantCode(t, err, vault.ENOTFOUND)
	})

	t.Run("Tenants", func(t *testing.T) {
		a, _ := MustCreateTenant(t, db, "A")
		b, _ := MustCreateTenant(t, db, "B")
		c, _ := MustCreateTenant(t, db, "C")
		got, err := db.Tenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []*vault.Tenant{a, b, c}
		if len(got) != len(want) {
			t.Fatalf("len(Tenants) = %d, want %d", len(got), len(want))
		}
		for i := range want {
			if *got[i] != *want[i] {
				t.Errorf("Tenants[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}

func TestDB_ReplaceTenantKeysets(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db := MustOpenDB(t)
		tenant, owner := MustCreateTenant(t, db, "Firm")
		_, prev, err := db.TenantKeysets(ctx, tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		m := MustCreateMatter(t, db, owner, "Matter", "Client")

		next := newKeysets(t)
		if err := db.ReplaceTenantKeysets(ctx, tenant.ID, prev, next); err != nil {
			t.Fatalf("ReplaceTenantKeysets: %v", err)
		}
		_, got, err := db.TenantKeysets(ctx, tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Document, next.Document) || !bytes.Equal(got.Field, next.Field) {
			t.Errorf("keysets after replace = %x, %x; want %x, %x", got.Document, got.Field, next.Document, next.Field)
		}

		// The fake sealer keys off the stored keyset, so replacing it with
		// unrelated keys is crypto-shredding: old fields no longer open.
		shredded, err := db.Matter(ctx, m.TenantID, m.ID)
		if err != nil || shredded.Error != vault.ECANNOTDECRYPT || shredded.Unreadable != "name,client" {
			t.Errorf("matter after shredding = %+v, %v; want both fields unreadable", shredded, err)
		}

		// prev is stale now.
		err = db.ReplaceTenantKeysets(ctx, tenant.ID, prev, newKeysets(t))
		wantCode(t, err, vault.ECONFLICT)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		db := MustOpenDB(t)
		err := db.ReplaceTenantKeysets(ctx, vault.NewID(vault.PrefixTenant), newKeysets(t), newKeysets(t))
		wantCode(t, err, vault.ENOTFOUND)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		db := MustOpenDB(t)
		tenant, _ := MustCreateTenant(t, db, "Firm")
		_, prev, err := db.TenantKeysets(ctx, tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		err = db.ReplaceTenantKeysets(ctx, tenant.ID, prev, vault.TenantKeysets{Document: []byte{1}})
		wantCode(t, err, vault.EINVALID)
	})

	t.Run("Race", func(t *testing.T) {
		db := MustOpenDB(t)
		tenant, _ := MustCreateTenant(t, db, "Firm")
		_, prev, err := db.TenantKeysets(ctx, tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make([]error, n)
		nexts := make([]vault.TenantKeysets, n)
		var wg sync.WaitGroup
		for i := range n {
			nexts[i] = newKeysets(t)
			wg.Go(func() { errs[i] = db.ReplaceTenantKeysets(ctx, tenant.ID, prev, nexts[i]) })
		}
		wg.Wait()

		winner := -1
		for i, err := range errs {
			switch vault.ErrorCode(err) {
			case "":
				if winner >= 0 {
					t.Fatalf("callers %d and %d both replaced the keysets", winner, i)
				}
				winner = i
			case vault.ECONFLICT:
			default:
				t.Fatalf("caller %d: %v, want nil or conflict", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no caller replaced the keysets")
		}
		_, got, err := db.TenantKeysets(ctx, tenant.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Field, nexts[winner].Field) {
			t.Errorf("stored keysets are not the winner's")
		}
	})
}
