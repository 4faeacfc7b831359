package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/casevault/casevault/vault"
)

// CreateMatter inserts a matter with its name and client sealed. An empty ID
// is filled in, and a zero CreatedAt is set from the clock.
// Errors: not_found (tenant or creator), invalid, internal (no Sealer).
func (db *DB) CreateMatter(ctx context.Context, m *vault.Matter) error {
	if m == nil {
		return vault.Errorf(vault.EINVALID, "Matter required.")
	}
	if err := checkID(&m.ID, vault.PrefixMatter, "matter"); err != nil {
		return err
	}
	switch {
	case m.TenantID == "":
		return vault.Errorf(vault.EINVALID, "Matter tenant required.")
	case m.Name == "":
		return vault.Errorf(vault.EINVALID, "Matter name required.")
	case m.CreatedBy == "":
		return vault.Errorf(vault.EINVALID, "Matter creator required.")
	}

	// Seal before BEGIN: the sealer reads keysets from this database.
	name, err := db.seal(ctx, m.TenantID, matterNameRef(m.ID), m.Name)
	if err != nil {
		return err
	}
	client, err := db.seal(ctx, m.TenantID, matterClientRef(m.ID), m.Client)
	if err != nil {
		return err
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := requireRow(ctx, tx, "Tenant not found.", `SELECT 1 FROM tenants WHERE id = ?`, m.TenantID); err != nil {
		return err
	}
	if err := requireRow(ctx, tx, "User not found.", `SELECT 1 FROM users WHERE tenant_id = ? AND id = ?`, m.TenantID, m.CreatedBy); err != nil {
		return err
	}
	createdAt := m.CreatedAt
	stamp(&createdAt, tx.now)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO matters (id, tenant_id, name, client, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		m.ID, m.TenantID, name, client, m.CreatedBy, formatTime(createdAt),
	); err != nil {
		return fmt.Errorf("insert matter: %w", formatError(err))
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("insert matter: %w", err)
	}
	m.CreatedAt = createdAt
	return nil
}

// matterColumns is the column list scanMatter reads.
const matterColumns = `id, tenant_id, name, client, closed_at, created_by, created_at`

// Matter returns a matter of tenantID with its fields opened. A field that
// does not open is left "" and named in the matter's Damage.
// Errors: not_found, internal (no Sealer).
func (db *DB) Matter(ctx context.Context, tenantID, id string) (*vault.Matter, error) {
	row := db.db.QueryRowContext(ctx, `
		SELECT `+matterColumns+`
		FROM matters
		WHERE tenant_id = ? AND id = ?`, tenantID, id)
	sm, err := scanMatter(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Matter not found.")
	} else if err != nil {
		return nil, fmt.Errorf("matter: %w", formatError(err))
	}
	// The row is read and its connection released before the sealer runs.
	if err := db.openMatter(ctx, sm); err != nil {
		return nil, err
	}
	return sm.m, nil
}

// Matters returns the matters of a firm, open and closed, oldest first,
// with their fields opened. A field that does not open is left "" and named
// in its matter's Damage: one damaged row does not fail the listing.
// Errors: internal (no Sealer).
func (db *DB) Matters(ctx context.Context, tenantID string) ([]*vault.Matter, error) {
	sealed, err := queryAll(ctx, db.db, "matters", scanMatter, `
		SELECT `+matterColumns+`
		FROM matters
		WHERE tenant_id = ?
		ORDER BY created_at, rowid`, tenantID)
	if err != nil {
		return nil, err
	}

	a := make([]*vault.Matter, 0, len(sealed))
	for _, sm := range sealed {
		if err := db.openMatter(ctx, sm); err != nil {
			return nil, err
		}
		a = append(a, sm.m)
	}
	return a, nil
}

// sealedMatter is a matter as read, before its fields are opened.
type sealedMatter struct {
	m            *vault.Matter
	name, client []byte
}

// scanMatter reads the columns of matterColumns.
func scanMatter(s scanner) (*sealedMatter, error) {
	sm := &sealedMatter{m: &vault.Matter{}}
	var closedAt nullTime
	if err := s.Scan(&sm.m.ID, &sm.m.TenantID, &sm.name, &sm.client, &closedAt, &sm.m.CreatedBy,
		timeValue{&sm.m.CreatedAt}); err != nil {
		return nil, err
	}
	if closedAt.Valid {
		sm.m.Closed, sm.m.ClosedAt = true, &closedAt.Time
	}
	return sm, nil
}

// openMatter opens the sealed fields of sm into sm.m. A field that fails
// authentication is marked in sm.m's Damage; other errors are returned.
func (db *DB) openMatter(ctx context.Context, sm *sealedMatter) error {
	var err error
	if sm.m.Name, err = db.openOrMark(ctx, sm.m.TenantID, matterNameRef(sm.m.ID), sm.name, &sm.m.Damage); err != nil {
		return err
	}
	if sm.m.Client, err = db.openOrMark(ctx, sm.m.TenantID, matterClientRef(sm.m.ID), sm.client, &sm.m.Damage); err != nil {
		return err
	}
	return nil
}

// UpdateMatter saves a matter's name, client and closed state; the fields
// its Damage names as unreadable are left as stored, so saving a damaged
// matter never needs its old values. A zero ClosedAt of a closed matter is
// set from the clock. Errors: not_found, invalid, internal (no Sealer).
func (db *DB) UpdateMatter(ctx context.Context, m *vault.Matter) error {
	if m == nil {
		return vault.Errorf(vault.EINVALID, "Matter required.")
	}
	var name, client []byte // nil keeps the stored value
	var err error
	// Seal before BEGIN: the sealer reads keysets from this database.
	if m.Readable("name") {
		if m.Name == "" {
			return vault.Errorf(vault.EINVALID, "Matter name required.")
		}
		if name, err = db.seal(ctx, m.TenantID, matterNameRef(m.ID), m.Name); err != nil {
			return notFoundAs(err, "Matter not found.")
		}
	}
	if m.Readable("client") {
		if client, err = db.seal(ctx, m.TenantID, matterClientRef(m.ID), m.Client); err != nil {
			return notFoundAs(err, "Matter not found.")
		}
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var closedAt *time.Time
	if m.Closed {
		t := tx.now
		if m.ClosedAt != nil && !m.ClosedAt.IsZero() {
			t = m.ClosedAt.UTC()
		}
		closedAt = &t
	}
	res, err := tx.ExecContext(ctx, `
		UPDATE matters
		SET name = COALESCE(?, name), client = COALESCE(?, client), closed_at = ?
		WHERE tenant_id = ? AND id = ?`,
		name, client, formatNullTime(closedAt), m.TenantID, m.ID)
	if err != nil {
		return fmt.Errorf("update matter: %w", formatError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update matter: %w", err)
	} else if n != 1 {
		return vault.Errorf(vault.ENOTFOUND, "Matter not found.")
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("update matter: %w", err)
	}
	m.ClosedAt = closedAt
	return nil
}

// requireOpenMatter fails with not_found unless the matter exists in the
// firm, and with conflict when it is closed. It runs inside the write
// transaction, so a matter closed while an upload streamed still refuses
// the upload's commit.
func requireOpenMatter(ctx context.Context, t *tx, tenantID, matterID string) error {
	var closedAt nullTime
	err := t.QueryRowContext(ctx, `SELECT closed_at FROM matters WHERE tenant_id = ? AND id = ?`, tenantID, matterID).Scan(&closedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return vault.Errorf(vault.ENOTFOUND, "Matter not found.")
	case err != nil:
		return fmt.Errorf("matter: %w", formatError(err))
	case closedAt.Valid:
		return vault.Errorf(vault.ECONFLICT, vault.MsgMatterClosed)
	}
	return nil
}

// matterNameRef names the sealed name cell of a matter.
func matterNameRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "matters", Column: "name", RowID: id}
}

// matterClientRef names the sealed client cell of a matter.
func matterClientRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "matters", Column: "client", RowID: id}
}

// seal seals plaintext for ref with the configured Sealer. Its errors carry
// the ref's table and column, never the plaintext.
func (db *DB) seal(ctx context.Context, tenantID string, ref vault.FieldRef, plaintext string) ([]byte, error) {
	s, err := db.sealer()
	if err != nil {
		return nil, err
	}
	ct, err := s.SealField(ctx, tenantID, ref, plaintext)
	if err != nil {
		return nil, fmt.Errorf("seal %s.%s: %w", ref.Table, ref.Column, err)
	}
	return ct, nil
}

// open opens a sealed field for ref with the configured Sealer.
func (db *DB) open(ctx context.Context, tenantID string, ref vault.FieldRef, ciphertext []byte) (string, error) {
	s, err := db.sealer()
	if err != nil {
		return "", err
	}
	pt, err := s.OpenField(ctx, tenantID, ref, ciphertext)
	if err != nil {
		return "", fmt.Errorf("open %s.%s: %w", ref.Table, ref.Column, err)
	}
	return pt, nil
}

// openOrMark opens a sealed field like open, except that a field that fails
// authentication (cannot_decrypt) reads as "" and is marked in d, so the
// rest of its row, and of a listing, still reads.
func (db *DB) openOrMark(ctx context.Context, tenantID string, ref vault.FieldRef, ciphertext []byte, d *vault.Damage) (string, error) {
	pt, err := db.open(ctx, tenantID, ref, ciphertext)
	if vault.IsCode(err, vault.ECANNOTDECRYPT) {
		d.MarkUnreadable(ref.Column)
		return "", nil
	}
	return pt, err
}

// notFoundAs replaces a not_found error (the sealer found no such firm)
// with msg, the object's own not_found.
func notFoundAs(err error, msg string) error {
	if vault.IsCode(err, vault.ENOTFOUND) {
		return vault.Errorf(vault.ENOTFOUND, "%s", msg)
	}
	return err
}
