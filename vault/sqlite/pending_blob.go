package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/casevault/casevault/vault"
)

// CreatePendingBlob records a blob about to be written. A zero CreatedAt is
// set from the clock. The region must be the tenant's, so a blob is never
// recorded, and so never cleaned, outside the firm's region.
// Errors: not_found (tenant), conflict (key in use), invalid.
func (db *DB) CreatePendingBlob(ctx context.Context, p vault.PendingBlob) error {
	switch {
	case p.Key == "":
		return vault.Errorf(vault.EINVALID, "Pending blob key required.")
	case p.TenantID == "":
		return vault.Errorf(vault.EINVALID, "Pending blob tenant required.")
	case p.Region == "":
		return vault.Errorf(vault.EINVALID, "Pending blob region required.")
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var region string
	err = tx.QueryRowContext(ctx, `SELECT region FROM tenants WHERE id = ?`, p.TenantID).Scan(&region)
	if errors.Is(err, sql.ErrNoRows) {
		return vault.Errorf(vault.ENOTFOUND, "Tenant not found.")
	} else if err != nil {
		return fmt.Errorf("create pending blob: %w", formatError(err))
	}
	if region != p.Region {
		return vault.Errorf(vault.EINVALID, "Pending blob region is not the tenant's region.")
	}

	stamp(&p.CreatedAt, tx.now)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO pending_blobs (key, tenant_id, region, created_at)
		VALUES (?, ?, ?, ?)`,
		p.Key, p.TenantID, p.Region, formatTime(p.CreatedAt),
	); err != nil {
		return fmt.Errorf("create pending blob: %w", formatError(err))
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("create pending blob: %w", err)
	}
	return nil
}

// DeletePendingBlob forgets a pending blob; missing is not an error.
func (db *DB) DeletePendingBlob(ctx context.Context, key string) error {
	if _, err := db.db.ExecContext(ctx, `DELETE FROM pending_blobs WHERE key = ?`, key); err != nil {
		return fmt.Errorf("delete pending blob: %w", formatError(err))
	}
	return nil
}

// deletePendingBlob claims, in tx, the pending record of a blob that is
// becoming part of a committed version. The record must still be there: if
// the janitor already claimed it (an upload that outlived the grace period),
// its blob is being deleted and the commit must fail rather than point at it.
func deletePendingBlob(ctx context.Context, tx *tx, key string) error {
	res, err := tx.ExecContext(ctx, `DELETE FROM pending_blobs WHERE key = ?`, key)
	if err != nil {
		return fmt.Errorf("delete pending blob: %w", formatError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete pending blob: %w", formatError(err))
	} else if n != 1 {
		return vault.Errorf(vault.ECONFLICT, "The upload expired before it completed; upload again.")
	}
	return nil
}

// PendingBlobs returns pending blobs created before olderThan, oldest first.
func (db *DB) PendingBlobs(ctx context.Context, olderThan time.Time) ([]vault.PendingBlob, error) {
	return queryAll(ctx, db.db, "pending blobs", func(s scanner) (vault.PendingBlob, error) {
		var p vault.PendingBlob
		err := s.Scan(&p.Key, &p.TenantID, &p.Region, timeValue{&p.CreatedAt})
		return p, err
	}, `
		SELECT key, tenant_id, region, created_at
		FROM pending_blobs
		WHERE created_at < ?
		ORDER BY created_at, key`, formatTime(olderThan))
}
