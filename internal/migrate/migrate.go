// Package migrate applies the embedded SQL migrations of CaseVault's SQLite
// databases (the metadata database and the audit log): each .sql file once,
// in name order, in its own transaction together with its record in the
// migrations table.
//
// A migration that rebuilds a table other tables refer to (SQLite's
// "making other kinds of table schema changes",
// https://www.sqlite.org/lang_altertable.html) starts with the line
// NoForeignKeys. It then runs as that page says: on one connection with
// foreign key enforcement off (which cannot change inside a transaction),
// in one transaction that fails unless PRAGMA foreign_key_check finds
// nothing, with enforcement restored afterwards.
package migrate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// NoForeignKeys, as the first line of a migration, runs it with foreign key
// enforcement off and checks every foreign key before it commits.
const NoForeignKeys = "-- migrate: foreign_keys off"

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
	buf, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	if strings.HasPrefix(string(buf), NoForeignKeys+"\n") {
		return applyWithoutForeignKeys(ctx, db, path.Base(name), string(buf), stamp)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return applyInTx(ctx, tx, path.Base(name), string(buf), stamp, false)
}

// applyInTx runs a migration and records it in tx, unless it is recorded
// already, and commits; with checkFK, only if no foreign key is broken.
func applyInTx(ctx context.Context, tx *sql.Tx, base, script string, stamp func() string, checkFK bool) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations WHERE name = ?`, base).Scan(&n); err != nil {
		return err
	} else if n != 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, script); err != nil {
		return err
	}
	if checkFK {
		if err := checkForeignKeys(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, base, stamp()); err != nil {
		return err
	}
	return tx.Commit()
}

// applyWithoutForeignKeys runs a NoForeignKeys migration on a connection of
// its own with enforcement off, and turns enforcement back on after it. A
// connection whose enforcement cannot be restored is thrown away rather
// than returned to the pool.
func applyWithoutForeignKeys(ctx context.Context, db *sql.DB, base, script string, stamp func() string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var was int
	if err := conn.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&was); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	defer func() {
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA foreign_keys = %d`, was)); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return applyInTx(ctx, tx, base, script, stamp, true)
}

// checkForeignKeys fails if any row of the database breaks a foreign key:
// after a migration that ran without enforcement, it is the check that the
// rebuild kept every reference whole.
func checkForeignKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var table string
		var rowid sql.NullInt64
		var parent string
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return err
		}
		return fmt.Errorf("foreign key check: a row of %s refers to a missing row of %s", table, parent)
	}
	return errors.Join(rows.Err(), rows.Close())
}
