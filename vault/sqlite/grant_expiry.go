package sqlite

import (
	"context"
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
	return execOne(ctx, db.db, "mark grant expiry", "Grant not found.", `
		UPDATE grants SET expiry_recorded_at = ? WHERE tenant_id = ? AND id = ? AND expiry_recorded_at IS NULL`,
		formatTime(at), tenantID, id)
}
