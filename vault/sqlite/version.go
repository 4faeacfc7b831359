package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/casevault/casevault/vault"
)

// versionColumns is the column list scanVersion reads.
const versionColumns = `tenant_id, document_id, number, size, ciphertext_size, part_size,
	part_cipher_size, key_id, blob_key, content_type, created_by, created_at`

// AddVersion inserts v as the document's next version, makes it current
// (with its size and content type) and clears its pending-blob record, in one
// transaction. v.Number must be the current version plus one; of concurrent
// callers adding the same number exactly one succeeds. An empty content type
// is taken from the document, and a zero CreatedAt is set from the clock.
// Errors: not_found (document or creator), conflict (another version won the
// race, the document is in the trash, its matter is closed, or blob key in
// use), invalid.
func (db *DB) AddVersion(ctx context.Context, v *vault.Version) error {
	if v == nil {
		return vault.Errorf(vault.EINVALID, "Version required.")
	}
	if v.Number < 1 {
		return vault.Errorf(vault.EINVALID, "Invalid version number.")
	}
	if err := validateVersion(v); err != nil {
		return err
	}

	ct := v.ContentType
	if ct == "" {
		// The document's content type is sealed: open it before the
		// transaction. A concurrent AddVersion that changes it also moves
		// the current version, and then this one fails as not next.
		d, err := db.Document(ctx, v.TenantID, v.DocumentID)
		if err != nil {
			return err
		}
		ct = d.ContentType
	}
	// Seal before BEGIN: the sealer reads keysets from this database.
	vctype, err := db.seal(ctx, v.TenantID, versionContentTypeRef(v.DocumentID, v.Number), ct)
	if err != nil {
		return notFoundAs(err, "Document not found.")
	}
	dctype, err := db.seal(ctx, v.TenantID, documentContentTypeRef(v.DocumentID), ct)
	if err != nil {
		return notFoundAs(err, "Document not found.")
	}

	// BEGIN IMMEDIATE serializes writers, so the check of the current
	// version below and the update after it cannot interleave with another
	// AddVersion; the guarded UPDATE is a second line of defence.
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var current, trashed int
	var matterID string
	err = tx.QueryRowContext(ctx, `
		SELECT current_version, trashed, matter_id
		FROM documents
		WHERE tenant_id = ? AND id = ?`, v.TenantID, v.DocumentID,
	).Scan(&current, &trashed, &matterID)
	if errors.Is(err, sql.ErrNoRows) {
		return vault.Errorf(vault.ENOTFOUND, "Document not found.")
	} else if err != nil {
		return fmt.Errorf("add version: %w", formatError(err))
	}
	if trashed != 0 {
		return vault.Errorf(vault.ECONFLICT, "Document is in the trash; restore it first.")
	}
	if err := requireOpenMatter(ctx, tx, v.TenantID, matterID); err != nil {
		return err
	}
	if v.Number != current+1 {
		return vault.Errorf(vault.ECONFLICT, "Version %d is not next: the document is at version %d.", v.Number, current)
	}
	if err := requireRow(ctx, tx, "User not found.", `SELECT 1 FROM users WHERE tenant_id = ? AND id = ?`, v.TenantID, v.CreatedBy); err != nil {
		return err
	}

	createdAt := v.CreatedAt
	stamp(&createdAt, tx.now)
	if err := insertVersion(ctx, tx, v, vctype, createdAt); err != nil {
		return err
	}

	res, err := tx.ExecContext(ctx, `
		UPDATE documents
		SET current_version = ?, size = ?, content_type = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ? AND current_version = ?`,
		v.Number, v.Size, dctype, formatTime(tx.now),
		v.TenantID, v.DocumentID, current,
	)
	if err != nil {
		return fmt.Errorf("add version: %w", formatError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("add version: %w", err)
	} else if n != 1 {
		return vault.Errorf(vault.ECONFLICT, "Another version was added first.")
	}
	if err := deletePendingBlob(ctx, tx, v.BlobKey); err != nil {
		return err
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("add version: %w", err)
	}
	v.ContentType, v.CreatedAt = ct, createdAt
	return nil
}

// Version returns version n of a document of tenantID. Errors: not_found.
func (db *DB) Version(ctx context.Context, tenantID, documentID string, n int) (*vault.Version, error) {
	row := db.db.QueryRowContext(ctx, `
		SELECT `+versionColumns+`
		FROM versions
		WHERE tenant_id = ? AND document_id = ? AND number = ?`, tenantID, documentID, n)
	rv, err := scanVersion(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Version not found.")
	} else if err != nil {
		return nil, fmt.Errorf("version: %w", formatError(err))
	}
	if err := db.openVersion(ctx, rv); err != nil {
		return nil, err
	}
	return rv.v, nil
}

// Versions returns every version of a document of tenantID, oldest first,
// with their content types opened (one that does not open is left "" and
// marked). Errors: not_found (document), internal (no Sealer).
func (db *DB) Versions(ctx context.Context, tenantID, documentID string) ([]*vault.Version, error) {
	read, err := db.readVersions(ctx, tenantID, documentID)
	if err != nil {
		return nil, err
	}
	// The read transaction is over before the sealer runs.
	a := make([]*vault.Version, 0, len(read))
	for _, rv := range read {
		if err := db.openVersion(ctx, rv); err != nil {
			return nil, err
		}
		a = append(a, rv.v)
	}
	return a, nil
}

// readVersions reads a document's versions, sealed, in one read
// transaction with the check that the document exists.
func (db *DB) readVersions(ctx context.Context, tenantID, documentID string) ([]*readVersion, error) {
	tx, err := db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	if ok, err := exists(ctx, tx, `SELECT 1 FROM documents WHERE tenant_id = ? AND id = ?`, tenantID, documentID); err != nil {
		return nil, fmt.Errorf("versions: %w", err)
	} else if !ok {
		return nil, vault.Errorf(vault.ENOTFOUND, "Document not found.")
	}

	return queryAll(ctx, tx, "versions", scanVersion, `
		SELECT `+versionColumns+`
		FROM versions
		WHERE tenant_id = ? AND document_id = ?
		ORDER BY number`, tenantID, documentID)
}

// validateVersion checks the fields every stored version needs.
func validateVersion(v *vault.Version) error {
	switch {
	case v.TenantID == "" || v.DocumentID == "":
		return vault.Errorf(vault.EINVALID, "Version document required.")
	case v.BlobKey == "":
		return vault.Errorf(vault.EINVALID, "Version blob key required.")
	case v.CreatedBy == "":
		return vault.Errorf(vault.EINVALID, "Version creator required.")
	case v.Size < 0 || v.CiphertextSize < 0 || v.PartSize < 0 || v.PartCipherSize < 0:
		return vault.Errorf(vault.EINVALID, "Invalid version sizes.")
	}
	return nil
}

// insertVersion inserts v in tx with its sealed content type and the given
// creation time.
func insertVersion(ctx context.Context, tx *tx, v *vault.Version, ctype []byte, createdAt time.Time) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO versions (`+versionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.TenantID, v.DocumentID, v.Number, v.Size, v.CiphertextSize, v.PartSize,
		v.PartCipherSize, int64(v.KeyID), v.BlobKey, ctype, v.CreatedBy, formatTime(createdAt),
	); err != nil {
		return fmt.Errorf("insert version: %w", formatError(err))
	}
	return nil
}

// readVersion is a version as read, before its content type is opened.
type readVersion struct {
	v     *vault.Version
	ctype []byte
}

// scanVersion reads the columns of versionColumns.
func scanVersion(s scanner) (*readVersion, error) {
	rv := &readVersion{v: &vault.Version{}}
	v := rv.v
	var keyID int64
	if err := s.Scan(&v.TenantID, &v.DocumentID, &v.Number, &v.Size, &v.CiphertextSize, &v.PartSize,
		&v.PartCipherSize, &keyID, &v.BlobKey, &rv.ctype, &v.CreatedBy, timeValue{&v.CreatedAt}); err != nil {
		return nil, err
	}
	if keyID < 0 || keyID > math.MaxUint32 {
		return nil, fmt.Errorf("stored key id %d out of range", keyID)
	}
	v.KeyID = uint32(keyID)
	return rv, nil
}

// openVersion opens the sealed content type of rv into rv.v, marking it in
// the version's Damage when it fails authentication.
func (db *DB) openVersion(ctx context.Context, rv *readVersion) error {
	var err error
	rv.v.ContentType, err = db.openOrMark(ctx, rv.v.TenantID, versionContentTypeRef(rv.v.DocumentID, rv.v.Number), rv.ctype, &rv.v.Damage)
	return err
}

// versionContentTypeRef names the sealed content type cell of a version.
func versionContentTypeRef(documentID string, number int) vault.FieldRef {
	return vault.FieldRef{Table: "versions", Column: "content_type", RowID: versionRowID(documentID, number)}
}
