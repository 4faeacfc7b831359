package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/casevault/casevault/vault"
)

// The directory of cells lives in the service database (migration 0010):
// firm id → region, and keyed email index → regions. vault/cell keeps it.

// PutDirectoryTenant records that firm id lives in region, replacing any
// earlier region.
func (db *DB) PutDirectoryTenant(ctx context.Context, id, region string) error {
	if id == "" || region == "" {
		return vault.Errorf(vault.EINVALID, "A directory entry needs a firm id and a region.")
	}
	_, err := db.db.ExecContext(ctx, `INSERT INTO directory_tenants (id, region) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET region = excluded.region`, id, region)
	if err != nil {
		return fmt.Errorf("directory: %w", formatError(err))
	}
	return nil
}

// DeleteDirectoryTenant forgets firm id; missing is not an error.
func (db *DB) DeleteDirectoryTenant(ctx context.Context, id string) error {
	if _, err := db.db.ExecContext(ctx, `DELETE FROM directory_tenants WHERE id = ?`, id); err != nil {
		return fmt.Errorf("directory: %w", formatError(err))
	}
	return nil
}

// DirectoryRegion returns the region of firm id. Errors: not_found.
func (db *DB) DirectoryRegion(ctx context.Context, id string) (string, error) {
	var region string
	err := db.db.QueryRowContext(ctx, `SELECT region FROM directory_tenants WHERE id = ?`, id).Scan(&region)
	if errors.Is(err, sql.ErrNoRows) {
		return "", vault.Errorf(vault.ENOTFOUND, "Tenant not found.")
	} else if err != nil {
		return "", fmt.Errorf("directory: %w", formatError(err))
	}
	return region, nil
}

// DirectoryTenants returns every firm id with its region.
func (db *DB) DirectoryTenants(ctx context.Context) (map[string]string, error) {
	return db.idRegions(ctx, "directory", `SELECT id, region FROM directory_tenants`)
}

// idRegions runs query, which selects an id and a region, into a map.
func (db *DB) idRegions(ctx context.Context, op, query string) (map[string]string, error) {
	type entry struct{ id, region string }
	list, err := queryAll(ctx, db.db, op, func(s scanner) (entry, error) {
		var e entry
		return e, s.Scan(&e.id, &e.region)
	}, query)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(list))
	for _, e := range list {
		m[e.id] = e.region
	}
	return m, nil
}

// AddDirectoryEmail records that region's cell has a user whose email has
// the keyed index index; already recorded is not an error.
func (db *DB) AddDirectoryEmail(ctx context.Context, index []byte, region string) error {
	if len(index) != 32 || region == "" {
		return vault.Errorf(vault.EINVALID, "A directory email entry needs a 32-byte index and a region.")
	}
	_, err := db.db.ExecContext(ctx, `INSERT INTO directory_emails (email_index, region) VALUES (?, ?)
		ON CONFLICT DO NOTHING`, index, region)
	if err != nil {
		return fmt.Errorf("directory: %w", formatError(err))
	}
	return nil
}

// DeleteDirectoryEmail forgets that region's cell has a user with index.
func (db *DB) DeleteDirectoryEmail(ctx context.Context, index []byte, region string) error {
	if _, err := db.db.ExecContext(ctx, `DELETE FROM directory_emails WHERE email_index = ? AND region = ?`, index, region); err != nil {
		return fmt.Errorf("directory: %w", formatError(err))
	}
	return nil
}

// DirectoryEmailRegions returns the regions, sorted, whose cells have a
// user with one of indexes.
func (db *DB) DirectoryEmailRegions(ctx context.Context, indexes [][]byte) ([]string, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	args := make([]any, len(indexes))
	for i, ix := range indexes {
		args[i] = ix
	}
	return queryAll(ctx, db.db, "directory", func(s scanner) (string, error) {
		var r string
		return r, s.Scan(&r)
	}, `SELECT DISTINCT region FROM directory_emails WHERE email_index IN (?`+strings.Repeat(", ?", len(indexes)-1)+`) ORDER BY region`, args...)
}

// ConsumeSetupToken deletes the stored setup token if hash is its hash.
// Errors: unauthorized (no stored token, or another hash).
func (db *DB) ConsumeSetupToken(ctx context.Context, hash []byte) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := checkSetupToken(ctx, tx, hash); err != nil {
		return err
	}
	if err := deleteSetupToken(ctx, tx); err != nil {
		return err
	}
	return tx.commit()
}

// TenantRegions returns the id and region of every firm of the database,
// without opening any sealed field, for rebuilding the directory.
func (db *DB) TenantRegions(ctx context.Context) (map[string]string, error) {
	return db.idRegions(ctx, "tenant regions", `SELECT id, region FROM tenants`)
}
