package sqlite

import (
	"context"
	"fmt"

	"github.com/casevault/casevault/vault"
)

var _ vault.ComplianceStore = (*DB)(nil)

// TenantAddons returns the add-ons that are on for tenantID.
func (db *DB) TenantAddons(ctx context.Context, tenantID string) ([]string, error) {
	return queryAll(ctx, db.db, "tenant addons", func(s scanner) (string, error) {
		var a string
		return a, s.Scan(&a)
	}, `SELECT addon FROM tenant_addons WHERE tenant_id = ? ORDER BY addon`, tenantID)
}

// SetTenantAddon turns addon on or off for tenantID. Errors: not_found
// (tenant), invalid.
func (db *DB) SetTenantAddon(ctx context.Context, tenantID, addon string, on bool) error {
	if addon != vault.AddonHIPAA {
		return vault.Errorf(vault.EINVALID, "Unknown add-on.")
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := requireRow(ctx, tx, "Firm not found.", `SELECT 1 FROM tenants WHERE id = ?`, tenantID); err != nil {
		return err
	}
	q := `DELETE FROM tenant_addons WHERE tenant_id = ? AND addon = ?`
	args := []any{tenantID, addon}
	if on {
		q = `INSERT INTO tenant_addons (tenant_id, addon, enabled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
		args = append(args, formatTime(tx.now))
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("set tenant addon: %w", formatError(err))
	}
	return tx.commit()
}

// BAADecisions returns tenantID's BAA decisions, by version.
func (db *DB) BAADecisions(ctx context.Context, tenantID string) ([]*vault.BAADecision, error) {
	return queryAll(ctx, db.db, "baa decisions", func(s scanner) (*vault.BAADecision, error) {
		d := &vault.BAADecision{}
		var at string
		if err := s.Scan(&d.TenantID, &d.Version, &d.Decision, &d.TextSHA256, &d.DecidedBy, &at, &d.Seq); err != nil {
			return nil, err
		}
		var err error
		d.DecidedAt, err = parseTime(at)
		return d, err
	}, `SELECT tenant_id, version, decision, text_sha256, decided_by, decided_at, seq FROM baa_decisions
		WHERE tenant_id = ? ORDER BY version`, tenantID)
}

// PutBAADecision records d, replacing an earlier decision on its version.
// Errors: not_found (tenant), invalid.
func (db *DB) PutBAADecision(ctx context.Context, d *vault.BAADecision) error {
	if d == nil || d.TenantID == "" || d.Version == "" || len(d.TextSHA256) != 64 || d.DecidedBy == "" ||
		(d.Decision != vault.BAAAccepted && d.Decision != vault.BAADeclined) {
		return vault.Errorf(vault.EINVALID, "Invalid agreement decision.")
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := requireRow(ctx, tx, "Firm not found.", `SELECT 1 FROM tenants WHERE id = ?`, d.TenantID); err != nil {
		return err
	}
	stamp(&d.DecidedAt, tx.now)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO baa_decisions (tenant_id, version, decision, text_sha256, decided_by, decided_at, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id, version) DO UPDATE SET decision = excluded.decision, text_sha256 = excluded.text_sha256,
			decided_by = excluded.decided_by, decided_at = excluded.decided_at, seq = excluded.seq`,
		d.TenantID, d.Version, d.Decision, d.TextSHA256, d.DecidedBy, formatTime(d.DecidedAt), d.Seq); err != nil {
		return fmt.Errorf("put baa decision: %w", formatError(err))
	}
	return tx.commit()
}
