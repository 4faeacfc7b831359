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
const userColumns = `id, tenant_id, email_index, email, name, role, password_hash, disabled, created_at, updated_at,
	created_by, credentials_by, credentials_at, promoted_by, promoted_at, must_change_password`

// emailIndexSize is the length of a user's email index.
const emailIndexSize = 32

// CreateUser inserts a user with its email and name sealed and, in the
// same transaction, the walls given (each on the new user; see
// vault.Service.CreateUser). An empty ID is filled in, and a zero CreatedAt
// is set from the clock. Errors: conflict (a user of the same firm has the
// same email index), not_found (tenant, or a wall's matter or creator),
// invalid, internal (no Sealer).
func (db *DB) CreateUser(ctx context.Context, u *vault.User, walls ...*vault.Wall) error {
	if u == nil {
		return vault.Errorf(vault.EINVALID, "User required.")
	}
	if err := validateUser(u); err != nil {
		return err
	}
	// Seal before BEGIN: the sealer reads keysets from this database.
	sealed, err := db.sealUser(ctx, u)
	if err != nil {
		return notFoundAs(err, "Tenant not found.")
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := requireRow(ctx, tx, "Tenant not found.", `SELECT 1 FROM tenants WHERE id = ?`, u.TenantID); err != nil {
		return err
	}
	if err := insertUser(ctx, tx, u, sealed); err != nil {
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
	case len(u.EmailIndex) != emailIndexSize:
		return vault.Errorf(vault.EINVALID, "User email index must be %d bytes.", emailIndexSize)
	case !u.Role.Valid():
		return vault.Errorf(vault.EINVALID, "Invalid user role.")
	}
	return nil
}

// sealedUserFields are a user's email and name, sealed.
type sealedUserFields struct{ email, name []byte }

// sealUser seals u's email and name for its row.
func (db *DB) sealUser(ctx context.Context, u *vault.User) (sealedUserFields, error) {
	email, err := db.seal(ctx, u.TenantID, userEmailRef(u.ID), u.Email)
	if err != nil {
		return sealedUserFields{}, err
	}
	name, err := db.seal(ctx, u.TenantID, userNameRef(u.ID), u.Name)
	if err != nil {
		return sealedUserFields{}, err
	}
	return sealedUserFields{email: email, name: name}, nil
}

// insertUser inserts u in tx, stamping its times with the transaction's.
func insertUser(ctx context.Context, tx *tx, u *vault.User, sealed sealedUserFields) error {
	stamp(&u.CreatedAt, tx.now)
	u.UpdatedAt = u.CreatedAt
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO users (`+userColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.TenantID, u.EmailIndex, sealed.email, sealed.name, string(u.Role), u.PasswordHash, boolInt(u.Disabled),
		formatTime(u.CreatedAt), formatTime(u.UpdatedAt),
		nullString(u.CreatedBy), nullString(u.CredentialsBy), formatNullTime(&u.CredentialsAt),
		nullString(u.PromotedBy), formatNullTime(&u.PromotedAt), boolInt(u.MustChangePassword),
	); err != nil {
		return fmt.Errorf("insert user: %w", formatError(err))
	}
	return nil
}

// User returns a user of tenantID with its email and name opened; a field
// that does not open is left "" and marked in the user's Damage.
// Errors: not_found, internal (no Sealer).
func (db *DB) User(ctx context.Context, tenantID, id string) (*vault.User, error) {
	row := db.db.QueryRowContext(ctx, `
		SELECT `+userColumns+`
		FROM users
		WHERE tenant_id = ? AND id = ?`, tenantID, id)
	ru, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "User not found.")
	} else if err != nil {
		return nil, fmt.Errorf("user: %w", formatError(err))
	}
	if err := db.openUser(ctx, ru); err != nil {
		return nil, err
	}
	return ru.u, nil
}

// UsersByEmailIndex returns the users, of any firm, whose email index is one
// of indexes, enabled or not, oldest first, with their fields opened. The
// lookup goes through the index on email_index; the email itself is never
// compared, and never stored in the clear. Errors: internal (no Sealer).
func (db *DB) UsersByEmailIndex(ctx context.Context, indexes [][]byte) ([]*vault.User, error) {
	if len(indexes) == 0 {
		return nil, nil
	}
	args := make([]any, len(indexes))
	for i, ix := range indexes {
		args[i] = ix
	}
	read, err := queryAll(ctx, db.db, "users by email", scanUser, `
		SELECT `+userColumns+`
		FROM users
		WHERE email_index IN (?`+strings.Repeat(", ?", len(indexes)-1)+`)
		ORDER BY created_at, rowid`, args...)
	if err != nil {
		return nil, err
	}
	return db.openUsers(ctx, read)
}

// Users returns the users of a firm, oldest first, with their fields
// opened; one that does not open is marked and the others still read.
// Errors: internal (no Sealer).
func (db *DB) Users(ctx context.Context, tenantID string) ([]*vault.User, error) {
	read, err := queryAll(ctx, db.db, "users", scanUser, `
		SELECT `+userColumns+`
		FROM users
		WHERE tenant_id = ?
		ORDER BY created_at, rowid`, tenantID)
	if err != nil {
		return nil, err
	}
	return db.openUsers(ctx, read)
}

// UpdateUser saves name, role, password hash, disabled flag, lineage and
// must-change flag, and sets UpdatedAt from the clock. A name u's Damage
// marks unreadable is left as stored. The email, tenant and creator never
// change. Errors: not_found, invalid, internal (no Sealer).
func (db *DB) UpdateUser(ctx context.Context, u *vault.User) error {
	if u == nil {
		return vault.Errorf(vault.EINVALID, "User required.")
	}
	if !u.Role.Valid() {
		return vault.Errorf(vault.EINVALID, "Invalid user role.")
	}
	var name []byte // nil keeps the stored name
	if u.Readable("name") {
		var err error
		// Seal before BEGIN: the sealer reads keysets from this database.
		if name, err = db.seal(ctx, u.TenantID, userNameRef(u.ID), u.Name); err != nil {
			return notFoundAs(err, "User not found.")
		}
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	res, err := tx.ExecContext(ctx, `
		UPDATE users
		SET name = COALESCE(?, name), role = ?, password_hash = ?, disabled = ?, updated_at = ?,
			credentials_by = ?, credentials_at = ?, promoted_by = ?, promoted_at = ?, must_change_password = ?
		WHERE tenant_id = ? AND id = ?`,
		name, string(u.Role), u.PasswordHash, boolInt(u.Disabled), formatTime(tx.now),
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

// readUser is a user as read, before its email and name are opened.
type readUser struct {
	u           *vault.User
	email, name []byte
}

// scanUser reads the columns of userColumns.
func scanUser(s scanner) (*readUser, error) {
	ru := &readUser{u: &vault.User{}}
	u := ru.u
	var role string
	var disabled, mustChange int
	var createdBy, credentialsBy, promotedBy sql.NullString
	var credentialsAt, promotedAt nullTime
	if err := s.Scan(&u.ID, &u.TenantID, &u.EmailIndex, &ru.email, &ru.name, &role, &u.PasswordHash, &disabled,
		timeValue{&u.CreatedAt}, timeValue{&u.UpdatedAt},
		&createdBy, &credentialsBy, &credentialsAt, &promotedBy, &promotedAt, &mustChange); err != nil {
		return nil, err
	}
	u.Role = vault.Role(role)
	u.Disabled = disabled != 0
	u.MustChangePassword = mustChange != 0
	u.CreatedBy, u.CredentialsBy, u.PromotedBy = createdBy.String, credentialsBy.String, promotedBy.String
	u.CredentialsAt, u.PromotedAt = credentialsAt.Time, promotedAt.Time
	return ru, nil
}

// openUser opens the sealed email and name of ru into ru.u, marking those
// that fail authentication in the user's Damage.
func (db *DB) openUser(ctx context.Context, ru *readUser) error {
	var err error
	if ru.u.Email, err = db.openOrMark(ctx, ru.u.TenantID, userEmailRef(ru.u.ID), ru.email, &ru.u.Damage); err != nil {
		return err
	}
	ru.u.Name, err = db.openOrMark(ctx, ru.u.TenantID, userNameRef(ru.u.ID), ru.name, &ru.u.Damage)
	return err
}

// openUsers opens every user read, after the rows are closed.
func (db *DB) openUsers(ctx context.Context, read []*readUser) ([]*vault.User, error) {
	a := make([]*vault.User, 0, len(read))
	for _, ru := range read {
		if err := db.openUser(ctx, ru); err != nil {
			return nil, err
		}
		a = append(a, ru.u)
	}
	return a, nil
}

// userEmailRef names the sealed email cell of a user.
func userEmailRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "users", Column: "email", RowID: id}
}

// userNameRef names the sealed name cell of a user.
func userNameRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "users", Column: "name", RowID: id}
}
