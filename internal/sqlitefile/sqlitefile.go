// Package sqlitefile prepares the file of one of CaseVault's SQLite
// databases (the metadata database and the audit log) before it is opened.
package sqlitefile

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/casevault/casevault/vault"
)

// Create checks that path names a plain file (not ":memory:", not a
// "file:" URI, nothing SQLite would read as query options), then creates
// its directory (mode 0700) and the file itself (mode 0600) when missing,
// so that the file, and the -wal and -shm files SQLite derives from it, are
// private to the service's user. what names the database in error
// messages, e.g. "audit log". Errors: invalid (unusable path), unavailable.
func Create(path, what string) error {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsAny(path, "?#") {
		return vault.Errorf(vault.EINVALID, "Invalid %s path.", what)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot create the %s directory.", what)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot open the %s file.", what)
	}
	if err := f.Close(); err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot open the %s file.", what)
	}
	return nil
}
