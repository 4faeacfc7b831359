package cell

import (
	"context"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// The detection store's calls are all about one firm: they go to its cell.

var _ vault.DetectionStore = (*Router)(nil)

func (r *Router) CreateAlert(ctx context.Context, a *vault.Alert) error {
	return onCell(ctx, r, a.TenantID, func(db *sqlite.DB) error { return db.CreateAlert(ctx, a) })
}

func (r *Router) Alert(ctx context.Context, tenantID, id string) (*vault.Alert, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (*vault.Alert, error) { return db.Alert(ctx, tenantID, id) })
}

func (r *Router) Alerts(ctx context.Context, tenantID, status string) ([]*vault.Alert, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.Alert, error) { return db.Alerts(ctx, tenantID, status) })
}

func (r *Router) UpdateAlert(ctx context.Context, a *vault.Alert) error {
	return onCell(ctx, r, a.TenantID, func(db *sqlite.DB) error { return db.UpdateAlert(ctx, a) })
}

func (r *Router) DetectionSettings(ctx context.Context, tenantID string) (vault.DetectionSettings, bool, error) {
	db, err := r.Cell(ctx, tenantID)
	if err != nil {
		return vault.DetectionSettings{}, false, err
	}
	return db.DetectionSettings(ctx, tenantID)
}

func (r *Router) SetDetectionSettings(ctx context.Context, tenantID string, st vault.DetectionSettings, at time.Time) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.SetDetectionSettings(ctx, tenantID, st, at) })
}

func (r *Router) Contain(ctx context.Context, c vault.Containment) error {
	return onCell(ctx, r, c.TenantID, func(db *sqlite.DB) error { return db.Contain(ctx, c) })
}

func (r *Router) Release(ctx context.Context, tenantID, userID string) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.Release(ctx, tenantID, userID) })
}

func (r *Router) Containment(ctx context.Context, tenantID, userID string) (*vault.Containment, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (*vault.Containment, error) { return db.Containment(ctx, tenantID, userID) })
}

func (r *Router) HourlyCounts(ctx context.Context, tenantID string, since time.Time) ([]vault.HourCount, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]vault.HourCount, error) { return db.HourlyCounts(ctx, tenantID, since) })
}

func (r *Router) AddHourlyCounts(ctx context.Context, tenantID string, counts []vault.HourCount) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.AddHourlyCounts(ctx, tenantID, counts) })
}

func (r *Router) TokenSources(ctx context.Context, tenantID string) (map[string][][]byte, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (map[string][][]byte, error) { return db.TokenSources(ctx, tenantID) })
}

func (r *Router) AddTokenSources(ctx context.Context, tenantID string, sources []vault.TokenSource) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.AddTokenSources(ctx, tenantID, sources) })
}
