package keys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/casevault/casevault/vault"
)

// MasterKey is a region's key-encryption key (KEK). It wraps and unwraps the
// keysets of the firms that live in the region and never leaves its home: a
// file today, a cloud KMS or a Vault transit key later, behind the same seam.
type MasterKey interface {
	// AEAD returns the primitive that wraps and unwraps tenant keysets.
	// Errors: unavailable (the key service cannot be reached), internal.
	AEAD(ctx context.Context) (tink.AEAD, error)
}

// fileMasterKey is a master key held in a local cleartext Tink keyset file.
type fileMasterKey struct {
	a tink.AEAD
}

// AEAD returns the primitive loaded from the file.
func (k *fileMasterKey) AEAD(context.Context) (tink.AEAD, error) { return k.a, nil }

// maxMasterKeyFile bounds what is read from a master key file; a Tink keyset
// of a few AES keys is well under a kilobyte.
const maxMasterKeyFile = 1 << 20

// LoadOrCreateFileMasterKey returns the master key kept at path, a cleartext
// binary Tink keyset of AES256-GCM keys. When path does not exist, a new key
// is generated and written there atomically with mode 0600 (its directory is
// created with mode 0700); an existing key is never overwritten. A file that
// group or others may access is refused, since it would let them unwrap every
// keyset of the region. Errors: invalid (bad permissions or not an AEAD
// keyset), internal.
func LoadOrCreateFileMasterKey(path string) (MasterKey, error) {
	if path == "" {
		return nil, vault.Errorf(vault.EINVALID, "Master key path is empty.")
	}
	k, err := loadFileMasterKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := createFileMasterKey(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	// Load what is on disk now, even when another process won the race to
	// create it: there must be exactly one master key per path.
	return loadFileMasterKey(path)
}

// loadFileMasterKey reads the key at path. The error wraps fs.ErrNotExist
// when there is no file.
func loadFileMasterKey(path string) (MasterKey, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	} else if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot open master key file %s.", path)
	}
	defer f.Close()

	fi, err := f.Stat()
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot stat master key file %s.", path)
	}
	if !fi.Mode().IsRegular() {
		return nil, vault.Errorf(vault.EINVALID, "Master key file %s is not a regular file.", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, vault.Errorf(vault.EINVALID,
			"Master key file %s is accessible by group or others (mode %04o); run chmod 600 on it.", path, perm)
	}
	if fi.Size() > maxMasterKeyFile {
		return nil, vault.Errorf(vault.EINVALID, "Master key file %s is too large to be a keyset.", path)
	}

	h, err := insecurecleartextkeyset.Read(keyset.NewBinaryReader(f))
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Master key file %s is not a Tink keyset.", path)
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Master key file %s does not hold an AEAD key.", path)
	}
	return &fileMasterKey{a: a}, nil
}

// createFileMasterKey generates a fresh keyset and publishes it at path
// atomically: written to a temporary file in the same directory, synced, then
// linked into place, which fails rather than replaces when path exists.
func createFileMasterKey(path string) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot create directory of master key file %s.", path)
	}

	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot generate master key.")
	}
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewBinaryWriter(&buf)); err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot serialize master key.")
	}

	return publishFile(path, buf.Bytes(), "master key file")
}

// publishFile writes data to path atomically with mode 0600: to a temporary
// file in the same directory, synced, then linked into place, which fails
// with an error wrapping fs.ErrExist rather than replace an existing file.
// what names the file in errors.
func publishFile(path string, data []byte, what string) error {
	dir := filepath.Dir(path)
	tmp, err := syncedTemp(path, data, what)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // on failure; after the link only the temporary name goes

	// A rename would silently replace a key created concurrently, orphaning
	// everything wrapped or signed by it; a hard link is atomic and
	// exclusive.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return vault.WrapError(vault.EINTERNAL, err, "Cannot publish %s %s.", what, path)
	}
	_ = os.Remove(tmp)
	if err := syncDir(dir); err != nil {
		return vault.WrapError(vault.EINTERNAL, err, "Cannot sync directory of %s %s.", what, path)
	}
	return nil
}

// syncedTemp writes data to a new temporary file of mode 0600 beside path,
// synced and closed, and returns its name; what names path in errors.
func syncedTemp(path string, data []byte, what string) (string, error) {
	// CreateTemp opens with O_CREATE|O_EXCL and mode 0600.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*.tmp")
	if err != nil {
		return "", vault.WrapError(vault.EINTERNAL, err, "Cannot create %s %s.", what, path)
	}
	fail := func(err error, msg string) (string, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", vault.WrapError(vault.EINTERNAL, err, "Cannot %s %s %s.", msg, what, path)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return fail(err, "create")
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err, "write")
	}
	if err := tmp.Sync(); err != nil {
		return fail(err, "sync")
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", vault.WrapError(vault.EINTERNAL, err, "Cannot write %s %s.", what, path)
	}
	return tmp.Name(), nil
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// loadOrCreate loads the key file of region (or name) at path with load,
// first creating it with create when it does not exist; an existing file
// is never replaced, and a file another process creates meanwhile is the
// one loaded.
func loadOrCreate[T any](ctx context.Context, path, region string, master MasterKey,
	load func(context.Context, string, string, MasterKey) (T, error),
	create func(context.Context, string, string, MasterKey) error) (T, error) {
	k, err := load(ctx, path, region, master)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := create(ctx, path, region, master); err != nil && !errors.Is(err, fs.ErrExist) {
		var none T
		return none, err
	}
	return load(ctx, path, region, master)
}
