package vault

import "context"

// A firm's creation is recorded in its own audit log before the firm is
// stored (DESIGN.md invariant 4), and that event's private part (who set it
// up, from where) is sealed with the firm's field key. The keysets of a
// firm being created travel in the context until its row holds them.

type newKeysetsKey struct{}

type newKeysets struct {
	tenantID, region string
	ks               TenantKeysets
}

// WithNewTenantKeysets returns ctx carrying the freshly generated keysets of
// tenantID, a firm not stored yet. A KeyManager uses them only while its
// store has no keysets for that firm, and does not cache them.
func WithNewTenantKeysets(ctx context.Context, tenantID, region string, ks TenantKeysets) context.Context {
	return context.WithValue(ctx, newKeysetsKey{}, newKeysets{tenantID: tenantID, region: region, ks: ks})
}

// NewTenantKeysetsFrom returns the keysets WithNewTenantKeysets put in ctx
// for tenantID.
func NewTenantKeysetsFrom(ctx context.Context, tenantID string) (region string, ks TenantKeysets, ok bool) {
	n, ok := ctx.Value(newKeysetsKey{}).(newKeysets)
	if !ok || tenantID == "" || n.tenantID != tenantID {
		return "", TenantKeysets{}, false
	}
	return n.region, n.ks, true
}
