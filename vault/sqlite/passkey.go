package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/casevault/casevault/vault"
)

// passkeyNameRef names the sealed name cell of a passkey.
func passkeyNameRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "passkeys", Column: "name", RowID: id}
}

// CreatePasskey stores a passkey with its name sealed with the firm's
// field key. Errors: not_found (user), conflict (credential id taken).
func (db *DB) CreatePasskey(ctx context.Context, p *vault.Passkey) error {
	// Seal before BEGIN: the sealer reads keysets from this database.
	name, err := db.seal(ctx, p.TenantID, passkeyNameRef(p.ID), p.Name)
	if err != nil {
		return notFoundAs(err, "User not found.")
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := requireRow(ctx, tx, "User not found.", `SELECT 1 FROM users WHERE tenant_id = ? AND id = ?`, p.TenantID, p.UserID); err != nil {
		return err
	}
	if ok, err := exists(ctx, tx, `SELECT 1 FROM passkeys WHERE credential_id = ?`, p.CredentialID); err != nil {
		return err
	} else if ok {
		return vault.Errorf(vault.ECONFLICT, "This passkey is already registered.")
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO passkeys (id, tenant_id, user_id, credential_id, credential, sign_count, name, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.TenantID, p.UserID, p.CredentialID, p.Credential, int64(p.SignCount), name, formatTime(p.CreatedAt)); err != nil {
		return fmt.Errorf("create passkey: %w", formatError(err))
	}
	return tx.commit()
}

const passkeyColumns = `id, tenant_id, user_id, credential_id, credential, sign_count, name, created_at, last_used_at`

func (db *DB) scanPasskey(ctx context.Context, row interface{ Scan(...any) error }) (*vault.Passkey, error) {
	var (
		p    vault.Passkey
		name []byte
		used nullTime
		sc   int64
	)
	if err := row.Scan(&p.ID, &p.TenantID, &p.UserID, &p.CredentialID, &p.Credential, &sc, &name, timeValue{&p.CreatedAt}, &used); err != nil {
		return nil, err
	}
	p.SignCount = uint32(sc)
	if used.Valid {
		p.LastUsedAt = &used.Time
	}
	n, err := db.open(ctx, p.TenantID, passkeyNameRef(p.ID), name)
	if vault.IsCode(err, vault.ECANNOTDECRYPT) {
		n = "" // the passkey still works; only its label is unreadable
	} else if err != nil {
		return nil, err
	}
	p.Name = n
	return &p, nil
}

// Passkeys lists a user's passkeys, oldest first.
func (db *DB) Passkeys(ctx context.Context, tenantID, userID string) ([]*vault.Passkey, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys
		WHERE tenant_id = ? AND user_id = ? ORDER BY created_at, id`, tenantID, userID)
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", formatError(err))
	}
	defer rows.Close()
	var out []*vault.Passkey
	for rows.Next() {
		p, err := db.scanPasskey(ctx, rows)
		if err != nil {
			return nil, fmt.Errorf("passkeys: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PasskeyByCredentialID finds the passkey with a WebAuthn credential id.
// Errors: not_found.
func (db *DB) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*vault.Passkey, error) {
	p, err := db.scanPasskey(ctx, db.db.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = ?`, credentialID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Passkey not found.")
	} else if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return p, nil
}

// UsePasskey records a sign-in's sign count and credential.
// Errors: not_found.
func (db *DB) UsePasskey(ctx context.Context, tenantID, id string, signCount uint32, credential []byte) error {
	return execOne(ctx, db.db, "use passkey", "Passkey not found.", `UPDATE passkeys SET sign_count = ?, credential = ?, last_used_at = ?
		WHERE tenant_id = ? AND id = ?`, int64(signCount), credential, formatTime(db.now()), tenantID, id)
}

// DeletePasskey deletes a user's passkey. Errors: not_found.
func (db *DB) DeletePasskey(ctx context.Context, tenantID, userID, id string) error {
	return execOne(ctx, db.db, "delete passkey", "Passkey not found.", `DELETE FROM passkeys WHERE tenant_id = ? AND user_id = ? AND id = ?`, tenantID, userID, id)
}

// PasskeySignIn reports whether the firm lets passkeys replace passwords
// (off when unset).
func (db *DB) PasskeySignIn(ctx context.Context, tenantID string) (bool, error) {
	var on bool
	err := db.db.QueryRowContext(ctx, `SELECT sign_in FROM passkey_policies WHERE tenant_id = ?`, tenantID).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("passkey policy: %w", formatError(err))
	}
	return on, nil
}

// SetPasskeySignIn stores whether the firm lets passkeys replace
// passwords. Errors: not_found (firm).
func (db *DB) SetPasskeySignIn(ctx context.Context, tenantID string, on bool, by string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := requireRow(ctx, tx, "Firm not found.", `SELECT 1 FROM tenants WHERE id = ?`, tenantID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO passkey_policies (tenant_id, sign_in, updated_by, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET sign_in = excluded.sign_in, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		tenantID, on, by, formatTime(tx.now)); err != nil {
		return fmt.Errorf("set passkey policy: %w", formatError(err))
	}
	return tx.commit()
}
