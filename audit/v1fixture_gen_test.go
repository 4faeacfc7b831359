package audit_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

// TestGenerateV1Fixture writes audit/testdata/v1: a log of format version 1
// and its bundles, made with the code of the last commit before version 2.
// It runs only when CASEVAULT_GEN_V1 is set; it was run once and the
// result committed.
func TestGenerateV1Fixture(t *testing.T) {
	if os.Getenv("CASEVAULT_GEN_V1") == "" {
		t.Skip("set CASEVAULT_GEN_V1=1 to regenerate")
	}
	ctx := context.Background()
	dir := filepath.Join("testdata", "v1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := note.GenerateKey(nil, "casevault-audit-v1fixture")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(90 * time.Second); return clock }
	dbPath := filepath.Join(t.TempDir(), "audit.db")
	l, err := audit.Open(ctx, dbPath, audit.Options{
		Sealer: &xorSealer{}, Now: now, CheckpointInterval: time.Hour,
		Signer: func(context.Context, string) (note.Signer, string, error) { return signer, vkey, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	const (
		firm   = "ten_v1fixture0000000000000000"
		owner  = "usr_v1owner00000000000000000"
		lawyer = "usr_v1lawyer0000000000000000"
		matter = "mat_v1matter0000000000000000"
		doc    = "doc_v1doc00000000000000000000"
	)
	events := []*vault.AuditEvent{
		{TenantID: firm, ActorID: vault.ActorOperator, Action: vault.ActTenantCreate, ObjectType: "tenant", ObjectID: firm,
			Outcome: "ok", Details: map[string]string{"region": "us", "owner_id": owner, "owner_email": "owner@v1.example"}},
		{TenantID: firm, ActorID: owner, ActorEmail: "owner@v1.example", Source: "192.0.2.10", UserAgent: "Mozilla/5.0 (v1)",
			Action: vault.ActLogin, ObjectType: "token", ObjectID: "tok_v1session000000000000000", Outcome: "ok",
			Details: map[string]string{"kind": "session", "expires_at": "2026-03-03T09:00:00Z"}},
		{TenantID: firm, ActorID: owner, ActorEmail: "owner@v1.example", Source: "192.0.2.10", UserAgent: "Mozilla/5.0 (v1)",
			Action: vault.ActUserCreate, ObjectType: "user", ObjectID: lawyer, Outcome: "ok",
			Details: map[string]string{"email": "lawyer@v1.example", "role": "lawyer"}},
		{TenantID: firm, ActorID: owner, ActorEmail: "owner@v1.example", Source: "192.0.2.10", UserAgent: "Mozilla/5.0 (v1)",
			Action: vault.ActMatterCreate, ObjectType: "matter", ObjectID: matter, Outcome: "ok",
			Details: map[string]string{"matter_id": matter}, Private: map[string]string{"name": "Henderson merger", "client": "Henderson & Co"}},
		{TenantID: firm, ActorID: lawyer, ActorEmail: "lawyer@v1.example", Source: "198.51.100.7", UserAgent: "curl/8.5",
			Action: vault.ActDocumentUpload, ObjectType: "document", ObjectID: doc, Outcome: "ok",
			Details: map[string]string{"matter_id": matter, "version": "1", "size": "1200", "content_type": "application/pdf"},
			Private: map[string]string{"name": "Term sheet.pdf"}},
		{TenantID: firm, ActorID: lawyer, ActorEmail: "lawyer@v1.example", Source: "198.51.100.7", UserAgent: "curl/8.5",
			Action: vault.ActDocumentDownload, ObjectType: "document", ObjectID: doc, Outcome: "ok",
			Details: map[string]string{"matter_id": matter, "version": "1", "offset": "0", "length": "1200"},
			Private: map[string]string{"name": "Term sheet.pdf"}},
		{TenantID: firm, ObjectType: "user", ObjectID: lawyer, ActorEmail: "lawyer@v1.example", Source: "198.51.100.7",
			UserAgent: "curl/8.5", Action: vault.ActLoginFailed, Outcome: "denied", Details: map[string]string{"reason": "bad_credentials"}},
		{TenantID: "", ObjectType: "user", Source: "203.0.113.99", UserAgent: "python-requests/2.31",
			Action: vault.ActLoginFailed, Outcome: "denied", Details: map[string]string{"reason": "bad_credentials", "email": "nobody@v1.example"}},
		{TenantID: "", ObjectType: "user", Source: "203.0.113.99", UserAgent: "python-requests/2.31",
			Action: vault.ActLoginFailed, Outcome: "denied", Details: map[string]string{"reason": "rate_limited", "email": "nobody@v1.example"}},
	}
	for i, e := range events {
		if _, err := l.Append(ctx, e); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if i == 3 {
			if _, err := l.Checkpoint(ctx, firm); err != nil {
				t.Fatal(err)
			}
		}
	}
	opener := audit.SealerOpener{Sealer: &xorSealer{}}
	exportedAt := time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)
	write := func(name, tenant string, f audit.Filter) {
		var b bytes.Buffer
		if err := audit.WriteBundle(ctx, &b, l, opener, tenant, f, exportedAt); err != nil {
			t.Fatal(err)
		}
		if _, err := audit.Verify(bytes.NewReader(b.Bytes()), audit.VerifyOptions{TrustedKey: vkey}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("firm-complete.jsonl", firm, audit.Filter{})
	write("firm-filtered.jsonl", firm, audit.Filter{ActorID: lawyer})
	write("service-complete.jsonl", "", audit.Filter{})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "verifier-key.txt"), []byte(vkey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The signer key lets tests append version 2 events to the copy of
	// this log and sign its checkpoints: a test key, used nowhere else.
	if err := os.WriteFile(filepath.Join(dir, "signer-key.txt"), []byte(skey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "audit.db"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}
