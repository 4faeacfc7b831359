package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/casevault/casevault/vault"
)

// wallColumns is the column list scanWall reads.
const wallColumns = `tenant_id, matter_id, user_id, created_by, created_at, via`

// CreateWall inserts a wall; a zero CreatedAt is set from the clock. The
// matter, the user and the creator must all belong to the wall's firm.
// Errors: invalid, not_found (matter, user or creator), conflict (the wall
// exists).
func (db *DB) CreateWall(ctx context.Context, w *vault.Wall) error {
	if w == nil {
		return vault.Errorf(vault.EINVALID, "Wall required.")
	}
	switch {
	case w.TenantID == "":
		return vault.Errorf(vault.EINVALID, "Wall tenant required.")
	case w.MatterID == "":
		return vault.Errorf(vault.EINVALID, "Wall matter required.")
	case w.UserID == "":
		return vault.Errorf(vault.EINVALID, "Wall user required.")
	case w.CreatedBy == "":
		return vault.Errorf(vault.EINVALID, "Wall creator required.")
	}

	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if err := insertWall(ctx, tx, w); err != nil {
		return err
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("insert wall: %w", err)
	}
	return nil
}

// insertWall inserts w in tx, stamping a zero CreatedAt with the
// transaction's time.
func insertWall(ctx context.Context, tx *tx, w *vault.Wall) error {
	// Checked here rather than left to the foreign keys, so an object of
	// another firm reads as not_found with the same message as a missing one.
	if err := requireRow(ctx, tx, "Matter not found.", `SELECT 1 FROM matters WHERE tenant_id = ? AND id = ?`, w.TenantID, w.MatterID); err != nil {
		return err
	}
	ids := []string{w.UserID, w.CreatedBy}
	if w.Via != "" {
		ids = append(ids, w.Via)
	}
	for _, id := range ids {
		if err := requireRow(ctx, tx, "User not found.", `SELECT 1 FROM users WHERE tenant_id = ? AND id = ?`, w.TenantID, id); err != nil {
			return err
		}
	}

	createdAt := w.CreatedAt
	stamp(&createdAt, tx.now)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO walls (`+wallColumns+`)
		VALUES (?, ?, ?, ?, ?, ?)`,
		w.TenantID, w.MatterID, w.UserID, w.CreatedBy, formatTime(createdAt), nullString(w.Via),
	); err != nil {
		// The primary key is the table's only unique constraint.
		err = formatError(err)
		if vault.IsCode(err, vault.ECONFLICT) {
			return vault.WrapError(vault.ECONFLICT, err, "The user is already walled off from this matter.")
		}
		return fmt.Errorf("insert wall: %w", err)
	}
	w.CreatedAt = createdAt
	return nil
}

// DeleteWall removes a wall. Errors: not_found (missing or another firm's).
func (db *DB) DeleteWall(ctx context.Context, tenantID, matterID, userID string) error {
	return execOne(ctx, db.db, "delete wall", "Wall not found.", `
		DELETE FROM walls
		WHERE tenant_id = ? AND matter_id = ? AND user_id = ?`,
		tenantID, matterID, userID)
}

// Walls returns the walls of tenantID matching f, oldest first (by creation
// time, then matter and user).
func (db *DB) Walls(ctx context.Context, tenantID string, f vault.WallFilter) ([]*vault.Wall, error) {
	where, args := []string{"tenant_id = ?"}, []any{tenantID}
	if f.MatterID != "" {
		where, args = append(where, "matter_id = ?"), append(args, f.MatterID)
	}
	if f.UserID != "" {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	return queryAll(ctx, db.db, "walls", scanWall, `
		SELECT `+wallColumns+`
		FROM walls
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY created_at, matter_id, user_id`, args...)
}

// scanWall reads the columns of wallColumns.
func scanWall(s scanner) (*vault.Wall, error) {
	var w vault.Wall
	var via sql.NullString
	if err := s.Scan(&w.TenantID, &w.MatterID, &w.UserID, &w.CreatedBy, timeValue{&w.CreatedAt}, &via); err != nil {
		return nil, err
	}
	w.Via = via.String
	return &w, nil
}
