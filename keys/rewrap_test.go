package keys_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/casevault/casevault/vault"
)

// TestRewrapTenantKeysets moves a firm's keysets from us to ca: a document
// and a field written before open after, with the keysets stored under ca,
// and the rewrapped keysets do not open as us's.
func TestRewrapTenantKeysets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	id := f.newTenant(t, "us")
	ref := newRef(id)
	plain := randBytes(7, 3<<20+5)
	blob, sealed := mustEncrypt(t, f.m, ref, plain)
	fref := vault.FieldRef{Table: "users", Column: "email", RowID: "usr_1"}
	ct, err := f.m.SealField(ctx, id, fref, "marker-rewrap@example.com")
	if err != nil {
		t.Fatal(err)
	}
	old := f.store.get(id).ks
	next, err := f.m.RewrapTenantKeysets(ctx, id, "us", "ca", old)
	if err != nil {
		t.Fatalf("RewrapTenantKeysets: %v", err)
	}
	if bytes.Equal(next.Document, old.Document) || bytes.Equal(next.Field, old.Field) {
		t.Fatal("rewrapped keysets are the old bytes")
	}
	f.store.put(id, "ca", next)
	f.m.Forget(id)
	got, err := decrypt(f.m, ref, sealed, blob, 0, int64(len(plain)))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("decrypt after rewrap: %d bytes, %v; want %d bytes", len(got), err, len(plain))
	}
	if s, err := f.m.OpenField(ctx, id, fref, ct); err != nil || s != "marker-rewrap@example.com" {
		t.Fatalf("OpenField after rewrap = %q, %v", s, err)
	}

	t.Run("BoundToNewRegion", func(t *testing.T) {
		f.store.put(id, "us", next)
		f.m.Forget(id)
		_, err := f.m.OpenField(ctx, id, fref, ct)
		assertCode(t, err, vault.ECANNOTDECRYPT)
		f.store.put(id, "ca", next)
		f.m.Forget(id)
	})
	t.Run("WrongSource", func(t *testing.T) {
		_, err := f.m.RewrapTenantKeysets(ctx, id, "us", "ca", next)
		assertCode(t, err, vault.ECANNOTDECRYPT)
	})
	t.Run("Invalid", func(t *testing.T) {
		_, err := f.m.RewrapTenantKeysets(ctx, id, "ca", "ca", next)
		assertCode(t, err, vault.EINVALID)
		_, err = f.m.RewrapTenantKeysets(ctx, id, "ca", "eu", next)
		assertCode(t, err, vault.EINVALID)
	})
}
