package vaulttest

import (
	"context"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/keys"
)

// UseAuditLog replaces v's in-memory audit log with the real one: an
// audit.Log in v.Dir/audit.db, private parts sealed with the firms' field
// keys, checkpoints signed with per-region keys wrapped by v's master keys
// (the service log uses region "us"'s). mod, if not nil, adjusts the
// options. The log is closed by tb.Cleanup.
func UseAuditLog(tb testing.TB, v *Vault, mod func(*audit.Options)) *audit.Log {
	tb.Helper()
	ctx := context.Background()
	signers := map[string]*keys.AuditSigner{}
	for region, mk := range v.Masters {
		s, err := keys.LoadOrCreateAuditSigner(ctx, filepath.Join(v.Dir, "keys", region+"-audit-signer.json"), region, mk)
		if err != nil {
			tb.Fatal(err)
		}
		signers[region] = s
	}
	svc, err := keys.LoadOrCreateAuditSigner(ctx, filepath.Join(v.Dir, "keys", "service-audit-signer.json"), "service", v.Masters["us"])
	if err != nil {
		tb.Fatal(err)
	}
	opts := audit.Options{
		Sealer: v.Keys,
		Now:    v.Svc.Now,
		Signer: func(ctx context.Context, tenant string) (note.Signer, string, error) {
			if tenant == "" {
				return svc.Signer, svc.VerifierKey, nil
			}
			t, err := v.DB.Tenant(ctx, tenant)
			if err != nil {
				return nil, "", err
			}
			s := signers[t.Region]
			return s.Signer, s.VerifierKey, nil
		},
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
