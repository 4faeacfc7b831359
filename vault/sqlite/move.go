package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/casevault/casevault/vault"
)

// Moving a firm between cells (issue #13, package move): the service
// database records each move in progress (migration 0011); a cell's
// database copies a firm's rows from another cell and deletes them again.

// Move is a move of a firm between regions in progress, as the service
// database records it.
type Move struct {
	TenantID  string
	From, To  string // regions
	Step      string // the last step that completed; "" before the first
	StartedAt time.Time
	UpdatedAt time.Time
	// LastError is the vault error code of the last failed attempt, "" if
	// none failed.
	LastError string
}

// StartMove records a move of tenantID from one region to another, or
// returns the one already recorded. Errors: invalid, conflict (a move of
// the firm to another region is in progress).
func (db *DB) StartMove(ctx context.Context, tenantID, from, to string) (*Move, error) {
	if tenantID == "" || from == "" || to == "" || from == to {
		return nil, vault.Errorf(vault.EINVALID, "A move needs a firm and two different regions.")
	}
	now := formatTime(db.now())
	if _, err := db.db.ExecContext(ctx, `INSERT INTO moves (tenant_id, from_region, to_region, step, started_at, updated_at)
		VALUES (?, ?, ?, '', ?, ?) ON CONFLICT (tenant_id) DO NOTHING`, tenantID, from, to, now, now); err != nil {
		return nil, fmt.Errorf("start move: %w", formatError(err))
	}
	m, err := db.Move(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if m.From != from || m.To != to {
		return nil, vault.Errorf(vault.ECONFLICT, "A move of this firm from %s to %s is in progress; finish it first.", m.From, m.To)
	}
	return m, nil
}

// Move returns the move of tenantID in progress. Errors: not_found.
func (db *DB) Move(ctx context.Context, tenantID string) (*Move, error) {
	ms, err := db.queryMoves(ctx, `WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, vault.Errorf(vault.ENOTFOUND, "No move of this firm is in progress.")
	}
	return ms[0], nil
}

// Moves returns every move in progress, oldest first.
func (db *DB) Moves(ctx context.Context) ([]*Move, error) {
	return db.queryMoves(ctx, `ORDER BY started_at, tenant_id`)
}

func (db *DB) queryMoves(ctx context.Context, where string, args ...any) ([]*Move, error) {
	return queryAll(ctx, db.db, "moves", func(s scanner) (*Move, error) {
		var m Move
		var started, updated string
		if err := s.Scan(&m.TenantID, &m.From, &m.To, &m.Step, &started, &updated, &m.LastError); err != nil {
			return nil, err
		}
		var err error
		if m.StartedAt, err = parseTime(started); err != nil {
			return nil, err
		}
		if m.UpdatedAt, err = parseTime(updated); err != nil {
			return nil, err
		}
		return &m, nil
	}, `SELECT tenant_id, from_region, to_region, step, started_at, updated_at, last_error FROM moves `+where, args...)
}

// SetMoveStep records that step of tenantID's move completed, and clears
// the last error. Errors: not_found.
func (db *DB) SetMoveStep(ctx context.Context, tenantID, step string) error {
	return db.updateMove(ctx, `step = ?, last_error = ''`, tenantID, step)
}

// SetMoveError records the error code of a failed attempt at tenantID's
// move. Errors: not_found.
func (db *DB) SetMoveError(ctx context.Context, tenantID, code string) error {
	return db.updateMove(ctx, `last_error = ?`, tenantID, code)
}

func (db *DB) updateMove(ctx context.Context, set, tenantID, value string) error {
	res, err := db.db.ExecContext(ctx, `UPDATE moves SET `+set+`, updated_at = ? WHERE tenant_id = ?`, value, formatTime(db.now()), tenantID)
	if err != nil {
		return fmt.Errorf("move: %w", formatError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vault.Errorf(vault.ENOTFOUND, "No move of this firm is in progress.")
	}
	return nil
}

// DeleteMove forgets tenantID's move, once done; missing is not an error.
func (db *DB) DeleteMove(ctx context.Context, tenantID string) error {
	if _, err := db.db.ExecContext(ctx, `DELETE FROM moves WHERE tenant_id = ?`, tenantID); err != nil {
		return fmt.Errorf("move: %w", formatError(err))
	}
	return nil
}

// TenantCopy says how a firm's rows change as they are copied into the
// cell of its new region.
type TenantCopy struct {
	// Region is the firm's new region (tenants.region).
	Region string
	// Keysets are the firm's keysets wrapped by the new region's master
	// key, bound to it.
	Keysets vault.TenantKeysets
	// EmailIndexes are the users' email indexes under the new region's
	// index key, by user id; every user of the firm needs one.
	EmailIndexes map[string][]byte
}

// movedTables are the tables of firms' rows (a column tenant_id, or id for
// tenants), read from the schema so that a table added later moves too.
// The service database's moves table is not one.
func movedTables(ctx context.Context, q rowsQueryer, schema string) ([]tenantTable, error) {
	list, err := queryAll(ctx, q, "tables", func(s scanner) (tenantTable, error) {
		var t tenantTable
		return t, s.Scan(&t.name, &t.column)
	}, `SELECT m.name, p.name FROM `+schema+`.sqlite_master m, pragma_table_info(m.name, '`+schema+`') p
		WHERE m.type = 'table' AND m.name <> 'moves'
		AND (p.name = 'tenant_id' OR (m.name = 'tenants' AND p.name = 'id')) ORDER BY m.name`)
	if err != nil {
		return nil, err
	}
	return list, nil
}

type tenantTable struct{ name, column string }

// columns returns the column names of table in schema, quoted.
func columns(ctx context.Context, q rowsQueryer, schema, table string) ([]string, error) {
	return queryAll(ctx, q, "columns", func(s scanner) (string, error) {
		var c string
		return `"` + c + `"`, s.Scan(&c)
	}, `SELECT name FROM pragma_table_info(?, ?) ORDER BY cid`, table, schema)
}

// path returns the file of the database.
func (db *DB) path(ctx context.Context) (string, error) {
	var seq int
	var name, file string
	if err := db.db.QueryRowContext(ctx, `SELECT seq, name, file FROM pragma_database_list WHERE name = 'main'`).Scan(&seq, &name, &file); err != nil {
		return "", fmt.Errorf("database path: %w", formatError(err))
	}
	if file == "" {
		return "", vault.Errorf(vault.EINTERNAL, "The database has no file.")
	}
	return file, nil
}

// CopyTenantFrom copies every row of firm tenantID from src (another
// cell's database) into db, changed as c says: the tenants row gets the
// new region and keysets, each user its new email index. Rows of the firm
// db already holds (from an earlier attempt) are replaced, all in one
// transaction, so a rerun after a crash starts afresh and the copy is
// complete or absent. It returns the rows copied.
// Errors: not_found (src does not hold the firm), invalid (a user without
// a new email index), unavailable, internal.
func (db *DB) CopyTenantFrom(ctx context.Context, src *DB, tenantID string, c TenantCopy) (int64, error) {
	if c.Region == "" || len(c.Keysets.Document) == 0 || len(c.Keysets.Field) == 0 {
		return 0, vault.Errorf(vault.EINVALID, "A copy needs the new region and keysets.")
	}
	srcPath, err := src.path(ctx)
	if err != nil {
		return 0, err
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return 0, formatError(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS src`, "file:"+srcPath+"?mode=ro"); err != nil {
		return 0, fmt.Errorf("attach source cell: %w", formatError(err))
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE src`)
	n, err := copyTenant(ctx, conn, tenantID, c)
	if err != nil {
		return 0, err
	}
	return n, nil
}

func copyTenant(ctx context.Context, conn *sql.Conn, tenantID string, c TenantCopy) (int64, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, formatError(err)
	}
	defer tx.Rollback()
	// Rows reference their parents; the checks run at commit, when every
	// table of the firm is there.
	if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
		return 0, formatError(err)
	}
	var held int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM src.tenants WHERE id = ?`, tenantID).Scan(&held); err != nil {
		return 0, fmt.Errorf("copy firm: %w", formatError(err))
	} else if held == 0 {
		return 0, vault.Errorf(vault.ENOTFOUND, "The source cell does not hold this firm.")
	}
	tables, err := movedTables(ctx, tx, "main")
	if err != nil {
		return 0, err
	}
	if err := deleteRows(ctx, tx, tables, tenantID); err != nil {
		return 0, err
	}
	var total int64
	for _, t := range tables {
		cols, err := columns(ctx, tx, "main", t.name)
		if err != nil {
			return 0, err
		}
		list := strings.Join(cols, ", ")
		res, err := tx.ExecContext(ctx, `INSERT INTO main."`+t.name+`" (`+list+`) SELECT `+list+` FROM src."`+t.name+`" WHERE "`+t.column+`" = ?`, tenantID)
		if err != nil {
			return 0, fmt.Errorf("copy %s: %w", t.name, formatError(err))
		}
		n, _ := res.RowsAffected()
		total += n
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tenants SET region = ?, doc_keyset = ?, field_keyset = ? WHERE id = ?`,
		c.Region, c.Keysets.Document, c.Keysets.Field, tenantID); err != nil {
		return 0, fmt.Errorf("copy firm: %w", formatError(err))
	}
	ids, err := queryAll(ctx, tx, "users", func(s scanner) (string, error) {
		var id string
		return id, s.Scan(&id)
	}, `SELECT id FROM users WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		ix := c.EmailIndexes[id]
		if len(ix) != 32 {
			return 0, vault.Errorf(vault.EINVALID, "User %s has no email index for the new region.", id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email_index = ? WHERE tenant_id = ? AND id = ?`, ix, tenantID, id); err != nil {
			return 0, fmt.Errorf("copy users: %w", formatError(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("copy firm: %w", formatError(err))
	}
	return total, nil
}

// deleteRows deletes the firm's rows from every table in tables.
func deleteRows(ctx context.Context, tx *sql.Tx, tables []tenantTable, tenantID string) error {
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, `DELETE FROM main."`+t.name+`" WHERE "`+t.column+`" = ?`, tenantID); err != nil {
			return fmt.Errorf("delete %s: %w", t.name, formatError(err))
		}
	}
	return nil
}

// DeleteTenantRows deletes every row of firm tenantID from db (the cell it
// moved out of), in one transaction, then checkpoints the WAL and
// truncates it, so that with secure_delete neither the file nor its WAL
// keeps a page of the firm. Deleting a firm db does not hold is not an
// error. It returns the rows deleted. Errors: unavailable (the checkpoint
// could not finish: a reader holds the WAL; retry), internal.
func (db *DB) DeleteTenantRows(ctx context.Context, tenantID string) (int64, error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, formatError(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
		return 0, formatError(err)
	}
	tables, err := movedTables(ctx, tx, "main")
	if err != nil {
		return 0, err
	}
	var total int64
	for _, t := range tables {
		res, err := tx.ExecContext(ctx, `DELETE FROM main."`+t.name+`" WHERE "`+t.column+`" = ?`, tenantID)
		if err != nil {
			return 0, fmt.Errorf("delete %s: %w", t.name, formatError(err))
		}
		n, _ := res.RowsAffected()
		total += n
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("delete firm: %w", formatError(err))
	}
	return total, db.Checkpoint(ctx)
}

// Checkpoint copies every WAL frame into the database file and truncates
// the WAL to zero bytes. Errors: unavailable (a reader kept part of the
// WAL in use), internal.
func (db *DB) Checkpoint(ctx context.Context) error {
	var busy, logFrames, done int
	if err := db.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("checkpoint: %w", formatError(err))
	}
	if busy != 0 {
		return vault.Errorf(vault.EUNAVAILABLE, "The database's WAL is in use; the checkpoint did not finish.")
	}
	return nil
}

// HasEmailIndex reports whether a user of a firm other than exceptTenant
// has the email index index.
func (db *DB) HasEmailIndex(ctx context.Context, index []byte, exceptTenant string) (bool, error) {
	var one int
	err := db.db.QueryRowContext(ctx, `SELECT 1 FROM users WHERE email_index = ? AND tenant_id <> ? LIMIT 1`, index, exceptTenant).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("email index: %w", formatError(err))
	}
	return true, nil
}

// HoldsTenant reports whether db has the tenants row of tenantID.
func (db *DB) HoldsTenant(ctx context.Context, tenantID string) (bool, error) {
	return exists(ctx, db.db, `SELECT 1 FROM tenants WHERE id = ?`, tenantID)
}
