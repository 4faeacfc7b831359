package cell

import (
	"context"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// Passkeys (issue #16): each call goes to the firm's cell.

func (r *Router) CreatePasskey(ctx context.Context, p *vault.Passkey) error {
	return onCell(ctx, r, p.TenantID, func(db *sqlite.DB) error { return db.CreatePasskey(ctx, p) })
}

func (r *Router) Passkeys(ctx context.Context, tenantID, userID string) ([]*vault.Passkey, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) ([]*vault.Passkey, error) { return db.Passkeys(ctx, tenantID, userID) })
}

// PasskeyByCredentialID asks every cell, as MFAChallengeByHash does, and
// keeps only a passkey found in its firm's home cell.
func (r *Router) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*vault.Passkey, error) {
	var failed error
	for _, region := range r.Regions() {
		p, err := r.Cells[region].PasskeyByCredentialID(ctx, credentialID)
		switch {
		case err == nil:
			home, err := r.Region(ctx, p.TenantID)
			if err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
				return nil, err
			}
			if home == region {
				if r.Frozen(p.TenantID) {
					return nil, errFrozen
				}
				return p, nil
			}
		case vault.IsCode(err, vault.ENOTFOUND):
		default:
			failed = err
		}
	}
	if failed != nil {
		return nil, failed
	}
	return nil, vault.Errorf(vault.ENOTFOUND, "Passkey not found.")
}

func (r *Router) UsePasskey(ctx context.Context, tenantID, id string, signCount uint32, credential []byte) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.UsePasskey(ctx, tenantID, id, signCount, credential) })
}

func (r *Router) DeletePasskey(ctx context.Context, tenantID, userID, id string) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.DeletePasskey(ctx, tenantID, userID, id) })
}

func (r *Router) PasskeySignIn(ctx context.Context, tenantID string) (bool, error) {
	return inCell(ctx, r, tenantID, func(db *sqlite.DB) (bool, error) { return db.PasskeySignIn(ctx, tenantID) })
}

func (r *Router) SetPasskeySignIn(ctx context.Context, tenantID string, on bool, by string) error {
	return onCell(ctx, r, tenantID, func(db *sqlite.DB) error { return db.SetPasskeySignIn(ctx, tenantID, on, by) })
}
