package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/casevault/casevault/vault"
)

// CreateTenant inserts the firm, its wrapped keysets and its owner in one
// transaction. Empty ids are filled in, and a zero CreatedAt is set from the
// clock. Errors: conflict (owner email taken), invalid.
func (db *DB) CreateTenant(ctx context.Context, t *vault.Tenant, ks vault.TenantKeysets, owner *vault.User) error {
	if err := checkNewTenant(t, ks, owner); err != nil {
		return err
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := insertTenant(ctx, tx, t, ks, owner); err != nil {
		return err
	}
	return tx.commit()
}

// checkNewTenant validates a new firm and its owner, filling in empty ids,
// the owner's tenant and role.
func checkNewTenant(t *vault.Tenant, ks vault.TenantKeysets, owner *vault.User) error {
	if t == nil || owner == nil {
		return vault.Errorf(vault.EINVALID, "Tenant and owner required.")
	}
	if err := checkID(&t.ID, vault.PrefixTenant, "tenant"); err != nil {
		return err
	}
	switch {
	case t.Name == "":
		return vault.Errorf(vault.EINVALID, "Tenant name required.")
	case t.Region == "":
		return vault.Errorf(vault.EINVALID, "Tenant region required.")
	case len(ks.Document) == 0 || len(ks.Field) == 0:
		return vault.Errorf(vault.EINVALID, "Tenant keysets required.")
	}
	if owner.TenantID == "" {
		owner.TenantID = t.ID
	} else if owner.TenantID != t.ID {
		return vault.Errorf(vault.EINVALID, "Owner belongs to another tenant.")
	}
	if owner.Role == "" {
		owner.Role = vault.RoleOwner
	} else if owner.Role != vault.RoleOwner {
		return vault.Errorf(vault.EINVALID, "The first user of a tenant must be its owner.")
	}
	return validateUser(owner)
}

// insertTenant inserts a firm checked by checkNewTenant and its owner in tx.
func insertTenant(ctx context.Context, tx *tx, t *vault.Tenant, ks vault.TenantKeysets, owner *vault.User) error {
	stamp(&t.CreatedAt, tx.now)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO tenants (id, name, region, doc_keyset, field_keyset, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.Region, ks.Document, ks.Field, formatTime(t.CreatedAt),
	); err != nil {
		return fmt.Errorf("insert tenant: %w", formatError(err))
	}
	return insertUser(ctx, tx, owner)
}

// Tenant returns one firm. Errors: not_found.
func (db *DB) Tenant(ctx context.Context, id string) (*vault.Tenant, error) {
	row := db.db.QueryRowContext(ctx, `
		SELECT id, name, region, created_at
		FROM tenants
		WHERE id = ?`, id)
	t, err := scanTenant(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Tenant not found.")
	} else if err != nil {
		return nil, fmt.Errorf("tenant: %w", formatError(err))
	}
	return t, nil
}

// Tenants returns every firm, oldest first.
func (db *DB) Tenants(ctx context.Context) ([]*vault.Tenant, error) {
	return queryAll(ctx, db.db, "tenants", scanTenant, `
		SELECT id, name, region, created_at
		FROM tenants
		ORDER BY created_at, rowid`)
}

// TenantKeysets returns the tenant's region and its wrapped keysets.
// Errors: not_found.
func (db *DB) TenantKeysets(ctx context.Context, tenantID string) (string, vault.TenantKeysets, error) {
	var region string
	var ks vault.TenantKeysets
	err := db.db.QueryRowContext(ctx, `
		SELECT region, doc_keyset, field_keyset
		FROM tenants
		WHERE id = ?`, tenantID,
	).Scan(&region, &ks.Document, &ks.Field)
	if errors.Is(err, sql.ErrNoRows) {
		return "", vault.TenantKeysets{}, vault.Errorf(vault.ENOTFOUND, "Tenant not found.")
	} else if err != nil {
		return "", vault.TenantKeysets{}, fmt.Errorf("tenant keysets: %w", formatError(err))
	}
	return region, ks, nil
}

// ReplaceTenantKeysets stores next in place of prev, atomically, failing with
// conflict if the stored keysets are no longer prev.
// Errors: not_found, conflict, invalid (empty next).
func (db *DB) ReplaceTenantKeysets(ctx context.Context, tenantID string, prev, next vault.TenantKeysets) error {
	if len(next.Document) == 0 || len(next.Field) == 0 {
		return vault.Errorf(vault.EINVALID, "Tenant keysets required.")
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	// Compare in Go rather than in the WHERE clause, so a stale prev and a
	// missing tenant are told apart within the one transaction.
	var cur vault.TenantKeysets
	err = tx.QueryRowContext(ctx, `
		SELECT doc_keyset, field_keyset
		FROM tenants
		WHERE id = ?`, tenantID,
	).Scan(&cur.Document, &cur.Field)
	if errors.Is(err, sql.ErrNoRows) {
		return vault.Errorf(vault.ENOTFOUND, "Tenant not found.")
	} else if err != nil {
		return fmt.Errorf("replace tenant keysets: %w", formatError(err))
	}
	if !bytes.Equal(cur.Document, prev.Document) || !bytes.Equal(cur.Field, prev.Field) {
		return vault.Errorf(vault.ECONFLICT, "Tenant keys were changed concurrently.")
	}

	if _, err := tx.ExecContext(ctx, `
		UPDATE tenants
		SET doc_keyset = ?, field_keyset = ?
		WHERE id = ?`,
		next.Document, next.Field, tenantID,
	); err != nil {
		return fmt.Errorf("replace tenant keysets: %w", formatError(err))
	}
	return tx.commit()
}

// scanTenant reads the columns id, name, region, created_at.
func scanTenant(s scanner) (*vault.Tenant, error) {
	var t vault.Tenant
	if err := s.Scan(&t.ID, &t.Name, &t.Region, timeValue{&t.CreatedAt}); err != nil {
		return nil, err
	}
	return &t, nil
}
