package main

import (
	"context"
	"fmt"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/keys"
)

// openAudit opens the audit log with a checkpoint signer per region (each
// firm's checkpoints are signed by its region's key) and one for the
// service-wide log, wrapped by the first region's master key. The service
// log keeps emails and addresses as hashes under the service index key.
func (m *Main) openAudit(ctx context.Context, masters map[string]keys.MasterKey) error {
	signers, err := keys.LoadOrCreateAuditSigners(ctx, masters, m.Config.RegionNames()[0], m.Config.AuditSignerPath)
	if err != nil {
		return err
	}
	m.AuditKeys = signers.VerifierKeys()
	m.AuditKeyHistory = signers.Keys()
	regionOf := func(ctx context.Context, tenantID string) (string, error) {
		t, err := m.DB.Tenant(ctx, tenantID)
		if err != nil {
			return "", err
		}
		return t.Region, nil
	}
	signerOf := signers.For(regionOf)
	// The checkpoint signed last of each log is kept beside its region's
	// signer, outside audit.db (keys.AuditAnchors).
	anchors, err := keys.NewAuditAnchors(masters, m.Config.RegionNames()[0], m.Config.AuditAnchorDir, regionOf)
	if err != nil {
		return err
	}
	l, err := audit.Open(ctx, m.Config.AuditPath(), audit.Options{
		Sealer: m.Keys, Signer: signerOf, Timestamper: signers.TimestampFor(regionOf), Indexer: m.Service.Indexer, Log: m.Log, Anchor: anchors,
		Keys: signers.KeysFor(regionOf), Heartbeat: m.Config.AuditHeartbeat(),
	})
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	m.Audit = l
	m.Service.Audit = l
	m.Service.AuditReader = &audit.Reader{Log: l, Opener: audit.SealerOpener{Sealer: m.Keys}, Now: m.Service.Now}
	return nil
}
