package cell

import (
	"context"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// Multi-factor sign-in (issue #16): each call goes to the firm's cell.

func (r *Router) PutTOTP(ctx context.Context, tenantID, userID, secret string) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.PutTOTP(ctx, tenantID, userID, secret) })
}

func (r *Router) TOTP(ctx context.Context, tenantID, userID string) (*vault.TOTPFactor, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (*vault.TOTPFactor, error) { return db.TOTP(ctx, tenantID, userID) })
}

func (r *Router) ConfirmTOTP(ctx context.Context, tenantID, userID string, step int64, codeHashes [][]byte) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.ConfirmTOTP(ctx, tenantID, userID, step, codeHashes) })
}

func (r *Router) UseTOTPStep(ctx context.Context, tenantID, userID string, step int64) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.UseTOTPStep(ctx, tenantID, userID, step) })
}

func (r *Router) DeleteMFA(ctx context.Context, tenantID, userID string) (bool, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (bool, error) { return db.DeleteMFA(ctx, tenantID, userID) })
}

func (r *Router) ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, codeHashes [][]byte) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.ReplaceRecoveryCodes(ctx, tenantID, userID, codeHashes) })
}

func (r *Router) HasRecoveryCode(ctx context.Context, tenantID, userID string, hash []byte) (bool, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (bool, error) { return db.HasRecoveryCode(ctx, tenantID, userID, hash) })
}

func (r *Router) UseRecoveryCode(ctx context.Context, tenantID, userID string, hash []byte) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.UseRecoveryCode(ctx, tenantID, userID, hash) })
}

func (r *Router) RecoveryCodesLeft(ctx context.Context, tenantID, userID string) (int, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (int, error) { return db.RecoveryCodesLeft(ctx, tenantID, userID) })
}

func (r *Router) CreateMFAChallenge(ctx context.Context, c *vault.MFAChallengeRecord, hash []byte) error {
	return onCell(ctx, r, c.TenantID, func(db *sqlite.DB) error { return db.CreateMFAChallenge(ctx, c, hash) })
}

// MFAChallengeByHash asks every cell, as TokenByHash does, and keeps only
// a challenge found in its firm's home cell.
func (r *Router) MFAChallengeByHash(ctx context.Context, hash []byte) (*vault.MFAChallengeRecord, error) {
	var failed error
	for _, region := range r.Regions() {
		c, err := r.Cells[region].MFAChallengeByHash(ctx, hash)
		switch {
		case err == nil:
			home, err := r.Region(ctx, c.TenantID)
			if err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
				return nil, err
			}
			if home == region {
				if r.Frozen(c.TenantID) {
					return nil, errFrozen
				}
				return c, nil
			}
		case vault.IsCode(err, vault.ENOTFOUND):
		default:
			failed = err
		}
	}
	if failed != nil {
		return nil, failed
	}
	return nil, vault.Errorf(vault.ENOTFOUND, "Challenge not found.")
}

func (r *Router) FailMFAChallenge(ctx context.Context, tenantID, id string) (int, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (int, error) { return db.FailMFAChallenge(ctx, tenantID, id) })
}

func (r *Router) DeleteMFAChallenge(ctx context.Context, tenantID, id string) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.DeleteMFAChallenge(ctx, tenantID, id) })
}

func (r *Router) MFAPolicy(ctx context.Context, tenantID string) (string, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (string, error) { return db.MFAPolicy(ctx, tenantID) })
}

func (r *Router) SetMFAPolicy(ctx context.Context, tenantID, policy, by string) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.SetMFAPolicy(ctx, tenantID, policy, by) })
}

func (r *Router) FirmAPITokens(ctx context.Context, tenantID string, now time.Time) ([]*vault.Token, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.Token, error) { return db.FirmAPITokens(ctx, tenantID, now) })
}
