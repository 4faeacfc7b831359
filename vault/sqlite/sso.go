package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/casevault/casevault/vault"
)

// ssoSealed is the sealed part of a firm's single sign-on settings: every
// word the firm wrote, the client secret among them.
type ssoSealed struct {
	Issuer       string   `json:"issuer"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	Domains      []string `json:"domains"`
}

var _ vault.SSOStore = (*DB)(nil)

// ssoConfigRef names the sealed settings cell of a firm's provider.
func ssoConfigRef(tenantID string) vault.FieldRef {
	return vault.FieldRef{Table: "sso_configs", Column: "config", RowID: tenantID}
}

// SSOConfig returns a firm's provider, its sealed settings opened; when
// they do not open it is returned marked (Damage) with them empty.
// Errors: not_found.
func (db *DB) SSOConfig(ctx context.Context, tenantID string) (*vault.SSOConfig, error) {
	c := &vault.SSOConfig{TenantID: tenantID}
	var sealed []byte
	var jit, req int
	err := db.db.QueryRowContext(ctx, `
		SELECT config, jit, require_sso, updated_at, updated_by
		FROM sso_configs WHERE tenant_id = ?`, tenantID).
		Scan(&sealed, &jit, &req, timeValue{&c.UpdatedAt}, &c.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, vault.Errorf(vault.ENOTFOUND, "Single sign-on is not configured.")
	} else if err != nil {
		return nil, fmt.Errorf("sso config: %w", formatError(err))
	}
	c.JIT, c.RequireSSO = jit != 0, req != 0
	pt, err := db.openOrMark(ctx, tenantID, ssoConfigRef(tenantID), sealed, &c.Damage)
	if err != nil {
		return nil, err
	}
	if pt != "" {
		var s ssoSealed
		if err := json.Unmarshal([]byte(pt), &s); err != nil {
			return nil, vault.WrapError(vault.EINTERNAL, err, "Stored single sign-on settings are malformed.")
		}
		c.Issuer, c.ClientID, c.ClientSecret, c.Domains = s.Issuer, s.ClientID, s.ClientSecret, s.Domains
	}
	return c, nil
}

// PutSSOConfig saves a firm's provider, replacing any earlier one.
// Errors: not_found (firm), invalid, internal (no Sealer).
func (db *DB) PutSSOConfig(ctx context.Context, c *vault.SSOConfig) error {
	if c == nil || c.TenantID == "" || c.UpdatedBy == "" {
		return vault.Errorf(vault.EINVALID, "Single sign-on settings need a firm and who saved them.")
	}
	pt, err := json.Marshal(ssoSealed{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret, Domains: c.Domains})
	if err != nil {
		return fmt.Errorf("sso config: %w", err)
	}
	// Seal before BEGIN: the sealer reads keysets from this database.
	sealed, err := db.seal(ctx, c.TenantID, ssoConfigRef(c.TenantID), string(pt))
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
	stamp(&c.UpdatedAt, tx.now)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO sso_configs (tenant_id, config, jit, require_sso, updated_at, updated_by)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET config = excluded.config, jit = excluded.jit,
			require_sso = excluded.require_sso, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		c.TenantID, sealed, boolInt(c.JIT), boolInt(c.RequireSSO), formatTime(c.UpdatedAt), c.UpdatedBy,
	); err != nil {
		return fmt.Errorf("put sso config: %w", formatError(err))
	}
	return tx.commit()
}

// DeleteSSOConfig removes a firm's provider. Errors: not_found.
func (db *DB) DeleteSSOConfig(ctx context.Context, tenantID string) error {
	return execOne(ctx, db.db, "delete sso config", "Single sign-on is not configured.", `DELETE FROM sso_configs WHERE tenant_id = ?`, tenantID)
}
