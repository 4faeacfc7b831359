package keys_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

func TestIndexer(t *testing.T) {
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
	pathOf := func(name string) string { return filepath.Join(dir, name+"-index.json") }
	x, err := keys.LoadOrCreateIndexer(ctx, masters, "us", pathOf)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := x.Regions(), []string{"ca", "us"}; !slices.Equal(got, want) {
		t.Errorf("Regions = %v, want %v", got, want)
	}
	index := func(x *keys.Indexer, region, purpose, value string) []byte {
		t.Helper()
		b, err := x.Index(ctx, region, purpose, value)
		if err != nil {
			t.Fatalf("Index(%q, %q): %v", region, purpose, err)
		}
		if len(b) != 32 {
			t.Fatalf("index is %d bytes, want 32", len(b))
		}
		return b
	}
	a := index(x, "ca", vault.IndexEmail, "kim@maple.example")
	if !bytes.Equal(a, index(x, "ca", vault.IndexEmail, "kim@maple.example")) {
		t.Error("index is not deterministic")
	}
	for name, other := range map[string][]byte{
		"other value":   index(x, "ca", vault.IndexEmail, "kim@maple.example."),
		"other purpose": index(x, "ca", vault.IndexSource, "kim@maple.example"),
		"other region":  index(x, "us", vault.IndexEmail, "kim@maple.example"),
		"service":       index(x, "", vault.IndexEmail, "kim@maple.example"),
		// purpose and value are separated, so they cannot be shifted.
		"shifted": index(x, "ca", vault.IndexEmail+"k", "im@maple.example"),
	} {
		if bytes.Equal(a, other) {
			t.Errorf("%s: same index", name)
		}
	}
	for _, bad := range []string{"eu", keys.ServiceIndex} {
		if _, err := x.Index(ctx, bad, vault.IndexEmail, "x"); vault.ErrorCode(err) != vault.EINVALID {
			t.Errorf("Index(region %q) = %v, want invalid", bad, err)
		}
	}

	// Reloaded, the same keys: stored indexes keep finding their rows.
	y, err := keys.LoadOrCreateIndexer(ctx, masters, "us", pathOf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, index(y, "ca", vault.IndexEmail, "kim@maple.example")) {
		t.Error("index changed across a reload")
	}
	for _, name := range []string{"us", "ca", keys.ServiceIndex} {
		fi, err := os.Stat(pathOf(name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s index key file: %v, %v", name, fi, err)
		}
	}

	// The files do not open with another master key, nor under another
	// name: each is bound to the key that wraps it and to its region.
	other, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, "other-master.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.LoadOrCreateIndexer(ctx, map[string]keys.MasterKey{"us": masters["us"], "ca": other}, "us", pathOf); vault.ErrorCode(err) != vault.EINVALID {
		t.Errorf("another master key: %v, want invalid", err)
	}
	swapped := func(name string) string {
		if name == "ca" {
			name = "us"
		}
		return pathOf(name)
	}
	if _, err := keys.LoadOrCreateIndexer(ctx, masters, "us", swapped); vault.ErrorCode(err) != vault.EINVALID {
		t.Errorf("another region's file: %v, want invalid", err)
	}
	if _, err := keys.LoadOrCreateIndexer(ctx, masters, "eu", pathOf); vault.ErrorCode(err) != vault.EINVALID {
		t.Errorf("service region without a master key: %v, want invalid", err)
	}
}
