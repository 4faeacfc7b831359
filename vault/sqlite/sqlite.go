// Package sqlite implements vault.Store on a SQLite database file, using the
// pure-Go modernc.org/sqlite driver.
//
// Every identifying string (firm names, users' emails and names, token
// names, matter names and clients, document names and content types) is
// sealed with the firm's field key through DB.Sealer before it is written and
// opened after it is read; the database holds only its ciphertext, and finds
// users by email through a keyed blind index the caller computes. The
// Sealer is never called while a write transaction is open: the key manager
// behind it reads keysets from this same database, perhaps from a KMS, and
// no writer should wait on that. Deleted and overwritten content is zeroed
// (secure_delete), so plaintext that a migration removes does not linger in
// free pages.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/casevault/casevault/internal/migrate"
	"github.com/casevault/casevault/internal/sqlitefile"
	"github.com/casevault/casevault/vault"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is the metadata store on one SQLite file. It implements vault.Store and
// is safe for concurrent use.
type DB struct {
	db *sql.DB

	// Sealer seals and opens confidential fields with the firm's field key.
	// It is set by the caller after Open, because the key manager that
	// implements it reads its keysets from this DB. Operations on sealed
	// fields fail with an internal error while it is nil.
	Sealer vault.FieldSealer

	// Now returns the current time; it defaults to time.Now and can be
	// replaced by tests. Times are stored in UTC.
	Now func() time.Time

	// throttleMu queues this process's sign-in throttle writes, which
	// every sign-in makes: SQLite's busy handler sleeps and retries, so
	// dozens of writers contending for its lock at once would wait
	// seconds, unfairly; in a queue each waits its turn.
	throttleMu sync.Mutex
}

var _ vault.Store = (*DB)(nil)

// Open opens the database at path, creating the file and its directory if
// needed, and applies any pending migrations.
// Errors: invalid (unusable path), unavailable, internal.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := sqlitefile.Create(path, "database"); err != nil {
		return nil, err
	}

	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	// Deleted and overwritten content is overwritten with zeros, in the
	// file and its WAL, instead of lingering in free pages.
	q.Add("_pragma", "secure_delete(1)")
	// SQLite's temporary files (sorts, indexes being built, VACUUM) would
	// go to the system's temp directory, outside the database's cell:
	// they are kept in memory instead.
	q.Add("_pragma", "temp_store(MEMORY)")
	// Write transactions take the write lock at BEGIN, so two writers never
	// both read under a shared lock and then fail to upgrade with
	// SQLITE_BUSY. Read-only transactions still begin deferred.
	q.Set("_txlock", "immediate")

	sdb, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	// WAL lets readers run beside the one writer, so the pool stays
	// unbounded: the key manager may need a connection to read keysets while
	// another holds rows or a transaction.
	sdb.SetMaxIdleConns(8)
	sdb.SetConnMaxIdleTime(5 * time.Minute)

	db := &DB{db: sdb, Now: time.Now}
	if err := db.init(ctx); err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

// init checks the connection settings and applies migrations.
func (db *DB) init(ctx context.Context) error {
	var mode string
	if err := db.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, formatError(err), "Cannot open the database.")
	}
	if !strings.EqualFold(mode, "wal") {
		return vault.Errorf(vault.EINTERNAL, "Database journal mode is %q, want wal.", mode)
	}
	if err := db.migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// A database with no firm has nothing to seal: finish migration 0005
	// now. Any other waits for SealPlaintext, once the keys are loaded.
	if has, err := db.HasTenants(ctx); err != nil {
		return err
	} else if !has {
		if err := db.SealPlaintext(ctx, nil); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error {
	return db.db.Close()
}

// Ping checks that the database answers. Errors: unavailable.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Database is unavailable.")
	}
	return nil
}

// migrate applies the embedded migrations not yet recorded.
func (db *DB) migrate(ctx context.Context) error {
	return migrate.Apply(ctx, db.db, migrationFS, "migrations/*.sql", func() string { return formatTime(db.now()) })
}

// tx is a write transaction with the time it began, so every row it writes
// carries the same timestamp.
type tx struct {
	*sql.Tx
	now time.Time
}

// begin starts a write transaction (BEGIN IMMEDIATE, from the DSN).
func (db *DB) begin(ctx context.Context) (*tx, error) {
	t, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, formatError(err)
	}
	return &tx{Tx: t, now: db.now()}, nil
}

// commit commits the transaction, translating SQLite errors.
func (t *tx) commit() error {
	if err := t.Commit(); err != nil {
		return formatError(err)
	}
	return nil
}

// beginRead starts a read-only transaction, for reads that need a consistent
// view across several statements. It takes no write lock.
func (db *DB) beginRead(ctx context.Context) (*sql.Tx, error) {
	t, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, formatError(err)
	}
	return t, nil
}

// now returns the clock's time in UTC, without a monotonic reading.
func (db *DB) now() time.Time {
	if db.Now == nil {
		return time.Now().UTC()
	}
	return db.Now().UTC()
}

// sealer returns the configured field sealer.
func (db *DB) sealer() (vault.FieldSealer, error) {
	if db.Sealer == nil {
		return nil, vault.Errorf(vault.EINTERNAL, "Field sealer is not configured.")
	}
	return db.Sealer, nil
}

// timeLayout is fixed-width, so stored times sort as text in time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// formatTime renders t in UTC for storage.
func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

// parseTime reads a stored time; the result is in UTC.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time: %w", err)
	}
	return t.UTC(), nil
}

// stamp fills a zero time with now and converts any other to UTC.
func stamp(t *time.Time, now time.Time) {
	if t.IsZero() {
		*t = now
	} else {
		*t = t.UTC()
	}
}

// nullTime scans a nullable stored time.
type nullTime struct {
	Time  time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (n *nullTime) Scan(v any) error {
	var s sql.NullString
	if err := s.Scan(v); err != nil {
		return err
	}
	if !s.Valid {
		*n = nullTime{}
		return nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return err
	}
	*n = nullTime{Time: t, Valid: true}
	return nil
}

// timeValue scans a non-null stored time.
type timeValue struct{ t *time.Time }

// Scan implements sql.Scanner.
func (v timeValue) Scan(src any) error {
	var n nullTime
	if err := n.Scan(src); err != nil {
		return err
	}
	if !n.Valid {
		return errors.New("stored time is NULL")
	}
	*v.t = n.Time
	return nil
}

// formatNullTime renders an optional time for storage.
func formatNullTime(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return formatTime(*t)
}

// boolInt stores a bool as 0 or 1.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// formatError translates SQLite's constraint and locking errors into vault
// errors. Other errors are returned unchanged (internal). SQLite's messages
// name tables and columns, never values, and the values in sealed columns are
// ciphertext anyway.
func formatError(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		msg := se.Error()
		switch {
		case strings.Contains(msg, "users.email_index"):
			// Only ever within one firm: the index is unique per firm.
			return vault.WrapError(vault.ECONFLICT, err, "Email is already in use in this firm.")
		case strings.Contains(msg, "versions.blob_key"):
			return vault.WrapError(vault.ECONFLICT, err, "Blob key is already in use.")
		case strings.Contains(msg, "versions.document_id"):
			return vault.WrapError(vault.ECONFLICT, err, "Version already exists.")
		}
		return vault.WrapError(vault.ECONFLICT, err, "Object already exists.")
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return vault.WrapError(vault.ENOTFOUND, err, "Referenced object not found.")
	case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		return vault.WrapError(vault.EINVALID, err, "Invalid value.")
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return vault.WrapError(vault.EUNAVAILABLE, err, "Database is busy.")
	}
	return err
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// queryer is a *sql.DB or *sql.Tx.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// exists reports whether query returns a row.
func exists(ctx context.Context, q queryer, query string, args ...any) (bool, error) {
	var one int
	switch err := q.QueryRowContext(ctx, query, args...).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, formatError(err)
	}
	return true, nil
}

// requireRow returns not_found with msg unless query returns a row.
func requireRow(ctx context.Context, t *tx, msg, query string, args ...any) error {
	ok, err := exists(ctx, t, query, args...)
	if err != nil {
		return err
	}
	if !ok {
		return vault.Errorf(vault.ENOTFOUND, "%s", msg)
	}
	return nil
}

// checkID fills an empty id with a new one and rejects a malformed one.
func checkID(id *string, prefix, what string) error {
	if *id == "" {
		*id = vault.NewID(prefix)
		return nil
	}
	if !vault.ValidID(prefix, *id) {
		return vault.Errorf(vault.EINVALID, "Invalid %s id.", what)
	}
	return nil
}
