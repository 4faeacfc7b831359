package keys

import (
	"context"

	"github.com/casevault/casevault/vault"
)

// RewrapTenantKeysets returns a firm's keysets, wrapped by region from's
// master key and bound to from, wrapped instead by region to's master key
// and bound to to, for moving the firm from one region to the other. The
// keys inside are the same, so every document and field written under them
// still opens; nothing is stored, and the keysets in the store are not
// read. Errors: invalid (an unknown region, the same region twice),
// cannot_decrypt (ks is not the firm's under from's key), unavailable,
// internal.
func (m *Manager) RewrapTenantKeysets(ctx context.Context, tenantID, from, to string, ks vault.TenantKeysets) (vault.TenantKeysets, error) {
	if tenantID == "" {
		return vault.TenantKeysets{}, vault.Errorf(vault.EINVALID, "Tenant id is empty.")
	}
	if from == to {
		return vault.TenantKeysets{}, vault.Errorf(vault.EINVALID, "Rewrapping needs two different regions.")
	}
	for _, r := range []string{from, to} {
		if _, ok := m.masters[r]; !ok {
			return vault.TenantKeysets{}, vault.Errorf(vault.EINVALID, "Unknown region %q.", r)
		}
	}
	oldKEK, err := m.kek(ctx, from)
	if err != nil {
		return vault.TenantKeysets{}, err
	}
	newKEK, err := m.kek(ctx, to)
	if err != nil {
		return vault.TenantKeysets{}, err
	}
	docH, fieldH, err := unwrapPair(oldKEK, tenantID, from, ks)
	if err != nil {
		return vault.TenantKeysets{}, err
	}
	return wrapPair(newKEK, tenantID, to, docH, fieldH)
}
