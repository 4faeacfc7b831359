package keys_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

func TestLoadOrCreateFileMasterKey(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "secrets", "kek")
	path := filepath.Join(dir, "us.keyset")

	mk, err := keys.LoadOrCreateFileMasterKey(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{path, 0o600}, {dir, 0o700}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("mode of %s = %04o, want %04o", c.path, got, c.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the key file", len(ents))
	}

	// Data wrapped and sealed before a reload opens after it.
	store := newMemStore()
	tenant := vault.NewID(vault.PrefixTenant)
	m1 := mustManager(t, map[string]keys.MasterKey{"us": mk}, store)
	ks, err := m1.NewTenantKeysets(ctx, tenant, "us")
	if err != nil {
		t.Fatal(err)
	}
	store.put(tenant, "us", ks)
	ref := vault.FieldRef{Table: "matters", Column: "name", RowID: "mat_1"}
	ct, err := m1.SealField(ctx, tenant, ref, "Initech")
	if err != nil {
		t.Fatal(err)
	}

	reloaded, err := keys.LoadOrCreateFileMasterKey(path)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	m2 := mustManager(t, map[string]keys.MasterKey{"us": reloaded}, store)
	if got, err := m2.OpenField(ctx, tenant, ref, ct); err != nil || got != "Initech" {
		t.Fatalf("OpenField after reload = %q, %v, want %q", got, err, "Initech")
	}

	t.Run("ErrGroupReadable", func(t *testing.T) {
		if err := os.Chmod(path, 0o640); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(path, 0o600)
		_, err := keys.LoadOrCreateFileMasterKey(path)
		assertCode(t, err, vault.EINVALID)
		if msg := vault.ErrorMessage(err); !strings.Contains(msg, path) {
			t.Errorf("message = %q, want it to name %s", msg, path)
		}
	})
	t.Run("ErrNotAKeyset", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.keyset")
		if err := os.WriteFile(bad, []byte("not a keyset"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := keys.LoadOrCreateFileMasterKey(bad)
		assertCode(t, err, vault.EINVALID)
	})
	t.Run("ErrDirectory", func(t *testing.T) {
		d := filepath.Join(t.TempDir(), "d")
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := keys.LoadOrCreateFileMasterKey(d)
		assertCode(t, err, vault.EINVALID)
	})
}

// Processes starting together agree on one key: creation never replaces.
func TestLoadOrCreateFileMasterKey_Race(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ca.keyset")
	mks := make([]keys.MasterKey, 8)
	var wg sync.WaitGroup
	for i := range mks {
		wg.Go(func() {
			mk, err := keys.LoadOrCreateFileMasterKey(path)
			if err != nil {
				t.Errorf("LoadOrCreateFileMasterKey: %v", err)
			}
			mks[i] = mk
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	a, err := mks[0].AEAD(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := a.Encrypt([]byte("kek check"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	for i, mk := range mks {
		b, err := mk.AEAD(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Decrypt(ct, []byte("ad")); err != nil {
			t.Errorf("master key %d differs from master key 0: %v", i, err)
		}
	}
}
