package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/casevault/casevault/vault"
)

// tokenColumns is the column list scanToken reads.
const tokenColumns = `id, tenant_id, user_id, kind, method, name, created_at, expires_at, last_used_at`

// CreateToken inserts a token with the SHA-256 hash of its secret and its
// name, if any, sealed. An empty ID is filled in and a zero CreatedAt is
// set from the clock. The user must belong to the token's firm.
// Errors: not_found (user), conflict (hash in use), invalid, internal (no
// Sealer).
func (db *DB) CreateToken(ctx context.Context, t *vault.Token, hash []byte) error {
	if t == nil {
		return vault.Errorf(vault.EINVALID, "Token required.")
	}
	if err := checkID(&t.ID, vault.PrefixToken, "token"); err != nil {
		return err
	}
	switch {
	case t.TenantID == "" || t.UserID == "":
		return vault.Errorf(vault.EINVALID, "Token tenant and user required.")
	case t.Kind != vault.TokenSession && t.Kind != vault.TokenAPI:
		return vault.Errorf(vault.EINVALID, "Invalid token kind.")
	case len(hash) != 32:
		return vault.Errorf(vault.EINVALID, "Token hash must be 32 bytes.")
	case !vault.ValidSignInMethod(t.Method):
		return vault.Errorf(vault.EINVALID, "Invalid sign-in method.")
	}

	var name []byte // NULL: no name
	if t.Name != "" {
		var err error
		// Seal before BEGIN: the sealer reads keysets from this database.
		if name, err = db.seal(ctx, t.TenantID, tokenNameRef(t.ID), t.Name); err != nil {
			return notFoundAs(err, "User not found.")
		}
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	// Checked here rather than left to the foreign key, so a user of another
	// firm reads as not_found with the same message as a missing one.
	if err := requireRow(ctx, tx, "User not found.", `SELECT 1 FROM users WHERE tenant_id = ? AND id = ?`, t.TenantID, t.UserID); err != nil {
		return err
	}
	stamp(&t.CreatedAt, tx.now)
	if t.ExpiresAt != nil {
		exp := t.ExpiresAt.UTC()
		t.ExpiresAt = &exp
	}
	t.LastUsedAt = nil
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO tokens (id, tenant_id, user_id, kind, method, name, hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.TenantID, t.UserID, t.Kind, t.Method, name, hash, formatTime(t.CreatedAt), formatNullTime(t.ExpiresAt),
	); err != nil {
		return fmt.Errorf("create token: %w", formatError(err))
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// TokenByHash returns the unrevoked token whose secret hashes to hash,
// expired or not. The lookup goes through the unique index on the hash, so
// its timing depends on the hash, never on how much of a secret matched.
// Errors: not_found (unknown or revoked).
func (db *DB) TokenByHash(ctx context.Context, hash []byte) (*vault.Token, error) {
	row := db.db.QueryRowContext(ctx, `
		SELECT `+tokenColumns+`
		FROM tokens
		WHERE hash = ? AND revoked_at IS NULL`, hash)
	rt, err := scanToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Token not found.")
	} else if err != nil {
		return nil, fmt.Errorf("token: %w", formatError(err))
	}
	if err := db.openToken(ctx, rt); err != nil {
		return nil, err
	}
	return rt.t, nil
}

// TokenLive reports whether token id of tenantID exists and is unrevoked,
// expired or not. It reads no name, so it costs one indexed lookup.
func (db *DB) TokenLive(ctx context.Context, tenantID, id string) (bool, error) {
	var one int
	err := db.db.QueryRowContext(ctx, `
		SELECT 1 FROM tokens
		WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL`, tenantID, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("token live: %w", formatError(err))
	}
	return true, nil
}

// Tokens returns a user's tokens that are unrevoked and unexpired at now,
// oldest first, with their names opened; a name that does not open is left
// "" and marked, and the other tokens still read.
func (db *DB) Tokens(ctx context.Context, tenantID, userID string, now time.Time) ([]*vault.Token, error) {
	return db.liveTokens(ctx, "tokens", `user_id = ?`, tenantID, now, userID)
}

// liveTokens returns tenantID's tokens that are unrevoked and unexpired at
// now and match where (with args), oldest first, names opened (or
// marked). op names the query in errors.
func (db *DB) liveTokens(ctx context.Context, op, where, tenantID string, now time.Time, args ...any) ([]*vault.Token, error) {
	// Stored times are fixed-width UTC text, so they compare in time order.
	read, err := queryAll(ctx, db.db, op, scanToken, `
		SELECT `+tokenColumns+`
		FROM tokens
		WHERE tenant_id = ? AND revoked_at IS NULL
			AND (expires_at IS NULL OR expires_at > ?) AND `+where+`
		ORDER BY created_at, rowid`, append([]any{tenantID, formatTime(now)}, args...)...)
	if err != nil {
		return nil, err
	}
	a := make([]*vault.Token, 0, len(read))
	for _, rt := range read {
		if err := db.openToken(ctx, rt); err != nil {
			return nil, err
		}
		a = append(a, rt.t)
	}
	return a, nil
}

// RevokeToken revokes one of a user's tokens. Errors: not_found (missing,
// another user's or firm's, or already revoked).
func (db *DB) RevokeToken(ctx context.Context, tenantID, userID, id string) error {
	return execOne(ctx, db.db, "revoke token", "Token not found.", `
		UPDATE tokens
		SET revoked_at = ?
		WHERE tenant_id = ? AND user_id = ? AND id = ? AND revoked_at IS NULL`,
		formatTime(db.now()), tenantID, userID, id)
}

// RevokeUserTokens revokes a user's unrevoked tokens of kind ("" for every
// kind), except the one with id keepID ("" for none), and returns how many
// it revoked.
func (db *DB) RevokeUserTokens(ctx context.Context, tenantID, userID, kind, keepID string) (int, error) {
	res, err := db.db.ExecContext(ctx, `
		UPDATE tokens
		SET revoked_at = ?
		WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL
			AND (? = '' OR kind = ?) AND id <> ?`,
		formatTime(db.now()), tenantID, userID, kind, kind, keepID)
	if err != nil {
		return 0, fmt.Errorf("revoke user tokens: %w", formatError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("revoke user tokens: %w", err)
	}
	return int(n), nil
}

// TouchToken records that a token was used at at. Errors: not_found.
func (db *DB) TouchToken(ctx context.Context, tenantID, id string, at time.Time) error {
	return execOne(ctx, db.db, "touch token", "Token not found.", `
		UPDATE tokens
		SET last_used_at = ?
		WHERE tenant_id = ? AND id = ?`,
		formatTime(at), tenantID, id)
}

// readToken is a token as read, before its name is opened.
type readToken struct {
	t    *vault.Token
	name []byte // nil: no name
}

// scanToken reads the columns of tokenColumns.
func scanToken(s scanner) (*readToken, error) {
	rt := &readToken{t: &vault.Token{}}
	t := rt.t
	var expires, used nullTime
	if err := s.Scan(&t.ID, &t.TenantID, &t.UserID, &t.Kind, &t.Method, &rt.name,
		timeValue{&t.CreatedAt}, &expires, &used); err != nil {
		return nil, err
	}
	if expires.Valid {
		t.ExpiresAt = &expires.Time
	}
	if used.Valid {
		t.LastUsedAt = &used.Time
	}
	return rt, nil
}

// openToken opens the sealed name of rt, if it has one, into rt.t, marking
// it in the token's Damage when it fails authentication.
func (db *DB) openToken(ctx context.Context, rt *readToken) error {
	if rt.name == nil {
		return nil
	}
	var err error
	rt.t.Name, err = db.openOrMark(ctx, rt.t.TenantID, tokenNameRef(rt.t.ID), rt.name, &rt.t.Damage)
	return err
}

// tokenNameRef names the sealed name cell of a token.
func tokenNameRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "tokens", Column: "name", RowID: id}
}

// PurgeTokens deletes the tokens that expired or were revoked before
// before, and returns how many. They can never sign anyone in again; the
// audit log keeps the record of their use.
func (db *DB) PurgeTokens(ctx context.Context, before time.Time) (int, error) {
	res, err := db.db.ExecContext(ctx, `
		DELETE FROM tokens
		WHERE (expires_at IS NOT NULL AND expires_at < ?1) OR (revoked_at IS NOT NULL AND revoked_at < ?1)`,
		formatTime(before))
	if err != nil {
		return 0, fmt.Errorf("purge tokens: %w", formatError(err))
	}
	n, err := res.RowsAffected()
	return int(n), err
}
