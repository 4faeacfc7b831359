package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/casevault/casevault/vault"
)

// grantColumns is the column list scanGrant reads.
const grantColumns = `id, tenant_id, user_id, document_id, matter_id, permissions,
	expires_at, created_by, created_at, revoked_at, revoked_by`

// grantKeyIndex is the unique index that allows one unrevoked grant per user,
// object, permissions and expiry. SQLite names it in the constraint error.
const grantKeyIndex = "grants_unrevoked_key"

// CreateGrant inserts a grant. An empty ID is filled in and a zero CreatedAt
// is set from the clock. The user, the creator and the document or matter
// must all belong to the grant's firm. Errors: invalid, not_found (tenant,
// user, creator, document or matter), conflict (an identical unrevoked grant
// exists).
func (db *DB) CreateGrant(ctx context.Context, g *vault.Grant) error {
	if g == nil {
		return vault.Errorf(vault.EINVALID, "Grant required.")
	}
	if err := validateGrant(g); err != nil {
		return err
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	// Checked here rather than left to the foreign keys, so an object of
	// another firm reads as not_found with the same message as a missing one.
	if err := requireRow(ctx, tx, "Tenant not found.", `SELECT 1 FROM tenants WHERE id = ?`, g.TenantID); err != nil {
		return err
	}
	for _, id := range []string{g.UserID, g.CreatedBy} {
		if err := requireRow(ctx, tx, "User not found.", `SELECT 1 FROM users WHERE tenant_id = ? AND id = ?`, g.TenantID, id); err != nil {
			return err
		}
	}
	// validateGrant made sure exactly one of these is set.
	if g.DocumentID != "" {
		if err := requireRow(ctx, tx, "Document not found.", `SELECT 1 FROM documents WHERE tenant_id = ? AND id = ?`, g.TenantID, g.DocumentID); err != nil {
			return err
		}
	}
	if g.MatterID != "" {
		if err := requireRow(ctx, tx, "Matter not found.", `SELECT 1 FROM matters WHERE tenant_id = ? AND id = ?`, g.TenantID, g.MatterID); err != nil {
			return err
		}
	}

	createdAt := g.CreatedAt
	stamp(&createdAt, tx.now)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO grants (id, tenant_id, user_id, document_id, matter_id, permissions,
			expires_at, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.TenantID, g.UserID, nullString(g.DocumentID), nullString(g.MatterID),
		vault.FormatPermissions(g.Permissions), formatNullTime(g.ExpiresAt), g.CreatedBy, formatTime(createdAt),
	); err != nil {
		err = formatError(err)
		if vault.IsCode(err, vault.ECONFLICT) && strings.Contains(err.Error(), grantKeyIndex) {
			return vault.WrapError(vault.ECONFLICT, err, "An identical grant already exists.")
		}
		return fmt.Errorf("insert grant: %w", err)
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("insert grant: %w", err)
	}
	g.CreatedAt = createdAt
	return nil
}

// validateGrant checks a new grant, fills in an empty ID and converts its
// expiry to UTC.
func validateGrant(g *vault.Grant) error {
	if err := checkID(&g.ID, vault.PrefixGrant, "grant"); err != nil {
		return err
	}
	switch {
	case g.TenantID == "":
		return vault.Errorf(vault.EINVALID, "Grant tenant required.")
	case g.UserID == "":
		return vault.Errorf(vault.EINVALID, "Grant user required.")
	case g.CreatedBy == "":
		return vault.Errorf(vault.EINVALID, "Grant creator required.")
	case (g.DocumentID == "") == (g.MatterID == ""):
		return vault.Errorf(vault.EINVALID, "A grant is on exactly one document or one matter.")
	case g.RevokedAt != nil || g.RevokedBy != "":
		return vault.Errorf(vault.EINVALID, "A new grant cannot be revoked.")
	}
	ps, err := vault.CanonicalPermissions(g.Permissions)
	if err != nil {
		return err
	}
	// The caller canonicalizes, so what it checks is exactly what is stored
	// and what the duplicate check compares.
	if !slices.Equal(ps, g.Permissions) {
		return vault.Errorf(vault.EINVALID, "Permissions must be listed once each, in the order read, download, edit.")
	}
	if g.ExpiresAt != nil {
		if g.ExpiresAt.IsZero() {
			g.ExpiresAt = nil
		} else {
			exp := g.ExpiresAt.UTC()
			g.ExpiresAt = &exp
		}
	}
	return nil
}

// Grant returns one grant of tenantID, in any state. Errors: not_found.
func (db *DB) Grant(ctx context.Context, tenantID, id string) (*vault.Grant, error) {
	row := db.db.QueryRowContext(ctx, `
		SELECT `+grantColumns+`
		FROM grants
		WHERE tenant_id = ? AND id = ?`, tenantID, id)
	g, err := scanGrant(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Grant not found.")
	} else if err != nil {
		return nil, fmt.Errorf("grant: %w", formatError(err))
	}
	return g, nil
}

// Grants returns the grants of tenantID matching f, oldest first (by
// creation time, then id).
func (db *DB) Grants(ctx context.Context, tenantID string, f vault.GrantFilter) ([]*vault.Grant, error) {
	where, args := []string{"tenant_id = ?"}, []any{tenantID}
	for _, c := range []struct{ column, value string }{
		{"user_id", f.UserID},
		{"document_id", f.DocumentID},
		{"matter_id", f.MatterID},
		{"created_by", f.CreatedBy},
	} {
		if c.value != "" {
			where, args = append(where, c.column+" = ?"), append(args, c.value)
		}
	}
	if !f.ActiveAt.IsZero() {
		where, args = append(where, grantActive), append(args, formatTime(f.ActiveAt))
	}
	return queryAll(ctx, db.db, "grants", scanGrant, `
		SELECT `+grantColumns+`
		FROM grants
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY created_at, id`, args...)
}

// grantActive keeps grants neither revoked nor expired at its one argument,
// a formatTime string. Stored times are fixed-width UTC text, so they compare
// in time order; a grant expires at its expires_at instant.
const grantActive = `revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`

// AccessGrants returns userID's grants active at at on documentID or on
// matterID; an empty id matches nothing. Each side is one lookup in its
// (tenant_id, user_id, object) index, joined by UNION ALL: a grant is on a
// document or on a matter, never both, so no row appears twice.
func (db *DB) AccessGrants(ctx context.Context, tenantID, userID, documentID, matterID string, at time.Time) ([]*vault.Grant, error) {
	var parts []string
	var args []any
	for _, c := range []struct{ column, value string }{
		{"document_id", documentID},
		{"matter_id", matterID},
	} {
		if c.value == "" {
			continue
		}
		parts = append(parts, `
			SELECT `+grantColumns+`
			FROM grants
			WHERE tenant_id = ? AND user_id = ? AND `+c.column+` = ? AND `+grantActive)
		args = append(args, tenantID, userID, c.value, formatTime(at))
	}
	if len(parts) == 0 {
		return nil, nil // an empty list, as queryAll returns for no rows
	}
	return queryAll(ctx, db.db, "access grants", scanGrant,
		strings.Join(parts, " UNION ALL ")+`
		ORDER BY created_at, id`, args...)
}

// RevokeGrant marks a grant revoked by the user by at time at; a zero at is
// set from the clock. The grant's other fields never change.
// Errors: invalid, not_found (grant missing or another firm's, revoker not a
// user of the firm), conflict (already revoked).
func (db *DB) RevokeGrant(ctx context.Context, tenantID, id, by string, at time.Time) error {
	if by == "" {
		return vault.Errorf(vault.EINVALID, "Revoking user required.")
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := requireRow(ctx, tx, "User not found.", `SELECT 1 FROM users WHERE tenant_id = ? AND id = ?`, tenantID, by); err != nil {
		return err
	}
	stamp(&at, tx.now)
	res, err := tx.ExecContext(ctx, `
		UPDATE grants
		SET revoked_at = ?, revoked_by = ?
		WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL`,
		formatTime(at), by, tenantID, id)
	if err != nil {
		return fmt.Errorf("revoke grant: %w", formatError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	if n == 0 {
		// The write transaction holds the lock, so the grant cannot have
		// changed since the UPDATE.
		if err := requireRow(ctx, tx, "Grant not found.", `SELECT 1 FROM grants WHERE tenant_id = ? AND id = ?`, tenantID, id); err != nil {
			return err
		}
		return vault.Errorf(vault.ECONFLICT, "Grant is already revoked.")
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("revoke grant: %w", err)
	}
	return nil
}

// scanGrant reads the columns of grantColumns.
func scanGrant(s scanner) (*vault.Grant, error) {
	var g vault.Grant
	var documentID, matterID, revokedBy sql.NullString
	var perms string
	var expires, revoked nullTime
	if err := s.Scan(&g.ID, &g.TenantID, &g.UserID, &documentID, &matterID, &perms,
		&expires, &g.CreatedBy, timeValue{&g.CreatedAt}, &revoked, &revokedBy); err != nil {
		return nil, err
	}
	ps, err := vault.ParsePermissions(perms)
	if err != nil {
		// A stored value the schema should have refused: internal, not the
		// caller's invalid input.
		return nil, fmt.Errorf("grant %s: stored permissions %q unreadable", g.ID, perms)
	}
	g.Permissions = ps
	g.DocumentID, g.MatterID, g.RevokedBy = documentID.String, matterID.String, revokedBy.String
	if expires.Valid {
		g.ExpiresAt = &expires.Time
	}
	if revoked.Valid {
		g.RevokedAt = &revoked.Time
	}
	return &g, nil
}

// nullString stores an empty string as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
