package keys_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

func TestAuditAnchors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	masters := map[string]keys.MasterKey{}
	for _, r := range []string{"us", "ca"} {
		mk, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, r+"-master.json"))
		if err != nil {
			t.Fatal(err)
		}
		masters[r] = mk
	}
	regions := map[string]string{"ten_a": "us", "ten_b": "us", "ten_c": "ca"}
	regionOf := func(_ context.Context, id string) (string, error) {
		if r, ok := regions[id]; ok {
			return r, nil
		}
		return "", vault.Errorf(vault.ENOTFOUND, "no firm")
	}
	a, err := keys.NewAuditAnchors(masters, "us", func(string) string { return dir }, regionOf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Load(ctx, "ten_a"); !vault.IsCode(err, vault.ENOTFOUND) {
		t.Fatalf("Load before Store: %v, want not_found", err)
	}
	for _, tenant := range []string{"ten_a", "ten_b", "ten_c", ""} {
		if err := a.Store(ctx, tenant, []byte("note of "+tenant)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Store(ctx, "ten_a", []byte("newer note of ten_a")); err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[string]string{"ten_a": "newer note of ten_a", "ten_b": "note of ten_b", "ten_c": "note of ten_c", "": "note of "} {
		got, err := a.Load(ctx, tenant)
		if err != nil || string(got) != want {
			t.Errorf("Load(%q) = %q, %v; want %q", tenant, got, err, want)
		}
	}
	got, err := a.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"", "ten_a", "ten_b", "ten_c"}; !slices.Equal(got, want) {
		t.Errorf("Tenants() = %q, want %q", got, want)
	}

	// A file put in another firm's place does not open: it is bound to its
	// firm and region.
	usDir := filepath.Join(dir, "us-audit-anchors")
	b, err := os.ReadFile(filepath.Join(usDir, "74656e5f61.json")) // hex of ten_a
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(usDir, "74656e5f62.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Load(ctx, "ten_b"); !vault.IsCode(err, vault.EINVALID) {
		t.Errorf("Load of a file moved from another firm: %v, want invalid", err)
	}
	// Nor does one edited.
	b[len(b)/2] ^= 1
	if err := os.WriteFile(filepath.Join(usDir, "74656e5f61.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Load(ctx, "ten_a"); !vault.IsCode(err, vault.EINVALID) {
		t.Errorf("Load of an edited file: %v, want invalid", err)
	}
	ents, _ := os.ReadDir(usDir)
	for _, e := range ents {
		if info, _ := e.Info(); info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
	}
}

// A firm that moves has its anchor in its new region from the switch of
// the directory on, and Delete leaves nothing of it in the old one.
func TestAuditAnchors_Move(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	masters := map[string]keys.MasterKey{}
	for _, r := range []string{"us", "ca"} {
		mk, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, r+"-master.json"))
		if err != nil {
			t.Fatal(err)
		}
		masters[r] = mk
	}
	var region atomic.Value
	region.Store("us")
	regionOf := func(context.Context, string) (string, error) { return region.Load().(string), nil }
	a, err := keys.NewAuditAnchors(masters, "us", func(string) string { return dir }, regionOf)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store(ctx, "ten_m", []byte("old region's note")); err != nil {
		t.Fatal(err)
	}
	region.Store("ca")
	if _, err := a.Load(ctx, "ten_m"); !vault.IsCode(err, vault.ENOTFOUND) {
		t.Fatalf("Load after the switch: %v, want not_found (nothing anchored in ca yet)", err)
	}
	if err := a.Store(ctx, "ten_m", []byte("new region's note")); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "us", "ten_m"); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "us", "ten_m"); err != nil {
		t.Fatalf("Delete again: %v, want nil", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "us-audit-anchors", "74656e5f6d.json")); !os.IsNotExist(err) {
		t.Errorf("old region's anchor file: %v, want gone", err)
	}
	got, err := a.Load(ctx, "ten_m")
	if err != nil || string(got) != "new region's note" {
		t.Errorf("Load = %q, %v; want the new region's note", got, err)
	}
	if err := a.Delete(ctx, "eu", "ten_m"); !vault.IsCode(err, vault.EINVALID) {
		t.Errorf("Delete in an unknown region: %v, want invalid", err)
	}
}
