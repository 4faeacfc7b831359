package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/casevault/casevault/vault"
)

// totpSecretRef names the sealed TOTP secret cell of a user.
func totpSecretRef(userID string) vault.FieldRef {
	return vault.FieldRef{Table: "mfa_totp", Column: "secret", RowID: userID}
}

// PutTOTP stores a new, unconfirmed TOTP secret for a user, sealed with
// the firm's field key, replacing an unconfirmed one.
// Errors: not_found (user), conflict (a confirmed one exists).
func (db *DB) PutTOTP(ctx context.Context, tenantID, userID, secret string) error {
	if secret == "" {
		return vault.Errorf(vault.EINVALID, "TOTP secret required.")
	}
	// Seal before BEGIN: the sealer reads keysets from this database.
	ct, err := db.seal(ctx, tenantID, totpSecretRef(userID), secret)
	if err != nil {
		return notFoundAs(err, "User not found.")
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := requireRow(ctx, tx, "User not found.", `SELECT 1 FROM users WHERE tenant_id = ? AND id = ?`, tenantID, userID); err != nil {
		return err
	}
	if ok, err := exists(ctx, tx, `SELECT 1 FROM mfa_totp WHERE tenant_id = ? AND user_id = ? AND confirmed_at IS NOT NULL`, tenantID, userID); err != nil {
		return err
	} else if ok {
		return vault.Errorf(vault.ECONFLICT, "An authenticator app is already enrolled.")
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO mfa_totp (tenant_id, user_id, secret, created_at, confirmed_at, last_step)
		VALUES (?, ?, ?, ?, NULL, 0)
		ON CONFLICT (tenant_id, user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = 0`,
		tenantID, userID, ct, formatTime(tx.now)); err != nil {
		return fmt.Errorf("put totp: %w", formatError(err))
	}
	return tx.commit()
}

// TOTP returns a user's TOTP factor with its secret opened.
// Errors: not_found, cannot_decrypt.
func (db *DB) TOTP(ctx context.Context, tenantID, userID string) (*vault.TOTPFactor, error) {
	var (
		f         vault.TOTPFactor
		ct        []byte
		confirmed nullTime
	)
	err := db.db.QueryRowContext(ctx, `
		SELECT secret, created_at, confirmed_at, last_step FROM mfa_totp
		WHERE tenant_id = ? AND user_id = ?`, tenantID, userID).Scan(&ct, timeValue{&f.CreatedAt}, &confirmed, &f.LastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "No authenticator app.")
	} else if err != nil {
		return nil, fmt.Errorf("totp: %w", formatError(err))
	}
	if confirmed.Valid {
		f.ConfirmedAt = &confirmed.Time
	}
	if f.Secret, err = db.open(ctx, tenantID, totpSecretRef(userID), ct); err != nil {
		return nil, err
	}
	return &f, nil
}

// ConfirmTOTP marks a user's unconfirmed TOTP factor confirmed at step and
// replaces their recovery codes, in one transaction.
// Errors: not_found (no unconfirmed factor).
func (db *DB) ConfirmTOTP(ctx context.Context, tenantID, userID string, step int64, codeHashes [][]byte) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `
		UPDATE mfa_totp SET confirmed_at = ?, last_step = ?
		WHERE tenant_id = ? AND user_id = ? AND confirmed_at IS NULL`,
		formatTime(tx.now), step, tenantID, userID)
	if err != nil {
		return fmt.Errorf("confirm totp: %w", formatError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("confirm totp: %w", err)
	} else if n == 0 {
		return vault.Errorf(vault.ENOTFOUND, "No authenticator app is being enrolled.")
	}
	if err := replaceRecoveryCodes(ctx, tx, tenantID, userID, codeHashes); err != nil {
		return err
	}
	return tx.commit()
}

// UseTOTPStep records an accepted code's step, only when it is after the
// last one. Errors: not_found (no confirmed factor), conflict (not after).
func (db *DB) UseTOTPStep(ctx context.Context, tenantID, userID string, step int64) error {
	res, err := db.db.ExecContext(ctx, `
		UPDATE mfa_totp SET last_step = ?
		WHERE tenant_id = ? AND user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?`,
		step, tenantID, userID, step)
	if err != nil {
		return fmt.Errorf("use totp step: %w", formatError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("use totp step: %w", err)
	} else if n == 1 {
		return nil
	}
	ok, err := exists(ctx, db.db, `SELECT 1 FROM mfa_totp WHERE tenant_id = ? AND user_id = ? AND confirmed_at IS NOT NULL`, tenantID, userID)
	if err != nil {
		return err
	}
	if !ok {
		return vault.Errorf(vault.ENOTFOUND, "No authenticator app.")
	}
	return vault.Errorf(vault.ECONFLICT, "Code already used.")
}

// DeleteMFA removes a user's TOTP factor and recovery codes and reports
// whether there was a factor.
func (db *DB) DeleteMFA(ctx context.Context, tenantID, userID string) (bool, error) {
	tx, err := db.begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM mfa_totp WHERE tenant_id = ? AND user_id = ?`, tenantID, userID)
	if err != nil {
		return false, fmt.Errorf("delete totp: %w", formatError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("delete totp: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_recovery_codes WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
		return false, fmt.Errorf("delete recovery codes: %w", formatError(err))
	}
	return n > 0, tx.commit()
}

// ReplaceRecoveryCodes replaces a user's recovery codes with hashes.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, codeHashes [][]byte) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := replaceRecoveryCodes(ctx, tx, tenantID, userID, codeHashes); err != nil {
		return err
	}
	return tx.commit()
}

func replaceRecoveryCodes(ctx context.Context, tx *tx, tenantID, userID string, codeHashes [][]byte) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_recovery_codes WHERE tenant_id = ? AND user_id = ?`, tenantID, userID); err != nil {
		return fmt.Errorf("replace recovery codes: %w", formatError(err))
	}
	for _, h := range codeHashes {
		if len(h) != 32 {
			return vault.Errorf(vault.EINVALID, "Recovery code hash must be 32 bytes.")
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO mfa_recovery_codes (tenant_id, user_id, hash, created_at) VALUES (?, ?, ?, ?)`,
			tenantID, userID, h, formatTime(tx.now)); err != nil {
			return fmt.Errorf("replace recovery codes: %w", formatError(err))
		}
	}
	return nil
}

// HasRecoveryCode reports whether the user holds an unused code with hash.
func (db *DB) HasRecoveryCode(ctx context.Context, tenantID, userID string, hash []byte) (bool, error) {
	return exists(ctx, db.db, `SELECT 1 FROM mfa_recovery_codes WHERE tenant_id = ? AND user_id = ? AND hash = ? AND used_at IS NULL`, tenantID, userID, hash)
}

// UseRecoveryCode marks an unused recovery code used.
// Errors: not_found (no such unused code).
func (db *DB) UseRecoveryCode(ctx context.Context, tenantID, userID string, hash []byte) error {
	return execOne(ctx, db.db, "use recovery code", "Recovery code not found.", `
		UPDATE mfa_recovery_codes SET used_at = ?
		WHERE tenant_id = ? AND user_id = ? AND hash = ? AND used_at IS NULL`,
		formatTime(db.now()), tenantID, userID, hash)
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, tenantID, userID string) (int, error) {
	var n int
	if err := db.db.QueryRowContext(ctx, `
		SELECT count(*) FROM mfa_recovery_codes WHERE tenant_id = ? AND user_id = ? AND used_at IS NULL`,
		tenantID, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("recovery codes left: %w", formatError(err))
	}
	return n, nil
}

// CreateMFAChallenge stores a challenge with the hash of its secret.
// Errors: invalid, not_found (user), conflict (hash in use).
func (db *DB) CreateMFAChallenge(ctx context.Context, c *vault.MFAChallengeRecord, hash []byte) error {
	if c == nil || len(hash) != 32 {
		return vault.Errorf(vault.EINVALID, "Challenge and 32-byte hash required.")
	}
	if err := checkID(&c.ID, vault.PrefixMFAChallenge, "challenge"); err != nil {
		return err
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := requireRow(ctx, tx, "User not found.", `SELECT 1 FROM users WHERE tenant_id = ? AND id = ?`, c.TenantID, c.UserID); err != nil {
		return err
	}
	stamp(&c.CreatedAt, tx.now)
	// Expired challenges go as new ones come: they are never useful again.
	if _, err := tx.ExecContext(ctx, `DELETE FROM mfa_challenges WHERE expires_at <= ?`, formatTime(tx.now)); err != nil {
		return fmt.Errorf("purge challenges: %w", formatError(err))
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO mfa_challenges (id, tenant_id, user_id, hash, created_at, expires_at, failures)
		VALUES (?, ?, ?, ?, ?, ?, 0)`,
		c.ID, c.TenantID, c.UserID, hash, formatTime(c.CreatedAt), formatTime(c.ExpiresAt)); err != nil {
		return fmt.Errorf("create challenge: %w", formatError(err))
	}
	return tx.commit()
}

// MFAChallengeByHash returns the challenge whose secret hashes to hash.
// Errors: not_found.
func (db *DB) MFAChallengeByHash(ctx context.Context, hash []byte) (*vault.MFAChallengeRecord, error) {
	var c vault.MFAChallengeRecord
	err := db.db.QueryRowContext(ctx, `
		SELECT id, tenant_id, user_id, created_at, expires_at, failures FROM mfa_challenges WHERE hash = ?`, hash).
		Scan(&c.ID, &c.TenantID, &c.UserID, timeValue{&c.CreatedAt}, timeValue{&c.ExpiresAt}, &c.Failures)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Challenge not found.")
	} else if err != nil {
		return nil, fmt.Errorf("challenge: %w", formatError(err))
	}
	return &c, nil
}

// FailMFAChallenge counts a wrong proof and returns the failures so far.
// Errors: not_found.
func (db *DB) FailMFAChallenge(ctx context.Context, tenantID, id string) (int, error) {
	var n int
	err := db.db.QueryRowContext(ctx, `
		UPDATE mfa_challenges SET failures = failures + 1 WHERE tenant_id = ? AND id = ? RETURNING failures`, tenantID, id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, vault.Errorf(vault.ENOTFOUND, "Challenge not found.")
	} else if err != nil {
		return 0, fmt.Errorf("fail challenge: %w", formatError(err))
	}
	return n, nil
}

// DeleteMFAChallenge deletes a challenge. Errors: not_found.
func (db *DB) DeleteMFAChallenge(ctx context.Context, tenantID, id string) error {
	return execOne(ctx, db.db, "delete challenge", "Challenge not found.", `DELETE FROM mfa_challenges WHERE tenant_id = ? AND id = ?`, tenantID, id)
}

// MFAPolicy returns the firm's MFA policy, off when none is set.
func (db *DB) MFAPolicy(ctx context.Context, tenantID string) (string, error) {
	var p string
	err := db.db.QueryRowContext(ctx, `SELECT required FROM mfa_policies WHERE tenant_id = ?`, tenantID).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return vault.MFAPolicyOff, nil
	} else if err != nil {
		return "", fmt.Errorf("mfa policy: %w", formatError(err))
	}
	return p, nil
}

// SetMFAPolicy stores the firm's MFA policy. Errors: invalid, not_found.
func (db *DB) SetMFAPolicy(ctx context.Context, tenantID, policy, by string) error {
	if !vault.ValidMFAPolicy(policy) {
		return vault.Errorf(vault.EINVALID, "Invalid MFA policy.")
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := requireRow(ctx, tx, "Firm not found.", `SELECT 1 FROM tenants WHERE id = ?`, tenantID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO mfa_policies (tenant_id, required, updated_by, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET required = excluded.required, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		tenantID, policy, by, formatTime(tx.now)); err != nil {
		return fmt.Errorf("set mfa policy: %w", formatError(err))
	}
	return tx.commit()
}

// FirmAPITokens returns the firm's unrevoked, unexpired API tokens, every
// user's, oldest first, names opened (or marked).
func (db *DB) FirmAPITokens(ctx context.Context, tenantID string, now time.Time) ([]*vault.Token, error) {
	return db.liveTokens(ctx, "firm tokens", `kind = ?`, tenantID, now, vault.TokenAPI)
}
