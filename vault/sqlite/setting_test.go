package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/casevault/casevault/vault"
)

// newSetupTenant returns an unsaved first firm and owner.
func newSetupTenant(email string) (*vault.Tenant, *vault.User) {
	return &vault.Tenant{Name: "First", Region: "us"}, &vault.User{Email: email, EmailIndex: testIndex(email), Name: "Owner", PasswordHash: "$argon2id$x"}
}

func TestDB_SetupToken(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)

	if has, err := db.HasTenants(ctx); err != nil || has {
		t.Fatalf("HasTenants = %v, %v; want false", has, err)
	}
	_, err := db.SetupTokenHash(ctx)
	wantCode(t, err, vault.ENOTFOUND)
	tenant, owner := newSetupTenant("owner@first.example")
	wantCode(t, db.SetupTenant(ctx, tenant, newKeysets(t), owner, hashOf("any")), vault.EUNAUTHORIZED)

	// A new token replaces the old.
	if err := db.SetSetupToken(ctx, hashOf("old")); err != nil {
		t.Fatalf("SetSetupToken: %v", err)
	}
	if err := db.SetSetupToken(ctx, hashOf("new")); err != nil {
		t.Fatalf("SetSetupToken again: %v", err)
	}
	got, err := db.SetupTokenHash(ctx)
	if err != nil || string(got) != string(hashOf("new")) {
		t.Fatalf("SetupTokenHash = %x, %v; want the new hash", got, err)
	}
	wantCode(t, db.SetSetupToken(ctx, []byte("short")), vault.EINVALID)

	for _, bad := range [][]byte{hashOf("old"), hashOf("wrong"), nil} {
		tenant, owner := newSetupTenant("owner@first.example")
		wantCode(t, db.SetupTenant(ctx, tenant, newKeysets(t), owner, bad), vault.EUNAUTHORIZED)
	}
	// An invalid firm neither is created nor uses the token up.
	tenant, owner = newSetupTenant("owner@first.example")
	tenant.Name = ""
	wantCode(t, db.SetupTenant(ctx, tenant, newKeysets(t), owner, hashOf("new")), vault.EINVALID)

	tenant, owner = newSetupTenant("owner@first.example")
	if err := db.SetupTenant(ctx, tenant, newKeysets(t), owner, hashOf("new")); err != nil {
		t.Fatalf("SetupTenant: %v", err)
	}
	if u, err := db.User(ctx, tenant.ID, owner.ID); err != nil || u.Role != vault.RoleOwner {
		t.Fatalf("owner = %+v, %v", u, err)
	}
	if has, err := db.HasTenants(ctx); err != nil || !has {
		t.Fatalf("HasTenants = %v, %v; want true", has, err)
	}
	// The token is gone; setup is closed.
	_, err = db.SetupTokenHash(ctx)
	wantCode(t, err, vault.ENOTFOUND)
	again, againOwner := newSetupTenant("second@first.example")
	wantCode(t, db.SetupTenant(ctx, again, newKeysets(t), againOwner, hashOf("new")), vault.EUNAUTHORIZED)
	wantCode(t, db.SetSetupToken(ctx, hashOf("later")), vault.ECONFLICT)
}

func TestDB_SetupTenant_ErrConflict(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	if err := db.SetSetupToken(ctx, hashOf("tok")); err != nil {
		t.Fatal(err)
	}
	MustCreateTenant(t, db, "Made by the operator")
	tenant, owner := newSetupTenant("owner@first.example")
	wantCode(t, db.SetupTenant(ctx, tenant, newKeysets(t), owner, hashOf("tok")), vault.ECONFLICT)
	if ts, _ := db.Tenants(ctx); len(ts) != 1 {
		t.Errorf("Tenants = %d, want 1", len(ts))
	}
}

// Racing setups with one token create one firm.
func TestDB_SetupTenant_Race(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	if err := db.SetSetupToken(ctx, hashOf("tok")); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		tenant, owner := newSetupTenant(fmt.Sprintf("owner%d@first.example", i))
		ks := newKeysets(t)
		wg.Go(func() {
			errs[i] = db.SetupTenant(ctx, tenant, ks, owner, hashOf("tok"))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch vault.ErrorCode(err) {
		case "":
			ok++
		case vault.EUNAUTHORIZED:
		default:
			t.Errorf("SetupTenant: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d racing setups succeeded, want 1", ok, n)
	}
	if ts, _ := db.Tenants(ctx); len(ts) != 1 {
		t.Errorf("Tenants = %d, want 1", len(ts))
	}
}
