package vaulttest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/keys"
)

// UseAuditLog replaces v's in-memory audit log with the real one: an
// audit.Log in v.Dir/audit.db, private parts sealed with the firms' field
// keys, checkpoints signed with per-region keys wrapped by v's master keys
// (the service log uses region "us"'s). mod, if not nil, adjusts the
// options. The service log hashes emails and addresses with v's service
// index key. The log is closed by tb.Cleanup.
func UseAuditLog(tb testing.TB, v *Vault, mod func(*audit.Options)) *audit.Log {
	tb.Helper()
	ctx := context.Background()
	signers, err := keys.LoadOrCreateAuditSigners(ctx, v.Masters, "us", func(name string) string {
		return filepath.Join(v.Dir, "keys", name+"-audit-signer.json")
	})
	if err != nil {
		tb.Fatal(err)
	}
	regionOf := func(ctx context.Context, tenantID string) (string, error) {
		t, err := v.DB.Tenant(ctx, tenantID)
		if err != nil {
			return "", err
		}
		return t.Region, nil
	}
	opts := audit.Options{
		Sealer:      v.Keys,
		Indexer:     v.Svc.Indexer,
		Now:         v.Svc.Now,
		Signer:      signers.For(regionOf),
		Keys:        signers.KeysFor(regionOf),
		Timestamper: signers.TimestampFor(regionOf),
	}
	if mod != nil {
		mod(&opts)
	}
	l, err := audit.Open(ctx, filepath.Join(v.Dir, "audit.db"), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	v.Svc.Audit = l
	v.Svc.AuditReader = &audit.Reader{Log: l, Opener: audit.SealerOpener{Sealer: v.Keys}, Now: v.Svc.Now}
	return l
}
