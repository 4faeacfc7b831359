package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/casevault/casevault/vault"
)

// userColumns is the column list scanUser reads.
const userColumns = `id, tenant_id, email, name, role, password_hash, disabled, created_at, updated_at,
	created_by, credentials_by, credentials_at, promoted_by, promoted_at, must_change_password`

// CreateUser inserts a user and, in the same transaction, the walls given
// (each on the new user; see vault.Service.CreateUser). An empty ID is
// filled in, and a zero CreatedAt is set from the clock. Errors: conflict
// (email taken), not_found (tenant, or a wall's matter or creator), invalid.
func (db *DB) CreateUser(ctx context.Context, u *vault.User, walls ...*vault.Wall) error {
	if u == nil {
		return vault.Errorf(vault.EINVALID, "User required.")
	}
	if err := validateUser(u); err != nil {
		return err
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := requireRow(ctx, tx, "Tenant not found.", `SELECT 1 FROM tenants WHERE id = ?`, u.TenantID); err != nil {
		return err
	}
	if err := insertUser(ctx, tx, u); err != nil {
		return err
	}
	for _, w := range walls {
		if w == nil || w.TenantID != u.TenantID || w.UserID != u.ID {
			return vault.Errorf(vault.EINVALID, "A new user's walls must be on that user.")
		}
		if err := insertWall(ctx, tx, w); err != nil {
			return err
		}
	}
	return tx.commit()
}

// validateUser checks the fields every stored user needs and fills in an
// empty ID.
func validateUser(u *vault.User) error {
	if err := checkID(&u.ID, vault.PrefixUser, "user"); err != nil {
		return err
	}
	switch {
	case u.TenantID == "":
		return vault.Errorf(vault.EINVALID, "User tenant required.")
	case strings.TrimSpace(u.Email) == "":
		return vault.Errorf(vault.EINVALID, "User email required.")
	case !u.Role.Valid():
		return vault.Errorf(vault.EINVALID, "Invalid user role.")
	}
	return nil
}

// insertUser inserts u in tx, stamping its times with the transaction's.
func insertUser(ctx context.Context, tx *tx, u *vault.User) error {
	stamp(&u.CreatedAt, tx.now)
	u.UpdatedAt = u.CreatedAt
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO users (`+userColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.TenantID, u.Email, u.Name, string(u.Role), u.PasswordHash, boolInt(u.Disabled),
		formatTime(u.CreatedAt), formatTime(u.UpdatedAt),
		nullString(u.CreatedBy), nullString(u.CredentialsBy), formatNullTime(&u.CredentialsAt),
		nullString(u.PromotedBy), formatNullTime(&u.PromotedAt), boolInt(u.MustChangePassword),
	); err != nil {
		return fmt.Errorf("insert user: %w", formatError(err))
	}
	return nil
}

// User returns a user of tenantID. Errors: not_found.
func (db *DB) User(ctx context.Context, tenantID, id string) (*vault.User, error) {
	row := db.db.QueryRowContext(ctx, `
		SELECT `+userColumns+`
		FROM users
		WHERE tenant_id = ? AND id = ?`, tenantID, id)
	return findUser(row)
}

// UserByEmail returns the user with that email (case-insensitive), in any
// firm. Errors: not_found.
func (db *DB) UserByEmail(ctx context.Context, email string) (*vault.User, error) {
	// The column's NOCASE collation makes the comparison case-insensitive
	// and lets it use the unique index.
	row := db.db.QueryRowContext(ctx, `
		SELECT `+userColumns+`
		FROM users
		WHERE email = ?`, email)
	return findUser(row)
}

// findUser scans one user, translating no row into not_found.
func findUser(row *sql.Row) (*vault.User, error) {
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "User not found.")
	} else if err != nil {
		return nil, fmt.Errorf("user: %w", formatError(err))
	}
	return u, nil
}

// Users returns the users of a firm, oldest first.
func (db *DB) Users(ctx context.Context, tenantID string) ([]*vault.User, error) {
	return queryAll(ctx, db.db, "users", scanUser, `
		SELECT `+userColumns+`
		FROM users
		WHERE tenant_id = ?
		ORDER BY created_at, rowid`, tenantID)
}

// UpdateUser saves name, role, password hash, disabled flag, lineage and
// must-change flag, and sets UpdatedAt from the clock. The email, tenant
// and creator never change.
// Errors: not_found, invalid.
func (db *DB) UpdateUser(ctx context.Context, u *vault.User) error {
	if u == nil {
		return vault.Errorf(vault.EINVALID, "User required.")
	}
	if !u.Role.Valid() {
		return vault.Errorf(vault.EINVALID, "Invalid user role.")
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	res, err := tx.ExecContext(ctx, `
		UPDATE users
		SET name = ?, role = ?, password_hash = ?, disabled = ?, updated_at = ?,
			credentials_by = ?, credentials_at = ?, promoted_by = ?, promoted_at = ?, must_change_password = ?
		WHERE tenant_id = ? AND id = ?`,
		u.Name, string(u.Role), u.PasswordHash, boolInt(u.Disabled), formatTime(tx.now),
		nullString(u.CredentialsBy), formatNullTime(&u.CredentialsAt),
		nullString(u.PromotedBy), formatNullTime(&u.PromotedAt), boolInt(u.MustChangePassword),
		u.TenantID, u.ID,
	)
	if err != nil {
		return fmt.Errorf("update user: %w", formatError(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update user: %w", err)
	} else if n == 0 {
		return vault.Errorf(vault.ENOTFOUND, "User not found.")
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("update user: %w", err)
	}
	u.UpdatedAt = tx.now
	return nil
}

// scanUser reads the columns of userColumns.
func scanUser(s scanner) (*vault.User, error) {
	var u vault.User
	var role string
	var disabled, mustChange int
	var createdBy, credentialsBy, promotedBy sql.NullString
	var credentialsAt, promotedAt nullTime
	if err := s.Scan(&u.ID, &u.TenantID, &u.Email, &u.Name, &role, &u.PasswordHash, &disabled,
		timeValue{&u.CreatedAt}, timeValue{&u.UpdatedAt},
		&createdBy, &credentialsBy, &credentialsAt, &promotedBy, &promotedAt, &mustChange); err != nil {
		return nil, err
	}
	u.Role = vault.Role(role)
	u.Disabled = disabled != 0
	u.MustChangePassword = mustChange != 0
	u.CreatedBy, u.CredentialsBy, u.PromotedBy = createdBy.String, credentialsBy.String, promotedBy.String
	u.CredentialsAt, u.PromotedAt = credentialsAt.Time, promotedAt.Time
	return &u, nil
}
