package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/casevault/casevault/vault"
)

// documentColumns is the column list scanDocument reads.
const documentColumns = `id, tenant_id, matter_id, name, content_type, current_version, size,
	trashed, trashed_at, created_by, created_at, updated_at`

// CreateDocument inserts a document with its first version and clears v's
// pending-blob record, in one transaction. d.CurrentVersion and v.Number must
// both be 1; v's TenantID and DocumentID are filled in from d when empty. d's
// Size is set from v, and an empty content type on either side is taken
// from the other. Zero times are set from the clock.
// Errors: not_found (matter or creator), conflict (id or blob key in use,
// matter closed), invalid, internal (no Sealer).
func (db *DB) CreateDocument(ctx context.Context, d *vault.Document, v *vault.Version) error {
	if d == nil || v == nil {
		return vault.Errorf(vault.EINVALID, "Document and version required.")
	}
	if err := checkID(&d.ID, vault.PrefixDocument, "document"); err != nil {
		return err
	}
	switch {
	case d.TenantID == "":
		return vault.Errorf(vault.EINVALID, "Document tenant required.")
	case d.MatterID == "":
		return vault.Errorf(vault.EINVALID, "Document matter required.")
	case d.Name == "":
		return vault.Errorf(vault.EINVALID, "Document name required.")
	case d.CreatedBy == "":
		return vault.Errorf(vault.EINVALID, "Document creator required.")
	case d.CurrentVersion != 1 || v.Number != 1:
		return vault.Errorf(vault.EINVALID, "A new document starts at version 1.")
	}
	if v.TenantID == "" {
		v.TenantID = d.TenantID
	}
	if v.DocumentID == "" {
		v.DocumentID = d.ID
	}
	if v.CreatedBy == "" {
		v.CreatedBy = d.CreatedBy
	}
	if v.TenantID != d.TenantID || v.DocumentID != d.ID {
		return vault.Errorf(vault.EINVALID, "Version belongs to another document.")
	}
	if err := validateVersion(v); err != nil {
		return err
	}
	if d.ContentType == "" {
		d.ContentType = v.ContentType
	} else if v.ContentType == "" {
		v.ContentType = d.ContentType
	}
	d.Size = v.Size

	// Seal before BEGIN: the sealer reads keysets from this database.
	name, err := db.seal(ctx, d.TenantID, documentNameRef(d.ID), d.Name)
	if err != nil {
		return err
	}
	ctype, err := db.seal(ctx, d.TenantID, documentContentTypeRef(d.ID), d.ContentType)
	if err != nil {
		return err
	}
	vctype, err := db.seal(ctx, v.TenantID, versionContentTypeRef(v.DocumentID, v.Number), v.ContentType)
	if err != nil {
		return err
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := requireOpenMatter(ctx, tx, d.TenantID, d.MatterID); err != nil {
		return err
	}
	if err := requireRow(ctx, tx, "User not found.", `SELECT 1 FROM users WHERE tenant_id = ? AND id = ?`, d.TenantID, d.CreatedBy); err != nil {
		return err
	}

	createdAt, vcreatedAt := d.CreatedAt, v.CreatedAt
	stamp(&createdAt, tx.now)
	stamp(&vcreatedAt, createdAt)
	trashedAt := trashTime(d.Trashed, d.TrashedAt, nil, tx.now)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO documents (`+documentColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.TenantID, d.MatterID, name, ctype, d.CurrentVersion, d.Size,
		boolInt(d.Trashed), formatNullTime(trashedAt), d.CreatedBy, formatTime(createdAt), formatTime(createdAt),
	); err != nil {
		return fmt.Errorf("insert document: %w", formatError(err))
	}
	if err := insertVersion(ctx, tx, v, vctype, vcreatedAt); err != nil {
		return err
	}
	if err := deletePendingBlob(ctx, tx, v.BlobKey); err != nil {
		return err
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("insert document: %w", err)
	}
	d.CreatedAt, d.UpdatedAt, d.TrashedAt = createdAt, createdAt, trashedAt
	v.CreatedAt = vcreatedAt
	return nil
}

// Document returns a document of tenantID, trashed or not, with its name
// and content type opened; a field that does not open is left "" and
// marked in the document's Damage. Errors: not_found, internal (no Sealer).
func (db *DB) Document(ctx context.Context, tenantID, id string) (*vault.Document, error) {
	row := db.db.QueryRowContext(ctx, `
		SELECT `+documentColumns+`
		FROM documents
		WHERE tenant_id = ? AND id = ?`, tenantID, id)
	sd, err := scanDocument(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Document not found.")
	} else if err != nil {
		return nil, fmt.Errorf("document: %w", formatError(err))
	}
	if err := db.openDocument(ctx, sd); err != nil {
		return nil, err
	}
	return sd.d, nil
}

// Documents returns a firm's documents matching f, oldest first, with their
// names and content types opened. Trashed documents are left out unless
// f.IncludeTrashed or f.OnlyTrashed is set. A field that does not open is
// left "" and marked in its document's Damage: one damaged row does not
// fail the listing. Errors: internal (no Sealer).
func (db *DB) Documents(ctx context.Context, tenantID string, f vault.DocumentFilter) ([]*vault.Document, error) {
	where, args := []string{"tenant_id = ?"}, []any{tenantID}
	if f.MatterID != "" {
		where, args = append(where, "matter_id = ?"), append(args, f.MatterID)
	}
	switch {
	case f.OnlyTrashed:
		where = append(where, "trashed = 1")
	case !f.IncludeTrashed:
		where = append(where, "trashed = 0")
	}

	sealed, err := queryAll(ctx, db.db, "documents", scanDocument, `
		SELECT `+documentColumns+`
		FROM documents
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY created_at, rowid`, args...)
	if err != nil {
		return nil, err
	}

	a := make([]*vault.Document, 0, len(sealed))
	for _, sd := range sealed {
		if err := db.openDocument(ctx, sd); err != nil {
			return nil, err
		}
		a = append(a, sd.d)
	}
	return a, nil
}

// UpdateDocument saves name, matter, trashed flag and updated time; a zero
// UpdatedAt is set from the clock. TrashedAt is taken from d when trashing
// with it set, else kept from the stored row, else set from the clock;
// untrashing clears it. A name d's Damage marks unreadable is left as
// stored. The target matter must belong to the same firm, and neither the
// document's matter nor the target may be closed.
// Errors: not_found (document or target matter), conflict (matter closed),
// invalid, internal (no Sealer).
func (db *DB) UpdateDocument(ctx context.Context, d *vault.Document) error {
	if d == nil {
		return vault.Errorf(vault.EINVALID, "Document required.")
	}
	switch {
	case d.Name == "" && d.Readable("name"):
		return vault.Errorf(vault.EINVALID, "Document name required.")
	case d.MatterID == "":
		return vault.Errorf(vault.EINVALID, "Document matter required.")
	}

	// Seal before BEGIN: the sealer reads keysets from this database.
	var name []byte // nil keeps the stored name
	if d.Readable("name") {
		var err error
		if name, err = db.seal(ctx, d.TenantID, documentNameRef(d.ID), d.Name); err != nil {
			return notFoundAs(err, "Document not found.")
		}
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var stored nullTime
	var storedMatter string
	err = tx.QueryRowContext(ctx, `
		SELECT trashed_at, matter_id
		FROM documents
		WHERE tenant_id = ? AND id = ?`, d.TenantID, d.ID,
	).Scan(&stored, &storedMatter)
	if errors.Is(err, sql.ErrNoRows) {
		return vault.Errorf(vault.ENOTFOUND, "Document not found.")
	} else if err != nil {
		return fmt.Errorf("update document: %w", formatError(err))
	}
	if err := requireOpenMatter(ctx, tx, d.TenantID, d.MatterID); err != nil {
		return err
	}
	if storedMatter != d.MatterID {
		if err := requireOpenMatter(ctx, tx, d.TenantID, storedMatter); err != nil {
			return err
		}
	}

	var prev *time.Time
	if stored.Valid {
		prev = &stored.Time
	}
	trashedAt := trashTime(d.Trashed, d.TrashedAt, prev, tx.now)
	updatedAt := d.UpdatedAt
	stamp(&updatedAt, tx.now)
	if _, err := tx.ExecContext(ctx, `
		UPDATE documents
		SET name = COALESCE(?, name), matter_id = ?, trashed = ?, trashed_at = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`,
		name, d.MatterID, boolInt(d.Trashed), formatNullTime(trashedAt), formatTime(updatedAt),
		d.TenantID, d.ID,
	); err != nil {
		return fmt.Errorf("update document: %w", formatError(err))
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("update document: %w", err)
	}
	d.UpdatedAt, d.TrashedAt = updatedAt, trashedAt
	return nil
}

// trashTime returns the trashed_at to store: nil unless trashed, else the
// caller's time, else the stored one, else now.
func trashTime(trashed bool, given, stored *time.Time, now time.Time) *time.Time {
	switch {
	case !trashed:
		return nil
	case given != nil && !given.IsZero():
		t := given.UTC()
		return &t
	case stored != nil:
		t := *stored
		return &t
	default:
		return &now
	}
}

// sealedDocument is a document as read, before its name and content type
// are opened.
type sealedDocument struct {
	d           *vault.Document
	name, ctype []byte
}

// scanDocument reads the columns of documentColumns.
func scanDocument(s scanner) (*sealedDocument, error) {
	sd := &sealedDocument{d: &vault.Document{}}
	d := sd.d
	var trashed int
	var trashedAt nullTime
	if err := s.Scan(&d.ID, &d.TenantID, &d.MatterID, &sd.name, &sd.ctype, &d.CurrentVersion, &d.Size,
		&trashed, &trashedAt, &d.CreatedBy, timeValue{&d.CreatedAt}, timeValue{&d.UpdatedAt}); err != nil {
		return nil, err
	}
	d.Trashed = trashed != 0
	if trashedAt.Valid {
		d.TrashedAt = &trashedAt.Time
	}
	return sd, nil
}

// openDocument opens the sealed name and content type of sd into sd.d,
// marking those that fail authentication in the document's Damage.
func (db *DB) openDocument(ctx context.Context, sd *sealedDocument) error {
	name, err := db.openOrMark(ctx, sd.d.TenantID, documentNameRef(sd.d.ID), sd.name, &sd.d.Damage)
	if err != nil {
		return err
	}
	sd.d.Name = name
	sd.d.ContentType, err = db.openOrMark(ctx, sd.d.TenantID, documentContentTypeRef(sd.d.ID), sd.ctype, &sd.d.Damage)
	return err
}

// documentNameRef names the sealed name cell of a document.
func documentNameRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "documents", Column: "name", RowID: id}
}

// documentContentTypeRef names the sealed content type cell of a document.
func documentContentTypeRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "documents", Column: "content_type", RowID: id}
}
