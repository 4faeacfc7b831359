package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/casevault/casevault/vault"
)

var _ vault.ShredStore = (*DB)(nil)

func shredReasonRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "shred_requests", Column: "reason", RowID: id}
}

// ShredRequest implements vault.ShredStore.
func (db *DB) ShredRequest(ctx context.Context, tenantID string) (*vault.ShredRequest, error) {
	r := &vault.ShredRequest{}
	var reason []byte
	var at string
	err := db.db.QueryRowContext(ctx, `SELECT tenant_id, id, reason, requested_by, requested_at FROM shred_requests WHERE tenant_id = ?`,
		tenantID).Scan(&r.TenantID, &r.ID, &reason, &r.RequestedBy, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "No shred request of this firm is pending.")
	} else if err != nil {
		return nil, fmt.Errorf("shred request: %w", formatError(err))
	}
	if r.RequestedAt, err = parseTime(at); err != nil {
		return nil, err
	}
	if r.Reason, err = db.openOrMark(ctx, r.TenantID, shredReasonRef(r.ID), reason, &r.Damage); err != nil {
		return nil, err
	}
	return r, nil
}

// PutShredRequest implements vault.ShredStore.
func (db *DB) PutShredRequest(ctx context.Context, r *vault.ShredRequest) error {
	if r == nil || r.TenantID == "" || !vault.ValidID(vault.PrefixShred, r.ID) || r.RequestedBy == "" {
		return vault.Errorf(vault.EINVALID, "Shred request tenant, id and requester required.")
	}
	// Seal before BEGIN: the sealer reads keysets from this database.
	sealed, err := db.seal(ctx, r.TenantID, shredReasonRef(r.ID), r.Reason)
	if err != nil {
		return notFoundAs(err, "Firm not found.")
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := requireRow(ctx, tx, "Firm not found.", `SELECT 1 FROM tenants WHERE id = ?`, r.TenantID); err != nil {
		return err
	}
	stamp(&r.RequestedAt, tx.now)
	res, err := tx.ExecContext(ctx, `INSERT INTO shred_requests (tenant_id, id, reason, requested_by, requested_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id) DO NOTHING`,
		r.TenantID, r.ID, sealed, r.RequestedBy, formatTime(r.RequestedAt))
	if err != nil {
		return fmt.Errorf("put shred request: %w", formatError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vault.Errorf(vault.ECONFLICT, "A shred request of this firm is pending already.")
	}
	return tx.commit()
}

// DeleteShredRequest implements vault.ShredStore.
func (db *DB) DeleteShredRequest(ctx context.Context, tenantID, id string) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM shred_requests WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return fmt.Errorf("delete shred request: %w", formatError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vault.Errorf(vault.ENOTFOUND, "Shred request not found.")
	}
	return nil
}

// ShredCounts implements vault.ShredStore.
func (db *DB) ShredCounts(ctx context.Context, tenantID string) (vault.ShredCounts, error) {
	var c vault.ShredCounts
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM documents WHERE tenant_id = ?`, tenantID).Scan(&c.Documents); err != nil {
		return c, fmt.Errorf("shred counts: %w", formatError(err))
	}
	if err := db.db.QueryRowContext(ctx, `SELECT count(*), COALESCE(sum(size), 0), COALESCE(sum(ciphertext_size), 0) FROM versions WHERE tenant_id = ?`,
		tenantID).Scan(&c.Versions, &c.Bytes, &c.CipherBytes); err != nil {
		return c, fmt.Errorf("shred counts: %w", formatError(err))
	}
	return c, nil
}
