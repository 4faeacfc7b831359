package main

import (
	"context"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

var _ audit.AnchorDeleter = cellAnchors{}

// Delete deletes a moved firm's anchored checkpoint from this cell's
// region (audit.AnchorDeleter): Log.DropTenant on the old cell's log calls
// it, so the old region keeps nothing of the firm. Errors: invalid (another
// region's), internal.
func (a cellAnchors) Delete(ctx context.Context, region, tenant string) error {
	if region != a.region || region == "" {
		return vault.Errorf(vault.EINVALID, "A cell deletes only its own region's anchors.")
	}
	d, ok := a.Anchor.(audit.AnchorDeleter)
	if !ok {
		return vault.Errorf(vault.EINTERNAL, "These audit anchors cannot be deleted.")
	}
	return d.Delete(ctx, region, tenant)
}
