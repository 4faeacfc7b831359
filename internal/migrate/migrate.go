// Package migrate applies the embedded SQL migrations of CaseVault's SQLite
// databases (the metadata database and the audit log): each .sql file once,
// in name order, in its own transaction together with its record in the
// migrations table.
package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

// Apply runs every file matching pattern in fsys that the migrations table
// of db does not record yet. stamp is the applied_at text of the records.
// A migration and its record commit together, so each is applied
// completely and exactly once, even when two processes open the same file
// at once (db's transactions must take the write lock at BEGIN).
func Apply(ctx context.Context, db *sql.DB, fsys fs.FS, pattern string, stamp func() string) error {
	if _, err := db.ExecContext(ctx, `
		CREATE TABLE IF NOT EXISTS migrations (
			name       TEXT PRIMARY KEY,
			applied_at TEXT NOT NULL
		)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := applyFile(ctx, db, fsys, name, stamp); err != nil {
			return fmt.Errorf("migration %s: %w", path.Base(name), err)
		}
	}
	return nil
}

func applyFile(ctx context.Context, db *sql.DB, fsys fs.FS, name string, stamp func() string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	base := path.Base(name)
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations WHERE name = ?`, base).Scan(&n); err != nil {
		return err
	} else if n != 0 {
		return nil
	}
	buf, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(buf)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, base, stamp()); err != nil {
		return err
	}
	return tx.Commit()
}
