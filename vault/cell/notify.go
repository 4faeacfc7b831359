package cell

import (
	"context"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// A firm's notification channels, notices and deliveries are the firm's:
// they live in its cell.

var _ vault.NotifyStore = (*Router)(nil)

func (r *Router) Channels(ctx context.Context, tenantID string) ([]*vault.Channel, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.Channel, error) { return db.Channels(ctx, tenantID) })
}

func (r *Router) Channel(ctx context.Context, tenantID, id string) (*vault.Channel, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (*vault.Channel, error) { return db.Channel(ctx, tenantID, id) })
}

func (r *Router) PutChannel(ctx context.Context, c *vault.Channel) error {
	return onCell(ctx, r, c.TenantID, func(db *sqlite.DB) error { return db.PutChannel(ctx, c) })
}

func (r *Router) DeleteChannel(ctx context.Context, tenantID, id string) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.DeleteChannel(ctx, tenantID, id) })
}

func (r *Router) EnqueueNotice(ctx context.Context, id string, n vault.Notice, channelID string) ([]*vault.Delivery, error) {
	return inCell(ctx, r, n.TenantID, func(db *sqlite.DB) ([]*vault.Delivery, error) {
		return db.EnqueueNotice(ctx, id, n, channelID)
	})
}

// ClaimDeliveries claims due deliveries in every served cell, keeping
// those of firms that live there (not frozen by a move).
func (r *Router) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*vault.Delivery, error) {
	homed, err := r.homed(ctx)
	if err != nil {
		return nil, err
	}
	var all []*vault.Delivery
	err = r.each(func(region string, db *sqlite.DB) error {
		ds, err := db.ClaimDeliveries(ctx, now, leaseUntil, limit)
		for _, d := range ds {
			if homed(region, d.TenantID) {
				all = append(all, d)
			}
		}
		return err
	})
	return all, err
}

func (r *Router) RecordAttempt(ctx context.Context, d *vault.Delivery, a vault.DeliveryAttempt, state string) error {
	return onCell(ctx, r, d.TenantID, func(db *sqlite.DB) error { return db.RecordAttempt(ctx, d, a, state) })
}

func (r *Router) Deliveries(ctx context.Context, tenantID string, f vault.DeliveryFilter) ([]*vault.Delivery, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.Delivery, error) { return db.Deliveries(ctx, tenantID, f) })
}

func (r *Router) Delivery(ctx context.Context, tenantID, id string) (*vault.Delivery, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (*vault.Delivery, error) { return db.Delivery(ctx, tenantID, id) })
}

func (r *Router) RedriveDelivery(ctx context.Context, tenantID, id string, now time.Time) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.RedriveDelivery(ctx, tenantID, id, now) })
}
