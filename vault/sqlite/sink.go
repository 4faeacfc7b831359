package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/casevault/casevault/vault"
)

var _ vault.SinkStore = (*DB)(nil)

// sinkColumns is the column list scanSink reads.
const sinkColumns = `tenant_id, id, kind, config, created_by, created_at, delivered_size, delivered_root,
	signed_at, delivered_at, pending, last_error, last_error_at`

// sealedSink is a row of audit_sinks before its sealed cells are opened.
type sealedSink struct {
	s         *vault.AuditSink
	config    []byte
	lastError []byte
}

func sinkConfigRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "audit_sinks", Column: "config", RowID: id}
}

func sinkErrorRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "audit_sinks", Column: "last_error", RowID: id}
}

func scanSink(sc scanner) (*sealedSink, error) {
	ss := &sealedSink{s: &vault.AuditSink{}}
	s := ss.s
	var kind, created string
	var signed, delivered, errAt sql.NullString
	if err := sc.Scan(&s.TenantID, &s.ID, &kind, &ss.config, &s.CreatedBy, &created, &s.Progress.Cursor.Size,
		&s.Progress.Cursor.Root, &signed, &delivered, &s.Progress.Pending, &ss.lastError, &errAt); err != nil {
		return nil, err
	}
	s.Config.Kind = kind
	var err error
	if s.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	for _, t := range []struct {
		v   sql.NullString
		dst *time.Time
	}{{signed, &s.Progress.Cursor.SignedAt}, {delivered, &s.Progress.Cursor.DeliveredAt}, {errAt, &s.Progress.LastErrorAt}} {
		if t.v.Valid {
			if *t.dst, err = parseTime(t.v.String); err != nil {
				return nil, err
			}
		}
	}
	return ss, nil
}

// openSink opens the sealed config and last error; a cell that does not
// open is marked in Damage and left empty.
func (db *DB) openSink(ctx context.Context, ss *sealedSink) error {
	s := ss.s
	kind := s.Config.Kind
	cfg, err := db.openOrMark(ctx, s.TenantID, sinkConfigRef(s.ID), ss.config, &s.Damage)
	if err != nil {
		return err
	}
	if cfg != "" {
		if err := json.Unmarshal([]byte(cfg), &s.Config); err != nil {
			return vault.WrapError(vault.EINTERNAL, err, "Stored sink config is malformed.")
		}
	}
	s.Config.Kind = kind
	if len(ss.lastError) > 0 {
		if s.Progress.LastError, err = db.openOrMark(ctx, s.TenantID, sinkErrorRef(s.ID), ss.lastError, &s.Damage); err != nil {
			return err
		}
	}
	return nil
}

// AuditSink returns tenantID's checkpoint sink. Errors: not_found.
func (db *DB) AuditSink(ctx context.Context, tenantID string) (*vault.AuditSink, error) {
	ss, err := scanSink(db.db.QueryRowContext(ctx, `SELECT `+sinkColumns+` FROM audit_sinks WHERE tenant_id = ?`, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "This firm has no checkpoint sink.")
	} else if err != nil {
		return nil, fmt.Errorf("audit sink: %w", formatError(err))
	}
	if err := db.openSink(ctx, ss); err != nil {
		return nil, err
	}
	return ss.s, nil
}

// AuditSinks returns every firm's checkpoint sink, by tenant id.
func (db *DB) AuditSinks(ctx context.Context) ([]*vault.AuditSink, error) {
	rows, err := queryAll(ctx, db.db, "audit sinks", scanSink, `SELECT `+sinkColumns+` FROM audit_sinks ORDER BY tenant_id`)
	if err != nil {
		return nil, err
	}
	out := make([]*vault.AuditSink, 0, len(rows))
	for _, ss := range rows {
		if err := db.openSink(ctx, ss); err != nil {
			return nil, err
		}
		out = append(out, ss.s)
	}
	return out, nil
}

// PutAuditSink stores s as its firm's sink with a fresh cursor, replacing
// any earlier one. Errors: invalid, not_found (tenant), internal (no
// Sealer).
func (db *DB) PutAuditSink(ctx context.Context, s *vault.AuditSink) error {
	switch {
	case s == nil || s.TenantID == "" || !vault.ValidID(vault.PrefixSink, s.ID) || s.CreatedBy == "":
		return vault.Errorf(vault.EINVALID, "Sink tenant, id and creator required.")
	case s.Config.Kind != vault.SinkS3 && s.Config.Kind != vault.SinkWebhook:
		return vault.Errorf(vault.EINVALID, "Invalid sink kind.")
	}
	cfg, err := json.Marshal(s.Config)
	if err != nil {
		return fmt.Errorf("put audit sink: %w", err)
	}
	// Seal before BEGIN: the sealer reads keysets from this database.
	sealed, err := db.seal(ctx, s.TenantID, sinkConfigRef(s.ID), string(cfg))
	if err != nil {
		return notFoundAs(err, "Firm not found.")
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := requireRow(ctx, tx, "Firm not found.", `SELECT 1 FROM tenants WHERE id = ?`, s.TenantID); err != nil {
		return err
	}
	stamp(&s.CreatedAt, tx.now)
	s.Progress = vault.SinkProgress{}
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_sinks WHERE tenant_id = ?`, s.TenantID); err != nil {
		return fmt.Errorf("put audit sink: %w", formatError(err))
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO audit_sinks (tenant_id, id, kind, config, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		s.TenantID, s.ID, s.Config.Kind, sealed, s.CreatedBy, formatTime(s.CreatedAt)); err != nil {
		return fmt.Errorf("put audit sink: %w", formatError(err))
	}
	return tx.commit()
}

// DeleteAuditSink removes tenantID's sink. Errors: not_found.
func (db *DB) DeleteAuditSink(ctx context.Context, tenantID string) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM audit_sinks WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return fmt.Errorf("delete audit sink: %w", formatError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vault.Errorf(vault.ENOTFOUND, "This firm has no checkpoint sink.")
	}
	return nil
}

// SaveSinkProgress records a delivery attempt of sink sinkID. Errors:
// not_found (removed or replaced), invalid.
func (db *DB) SaveSinkProgress(ctx context.Context, tenantID, sinkID string, p vault.SinkProgress) error {
	c := p.Cursor
	if c.Size < 0 || p.Pending < 0 || (c.Size > 0 && len(c.Root) != 32) {
		return vault.Errorf(vault.EINVALID, "Invalid sink cursor.")
	}
	var lastError []byte
	if p.LastError != "" {
		var err error
		if lastError, err = db.seal(ctx, tenantID, sinkErrorRef(sinkID), p.LastError); err != nil {
			return err
		}
	}
	var root any
	if c.Size > 0 {
		root = c.Root
	}
	res, err := db.db.ExecContext(ctx, `
		UPDATE audit_sinks SET delivered_size = ?, delivered_root = ?, signed_at = ?, delivered_at = ?,
			pending = ?, last_error = ?, last_error_at = ?
		WHERE tenant_id = ? AND id = ?`,
		c.Size, root, formatNullTime(&c.SignedAt), formatNullTime(&c.DeliveredAt),
		p.Pending, lastError, formatNullTime(&p.LastErrorAt), tenantID, sinkID)
	if err != nil {
		return fmt.Errorf("save sink progress: %w", formatError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vault.Errorf(vault.ENOTFOUND, "The checkpoint sink was removed or replaced.")
	}
	return nil
}
