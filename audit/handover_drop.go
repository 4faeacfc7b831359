package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/casevault/casevault/vault"
)

// checkpointWait bounds how long DropTenant waits for readers to let the
// WAL be emptied.
const checkpointWait = 30 * time.Second

// DropTenant removes every row of tenant's log from l (the old cell's),
// after the log lives on in its new cell: the one exception to the audit
// tables being append-only (docs/AUDIT-FORMAT.md §5, "Moving a firm").
// The log must have been handed over (Handover) and switched out
// (SwitchOut), and the directory must no longer name this region: l's signer for the firm must not be the old
// key the handover names. In one transaction, with secure_delete on, each
// audit table is rebuilt without the firm's rows, its triggers created
// again from their own text (dropRows), and every free page zeroed; then
// the WAL is emptied and truncated. So no page of the file, free or not,
// nor the WAL keeps a byte of the firm. The other firms' appends wait for
// it in the writer's queue; it rewrites the whole file (seconds per 100
// MB) in bounded memory. It forgets what l kept in memory of the firm.
// Called again, or for a firm l never held, it finds no row of the firm
// and rebuilds the file all the same (so a rerun finishes a crashed one).
// Errors: invalid, conflict (not handed over, or the directory still names
// this region), unavailable, internal.
func (l *Log) DropTenant(ctx context.Context, tenant string) error {
	if tenant == "" {
		return vault.Errorf(vault.EINVALID, "The service log does not move.")
	}
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	n, err := l.Size(ctx, tenant)
	if err != nil {
		return err
	}
	reason := l.heldReason(tenant)
	from := "" // the region of this cell, as the handover names it
	if n > 0 || reason != "" {
		if reason != holdMovedOut {
			return vault.Errorf(vault.ECONFLICT, "The firm's audit log has not been handed over from this log.")
		}
		last, err := l.lastMove(ctx, tenant)
		if err != nil {
			return err
		}
		from = last.From
		if _, vkey, err := l.opts.Signer(ctx, tenant); err != nil {
			return fmt.Errorf("checkpoint signer of %q: %w", tenant, err)
		} else if vkey == last.OldKey {
			return vault.Errorf(vault.ECONFLICT, "The directory still names this region for the firm: switch it before dropping the old log.")
		}
	}
	// The old region's anchor first: a rerun after a crash knows the
	// region only while the rows are there.
	if d, ok := l.opts.Anchor.(AnchorDeleter); ok && from != "" {
		if err := d.Delete(ctx, from, tenant); err != nil {
			return err
		}
	}
	err = l.run(ctx, func(ctx context.Context) error {
		delete(l.tips, tenant)
		return l.dropRows(ctx, tenant)
	})
	if err != nil {
		return err
	}
	l.forget(tenant)
	return nil
}

// AnchorDeleter is an Anchor that deletes a firm's anchored checkpoint
// from one region's anchors, whatever region the directory names now
// (keys.AuditAnchors does). With one, DropTenant deletes the old region's
// anchor of the firm, named by the handover's from_region; without, the
// move must (the old region keeps nothing of the firm). Errors: invalid,
// internal.
type AnchorDeleter interface {
	Delete(ctx context.Context, region, tenant string) error
}

// dropRows is DropTenant on the writer goroutine. VACUUM would rebuild
// the file through a temporary database: in memory under this log's
// temp_store (as large as the file), or in a file outside the cell. So the
// file is rebuilt in place instead, in one transaction, with secure_delete
// on: every audit table is rebuilt without tenant's rows (rebuildTable),
// then every free page is overwritten with zeros (zeroFreePages), and the
// schema must come out exactly as it went in.
func (l *Log) dropRows(ctx context.Context, tenant string) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var secure int
	if err := conn.QueryRowContext(ctx, `PRAGMA secure_delete`).Scan(&secure); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA secure_delete = %d`, secure))
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	before, err := schemaOf(ctx, tx)
	if err != nil {
		return err
	}
	tables, err := column(ctx, tx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'audit\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if err := rebuildTable(ctx, tx, t, tenant); err != nil {
			return fmt.Errorf("rebuild %s: %w", t, err)
		}
	}
	if err := zeroFreePages(ctx, tx); err != nil {
		return err
	}
	after, err := schemaOf(ctx, tx)
	if err != nil {
		return err
	}
	if after != before {
		return vault.Errorf(vault.EINTERNAL, "Rebuilding the audit log's tables would change its schema.")
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return truncateWAL(ctx, conn)
}

// rebuildChunk is how many rows one statement of rebuildTable copies or
// deletes: each statement's journal (in memory, temp_store) stays small.
const rebuildChunk = 2000

// rebuildTable rebuilds table t without tenant's rows: its triggers
// dropped, renamed aside, its indexes dropped, created again from its own
// SQL text with its indexes, the other rows copied over in their order
// (rowids kept), the old rows deleted (with secure_delete, their bytes
// and pages are zeroed) and the old table dropped, and its triggers
// created again from their text. Copies and deletes go rebuildChunk rows
// per statement, so memory stays small whatever the size of the file.
func rebuildTable(ctx context.Context, tx *sql.Tx, t, tenant string) error {
	var create string
	if err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, t).Scan(&create); err != nil {
		return err
	}
	const of = ` FROM sqlite_schema WHERE type = ? AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`
	indexes, err := column(ctx, tx, `SELECT sql`+of, "index", t)
	if err != nil {
		return err
	}
	indexNames, err := column(ctx, tx, `SELECT name`+of, "index", t)
	if err != nil {
		return err
	}
	triggers, err := column(ctx, tx, `SELECT sql`+of, "trigger", t)
	if err != nil {
		return err
	}
	triggerNames, err := column(ctx, tx, `SELECT name`+of, "trigger", t)
	if err != nil {
		return err
	}
	cols, key, err := columnsOf(ctx, tx, t)
	if err != nil {
		return err
	}
	if strings.Contains(strings.ToUpper(create), "WITHOUT ROWID") {
		if len(key) == 0 {
			return vault.Errorf(vault.EINTERNAL, "Table %s has no primary key.", t)
		}
	} else {
		key = []string{"rowid"}
	}
	aside := `"` + t + `__drop"`
	var stmts []string
	for _, n := range triggerNames {
		stmts = append(stmts, `DROP TRIGGER "`+n+`"`)
	}
	stmts = append(stmts, `ALTER TABLE "`+t+`" RENAME TO `+aside)
	for _, n := range indexNames {
		stmts = append(stmts, `DROP INDEX "`+n+`"`)
	}
	stmts = append(stmts, create)
	stmts = append(stmts, indexes...)
	if err := execAll(ctx, tx, stmts); err != nil {
		return err
	}
	list := strings.Join(cols, ", ")
	if key[0] == "rowid" {
		list = "rowid, " + list
	}
	k := strings.Join(key, ", ")
	// Copy: after the key of the last row copied, in key order.
	var last []any
	for {
		where, args := "tenant_id IS NOT ?", []any{tenant}
		if last != nil {
			where = "(" + k + ") > (" + strings.TrimSuffix(strings.Repeat("?, ", len(key)), ", ") + ") AND " + where
			args = append(last, tenant)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO "`+t+`" (`+list+`) SELECT `+list+` FROM `+aside+` WHERE `+where+
			` ORDER BY `+k+` LIMIT `+fmt.Sprint(rebuildChunk), args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			break
		}
		rows, err := readRowsTx(ctx, tx, `SELECT `+k+` FROM "`+t+`" ORDER BY `+descending(key)+` LIMIT 1`, len(key))
		if err != nil {
			return err
		}
		last = rows[0]
	}
	for {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+aside+` WHERE (`+k+`) IN (SELECT `+k+` FROM `+aside+` LIMIT `+fmt.Sprint(rebuildChunk)+`)`)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			break
		}
	}
	return execAll(ctx, tx, append([]string{`DROP TABLE ` + aside}, triggers...))
}

// descending is an ORDER BY of key, each column descending.
func descending(key []string) string {
	out := make([]string, len(key))
	for i, c := range key {
		out[i] = c + " DESC"
	}
	return strings.Join(out, ", ")
}

// execAll runs each statement in tx.
func execAll(ctx context.Context, tx *sql.Tx, stmts []string) error {
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// readRowsTx is queryRows in a transaction; no row is sql.ErrNoRows.
func readRowsTx(ctx context.Context, tx *sql.Tx, query string, cols int, args ...any) ([][]any, error) {
	out, err := queryRows(ctx, tx, query, cols, args...)
	if err == nil && len(out) == 0 {
		return nil, sql.ErrNoRows
	}
	return out, err
}

// columnsOf returns the columns of table t, quoted, and those of its
// primary key in order.
func columnsOf(ctx context.Context, tx *sql.Tx, t string) (cols, key []string, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?)`, t)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	pk := map[int]string{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return nil, nil, err
		}
		q := `"` + name + `"`
		cols = append(cols, q)
		if n > 0 {
			pk[n] = q
		}
	}
	for i := 1; i <= len(pk); i++ {
		key = append(key, pk[i])
	}
	return cols, key, rows.Err()
}

// zeroFreePages overwrites every page of the file's free list with zeros:
// pages freed before secure_delete was on may hold old rows. Blobs of
// zeros take them (SQLite allocates from the free list first), at most 1
// MiB at a time; then they are dropped, and with secure_delete their pages
// are freed as zeros.
func zeroFreePages(ctx context.Context, tx *sql.Tx) error {
	var pageSize int64
	if err := tx.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&pageSize); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE audit__zero (b BLOB)`); err != nil {
		return err
	}
	last := int64(-1)
	for {
		var free int64
		if err := tx.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil {
			return err
		}
		if free == 0 {
			break
		}
		if last >= 0 && free >= last {
			return vault.Errorf(vault.EINTERNAL, "The audit log's free pages cannot be zeroed.")
		}
		last = free
		n := min(free, (1<<20)/pageSize)
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit__zero (b) VALUES (zeroblob(?))`, n*(pageSize-4)); err != nil {
			return err
		}
	}
	// One blob per statement: a statement's journal holds what it changes.
	for {
		res, err := tx.ExecContext(ctx, `DELETE FROM audit__zero WHERE rowid = (SELECT MIN(rowid) FROM audit__zero)`)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			break
		}
	}
	_, err := tx.ExecContext(ctx, `DROP TABLE audit__zero`)
	return err
}

// schemaOf is the file's schema as one string, to compare.
func schemaOf(ctx context.Context, tx *sql.Tx) (string, error) {
	rows, err := column(ctx, tx, `SELECT type || ' ' || name || ' ' || tbl_name || ' ' || COALESCE(sql, '') FROM sqlite_schema ORDER BY type, name`)
	return strings.Join(rows, "\n"), err
}

// column returns the one column of a query's rows, as text.
func column(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// truncateWAL copies the WAL into the file and truncates it to nothing,
// waiting (at most checkpointWait) for readers of older pages to finish.
func truncateWAL(ctx context.Context, conn *sql.Conn) error {
	deadline := time.Now().Add(checkpointWait)
	for {
		var busy, logged, done int
		if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &done); err != nil {
			return err
		}
		if busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return vault.Errorf(vault.EUNAVAILABLE, "Readers of the audit log kept its WAL busy: run the drop again.")
		}
		select {
		case <-ctx.Done():
			return unavailable(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// forget drops what l keeps in memory of tenant's log.
func (l *Log) forget(tenant string) {
	l.stMu.Lock()
	delete(l.signed, tenant)
	delete(l.grown, tenant)
	delete(l.urgent, tenant)
	delete(l.failing, tenant)
	delete(l.logs, tenant)
	delete(l.lastSig, tenant)
	l.stMu.Unlock()
	l.divMu.Lock()
	delete(l.diverged, tenant)
	l.anyDiverged.Store(len(l.diverged) > 0)
	delete(l.held, tenant)
	l.anyHeld.Store(len(l.held) > 0)
	l.divMu.Unlock()
}
