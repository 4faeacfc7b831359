package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/backup"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
	vaultfs "github.com/casevault/casevault/vault/fs"
	"github.com/casevault/casevault/vault/s3/s3test"
	"github.com/casevault/casevault/vault/vaulttest"
)

// benchEnvInt reads a positive integer from the environment, or def.
func benchEnvInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// restoreFixture is a data directory whose us cell holds one firm with
// docs documents (metadata rows, and a small blob each) and events audit
// events, backed up once (a full snapshot) to DIR/backups/us. It is built
// once and cached in the system's temporary directory, since building it
// takes minutes.
type restoreFixture struct {
	root, dataDir, config, tenant string
	docs, events                  int
}

func newRestoreFixture(b *testing.B, docs, events int) *restoreFixture {
	b.Helper()
	f := &restoreFixture{root: filepath.Join(os.TempDir(), fmt.Sprintf("casevault-bench-restore-%d-%d", docs, events)), docs: docs, events: events}
	f.dataDir, f.config = filepath.Join(f.root, "data"), filepath.Join(f.root, "casevault.yaml")
	if t, err := os.ReadFile(filepath.Join(f.root, "ready")); err == nil {
		f.tenant = strings.TrimSpace(string(t))
		b.Logf("fixture cached in %s", f.root)
		return f
	}
	os.RemoveAll(f.root)
	if err := os.MkdirAll(f.root, 0o700); err != nil {
		b.Fatal(err)
	}
	yml := fmt.Sprintf("regions:\n  us:\n    type: fs\n    master_key: {type: file}\n    backup: {dir: %s}\n  ca:\n    type: fs\n    master_key: {type: file}\n    backup: off\n",
		filepath.Join(f.root, "backups", "us"))
	if err := os.WriteFile(f.config, []byte(yml), 0o600); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	ctx := context.Background()
	cf := &commonFlags{configFile: f.config, dataDir: f.dataDir}
	m, err := cf.open(ctx, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	m.Service.PasswordParams = vaulttest.FastPasswords
	ten, owner, _, err := m.Service.CreateTenant(ctx, vault.NewTenant{Name: "Bench LLP", Region: "us", Owner: vault.NewUser{Email: "owner@bench.example", Name: "Owner"}})
	if err != nil {
		b.Fatal(err)
	}
	f.tenant = ten.ID
	matter, err := m.Service.CreateMatter(ctx, owner, "Matter", "Client")
	if err != nil {
		b.Fatal(err)
	}
	first, err := m.Service.PutDocument(ctx, owner, vault.NewDocument{MatterID: matter.ID, Name: "first.pdf"}, strings.NewReader("contents"), 8)
	if err != nil {
		b.Fatal(err)
	}
	vs, err := m.Service.Store.Versions(ctx, ten.ID, first.ID)
	if err != nil || len(vs) != 1 {
		b.Fatalf("versions: %v", err)
	}
	store := m.Service.Regions["us"].(*vaultfs.Store)
	blob, err := os.ReadFile(filepath.Join(store.Dir(), filepath.FromSlash(vs[0].BlobKey)))
	if err != nil {
		b.Fatal(err)
	}
	// The metadata, one transaction per document as the service commits
	// it (each version's blob a copy of the first one's, written without
	// fsync: a fixture, not an upload), and at the same time the audit
	// events, through the log's own append path, from many goroutines at
	// once so that its writer commits them in batches.
	log, err := m.Audit.Log(ctx, ten.ID)
	if err != nil {
		b.Fatal(err)
	}
	have, err := log.Size(ctx, ten.ID)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var fixErr error
	fail := func(err error) {
		mu.Lock()
		fixErr = errors.Join(fixErr, err)
		mu.Unlock()
	}
	const docWorkers, auditWorkers = 1, 64
	for w := range docWorkers {
		wg.Go(func() {
			for i := 1 + w; i < docs; i += docWorkers {
				now := time.Now().UTC()
				d := &vault.Document{ID: vault.NewID(vault.PrefixDocument), TenantID: ten.ID, MatterID: matter.ID, Name: fmt.Sprintf("document %d.pdf", i),
					ContentType: "application/pdf", CurrentVersion: 1, Size: first.Size, CreatedBy: owner.ID, CreatedAt: now, UpdatedAt: now}
				v := *vs[0]
				v.DocumentID, v.BlobKey, v.CreatedAt = d.ID, ten.ID+"/"+vault.NewID(vault.PrefixBlob), now
				p := filepath.Join(store.Dir(), filepath.FromSlash(v.BlobKey))
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					fail(err)
					return
				}
				if err := os.WriteFile(p, blob, 0o600); err != nil {
					fail(err)
					return
				}
				if err := m.Service.Store.CreatePendingBlob(ctx, vault.PendingBlob{Key: v.BlobKey, TenantID: ten.ID, Region: "us", CreatedAt: now}); err != nil {
					fail(err)
					return
				}
				if err := m.Service.Store.CreateDocument(ctx, d, &v); err != nil {
					fail(fmt.Errorf("document %d: %w", i, err))
					return
				}
			}
		})
	}
	todo := int64(events) - have
	for w := range auditWorkers {
		wg.Go(func() {
			for i := int64(w); i < todo; i += auditWorkers {
				_, err := log.Append(ctx, &vault.AuditEvent{TenantID: ten.ID, ActorID: owner.ID, ActorEmail: owner.Email, Source: "127.0.0.1",
					Action: vault.ActDocumentView, ObjectType: "document", ObjectID: first.ID, Outcome: vault.OutcomeOK,
					Details: map[string]string{"version": "1"}, Private: map[string]string{}})
				if err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if fixErr != nil {
		b.Fatal(fixErr)
	}
	if err := m.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("fixture: %d documents and %d audit events in %.0f s", docs, events, time.Since(start).Seconds())

	// One full backup of the cell, as serve's would be after a snapshot.
	c := &m.Config
	mk, err := loadMasterKey(c.MasterKeyPath("us"))
	if err != nil {
		b.Fatal(err)
	}
	key, err := keys.LoadOrCreateBackupKey(ctx, c.BackupKeyPath("us"), "us", mk)
	if err != nil {
		b.Fatal(err)
	}
	bstore, prefix, err := openBackupStore(ctx, c, "us")
	if err != nil {
		b.Fatal(err)
	}
	r, err := backup.Start(ctx, map[string]string{backup.DBMetadata: c.CellDatabasePath("us"), backup.DBAudit: c.CellAuditPath("us")},
		backup.Options{Store: bstore, Prefix: prefix, Key: key, Interval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Snapshot(ctx); err != nil {
		b.Fatal(err)
	}
	if err := r.Close(ctx); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.root, "ready"), []byte(f.tenant), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Logf("fixture built in %.0f s, cached in %s", time.Since(start).Seconds(), f.root)
	return f
}

// BenchmarkRestore_Cell restores a cell of 100,000 documents' metadata
// and 1,000,000 audit events (CASEVAULT_BENCH_RESTORE_DOCS, _EVENTS) from
// its fs backup and from the same backup objects in MinIO, and reports
// the restore's seconds (both databases written and integrity-checked by
// Litestream) apart from the check's (every firm's log exported and
// verified, every version's blob looked up): the RTO of a lost database.
func BenchmarkRestore_Cell(b *testing.B) {
	docs := benchEnvInt(b, "CASEVAULT_BENCH_RESTORE_DOCS", 100_000)
	events := benchEnvInt(b, "CASEVAULT_BENCH_RESTORE_EVENTS", 1_000_000)
	f := newRestoreFixture(b, docs, events)
	ctx := context.Background()
	cf := &commonFlags{configFile: f.config, dataDir: f.dataDir}
	m, err := cf.load(io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	mk, err := loadMasterKey(m.Config.MasterKeyPath("us"))
	if err != nil {
		b.Fatal(err)
	}
	key, err := keys.LoadBackupKey(ctx, m.Config.BackupKeyPath("us"), "us", mk)
	if err != nil {
		b.Fatal(err)
	}
	fsBackup, _, err := openBackupStore(ctx, &m.Config, "us")
	if err != nil {
		b.Fatal(err)
	}
	store, err := openStore(ctx, &m.Config, "us", m.Config.Regions["us"], m.Log)
	if err != nil {
		b.Fatal(err)
	}
	var backupBytes int64
	filepath.WalkDir(m.Config.BackupDir("us"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				backupBytes += fi.Size()
			}
		}
		return err
	})

	// The same objects in a MinIO bucket.
	srv3 := s3test.MinIO(b)
	s3Backup := srv3.NewStore(b, "restore")
	copyStart := time.Now()
	err = fsBackup.List(ctx, "", func(bi vault.BlobInfo) error {
		rc, err := fsBackup.Get(ctx, bi.Key, 0, -1)
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = s3Backup.Put(ctx, bi.Key, rc, bi.Size)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("backup: %.1f MB; copied into MinIO in %.1f s", float64(backupBytes)/1e6, time.Since(copyStart).Seconds())

	for i := 0; i < b.N; i++ {
		for _, src := range []struct {
			name  string
			store vault.BlobStore
		}{{"fs", fsBackup}, {"minio", s3Backup}} {
			dir := b.TempDir()
			start := time.Now()
			for _, db := range []string{backup.DBMetadata, backup.DBAudit} {
				if err := backup.Restore(ctx, backup.RestoreOptions{Store: src.store, Key: key, DB: db, Output: filepath.Join(dir, db+".db")}); err != nil {
					b.Fatalf("restore %s from %s: %v", db, src.name, err)
				}
			}
			restoreSecs := time.Since(start).Seconds()
			var dbBytes int64
			for _, db := range []string{backup.DBMetadata, backup.DBAudit} {
				if fi, err := os.Stat(filepath.Join(dir, db+".db")); err == nil {
					dbBytes += fi.Size()
				}
			}
			sum := &restoreSummary{}
			start = time.Now()
			if err := checkRestoredCopy(ctx, m, "us", dir, mk, store, 0, sum); err != nil {
				b.Fatal(err)
			}
			checkSecs := time.Since(start).Seconds()
			if !sum.OK || len(sum.Firms) != 1 || sum.Firms[0].Documents != docs || sum.Firms[0].AuditEvents < int64(events) {
				b.Fatalf("check of the restore from %s: %+v", src.name, sum)
			}
			b.ReportMetric(restoreSecs, src.name+"-restore-s")
			b.ReportMetric(checkSecs, src.name+"-check-s")
			b.Logf("%s: restored %d documents, %d audit events (%.1f MB of databases) in %.1f s; checked in %.1f s (log verified through %d); total %.1f s",
				src.name, sum.Firms[0].Documents, sum.Firms[0].AuditEvents, float64(dbBytes)/1e6, restoreSecs, checkSecs, sum.Firms[0].AuditVerified, restoreSecs+checkSecs)
			os.RemoveAll(dir)
		}
	}
}
