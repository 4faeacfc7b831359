package cell

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/casevault/casevault/vault"
)

// Split turns the databases of a release before cells — one metadata
// database and one audit database holding every firm — into cells: each
// region's cell gets a copy holding only its own firms' rows, the service
// database and the service audit log a copy holding no firm's row. Copies
// are made with VACUUM INTO, the other firms' rows deleted from each and
// the copy vacuumed again (secure_delete is on, and the second VACUUM
// rewrites every page), so no page of a copy holds another cell's data.
// Rows are copied verbatim: sequence numbers, leaves, hashes, checkpoints
// and sealed fields are the same bytes, so each firm's audit log verifies
// against the same keys and checkpoints afterwards.
//
// The step is crash-safe: every copy is written under a temporary name and
// renamed into place, the service database last, marked as the product of
// the split; only then are the old files removed. A rerun after a crash
// redoes the copies (while the service database is missing) or finishes
// the removal (once it is there).
type Split struct {
	LegacyDB, LegacyAudit   string // the old casevault.db and audit.db
	ServiceDB, ServiceAudit string // where the service-wide copies go
	// CellDB and CellAudit return the paths of a region's cell databases.
	CellDB, CellAudit func(region string) string
	// Regions are the configured regions; a firm of another region stops
	// the split.
	Regions []string

	// stopAfter, in tests, stops Run with errStopped after that many
	// renames, as a crash would.
	stopAfter int
}

var errStopped = errors.New("split: stopped by test")

// settingSplit marks a service database written by Split.
const settingSplit = "cells.split_from_legacy"

// SplitResult says what Split did.
type SplitResult struct {
	Done    bool             // a legacy database was split now
	Tenants map[string]int   // firms per region
	Rows    map[string]int64 // rows copied per region ("" the service)
}

// Needed reports whether the legacy metadata database is there to split.
func (s *Split) Needed() bool {
	_, err := os.Stat(s.LegacyDB)
	return err == nil
}

// Run splits the legacy databases, or finishes a split a crash
// interrupted. Errors: invalid (a firm of an unconfigured region, a
// service database not made by Split beside a legacy one), internal.
func (s *Split) Run(ctx context.Context) (*SplitResult, error) {
	res := &SplitResult{Tenants: map[string]int{}, Rows: map[string]int64{}}
	if !s.Needed() {
		return res, nil
	}
	if _, err := os.Stat(s.ServiceDB); err == nil {
		done, err := splitMarked(ctx, s.ServiceDB)
		if err != nil {
			return nil, err
		}
		if !done {
			return nil, vault.Errorf(vault.EINVALID, "Both %s (written before cells) and %s exist, and the second was not made from the first; move one of them away.", s.LegacyDB, s.ServiceDB)
		}
		return res, s.removeLegacy()
	}
	tenants, err := legacyTenants(ctx, s.LegacyDB)
	if err != nil {
		return nil, err
	}
	served := make(map[string]bool)
	for _, r := range s.Regions {
		served[r] = true
	}
	byRegion := make(map[string][]string)
	for id, region := range tenants {
		if !served[region] {
			return nil, vault.Errorf(vault.EINVALID, "Firm %s is in region %s, which the configuration does not list; add the region before splitting.", id, region)
		}
		byRegion[region] = append(byRegion[region], id)
	}
	auditExists := fileExists(s.LegacyAudit)
	var renames [][2]string
	for _, region := range s.Regions {
		ids := byRegion[region]
		sort.Strings(ids)
		res.Tenants[region] = len(ids)
		if err := os.MkdirAll(filepath.Dir(s.CellDB(region)), 0o700); err != nil {
			return nil, fmt.Errorf("cell %s: %w", region, err)
		}
		n, err := copyKeeping(ctx, s.LegacyDB, s.CellDB(region)+".split", ids, false, metaCellTrim)
		if err != nil {
			return nil, fmt.Errorf("cell %s: %w", region, err)
		}
		res.Rows[region] += n
		renames = append(renames, [2]string{s.CellDB(region) + ".split", s.CellDB(region)})
		if auditExists {
			n, err := copyKeeping(ctx, s.LegacyAudit, s.CellAudit(region)+".split", ids, false, nil)
			if err != nil {
				return nil, fmt.Errorf("cell %s audit: %w", region, err)
			}
			res.Rows[region] += n
			renames = append(renames, [2]string{s.CellAudit(region) + ".split", s.CellAudit(region)})
		}
	}
	if auditExists {
		n, err := copyKeeping(ctx, s.LegacyAudit, s.ServiceAudit+".split", nil, true, nil)
		if err != nil {
			return nil, fmt.Errorf("service audit: %w", err)
		}
		res.Rows[""] += n
		renames = append(renames, [2]string{s.ServiceAudit + ".split", s.ServiceAudit})
	}
	n, err := copyKeeping(ctx, s.LegacyDB, s.ServiceDB+".split", nil, true, serviceTrim)
	if err != nil {
		return nil, fmt.Errorf("service database: %w", err)
	}
	res.Rows[""] += n
	// The service database goes in last: its presence says the cells are.
	renames = append(renames, [2]string{s.ServiceDB + ".split", s.ServiceDB})
	for i, r := range renames {
		if s.stopAfter > 0 && i == s.stopAfter {
			return nil, errStopped
		}
		for _, suffix := range []string{"-wal", "-shm", "-journal"} {
			os.Remove(r[1] + suffix)
		}
		if err := os.Rename(r[0], r[1]); err != nil {
			return nil, fmt.Errorf("split: %w", err)
		}
		if err := syncDir(filepath.Dir(r[1])); err != nil {
			return nil, err
		}
	}
	res.Done = true
	return res, s.removeLegacy()
}

// removeLegacy removes the old databases and their WAL files.
func (s *Split) removeLegacy() error {
	for _, base := range []string{s.LegacyAudit, s.LegacyDB} {
		for _, suffix := range []string{"-wal", "-shm", "-journal", ""} {
			if err := os.Remove(base + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("split: %w", err)
			}
		}
		if err := syncDir(filepath.Dir(base)); err != nil {
			return err
		}
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("split: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("split: sync %s: %w", dir, err)
	}
	return nil
}

// openRaw opens a SQLite file for the split, without WAL (the copies are
// single files until Main opens them), with secure_delete and without
// foreign key checks (rows are deleted table by table).
func openRaw(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "secure_delete(1)")
	q.Add("_pragma", "foreign_keys(0)")
	// VACUUM's temporary database stays in memory, not in the system's
	// temp directory, outside every cell.
	q.Add("_pragma", "temp_store(MEMORY)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// legacyTenants returns every firm of a legacy database with its region.
func legacyTenants(ctx context.Context, path string) (map[string]string, error) {
	db, err := openRaw(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT id, region FROM tenants`)
	if err != nil {
		return nil, fmt.Errorf("split: read firms: %w", err)
	}
	defer rows.Close()
	out := make(map[string]string)
	for rows.Next() {
		var id, region string
		if err := rows.Scan(&id, &region); err != nil {
			return nil, err
		}
		out[id] = region
	}
	return out, rows.Err()
}

// splitMarked reports whether the service database was written by Split.
func splitMarked(ctx context.Context, path string) (bool, error) {
	db, err := openRaw(path)
	if err != nil {
		return false, err
	}
	defer db.Close()
	var v string
	err = db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, settingSplit).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// metaCellTrim removes from a cell's copy what belongs to the service: the
// setup token and other settings, the throttle's rows.
func metaCellTrim(ctx context.Context, db *sql.Tx) error {
	for _, q := range []string{`DELETE FROM settings`, `DELETE FROM throttle_pairs`, `DELETE FROM throttle_accounts`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// serviceTrim marks the service copy as the split's product.
func serviceTrim(ctx context.Context, db *sql.Tx) error {
	_, err := db.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, '1', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, settingSplit)
	return err
}

// copyKeeping writes a copy of src to dst (replacing it) that keeps only
// the rows of the firms in keep (and, when service is set, the rows of no
// firm: tenant_id ”), then runs trim on it and vacuums it. It returns how
// many rows of firms (or of the service) the copy holds.
func copyKeeping(ctx context.Context, src, dst string, keep []string, service bool, trim func(context.Context, *sql.Tx) error) (int64, error) {
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		os.Remove(dst + suffix)
	}
	sdb, err := openRaw(src)
	if err != nil {
		return 0, err
	}
	_, err = sdb.ExecContext(ctx, `VACUUM INTO ?`, dst)
	sdb.Close()
	if err != nil {
		return 0, fmt.Errorf("copy %s: %w", filepath.Base(src), err)
	}
	db, err := openRaw(dst)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `PRAGMA journal_mode = DELETE`); err != nil {
		return 0, err
	}
	if err := os.Chmod(dst, 0o600); err != nil {
		return 0, err
	}
	tables, err := tenantTables(ctx, db)
	if err != nil {
		return 0, err
	}
	ids := make([]any, len(keep))
	marks := make([]string, len(keep))
	for i, id := range keep {
		ids[i], marks[i] = id, "?"
	}
	in := "(" + strings.Join(marks, ", ") + ")"
	// The audit tables are append-only by trigger; the copy's triggers are
	// lifted while the other firms' rows are deleted and put back as they
	// were, in one transaction.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	triggers, err := dropTriggers(ctx, tx)
	if err != nil {
		return 0, err
	}
	var kept int64
	for _, t := range tables {
		where, args := t.column+" NOT IN "+in, ids
		switch {
		case service && t.column == "tenant_id":
			where, args = "tenant_id <> ''", nil
		case service, len(keep) == 0:
			where, args = "1", nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM "`+t.name+`" WHERE `+where, args...); err != nil {
			return 0, fmt.Errorf("trim %s: %w", t.name, err)
		}
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM "`+t.name+`"`).Scan(&n); err != nil {
			return 0, err
		}
		kept += n
	}
	if trim != nil {
		if err := trim(ctx, tx); err != nil {
			return 0, err
		}
	}
	for _, sql := range triggers {
		if _, err := tx.ExecContext(ctx, sql); err != nil {
			return 0, fmt.Errorf("restore trigger: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, `VACUUM`); err != nil {
		return 0, fmt.Errorf("vacuum: %w", err)
	}
	f, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return kept, f.Sync()
}

type tenantTable struct{ name, column string }

// tenantTables returns the tables that hold firms' rows, with the column
// naming the firm: tenant_id, or id for tenants.
func tenantTables(ctx context.Context, db *sql.DB) ([]tenantTable, error) {
	rows, err := db.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND (p.name = 'tenant_id' OR (m.name = 'tenants' AND p.name = 'id')) ORDER BY m.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tenantTable
	for rows.Next() {
		var t tenantTable
		if err := rows.Scan(&t.name, &t.column); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// dropTriggers drops every trigger and returns the statements that create
// them again.
func dropTriggers(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	var names, sqls []string
	for rows.Next() {
		var n, s string
		if err := rows.Scan(&n, &s); err != nil {
			rows.Close()
			return nil, err
		}
		names, sqls = append(names, n), append(sqls, s)
	}
	rows.Close()
	for _, n := range names {
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER "`+n+`"`); err != nil {
			return nil, err
		}
	}
	return sqls, nil
}
