package keys_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

func TestBackupKey_File(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	us, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, "us-master.json"))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := keys.LoadOrCreateFileMasterKey(filepath.Join(dir, "ca-master.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "us-backup.json")
	if _, err := keys.LoadBackupKey(ctx, path, "us", us); !vault.IsCode(err, vault.ENOTFOUND) {
		t.Fatalf("load before create: got %v, want not_found", err)
	}
	k, err := keys.LoadOrCreateBackupKey(ctx, path, "us", us)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode: got %04o, want 0600", got)
	}
	before, _ := os.ReadFile(path)

	o := keys.BackupObject{DB: "casevault", Level: 0, MinTXID: 1, MaxTXID: 1, CreatedMS: 1}
	plain := bytes.Repeat([]byte("page "), 30000)
	var ct bytes.Buffer
	if _, _, err := k.Encrypt(ctx, o, bytes.NewReader(plain), &ct); err != nil {
		t.Fatal(err)
	}
	// Loaded again, the same key decrypts; the file is not rewritten.
	again, err := keys.LoadOrCreateBackupKey(ctx, path, "us", us)
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("LoadOrCreateBackupKey rewrote an existing key file")
	}
	fetch := func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		b := ct.Bytes()
		return io.NopCloser(bytes.NewReader(b[off:min(off+n, int64(len(b)))])), nil
	}
	rc, err := again.DecryptRange(ctx, o, int64(ct.Len()), 0, -1, fetch)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("decrypt with the reloaded key: %d bytes, %v; want the %d plaintext bytes", len(got), err, len(plain))
	}
	if size, err := again.PlainSize(int64(ct.Len())); err != nil || size != int64(len(plain)) {
		t.Errorf("PlainSize: got %d, %v; want %d", size, err, len(plain))
	}

	// docs/BACKUP-FORMAT.md: a part adds 56 bytes, after a 16-byte header.
	if size, err := again.PlainSize(16 + 56); err != nil || size != 0 {
		t.Errorf("PlainSize(16+56): got %d, %v; want 0 (an empty file)", size, err)
	}
	if _, err := again.PlainSize(16 + 55); err == nil {
		t.Error("PlainSize(16+55): got nil error, want a torn part")
	}

	// Another region's master key, or another region's name, does not
	// unwrap it.
	if _, err := keys.LoadBackupKey(ctx, path, "us", ca); !vault.IsCode(err, vault.EINVALID) {
		t.Errorf("load with ca's master key: got %v, want invalid", err)
	}
	if _, err := keys.LoadBackupKey(ctx, path, "ca", us); !vault.IsCode(err, vault.EINVALID) {
		t.Errorf("load as ca's key: got %v, want invalid", err)
	}
	// Without its master key the file is useless: restoring needs both.
	if _, err := keys.LoadOrCreateBackupKey(ctx, path, "us", ca); err == nil {
		t.Error("LoadOrCreateBackupKey with another master key: got nil error")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("a failed load replaced the key file")
	}
}
