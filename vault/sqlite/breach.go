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

var _ vault.BreachStore = (*DB)(nil)

const breachColumns = `id, tenant_id, alert_id, body, status, regulator_notified_at, clients_notified_at,
	individuals_notified_at, created_by, created_at, updated_by, updated_at`

// breachBody is the sealed cell of a breach: what a person wrote.
type breachBody struct {
	Description    string `json:"description"`
	RealRisk       bool   `json:"real_risk"`
	RiskAssessment string `json:"risk_assessment"`
}

func breachBodyRef(id string) vault.FieldRef {
	return vault.FieldRef{Table: "breaches", Column: "body", RowID: id}
}

type sealedBreach struct {
	b    *vault.Breach
	body []byte
}

func scanBreach(sc scanner) (*sealedBreach, error) {
	sb := &sealedBreach{b: &vault.Breach{MatterIDs: []string{}, UserIDs: []string{}}}
	b := sb.b
	var reg, cli, ind sql.NullString
	var created, updated string
	if err := sc.Scan(&b.ID, &b.TenantID, &b.AlertID, &sb.body, &b.Status, &reg, &cli, &ind,
		&b.CreatedBy, &created, &b.UpdatedBy, &updated); err != nil {
		return nil, err
	}
	var err error
	if b.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if b.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	for _, t := range []struct {
		v   sql.NullString
		dst **time.Time
	}{{reg, &b.RegulatorNotifiedAt}, {cli, &b.ClientsNotifiedAt}, {ind, &b.IndividualsNotifiedAt}} {
		if t.v.Valid {
			at, err := parseTime(t.v.String)
			if err != nil {
				return nil, err
			}
			*t.dst = &at
		}
	}
	return sb, nil
}

// openBreach opens the sealed body and reads the subjects.
func (db *DB) openBreach(ctx context.Context, sb *sealedBreach) error {
	b := sb.b
	pt, err := db.openOrMark(ctx, b.TenantID, breachBodyRef(b.ID), sb.body, &b.Damage)
	if err != nil {
		return err
	}
	if pt != "" {
		var body breachBody
		if err := json.Unmarshal([]byte(pt), &body); err != nil {
			return vault.WrapError(vault.EINTERNAL, err, "Stored breach entry is malformed.")
		}
		b.Description, b.RealRisk, b.RiskAssessment = body.Description, body.RealRisk, body.RiskAssessment
	}
	type subject struct{ kind, id string }
	subs, err := queryAll(ctx, db.db, "breach subjects", func(s scanner) (subject, error) {
		var v subject
		return v, s.Scan(&v.kind, &v.id)
	}, `SELECT kind, object_id FROM breach_subjects WHERE tenant_id = ? AND breach_id = ? ORDER BY kind, object_id`, b.TenantID, b.ID)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s.kind == "matter" {
			b.MatterIDs = append(b.MatterIDs, s.id)
		} else {
			b.UserIDs = append(b.UserIDs, s.id)
		}
	}
	return nil
}

// Breaches returns tenantID's breach register, oldest first.
func (db *DB) Breaches(ctx context.Context, tenantID string) ([]*vault.Breach, error) {
	rows, err := queryAll(ctx, db.db, "breaches", scanBreach,
		`SELECT `+breachColumns+` FROM breaches WHERE tenant_id = ? ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]*vault.Breach, 0, len(rows))
	for _, sb := range rows {
		if err := db.openBreach(ctx, sb); err != nil {
			return nil, err
		}
		out = append(out, sb.b)
	}
	return out, nil
}

// Breach returns one entry of tenantID's register. Errors: not_found.
func (db *DB) Breach(ctx context.Context, tenantID, id string) (*vault.Breach, error) {
	sb, err := scanBreach(db.db.QueryRowContext(ctx, `SELECT `+breachColumns+` FROM breaches WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Breach-register entry not found.")
	} else if err != nil {
		return nil, fmt.Errorf("breach: %w", formatError(err))
	}
	if err := db.openBreach(ctx, sb); err != nil {
		return nil, err
	}
	return sb.b, nil
}

func breachTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

// PutBreach creates or replaces b and its subjects. Errors: invalid,
// not_found (tenant, or an entry of another firm with b's id).
func (db *DB) PutBreach(ctx context.Context, b *vault.Breach) error {
	if b == nil || b.TenantID == "" || !vault.ValidID(vault.PrefixBreach, b.ID) || b.CreatedBy == "" || b.UpdatedBy == "" ||
		(b.Status != vault.BreachOpen && b.Status != vault.BreachClosed) {
		return vault.Errorf(vault.EINVALID, "Breach tenant, id, status and authors required.")
	}
	body, err := json.Marshal(breachBody{Description: b.Description, RealRisk: b.RealRisk, RiskAssessment: b.RiskAssessment})
	if err != nil {
		return fmt.Errorf("put breach: %w", err)
	}
	// Seal before BEGIN: the sealer reads keysets from this database.
	sealed, err := db.seal(ctx, b.TenantID, breachBodyRef(b.ID), string(body))
	if err != nil {
		return notFoundAs(err, "Firm not found.")
	}
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := requireRow(ctx, tx, "Firm not found.", `SELECT 1 FROM tenants WHERE id = ?`, b.TenantID); err != nil {
		return err
	}
	stamp(&b.CreatedAt, tx.now)
	stamp(&b.UpdatedAt, tx.now)
	res, err := tx.ExecContext(ctx, `
		INSERT INTO breaches (`+breachColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET alert_id = excluded.alert_id, body = excluded.body, status = excluded.status,
			regulator_notified_at = excluded.regulator_notified_at, clients_notified_at = excluded.clients_notified_at,
			individuals_notified_at = excluded.individuals_notified_at, updated_by = excluded.updated_by,
			updated_at = excluded.updated_at
		WHERE breaches.tenant_id = excluded.tenant_id`,
		b.ID, b.TenantID, b.AlertID, sealed, b.Status, breachTime(b.RegulatorNotifiedAt), breachTime(b.ClientsNotifiedAt),
		breachTime(b.IndividualsNotifiedAt), b.CreatedBy, formatTime(b.CreatedAt), b.UpdatedBy, formatTime(b.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put breach: %w", formatError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vault.Errorf(vault.ENOTFOUND, "Breach-register entry not found.")
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM breach_subjects WHERE tenant_id = ? AND breach_id = ?`, b.TenantID, b.ID); err != nil {
		return fmt.Errorf("put breach: %w", formatError(err))
	}
	for _, l := range []struct {
		kind string
		ids  []string
	}{{"matter", b.MatterIDs}, {"user", b.UserIDs}} {
		for _, id := range l.ids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO breach_subjects (tenant_id, breach_id, kind, object_id) VALUES (?, ?, ?, ?)
				ON CONFLICT DO NOTHING`, b.TenantID, b.ID, l.kind, id); err != nil {
				return fmt.Errorf("put breach: %w", formatError(err))
			}
		}
	}
	return tx.commit()
}

// DeleteBreach removes an entry and its subjects. Errors: not_found.
func (db *DB) DeleteBreach(ctx context.Context, tenantID, id string) error {
	tx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM breaches WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err != nil {
		return fmt.Errorf("delete breach: %w", formatError(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return vault.Errorf(vault.ENOTFOUND, "Breach-register entry not found.")
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM breach_subjects WHERE tenant_id = ? AND breach_id = ?`, tenantID, id); err != nil {
		return fmt.Errorf("delete breach: %w", formatError(err))
	}
	return tx.commit()
}
