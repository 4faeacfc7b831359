package cell

import (
	"context"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

var (
	_ vault.ComplianceStore = (*Router)(nil)
	_ vault.BreachStore     = (*Router)(nil)
)

// TenantAddons implements vault.ComplianceStore in the firm's cell.
func (r *Router) TenantAddons(ctx context.Context, tenantID string) ([]string, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]string, error) { return db.TenantAddons(ctx, tenantID) })
}

// SetTenantAddon implements vault.ComplianceStore in the firm's cell.
func (r *Router) SetTenantAddon(ctx context.Context, tenantID, addon string, on bool) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.SetTenantAddon(ctx, tenantID, addon, on) })
}

// BAADecisions implements vault.ComplianceStore in the firm's cell.
func (r *Router) BAADecisions(ctx context.Context, tenantID string) ([]*vault.BAADecision, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.BAADecision, error) { return db.BAADecisions(ctx, tenantID) })
}

// PutBAADecision implements vault.ComplianceStore in the firm's cell.
func (r *Router) PutBAADecision(ctx context.Context, d *vault.BAADecision) error {
	return onCell(ctx, r, d.TenantID, func(db *sqlite.DB) error { return db.PutBAADecision(ctx, d) })
}

// Breaches implements vault.BreachStore in the firm's cell.
func (r *Router) Breaches(ctx context.Context, tenantID string) ([]*vault.Breach, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.Breach, error) { return db.Breaches(ctx, tenantID) })
}

// Breach implements vault.BreachStore in the firm's cell.
func (r *Router) Breach(ctx context.Context, tenantID, id string) (*vault.Breach, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (*vault.Breach, error) { return db.Breach(ctx, tenantID, id) })
}

// PutBreach implements vault.BreachStore in the firm's cell.
func (r *Router) PutBreach(ctx context.Context, b *vault.Breach) error {
	return onCell(ctx, r, b.TenantID, func(db *sqlite.DB) error { return db.PutBreach(ctx, b) })
}

// DeleteBreach implements vault.BreachStore in the firm's cell.
func (r *Router) DeleteBreach(ctx context.Context, tenantID, id string) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.DeleteBreach(ctx, tenantID, id) })
}
