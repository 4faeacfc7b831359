package sqlite

import (
	"context"
	"fmt"
	"strconv"

	"github.com/casevault/casevault/vault"
)

// sealStep is the record, in the migrations table, that SealPlaintext has
// finished migration 0005.
const sealStep = "0005_sealed_identity.seal"

// sealBatch is how many rows SealPlaintext seals per write transaction.
const sealBatch = 200

// damagedCell is stored in place of a legacy value that cannot be sealed
// because its firm's keys do not unwrap: it never opens, so the row reads as
// damaged (cannot_decrypt) like any other sealed field that fails, and the
// plaintext is gone all the same.
var damagedCell = []byte{0}

// SealPlaintext finishes migration 0005 (migrations/0005_sealed_identity.sql)
// on a database written before it, once db.Sealer is set and ix, the
// service's blind indexer, is at hand: it seals every firm name, user email
// and name, token name and content type still held in a legacy_* column,
// computes each user's email index, clears the plaintext, drops the legacy
// columns, and then rewrites the file (VACUUM) and empties the WAL, so that
// no removed plaintext survives in free pages or old WAL frames. It works
// in batches, each in its own write transaction, and can be interrupted: the
// next call goes on where this one stopped. Once finished it is recorded
// and returns at once. Open calls it itself for a database without firms.
// A row whose firm's keys do not unwrap cannot be sealed: its plaintext is
// dropped and the field reads as damaged. Errors: internal (no Sealer or
// indexer while rows need them), unavailable, and the sealer's.
func (db *DB) SealPlaintext(ctx context.Context, ix vault.Indexer) error {
	if done, err := exists(ctx, db.db, `SELECT 1 FROM migrations WHERE name = ?`, sealStep); err != nil || done {
		return err
	}
	legacy, err := exists(ctx, db.db, `SELECT 1 FROM pragma_table_info('users') WHERE name = 'legacy_email'`)
	if err != nil {
		return err
	}
	if legacy {
		for _, step := range []func(context.Context, vault.Indexer) (int, error){
			db.sealLegacyTenants, db.sealLegacyUsers, db.sealLegacyTokens, db.sealLegacyDocuments, db.sealLegacyVersions,
		} {
			for {
				n, err := step(ctx, ix)
				if err != nil {
					return fmt.Errorf("seal plaintext: %w", err)
				}
				if n == 0 {
					break
				}
			}
		}
		if err := db.dropLegacyColumns(ctx); err != nil {
			return fmt.Errorf("seal plaintext: %w", err)
		}
	}
	// Rewrite the file without its free pages, then copy the WAL back into
	// it and truncate the WAL to nothing.
	if _, err := db.db.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("seal plaintext: vacuum: %w", formatError(err))
	}
	if err := db.checkpoint(ctx); err != nil {
		return fmt.Errorf("seal plaintext: %w", err)
	}
	if _, err := db.db.ExecContext(ctx, `INSERT OR IGNORE INTO migrations (name, applied_at) VALUES (?, ?)`,
		sealStep, formatTime(db.now())); err != nil {
		return fmt.Errorf("seal plaintext: %w", formatError(err))
	}
	return db.checkpoint(ctx)
}

// checkpoint copies the whole WAL into the database file and truncates it.
// Errors: unavailable (a reader kept it from finishing).
func (db *DB) checkpoint(ctx context.Context) error {
	var busy, logFrames, done int
	if err := db.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("checkpoint: %w", formatError(err))
	}
	if busy != 0 {
		return vault.Errorf(vault.EUNAVAILABLE, "The database is busy: its WAL cannot be checkpointed.")
	}
	return nil
}

// sealLegacy seals a legacy value for ref, or returns damagedCell when the
// firm's keys do not unwrap.
func (db *DB) sealLegacy(ctx context.Context, tenantID string, ref vault.FieldRef, plaintext string) ([]byte, error) {
	ct, err := db.seal(ctx, tenantID, ref, plaintext)
	if vault.IsCode(err, vault.ECANNOTDECRYPT) {
		return damagedCell, nil
	}
	return ct, err
}

// legacyRow is one row's plaintext to seal and the update that stores it.
type legacyRow struct {
	update string // UPDATE … WHERE <row> AND <still unsealed>
	args   []any
}

// writeLegacy applies the updates of one batch in one write transaction.
func (db *DB) writeLegacy(ctx context.Context, rows []legacyRow) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, r := range rows {
		if _, err := tx.ExecContext(ctx, r.update, r.args...); err != nil {
			return formatError(err)
		}
	}
	return tx.commit()
}

// sealLegacyTenants seals one batch of firm names; a placeholder (empty)
// name marks a firm not yet done.
func (db *DB) sealLegacyTenants(ctx context.Context, _ vault.Indexer) (int, error) {
	type row struct{ id, name string }
	rows, err := queryAll(ctx, db.db, "legacy tenants", func(s scanner) (row, error) {
		var r row
		return r, s.Scan(&r.id, &r.name)
	}, `SELECT id, legacy_name FROM tenants WHERE length(name) = 0 LIMIT ?`, sealBatch)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	var out []legacyRow
	for _, r := range rows {
		name, err := db.sealLegacy(ctx, r.id, tenantNameRef(r.id), r.name)
		if err != nil {
			return 0, err
		}
		out = append(out, legacyRow{`UPDATE tenants SET name = ? WHERE id = ? AND length(name) = 0`, []any{name, r.id}})
	}
	return len(rows), db.writeLegacy(ctx, out)
}

// sealLegacyUsers seals one batch of users' emails and names and computes
// their email index in their firm's region; a legacy email marks a user not
// yet done.
func (db *DB) sealLegacyUsers(ctx context.Context, ix vault.Indexer) (int, error) {
	type row struct{ id, tenantID, region, email, name string }
	rows, err := queryAll(ctx, db.db, "legacy users", func(s scanner) (row, error) {
		var r row
		return r, s.Scan(&r.id, &r.tenantID, &r.region, &r.email, &r.name)
	}, `
		SELECT u.id, u.tenant_id, t.region, u.legacy_email, COALESCE(u.legacy_name, '')
		FROM users u JOIN tenants t ON t.id = u.tenant_id
		WHERE u.legacy_email IS NOT NULL
		LIMIT ?`, sealBatch)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	var out []legacyRow
	for _, r := range rows {
		index, err := vault.EmailIndex(ctx, ix, r.region, r.email)
		if err != nil {
			return 0, err
		}
		email, err := db.sealLegacy(ctx, r.tenantID, userEmailRef(r.id), r.email)
		if err != nil {
			return 0, err
		}
		name, err := db.sealLegacy(ctx, r.tenantID, userNameRef(r.id), r.name)
		if err != nil {
			return 0, err
		}
		out = append(out, legacyRow{`
			UPDATE users SET email_index = ?, email = ?, name = ?, legacy_email = NULL, legacy_name = NULL
			WHERE id = ? AND legacy_email IS NOT NULL`, []any{index, email, name, r.id}})
	}
	return len(rows), db.writeLegacy(ctx, out)
}

// sealLegacyTokens seals one batch of API token names; a token with a
// legacy name marks one not yet done (unnamed tokens need nothing).
func (db *DB) sealLegacyTokens(ctx context.Context, _ vault.Indexer) (int, error) {
	type row struct{ id, tenantID, name string }
	rows, err := queryAll(ctx, db.db, "legacy tokens", func(s scanner) (row, error) {
		var r row
		return r, s.Scan(&r.id, &r.tenantID, &r.name)
	}, `SELECT id, tenant_id, legacy_name FROM tokens WHERE legacy_name <> '' LIMIT ?`, sealBatch)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	var out []legacyRow
	for _, r := range rows {
		name, err := db.sealLegacy(ctx, r.tenantID, tokenNameRef(r.id), r.name)
		if err != nil {
			return 0, err
		}
		out = append(out, legacyRow{`UPDATE tokens SET name = ?, legacy_name = '' WHERE id = ? AND legacy_name <> ''`, []any{name, r.id}})
	}
	return len(rows), db.writeLegacy(ctx, out)
}

// sealLegacyDocuments seals one batch of documents' content types.
func (db *DB) sealLegacyDocuments(ctx context.Context, _ vault.Indexer) (int, error) {
	type row struct{ id, tenantID, ct string }
	rows, err := queryAll(ctx, db.db, "legacy documents", func(s scanner) (row, error) {
		var r row
		return r, s.Scan(&r.id, &r.tenantID, &r.ct)
	}, `SELECT id, tenant_id, legacy_content_type FROM documents WHERE length(content_type) = 0 LIMIT ?`, sealBatch)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	var out []legacyRow
	for _, r := range rows {
		ct, err := db.sealLegacy(ctx, r.tenantID, documentContentTypeRef(r.id), r.ct)
		if err != nil {
			return 0, err
		}
		out = append(out, legacyRow{`
			UPDATE documents SET content_type = ?, legacy_content_type = ''
			WHERE id = ? AND length(content_type) = 0`, []any{ct, r.id}})
	}
	return len(rows), db.writeLegacy(ctx, out)
}

// sealLegacyVersions seals one batch of versions' content types.
func (db *DB) sealLegacyVersions(ctx context.Context, _ vault.Indexer) (int, error) {
	type row struct {
		tenantID, documentID string
		number               int
		ct                   string
	}
	rows, err := queryAll(ctx, db.db, "legacy versions", func(s scanner) (row, error) {
		var r row
		return r, s.Scan(&r.tenantID, &r.documentID, &r.number, &r.ct)
	}, `
		SELECT tenant_id, document_id, number, legacy_content_type
		FROM versions WHERE length(content_type) = 0 LIMIT ?`, sealBatch)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	var out []legacyRow
	for _, r := range rows {
		ct, err := db.sealLegacy(ctx, r.tenantID, versionContentTypeRef(r.documentID, r.number), r.ct)
		if err != nil {
			return 0, err
		}
		out = append(out, legacyRow{`
			UPDATE versions SET content_type = ?, legacy_content_type = ''
			WHERE document_id = ? AND number = ? AND length(content_type) = 0`, []any{ct, r.documentID, r.number}})
	}
	return len(rows), db.writeLegacy(ctx, out)
}

// legacyColumns are the columns migration 0005 left for SealPlaintext to
// drop. None is UNIQUE, indexed or named by another column's constraint, so
// ALTER TABLE DROP COLUMN removes each (rewriting its table's rows).
var legacyColumns = [][2]string{
	{"tenants", "legacy_name"},
	{"users", "legacy_email"},
	{"users", "legacy_name"},
	{"tokens", "legacy_name"},
	{"documents", "legacy_content_type"},
	{"versions", "legacy_content_type"},
}

// dropLegacyColumns drops the legacy columns in one transaction, after
// checking that every row is sealed, so that no plaintext is dropped
// unsealed.
func (db *DB) dropLegacyColumns(ctx context.Context) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Another process may have finished first.
	if ok, err := exists(ctx, tx, `SELECT 1 FROM pragma_table_info('users') WHERE name = 'legacy_email'`); err != nil || !ok {
		return err
	}
	for _, q := range []string{
		`SELECT 1 FROM tenants WHERE length(name) = 0`,
		`SELECT 1 FROM users WHERE legacy_email IS NOT NULL`,
		`SELECT 1 FROM tokens WHERE legacy_name <> ''`,
		`SELECT 1 FROM documents WHERE length(content_type) = 0`,
		`SELECT 1 FROM versions WHERE length(content_type) = 0`,
	} {
		if left, err := exists(ctx, tx, q+` LIMIT 1`); err != nil {
			return err
		} else if left {
			return vault.Errorf(vault.EUNAVAILABLE, "Rows were added while the database was being sealed; start again.")
		}
	}
	for _, c := range legacyColumns {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+c[0]+` DROP COLUMN `+c[1]); err != nil {
			return fmt.Errorf("drop %s.%s: %w", c[0], c[1], formatError(err))
		}
	}
	return tx.commit()
}

// versionRowID names a version's row in its sealed cells' FieldRef: the
// versions table's key is (document_id, number).
func versionRowID(documentID string, number int) string {
	return documentID + "/" + strconv.Itoa(number)
}
