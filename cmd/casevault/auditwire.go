package main

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// openAudit opens the audit log with a checkpoint signer per region (each
// firm's checkpoints are signed by its region's key) and one for the
// service-wide log, wrapped by the first region's master key.
func (m *Main) openAudit(ctx context.Context, masters map[string]keys.MasterKey) error {
	names := m.Config.RegionNames()
	signers := map[string]*keys.AuditSigner{}
	for _, name := range names {
		s, err := keys.LoadOrCreateAuditSigner(ctx, m.Config.AuditSignerPath(name), name, masters[name])
		if err != nil {
			return fmt.Errorf("region %s: audit signer: %w", name, err)
		}
		signers[name] = s
	}
	svc, err := keys.LoadOrCreateAuditSigner(ctx, m.Config.AuditSignerPath("service"), "service", masters[names[0]])
	if err != nil {
		return fmt.Errorf("service audit signer: %w", err)
	}
	m.AuditKeys = map[string]string{"service": svc.VerifierKey}
	for name, s := range signers {
		m.AuditKeys[name] = s.VerifierKey
	}
	var regionOf sync.Map // tenant id → region; a firm's region never changes
	signerOf := func(ctx context.Context, tenant string) (note.Signer, string, error) {
		if tenant == "" {
			return svc.Signer, svc.VerifierKey, nil
		}
		region, ok := regionOf.Load(tenant)
		if !ok {
			t, err := m.DB.Tenant(ctx, tenant)
			if err != nil {
				return nil, "", err
			}
			region = t.Region
			regionOf.Store(tenant, region)
		}
		s, ok := signers[region.(string)]
		if !ok {
			return nil, "", vault.Errorf(vault.EUNAVAILABLE, "No audit signer for region %s.", region)
		}
		return s.Signer, s.VerifierKey, nil
	}
	l, err := audit.Open(ctx, m.Config.AuditPath(), audit.Options{
		Sealer: m.Keys, Signer: signerOf, Log: m.Log,
	})
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	m.Audit = l
	m.Service.Audit = l
	m.Service.AuditReader = &audit.Reader{Log: l, Opener: audit.SealerOpener{Sealer: m.Keys}, Now: m.Service.Now}
	return nil
}
