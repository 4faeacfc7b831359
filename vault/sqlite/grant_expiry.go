package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/casevault/casevault/vault"
)

// UnrecordedExpiries returns up to limit grants of any firm that expired at
// or before at, unrevoked, whose expiry is not yet marked recorded; oldest
// expiry first.
func (db *DB) UnrecordedExpiries(ctx context.Context, at time.Time, limit int) ([]*vault.Grant, error) {
	return queryAll(ctx, db.db, "list expired grants", scanGrant, `
		SELECT `+grantColumns+` FROM grants
		WHERE expires_at IS NOT NULL AND revoked_at IS NULL AND expiry_recorded_at IS NULL AND expires_at <= ?
		ORDER BY expires_at, id
		LIMIT ?`, formatTime(at), limit)
}

// MarkExpiryRecorded notes that a grant's expiry is in the audit log.
// Errors: not_found.
func (db *DB) MarkExpiryRecorded(ctx context.Context, tenantID, id string, at time.Time) error {
	res, err := db.db.ExecContext(ctx, `
		UPDATE grants SET expiry_recorded_at = ? WHERE tenant_id = ? AND id = ? AND expiry_recorded_at IS NULL`,
		formatTime(at), tenantID, id)
	if err != nil {
		return fmt.Errorf("mark grant expiry: %w", formatError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("mark grant expiry: %w", err)
	} else if n == 0 {
		return vault.Errorf(vault.ENOTFOUND, "Grant not found.")
	}
	return nil
}
