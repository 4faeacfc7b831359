package sqlite

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"

	"github.com/casevault/casevault/vault"
)

// settingSetupToken is the settings key of the setup token's SHA-256 hash.
const settingSetupToken = "setup_token_hash"

// HasTenants reports whether any firm exists.
func (db *DB) HasTenants(ctx context.Context) (bool, error) {
	return exists(ctx, db.db, `SELECT 1 FROM tenants LIMIT 1`)
}

// SetSetupToken stores the hash of the one-time setup token, replacing any
// earlier one. The check that no firm exists and the write are one
// transaction. Errors: conflict (a firm already exists), invalid.
func (db *DB) SetSetupToken(ctx context.Context, hash []byte) error {
	if len(hash) != 32 {
		return vault.Errorf(vault.EINVALID, "Setup token hash must be 32 bytes.")
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := requireNoTenant(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO settings (key, value, updated_at)
		VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		settingSetupToken, hash, formatTime(tx.now),
	); err != nil {
		return fmt.Errorf("set setup token: %w", formatError(err))
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("set setup token: %w", err)
	}
	return nil
}

// SetupTokenHash returns the stored setup token hash.
// Errors: not_found (none issued, or already used).
func (db *DB) SetupTokenHash(ctx context.Context) ([]byte, error) {
	hash, ok, err := setupTokenHash(ctx, db.db)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, vault.Errorf(vault.ENOTFOUND, "No setup token.")
	}
	return hash, nil
}

// SetupTenant creates the first firm as CreateTenant does and deletes the
// setup token, in one transaction, so a token creates at most one firm even
// when two requests race with it. Errors: unauthorized (no stored setup
// token, or hash is not its hash), conflict (a firm already exists),
// invalid, internal (no Sealer).
func (db *DB) SetupTenant(ctx context.Context, t *vault.Tenant, ks vault.TenantKeysets, owner *vault.User, hash []byte) error {
	if err := checkNewTenant(t, ks, owner); err != nil {
		return err
	}
	sealed, err := db.sealNewTenant(ctx, t, ks, owner)
	if err != nil {
		return err
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := checkSetupToken(ctx, tx, hash); err != nil {
		return err
	}
	if err := requireNoTenant(ctx, tx); err != nil {
		return err
	}
	if err := insertTenant(ctx, tx, t, ks, owner, sealed); err != nil {
		return err
	}
	if err := deleteSetupToken(ctx, tx); err != nil {
		return err
	}
	return tx.commit()
}

// checkSetupToken fails with unauthorized unless hash is the stored setup
// token's hash.
func checkSetupToken(ctx context.Context, t *tx, hash []byte) error {
	stored, ok, err := setupTokenHash(ctx, t)
	if err != nil {
		return err
	}
	if !ok || subtle.ConstantTimeCompare(stored, hash) != 1 {
		return vault.Errorf(vault.EUNAUTHORIZED, "The setup token is invalid or has already been used.")
	}
	return nil
}

// deleteSetupToken consumes the setup token.
func deleteSetupToken(ctx context.Context, t *tx) error {
	if _, err := t.ExecContext(ctx, `DELETE FROM settings WHERE key = ?`, settingSetupToken); err != nil {
		return fmt.Errorf("consume setup token: %w", formatError(err))
	}
	return nil
}

// setupTokenHash reads the stored setup token hash; ok is false when there
// is none.
func setupTokenHash(ctx context.Context, q queryer) (hash []byte, ok bool, err error) {
	err = q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, settingSetupToken).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("setup token: %w", formatError(err))
	}
	return hash, true, nil
}

// requireNoTenant fails with conflict once any firm exists.
func requireNoTenant(ctx context.Context, t *tx) error {
	ok, err := exists(ctx, t, `SELECT 1 FROM tenants LIMIT 1`)
	if err != nil {
		return err
	}
	if ok {
		return vault.Errorf(vault.ECONFLICT, "A firm already exists; setup is closed.")
	}
	return nil
}
