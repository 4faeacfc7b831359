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

var _ vault.DetectionStore = (*DB)(nil)

// alertColumns is the column list scanAlert reads.
const alertColumns = `id, tenant_id, rule, user_id, token_id, status, seq, evidence, threshold, observed, contained,
	created_at, acknowledged_by, acknowledged_at, resolved_by, resolved_at, note`

func alertNoteRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "alerts", Column: "note", RowID: id}
}

// CreateAlert stores a new alert. Errors: invalid, not_found (firm).
func (db *DB) CreateAlert(ctx context.Context, a *vault.Alert) error {
	if a == nil || a.TenantID == "" || a.Rule == "" {
		return vault.Errorf(vault.EINVALID, "Alert tenant and rule required.")
	}
	if err := checkID(&a.ID, vault.PrefixAlert, "alert"); err != nil {
		return err
	}
	ev, err := json.Marshal(a.Evidence)
	if err != nil {
		return fmt.Errorf("create alert: %w", err)
	}
	stamp(&a.CreatedAt, db.now())
	if _, err := db.db.ExecContext(ctx, `
		INSERT INTO alerts (id, tenant_id, rule, user_id, token_id, status, seq, evidence, threshold, observed, contained, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.TenantID, a.Rule, a.UserID, a.TokenID, a.Status, a.Seq, string(ev), a.Threshold, a.Observed,
		boolInt(a.Contained), formatTime(a.CreatedAt)); err != nil {
		return fmt.Errorf("create alert: %w", formatError(err))
	}
	return nil
}

// readAlert is a scanned alert with its note still sealed.
type readAlert struct {
	a    vault.Alert
	note []byte
}

func scanAlert(s scanner) (*readAlert, error) {
	var (
		ra        readAlert
		evidence  string
		contained int
		ack, res  nullTime
	)
	a := &ra.a
	if err := s.Scan(&a.ID, &a.TenantID, &a.Rule, &a.UserID, &a.TokenID, &a.Status, &a.Seq, &evidence, &a.Threshold,
		&a.Observed, &contained, timeValue{&a.CreatedAt}, &a.AcknowledgedBy, &ack, &a.ResolvedBy, &res, &ra.note); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(evidence), &a.Evidence); err != nil {
		return nil, fmt.Errorf("alert evidence: %w", err)
	}
	a.Contained = contained != 0
	if ack.Valid {
		a.AcknowledgedAt = &ack.Time
	}
	if res.Valid {
		a.ResolvedAt = &res.Time
	}
	return &ra, nil
}

// openAlert opens the alert's note, marking it damaged when it fails.
func (db *DB) openAlert(ctx context.Context, ra *readAlert) (*vault.Alert, error) {
	if ra.note != nil {
		var err error
		if ra.a.Note, err = db.openOrMark(ctx, ra.a.TenantID, alertNoteRef(ra.a.ID), ra.note, &ra.a.Damage); err != nil {
			return nil, err
		}
	}
	return &ra.a, nil
}

// Alert returns one alert of tenantID. Errors: not_found.
func (db *DB) Alert(ctx context.Context, tenantID, id string) (*vault.Alert, error) {
	ra, err := scanAlert(db.db.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Alert not found.")
	} else if err != nil {
		return nil, fmt.Errorf("read alert: %w", formatError(err))
	}
	return db.openAlert(ctx, ra)
}

// Alerts returns tenantID's alerts with status ("" for all), newest first.
func (db *DB) Alerts(ctx context.Context, tenantID, status string) ([]*vault.Alert, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts
		WHERE tenant_id = ? AND (? = '' OR status = ?) ORDER BY created_at DESC, seq DESC`, tenantID, status, status)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", formatError(err))
	}
	var ras []*readAlert
	for rows.Next() {
		ra, err := scanAlert(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		ras = append(ras, ra)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list alerts: %w", formatError(err))
	}
	out := make([]*vault.Alert, 0, len(ras))
	for _, ra := range ras {
		a, err := db.openAlert(ctx, ra)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// UpdateAlert stores a's status, acknowledgement, resolution, note
// (sealed) and containment. Errors: not_found.
func (db *DB) UpdateAlert(ctx context.Context, a *vault.Alert) error {
	var note []byte
	if a.Note != "" {
		var err error
		if note, err = db.seal(ctx, a.TenantID, alertNoteRef(a.ID), a.Note); err != nil {
			return notFoundAs(err, "Alert not found.")
		}
	}
	res, err := db.db.ExecContext(ctx, `
		UPDATE alerts SET status = ?, acknowledged_by = ?, acknowledged_at = ?, resolved_by = ?, resolved_at = ?,
			note = ?, contained = ?
		WHERE tenant_id = ? AND id = ?`,
		a.Status, a.AcknowledgedBy, formatNullTime(a.AcknowledgedAt), a.ResolvedBy, formatNullTime(a.ResolvedAt),
		note, boolInt(a.Contained), a.TenantID, a.ID)
	if err != nil {
		return fmt.Errorf("update alert: %w", formatError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vault.Errorf(vault.ENOTFOUND, "Alert not found.")
	}
	return nil
}

// DetectionSettings returns tenantID's stored settings, false when none.
func (db *DB) DetectionSettings(ctx context.Context, tenantID string) (vault.DetectionSettings, bool, error) {
	var js string
	err := db.db.QueryRowContext(ctx, `SELECT settings FROM detection_settings WHERE tenant_id = ?`, tenantID).Scan(&js)
	if errors.Is(err, sql.ErrNoRows) {
		return vault.DetectionSettings{}, false, nil
	} else if err != nil {
		return vault.DetectionSettings{}, false, fmt.Errorf("read detection settings: %w", formatError(err))
	}
	var st vault.DetectionSettings
	if err := json.Unmarshal([]byte(js), &st); err != nil {
		return st, false, fmt.Errorf("read detection settings: %w", err)
	}
	return st, true, nil
}

// SetDetectionSettings stores tenantID's settings. Errors: not_found.
func (db *DB) SetDetectionSettings(ctx context.Context, tenantID string, st vault.DetectionSettings, at time.Time) error {
	js, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("store detection settings: %w", err)
	}
	if _, err := db.db.ExecContext(ctx, `
		INSERT INTO detection_settings (tenant_id, settings, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
		tenantID, string(js), formatTime(at)); err != nil {
		return fmt.Errorf("store detection settings: %w", formatError(err))
	}
	return nil
}

// Contain records c; a user contained already keeps their first
// containment. Errors: not_found (user).
func (db *DB) Contain(ctx context.Context, c vault.Containment) error {
	if _, err := db.db.ExecContext(ctx, `
		INSERT INTO containments (tenant_id, user_id, alert_id, contained_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id, user_id) DO NOTHING`,
		c.TenantID, c.UserID, c.AlertID, formatTime(c.ContainedAt)); err != nil {
		return fmt.Errorf("contain user: %w", formatError(err))
	}
	return nil
}

// Release ends a containment. Errors: not_found (not contained).
func (db *DB) Release(ctx context.Context, tenantID, userID string) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM containments WHERE tenant_id = ? AND user_id = ?`, tenantID, userID)
	if err != nil {
		return fmt.Errorf("release user: %w", formatError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vault.Errorf(vault.ENOTFOUND, "The user is not contained.")
	}
	return nil
}

// Containment returns a user's containment. Errors: not_found.
func (db *DB) Containment(ctx context.Context, tenantID, userID string) (*vault.Containment, error) {
	c := vault.Containment{TenantID: tenantID, UserID: userID}
	err := db.db.QueryRowContext(ctx, `SELECT alert_id, contained_at FROM containments WHERE tenant_id = ? AND user_id = ?`,
		tenantID, userID).Scan(&c.AlertID, timeValue{&c.ContainedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "The user is not contained.")
	} else if err != nil {
		return nil, fmt.Errorf("read containment: %w", formatError(err))
	}
	return &c, nil
}

// HourlyCounts returns tenantID's hourly counts from since on.
func (db *DB) HourlyCounts(ctx context.Context, tenantID string, since time.Time) ([]vault.HourCount, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT user_id, hour, count FROM detection_hours WHERE tenant_id = ? AND hour >= ?`,
		tenantID, since.Unix())
	if err != nil {
		return nil, fmt.Errorf("read hourly counts: %w", formatError(err))
	}
	defer rows.Close()
	var out []vault.HourCount
	for rows.Next() {
		var c vault.HourCount
		var h int64
		if err := rows.Scan(&c.UserID, &h, &c.Count); err != nil {
			return nil, fmt.Errorf("read hourly counts: %w", err)
		}
		c.Hour = time.Unix(h, 0).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddHourlyCounts adds counts to the stored ones, in one transaction, and
// forgets the firm's counts older than vault.BaselineDays before the newest.
func (db *DB) AddHourlyCounts(ctx context.Context, tenantID string, counts []vault.HourCount) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var newest int64
	for _, c := range counts {
		h := c.Hour.Truncate(time.Hour).Unix()
		newest = max(newest, h)
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO detection_hours (tenant_id, user_id, hour, count) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, hour, user_id) DO UPDATE SET count = count + excluded.count`,
			tenantID, c.UserID, h, c.Count); err != nil {
			return fmt.Errorf("add hourly counts: %w", formatError(err))
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM detection_hours WHERE tenant_id = ? AND hour < ?`,
		tenantID, newest-(vault.BaselineDays+1)*24*3600); err != nil {
		return fmt.Errorf("add hourly counts: %w", formatError(err))
	}
	return tx.commit()
}

// TokenSources returns the hashed sources of tenantID's tokens.
func (db *DB) TokenSources(ctx context.Context, tenantID string) (map[string][][]byte, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT token_id, hash FROM token_sources WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("read token sources: %w", formatError(err))
	}
	defer rows.Close()
	out := map[string][][]byte{}
	for rows.Next() {
		var id string
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return nil, fmt.Errorf("read token sources: %w", err)
		}
		out[id] = append(out[id], h)
	}
	return out, rows.Err()
}

// AddTokenSources notes hashed sources of tokens, in one transaction.
// Errors: invalid (a hash not 32 bytes).
func (db *DB) AddTokenSources(ctx context.Context, tenantID string, sources []vault.TokenSource) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, src := range sources {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO token_sources (tenant_id, token_id, hash, seen_at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, tenantID, src.TokenID, src.Hash, formatTime(src.At)); err != nil {
			return fmt.Errorf("add token sources: %w", formatError(err))
		}
	}
	return tx.commit()
}
