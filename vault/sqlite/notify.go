package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/casevault/casevault/vault"
)

var _ vault.NotifyStore = (*DB)(nil)

func channelConfigRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "notify_channels", Column: "config", RowID: id}
}

const channelColumns = `id, tenant_id, kind, config, created_by, created_at`

type sealedChannel struct {
	c      *vault.Channel
	config []byte
}

func scanChannel(sc scanner) (*sealedChannel, error) {
	sc2 := &sealedChannel{c: &vault.Channel{}}
	c := sc2.c
	if err := sc.Scan(&c.ID, &c.TenantID, &c.Kind, &sc2.config, &c.CreatedBy, timeValue{&c.CreatedAt}); err != nil {
		return nil, err
	}
	return sc2, nil
}

// openChannel opens the sealed config; one that does not open is marked
// in Damage and left empty.
func (db *DB) openChannel(ctx context.Context, s *sealedChannel) error {
	c := s.c
	cfg, err := db.openOrMark(ctx, c.TenantID, channelConfigRef(c.ID), s.config, &c.Damage)
	if err != nil {
		return err
	}
	if cfg != "" {
		if err := json.Unmarshal([]byte(cfg), &c.Config); err != nil {
			return vault.WrapError(vault.EINTERNAL, err, "Stored channel config is malformed.")
		}
	}
	return nil
}

// Channels returns tenantID's channels, oldest first.
func (db *DB) Channels(ctx context.Context, tenantID string) ([]*vault.Channel, error) {
	rows, err := queryAll(ctx, db.db, "channels", scanChannel,
		`SELECT `+channelColumns+` FROM notify_channels WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]*vault.Channel, 0, len(rows))
	for _, r := range rows {
		if err := db.openChannel(ctx, r); err != nil {
			return nil, err
		}
		out = append(out, r.c)
	}
	return out, nil
}

// Channel returns one of tenantID's channels. Errors: not_found.
func (db *DB) Channel(ctx context.Context, tenantID, id string) (*vault.Channel, error) {
	r, err := scanChannel(db.db.QueryRowContext(ctx,
		`SELECT `+channelColumns+` FROM notify_channels WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Channel not found.")
	} else if err != nil {
		return nil, fmt.Errorf("channel: %w", formatError(err))
	}
	if err := db.openChannel(ctx, r); err != nil {
		return nil, err
	}
	return r.c, nil
}

// PutChannel stores a new channel with its config sealed. Errors:
// invalid, not_found (firm).
func (db *DB) PutChannel(ctx context.Context, c *vault.Channel) error {
	switch {
	case c == nil || c.TenantID == "" || !vault.ValidID(vault.PrefixChannel, c.ID) || c.CreatedBy == "":
		return vault.Errorf(vault.EINVALID, "Channel tenant, id and creator required.")
	case c.Kind != vault.ChannelEmail && c.Kind != vault.ChannelWebhook:
		return vault.Errorf(vault.EINVALID, "Invalid channel kind.")
	}
	cfg, err := json.Marshal(c.Config)
	if err != nil {
		return fmt.Errorf("put channel: %w", err)
	}
	// Seal before BEGIN: the sealer reads keysets from this database.
	sealed, err := db.seal(ctx, c.TenantID, channelConfigRef(c.ID), string(cfg))
	if err != nil {
		return notFoundAs(err, "Firm not found.")
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := requireRow(ctx, tx, "Firm not found.", `SELECT 1 FROM tenants WHERE id = ?`, c.TenantID); err != nil {
		return err
	}
	stamp(&c.CreatedAt, tx.now)
	if _, err := tx.ExecContext(ctx, `INSERT INTO notify_channels (`+channelColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.TenantID, c.Kind, sealed, c.CreatedBy, formatTime(c.CreatedAt)); err != nil {
		return fmt.Errorf("put channel: %w", formatError(err))
	}
	return tx.commit()
}

// DeleteChannel removes a channel. Errors: not_found.
func (db *DB) DeleteChannel(ctx context.Context, tenantID, id string) error {
	res, err := db.db.ExecContext(ctx, `DELETE FROM notify_channels WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return fmt.Errorf("delete channel: %w", formatError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vault.Errorf(vault.ENOTFOUND, "Channel not found.")
	}
	return nil
}

// EnqueueNotice stores n and a pending delivery per channel (channelID's
// only, when given), due at once.
func (db *DB) EnqueueNotice(ctx context.Context, id string, n vault.Notice, channelID string) ([]*vault.Delivery, error) {
	if !vault.ValidID(vault.PrefixNotice, id) || n.TenantID == "" || n.Kind == "" {
		return nil, vault.Errorf(vault.EINVALID, "Notice id, tenant and kind required.")
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if err := requireRow(ctx, tx, "Firm not found.", `SELECT 1 FROM tenants WHERE id = ?`, n.TenantID); err != nil {
		return nil, err
	}
	q, args := `SELECT id FROM notify_channels WHERE tenant_id = ? ORDER BY created_at, id`, []any{n.TenantID}
	if channelID != "" {
		q, args = `SELECT id FROM notify_channels WHERE tenant_id = ? AND id = ?`, []any{n.TenantID, channelID}
	}
	chans, err := queryAll(ctx, tx, "enqueue notice", func(s scanner) (string, error) {
		var id string
		return id, s.Scan(&id)
	}, q, args...)
	if err != nil {
		return nil, err
	}
	if channelID != "" && len(chans) == 0 {
		return nil, vault.Errorf(vault.ENOTFOUND, "Channel not found.")
	}
	now := formatTime(tx.now)
	if n.Time.IsZero() {
		n.Time = tx.now
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO notify_notices (id, tenant_id, kind, object_id, seq, rule, severity, at, path, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, n.TenantID, n.Kind, n.ObjectID, n.Seq, n.Rule, n.Severity, formatTime(n.Time), n.Path, now); err != nil {
		return nil, fmt.Errorf("enqueue notice: %w", formatError(err))
	}
	out := make([]*vault.Delivery, 0, len(chans))
	for _, ch := range chans {
		next := tx.now
		d := &vault.Delivery{ID: vault.NewID(vault.PrefixDelivery), TenantID: n.TenantID, NoticeID: id, ChannelID: ch,
			Notice: n, State: vault.DeliveryPending, NextAt: &next, CreatedAt: tx.now, UpdatedAt: tx.now}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO notify_deliveries (id, tenant_id, notice_id, channel_id, state, tries, next_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?)`, d.ID, d.TenantID, id, ch, now, now, now); err != nil {
			return nil, fmt.Errorf("enqueue notice: %w", formatError(err))
		}
		out = append(out, d)
	}
	if err := tx.commit(); err != nil {
		return nil, fmt.Errorf("enqueue notice: %w", err)
	}
	return out, nil
}

// deliveryColumns are read by scanDelivery, from notify_deliveries AS d
// joined with notify_notices AS n.
const deliveryColumns = `d.id, d.tenant_id, d.notice_id, d.channel_id, d.state, d.tries, d.next_at, d.created_at,
	d.updated_at, n.kind, n.object_id, n.seq, n.rule, n.severity, n.at, n.path`

const deliveryFrom = ` FROM notify_deliveries AS d JOIN notify_notices AS n ON n.id = d.notice_id `

func scanDelivery(sc scanner) (*vault.Delivery, error) {
	d := &vault.Delivery{}
	var next nullTime
	n := &d.Notice
	if err := sc.Scan(&d.ID, &d.TenantID, &d.NoticeID, &d.ChannelID, &d.State, &d.Tries, &next,
		timeValue{&d.CreatedAt}, timeValue{&d.UpdatedAt}, &n.Kind, &n.ObjectID, &n.Seq, &n.Rule, &n.Severity,
		timeValue{&n.Time}, &n.Path); err != nil {
		return nil, err
	}
	n.TenantID = d.TenantID
	if next.Valid {
		t := next.Time
		d.NextAt = &t
	}
	return d, nil
}

// ClaimDeliveries returns the pending deliveries due at now, oldest
// first, and moves their next attempt to leaseUntil in the same
// transaction.
func (db *DB) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*vault.Delivery, error) {
	if limit <= 0 {
		limit = 100
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	ds, err := queryAll(ctx, tx, "claim deliveries", scanDelivery, `SELECT `+deliveryColumns+deliveryFrom+`
		WHERE d.state = 'pending' AND d.next_at <= ? ORDER BY d.next_at, d.id LIMIT ?`, formatTime(now), limit)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	lease := formatTime(leaseUntil)
	for _, d := range ds {
		if _, err := tx.ExecContext(ctx, `UPDATE notify_deliveries SET next_at = ? WHERE id = ?`, lease, d.ID); err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", formatError(err))
		}
	}
	if err := tx.commit(); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return ds, nil
}

// RecordAttempt appends a to d's attempts and sets its state.
func (db *DB) RecordAttempt(ctx context.Context, d *vault.Delivery, a vault.DeliveryAttempt, state string) error {
	if a.Result != vault.AttemptOK && a.Result != vault.AttemptFailed {
		return vault.Errorf(vault.EINVALID, "Invalid attempt result.")
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n, tries int
	if err := tx.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM notify_attempts WHERE delivery_id = d.id), d.tries
		FROM notify_deliveries AS d WHERE d.tenant_id = ? AND d.id = ?`, d.TenantID, d.ID).Scan(&n, &tries); errors.Is(err, sql.ErrNoRows) {
		return vault.Errorf(vault.ENOTFOUND, "Delivery not found.")
	} else if err != nil {
		return fmt.Errorf("record attempt: %w", formatError(err))
	}
	a.N = n + 1
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO notify_attempts (delivery_id, n, tenant_id, channel_id, at, result, status, error, next_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, a.N, d.TenantID, a.ChannelID, formatTime(a.At), a.Result, a.Status, a.Error, formatNullTime(a.NextAt)); err != nil {
		return fmt.Errorf("record attempt: %w", formatError(err))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE notify_deliveries SET state = ?, tries = ?, next_at = ?, updated_at = ? WHERE id = ?`,
		state, tries+1, formatNullTime(a.NextAt), formatTime(tx.now), d.ID); err != nil {
		return fmt.Errorf("record attempt: %w", formatError(err))
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	d.State, d.Tries, d.NextAt = state, tries+1, a.NextAt
	d.Attempts = append(d.Attempts, a)
	return nil
}

// Deliveries returns tenantID's deliveries, newest first, with attempts.
func (db *DB) Deliveries(ctx context.Context, tenantID string, f vault.DeliveryFilter) ([]*vault.Delivery, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	where, args := `WHERE d.tenant_id = ?`, []any{tenantID}
	if f.State != "" {
		where, args = where+` AND d.state = ?`, append(args, f.State)
	}
	ds, err := queryAll(ctx, db.db, "deliveries", scanDelivery,
		`SELECT `+deliveryColumns+deliveryFrom+where+` ORDER BY d.created_at DESC, d.id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return ds, db.attachAttempts(ctx, tenantID, ds)
}

// Delivery returns one delivery with its attempts. Errors: not_found.
func (db *DB) Delivery(ctx context.Context, tenantID, id string) (*vault.Delivery, error) {
	d, err := scanDelivery(db.db.QueryRowContext(ctx, `SELECT `+deliveryColumns+deliveryFrom+`
		WHERE d.tenant_id = ? AND d.id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Delivery not found.")
	} else if err != nil {
		return nil, fmt.Errorf("delivery: %w", formatError(err))
	}
	return d, db.attachAttempts(ctx, tenantID, []*vault.Delivery{d})
}

// attachAttempts reads the attempts of ds.
func (db *DB) attachAttempts(ctx context.Context, tenantID string, ds []*vault.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	byID := make(map[string]*vault.Delivery, len(ds))
	marks := make([]string, 0, len(ds))
	args := []any{tenantID}
	for _, d := range ds {
		byID[d.ID] = d
		d.Attempts = []vault.DeliveryAttempt{}
		marks = append(marks, "?")
		args = append(args, d.ID)
	}
	type row struct {
		id string
		a  vault.DeliveryAttempt
	}
	rows, err := queryAll(ctx, db.db, "attempts", func(s scanner) (row, error) {
		var r row
		var next nullTime
		err := s.Scan(&r.id, &r.a.N, &r.a.ChannelID, timeValue{&r.a.At}, &r.a.Result, &r.a.Status, &r.a.Error, &next)
		if next.Valid {
			t := next.Time
			r.a.NextAt = &t
		}
		return r, err
	}, `SELECT delivery_id, n, channel_id, at, result, status, error, next_at FROM notify_attempts
		WHERE tenant_id = ? AND delivery_id IN (`+strings.Join(marks, ",")+`) ORDER BY delivery_id, n`, args...)
	if err != nil {
		return err
	}
	for _, r := range rows {
		byID[r.id].Attempts = append(byID[r.id].Attempts, r.a)
	}
	return nil
}

// RedriveDelivery makes a dead delivery pending again, due at now.
func (db *DB) RedriveDelivery(ctx context.Context, tenantID, id string, now time.Time) error {
	res, err := db.db.ExecContext(ctx, `UPDATE notify_deliveries SET state = 'pending', tries = 0, next_at = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ? AND state = 'dead'`, formatTime(now), formatTime(db.now()), tenantID, id)
	if err != nil {
		return fmt.Errorf("redrive: %w", formatError(err))
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if ok, err := exists(ctx, db.db, `SELECT 1 FROM notify_deliveries WHERE tenant_id = ? AND id = ?`, tenantID, id); err != nil {
		return err
	} else if !ok {
		return vault.Errorf(vault.ENOTFOUND, "Delivery not found.")
	}
	return vault.Errorf(vault.ECONFLICT, "Only a dead letter can be redriven.")
}
