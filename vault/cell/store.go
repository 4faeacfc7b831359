package cell

import (
	"context"
	"crypto/subtle"
	"sort"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// The calls about one firm go to its cell; those about every firm (the
// janitor's, the sink worker's) ask each served cell.

func equalHash(a, b []byte) bool { return len(a) > 0 && subtle.ConstantTimeCompare(a, b) == 1 }

// inCell runs fn on tenantID's cell.
func inCell[T any](ctx context.Context, r *Router, tenantID string, fn func(*sqlite.DB) (T, error)) (T, error) {
	db, err := r.Cell(ctx, tenantID)
	if err != nil {
		var zero T
		return zero, err
	}
	return fn(db)
}

// onCell runs fn on tenantID's cell.
func onCell(ctx context.Context, r *Router, tenantID string, fn func(*sqlite.DB) error) error {
	db, err := r.Cell(ctx, tenantID)
	if err != nil {
		return err
	}
	return fn(db)
}

// TenantKeysets implements vault.KeysetStore. It reads the firm's home
// cell even while a move freezes the firm: the move itself opens the
// firm's fields with them. A firm that a served cell holds but the
// directory does not know yet (Repair enters its users' emails, which
// takes its keys, before the firm) has its keysets found in that cell.
func (r *Router) TenantKeysets(ctx context.Context, tenantID string) (string, vault.TenantKeysets, error) {
	db, err := r.homeCell(ctx, tenantID)
	if vault.IsCode(err, vault.ENOTFOUND) {
		for _, region := range r.Regions() {
			if region, ks, err := r.Cells[region].TenantKeysets(ctx, tenantID); err == nil {
				return region, ks, nil
			}
		}
	}
	if err != nil {
		return "", vault.TenantKeysets{}, err
	}
	return db.TenantKeysets(ctx, tenantID)
}

// ReplaceTenantKeysets implements vault.KeysetStore.
func (r *Router) ReplaceTenantKeysets(ctx context.Context, tenantID string, prev, next vault.TenantKeysets) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.ReplaceTenantKeysets(ctx, tenantID, prev, next) })
}

func (r *Router) User(ctx context.Context, tenantID, id string) (*vault.User, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (*vault.User, error) { return db.User(ctx, tenantID, id) })
}

func (r *Router) Users(ctx context.Context, tenantID string) ([]*vault.User, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.User, error) { return db.Users(ctx, tenantID) })
}

func (r *Router) UpdateUser(ctx context.Context, u *vault.User) error {
	return onCell(ctx, r, u.TenantID, func(db *sqlite.DB) error { return db.UpdateUser(ctx, u) })
}

func (r *Router) CreateMatter(ctx context.Context, m *vault.Matter) error {
	return onCell(ctx, r, m.TenantID, func(db *sqlite.DB) error { return db.CreateMatter(ctx, m) })
}

func (r *Router) Matter(ctx context.Context, tenantID, id string) (*vault.Matter, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (*vault.Matter, error) { return db.Matter(ctx, tenantID, id) })
}

func (r *Router) Matters(ctx context.Context, tenantID string) ([]*vault.Matter, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.Matter, error) { return db.Matters(ctx, tenantID) })
}

func (r *Router) UpdateMatter(ctx context.Context, m *vault.Matter) error {
	return onCell(ctx, r, m.TenantID, func(db *sqlite.DB) error { return db.UpdateMatter(ctx, m) })
}

func (r *Router) CreatePendingBlob(ctx context.Context, p vault.PendingBlob) error {
	return onCell(ctx, r, p.TenantID, func(db *sqlite.DB) error { return db.CreatePendingBlob(ctx, p) })
}

// DeletePendingBlob forgets the pending blob in whichever served cell has
// it (missing is not an error in any).
func (r *Router) DeletePendingBlob(ctx context.Context, key string) error {
	return r.each(func(_ string, db *sqlite.DB) error { return db.DeletePendingBlob(ctx, key) })
}

// PendingBlobs returns the pending blobs of every served cell, oldest first.
func (r *Router) PendingBlobs(ctx context.Context, olderThan time.Time) ([]vault.PendingBlob, error) {
	var all []vault.PendingBlob
	homed, err := r.homed(ctx)
	if err != nil {
		return nil, err
	}
	err = r.each(func(region string, db *sqlite.DB) error {
		ps, err := db.PendingBlobs(ctx, olderThan)
		for _, p := range ps {
			if homed(region, p.TenantID) {
				all = append(all, p)
			}
		}
		return err
	})
	sort.SliceStable(all, func(i, j int) bool { return all[i].CreatedAt.Before(all[j].CreatedAt) })
	return all, err
}

func (r *Router) CreateDocument(ctx context.Context, d *vault.Document, v *vault.Version) error {
	return onCell(ctx, r, d.TenantID, func(db *sqlite.DB) error { return db.CreateDocument(ctx, d, v) })
}

func (r *Router) AddVersion(ctx context.Context, v *vault.Version) error {
	return onCell(ctx, r, v.TenantID, func(db *sqlite.DB) error { return db.AddVersion(ctx, v) })
}

func (r *Router) Document(ctx context.Context, tenantID, id string) (*vault.Document, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (*vault.Document, error) { return db.Document(ctx, tenantID, id) })
}

func (r *Router) Documents(ctx context.Context, tenantID string, f vault.DocumentFilter) ([]*vault.Document, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.Document, error) { return db.Documents(ctx, tenantID, f) })
}

func (r *Router) UpdateDocument(ctx context.Context, d *vault.Document) error {
	return onCell(ctx, r, d.TenantID, func(db *sqlite.DB) error { return db.UpdateDocument(ctx, d) })
}

func (r *Router) Version(ctx context.Context, tenantID, documentID string, n int) (*vault.Version, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (*vault.Version, error) { return db.Version(ctx, tenantID, documentID, n) })
}

func (r *Router) Versions(ctx context.Context, tenantID, documentID string) ([]*vault.Version, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.Version, error) { return db.Versions(ctx, tenantID, documentID) })
}

func (r *Router) CreateToken(ctx context.Context, t *vault.Token, hash []byte) error {
	return onCell(ctx, r, t.TenantID, func(db *sqlite.DB) error { return db.CreateToken(ctx, t, hash) })
}

func (r *Router) TokenLive(ctx context.Context, tenantID, id string) (bool, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (bool, error) { return db.TokenLive(ctx, tenantID, id) })
}

func (r *Router) Tokens(ctx context.Context, tenantID, userID string, now time.Time) ([]*vault.Token, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.Token, error) { return db.Tokens(ctx, tenantID, userID, now) })
}

func (r *Router) RevokeToken(ctx context.Context, tenantID, userID, id string) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.RevokeToken(ctx, tenantID, userID, id) })
}

func (r *Router) RevokeUserTokens(ctx context.Context, tenantID, userID, kind, keepID string) (int, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (int, error) { return db.RevokeUserTokens(ctx, tenantID, userID, kind, keepID) })
}

// PurgeTokens purges in every served cell and returns the total.
func (r *Router) PurgeTokens(ctx context.Context, before time.Time) (int, error) {
	total := 0
	err := r.each(func(_ string, db *sqlite.DB) error {
		n, err := db.PurgeTokens(ctx, before)
		total += n
		return err
	})
	return total, err
}

func (r *Router) TouchToken(ctx context.Context, tenantID, id string, at time.Time) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.TouchToken(ctx, tenantID, id, at) })
}

func (r *Router) CreateGrant(ctx context.Context, g *vault.Grant) error {
	return onCell(ctx, r, g.TenantID, func(db *sqlite.DB) error { return db.CreateGrant(ctx, g) })
}

func (r *Router) Grant(ctx context.Context, tenantID, id string) (*vault.Grant, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (*vault.Grant, error) { return db.Grant(ctx, tenantID, id) })
}

func (r *Router) Grants(ctx context.Context, tenantID string, f vault.GrantFilter) ([]*vault.Grant, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.Grant, error) { return db.Grants(ctx, tenantID, f) })
}

func (r *Router) AccessGrants(ctx context.Context, tenantID, userID, documentID, matterID string, at time.Time) ([]*vault.Grant, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.Grant, error) {
		return db.AccessGrants(ctx, tenantID, userID, documentID, matterID, at)
	})
}

func (r *Router) RevokeGrant(ctx context.Context, tenantID, id, by string, at time.Time) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.RevokeGrant(ctx, tenantID, id, by, at) })
}

// UnrecordedExpiries returns up to limit unrecorded expiries of every
// served cell, oldest expiry first.
func (r *Router) UnrecordedExpiries(ctx context.Context, at time.Time, limit int) ([]*vault.Grant, error) {
	var all []*vault.Grant
	homed, err := r.homed(ctx)
	if err != nil {
		return nil, err
	}
	err = r.each(func(region string, db *sqlite.DB) error {
		gs, err := db.UnrecordedExpiries(ctx, at, limit)
		for _, g := range gs {
			if homed(region, g.TenantID) {
				all = append(all, g)
			}
		}
		return err
	})
	sort.SliceStable(all, func(i, j int) bool { return expiry(all[i]).Before(expiry(all[j])) })
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, err
}

func expiry(g *vault.Grant) time.Time {
	if g.ExpiresAt == nil {
		return time.Time{}
	}
	return *g.ExpiresAt
}

func (r *Router) MarkExpiryRecorded(ctx context.Context, tenantID, id string, at time.Time) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.MarkExpiryRecorded(ctx, tenantID, id, at) })
}

func (r *Router) CreateWall(ctx context.Context, w *vault.Wall) error {
	return onCell(ctx, r, w.TenantID, func(db *sqlite.DB) error { return db.CreateWall(ctx, w) })
}

func (r *Router) DeleteWall(ctx context.Context, tenantID, matterID, userID string) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.DeleteWall(ctx, tenantID, matterID, userID) })
}

func (r *Router) Walls(ctx context.Context, tenantID string, f vault.WallFilter) ([]*vault.Wall, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.Wall, error) { return db.Walls(ctx, tenantID, f) })
}

// The sign-in throttle's rows are keyed hashes of no firm: they stay in
// the service database.

func (r *Router) ThrottleCounts(ctx context.Context, pair, account []byte, now time.Time) (vault.ThrottleCounts, error) {
	return r.Service.ThrottleCounts(ctx, pair, account, now)
}

func (r *Router) ChargeThrottle(ctx context.Context, c vault.ThrottleCharge, allow func(vault.ThrottleCounts) bool) (vault.ThrottleCounts, bool, error) {
	return r.Service.ChargeThrottle(ctx, c, allow)
}

func (r *Router) RefundThrottle(ctx context.Context, pair, account []byte, windowEnd time.Time) error {
	return r.Service.RefundThrottle(ctx, pair, account, windowEnd)
}

func (r *Router) NoticeThrottle(ctx context.Context, pair []byte, until time.Time) (bool, error) {
	return r.Service.NoticeThrottle(ctx, pair, until)
}

func (r *Router) PurgeThrottle(ctx context.Context, now time.Time) (int, error) {
	return r.Service.PurgeThrottle(ctx, now)
}

// A firm's checkpoint sink is the firm's: it lives in its cell.

func (r *Router) AuditSink(ctx context.Context, tenantID string) (*vault.AuditSink, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (*vault.AuditSink, error) { return db.AuditSink(ctx, tenantID) })
}

// AuditSinks returns the sinks of every served cell.
func (r *Router) AuditSinks(ctx context.Context) ([]*vault.AuditSink, error) {
	var all []*vault.AuditSink
	homed, err := r.homed(ctx)
	if err != nil {
		return nil, err
	}
	err = r.each(func(region string, db *sqlite.DB) error {
		ss, err := db.AuditSinks(ctx)
		for _, s := range ss {
			if homed(region, s.TenantID) {
				all = append(all, s)
			}
		}
		return err
	})
	return all, err
}

func (r *Router) PutAuditSink(ctx context.Context, s *vault.AuditSink) error {
	return onCell(ctx, r, s.TenantID, func(db *sqlite.DB) error { return db.PutAuditSink(ctx, s) })
}

func (r *Router) DeleteAuditSink(ctx context.Context, tenantID string) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.DeleteAuditSink(ctx, tenantID) })
}

func (r *Router) SaveSinkProgress(ctx context.Context, tenantID, sinkID string, p vault.SinkProgress) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.SaveSinkProgress(ctx, tenantID, sinkID, p) })
}

// ShredRequest implements vault.ShredStore. It reads the firm's home cell
// even while a freeze keeps its users out: the shred checks the request
// again under its freeze.
func (r *Router) ShredRequest(ctx context.Context, tenantID string) (*vault.ShredRequest, error) {
	db, err := r.homeCell(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return db.ShredRequest(ctx, tenantID)
}

// PutShredRequest implements vault.ShredStore.
func (r *Router) PutShredRequest(ctx context.Context, req *vault.ShredRequest) error {
	return onCell(ctx, r, req.TenantID, func(db *sqlite.DB) error { return db.PutShredRequest(ctx, req) })
}

// DeleteShredRequest implements vault.ShredStore.
func (r *Router) DeleteShredRequest(ctx context.Context, tenantID, id string) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.DeleteShredRequest(ctx, tenantID, id) })
}

// ShredCounts implements vault.ShredStore. It reads the firm's home cell
// even while the shred freezes the firm.
func (r *Router) ShredCounts(ctx context.Context, tenantID string) (vault.ShredCounts, error) {
	db, err := r.homeCell(ctx, tenantID)
	if err != nil {
		return vault.ShredCounts{}, err
	}
	return db.ShredCounts(ctx, tenantID)
}
