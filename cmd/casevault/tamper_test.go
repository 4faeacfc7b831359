package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/config"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// openMain opens the whole program on dataDir without listening.
func openMain(t *testing.T, dataDir string) *Main {
	t.Helper()
	m := NewMain()
	m.Config = config.Default()
	m.Config.DataDir = dataDir
	if err := m.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAuditVerify_TamperedDatabase edits, deletes, reorders and inserts
// rows directly in the audit SQLite file (dropping its append-only
// triggers, as someone with the file could), exports the firm's bundle and
// checks that `casevault audit verify` fails naming the sequence number of
// the row tampered with, and passes on the untouched log.
func TestAuditVerify_TamperedDatabase(t *testing.T) {
	const k = 6 // the row tampered with
	cases := []struct {
		name   string
		tamper []string // SQL run on the file; %d is k
	}{
		{"none", nil},
		{"edit", []string{`UPDATE audit_events SET leaf = CAST(replace(CAST(leaf AS TEXT), '"outcome":"ok"', '"outcome":"no"') AS BLOB) WHERE tenant_id = ?1 AND seq = %d`}},
		{"delete", []string{`DELETE FROM audit_events WHERE tenant_id = ?1 AND seq = %d`}},
		{"reorder", []string{
			`CREATE TEMP TABLE sw AS SELECT seq, leaf FROM audit_events WHERE tenant_id = ?1 AND seq IN (%d, %[1]d+1)`,
			`UPDATE audit_events SET leaf = (SELECT leaf FROM sw WHERE sw.seq <> audit_events.seq) WHERE tenant_id = ?1 AND seq IN (%d, %[1]d+1)`,
		}},
		{"insert", []string{
			`UPDATE audit_events SET seq = seq + 1000000 WHERE tenant_id = ?1 AND seq >= %d`,
			`UPDATE audit_events SET seq = seq - 1000000 + 1 WHERE tenant_id = ?1 AND seq >= 1000000`,
			// A forged event that links correctly to the one before it.
			`INSERT INTO audit_events (tenant_id, seq, leaf, time, actor_id, action, object_type, object_id, matter_id, outcome)
			 SELECT tenant_id, %d, ?2, time, actor_id, action, object_type, object_id, matter_id, outcome
			 FROM audit_events WHERE tenant_id = ?1 AND seq = %[1]d - 1`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			dir := newDataDir(t)
			m := openMain(t, dir)
			tenant, owner, _, err := m.Service.CreateTenant(ctx, vault.NewTenant{Name: "Harbour LLP", Region: "us", Owner: vault.NewUser{Email: "owner@harbour.example"}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 4 {
				mt, err := m.Service.CreateMatter(ctx, owner, fmt.Sprintf("Matter %d", i), "Client")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := m.Service.PutDocument(ctx, owner, vault.NewDocument{MatterID: mt.ID, Name: "a.pdf"}, strings.NewReader("x"), 1); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}

			if c.tamper != nil {
				db, err := sql.Open("sqlite", usAuditPath(dir))
				if err != nil {
					t.Fatal(err)
				}
				vaulttest.DropTriggers(t, db)
				for _, q := range c.tamper {
					if strings.Contains(q, "%") {
						q = fmt.Sprintf(q, k)
					}
					res, err := db.Exec(q, tenant.ID, forge(t, db, tenant.ID, k))
					if err != nil {
						t.Fatalf("%s: %v", q, err)
					}
					if n, _ := res.RowsAffected(); n == 0 && !strings.HasPrefix(q, "CREATE") {
						t.Fatalf("%s changed nothing", q)
					}
				}
				db.Close()
			}

			m = openMain(t, dir)
			defer m.Close()
			path := filepath.Join(dir, "bundle.jsonl")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Service.AuditReader.Export(ctx, tenant.ID, vault.AuditFormatJSONL, vault.AuditFilter{}, vault.AuditExport{}, f); err != nil {
				t.Fatal(err)
			}
			f.Close()
			key, err := m.Audit.VerifierKey(ctx, tenant.ID)
			if err != nil {
				t.Fatal(err)
			}

			var stdout, stderr bytes.Buffer
			err = run(ctx, []string{"audit", "verify", "--key", key, path}, &stdout, &stderr)
			if c.tamper == nil {
				if err != nil || !strings.HasPrefix(stdout.String(), "OK: ") {
					t.Fatalf("untouched log: %v\n%s%s", err, stdout.String(), stderr.String())
				}
				return
			}
			if exitCode(err) != 1 {
				t.Fatalf("tampered log (%s) verified: %v\n%s", c.name, err, stdout.String())
			}
			if want := fmt.Sprintf("FAIL at seq %d:", k); !strings.Contains(stderr.String(), want) {
				t.Fatalf("%s: verify said %q, want %q", c.name, stderr.String(), want)
			}
		})
	}
}

// forge builds a well-formed event k that links to event k-1 of the file,
// as a forger who can hash would.
func forge(t *testing.T, db *sql.DB, tenant string, k int64) []byte {
	t.Helper()
	var prev []byte
	if err := db.QueryRow(`SELECT leaf FROM audit_events WHERE tenant_id = ? AND seq = ?`, tenant, k-1).Scan(&prev); err != nil {
		t.Fatal(err)
	}
	e, err := audit.Decode(prev)
	if err != nil {
		t.Fatal(err)
	}
	e.Seq, e.ID, e.Prev = k, vault.NewID("evt"), audit.PrevOf(prev)
	e.Action, e.ObjectType, e.ObjectID, e.Sealed, e.Commit = "document.download", "document", vault.NewID(vault.PrefixDocument), "", ""
	leaf, err := audit.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func TestCLI_AuditKeys(t *testing.T) {
	dir := newDataDir(t)
	out, errOut, err := cli(t, dir, "audit", "keys")
	if err != nil {
		t.Fatalf("audit keys: %v\n%s", err, errOut)
	}
	for _, region := range []string{"us", "ca", "service"} {
		if !strings.Contains(out, region+"\tcasevault-audit-"+region+"+") {
			t.Errorf("audit keys printed %q, no key for %s", out, region)
		}
	}
	// The keys stay the same across runs: what was published stays valid.
	again, _, err := cli(t, dir, "audit", "keys")
	if err != nil || again != out {
		t.Fatalf("second run printed %q, %v", again, err)
	}
}
