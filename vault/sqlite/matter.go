package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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

// Matter returns a matter of tenantID with its fields opened.
// Errors: not_found, cannot_decrypt, internal (no Sealer).
func (db *DB) Matter(ctx context.Context, tenantID, id string) (*vault.Matter, error) {
	row := db.db.QueryRowContext(ctx, `
		SELECT id, tenant_id, name, client, created_by, created_at
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

// Matters returns the matters of a firm, oldest first, with their fields
// opened. Errors: cannot_decrypt, internal (no Sealer).
func (db *DB) Matters(ctx context.Context, tenantID string) ([]*vault.Matter, error) {
	sealed, err := queryAll(ctx, db.db, "matters", scanMatter, `
		SELECT id, tenant_id, name, client, created_by, created_at
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

// scanMatter reads id, tenant_id, name, client, created_by, created_at.
func scanMatter(s scanner) (*sealedMatter, error) {
	sm := &sealedMatter{m: &vault.Matter{}}
	if err := s.Scan(&sm.m.ID, &sm.m.TenantID, &sm.name, &sm.client, &sm.m.CreatedBy,
		timeValue{&sm.m.CreatedAt}); err != nil {
		return nil, err
	}
	return sm, nil
}

// openMatter opens the sealed fields of sm into sm.m.
func (db *DB) openMatter(ctx context.Context, sm *sealedMatter) error {
	var err error
	if sm.m.Name, err = db.open(ctx, sm.m.TenantID, matterNameRef(sm.m.ID), sm.name); err != nil {
		return err
	}
	if sm.m.Client, err = db.open(ctx, sm.m.TenantID, matterClientRef(sm.m.ID), sm.client); err != nil {
		return err
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
