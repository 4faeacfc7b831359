package backup_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/casevault/casevault/backup"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/s3/s3test"
)

// openWAL opens (creating) a SQLite file in WAL mode with a table t.
func openWAL(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS t (v TEXT)`); err != nil {
		tb.Fatal(err)
	}
	return db
}

func values(tb testing.TB, path string) []string {
	tb.Helper()
	db := openWAL(tb, path)
	rows, err := db.Query(`SELECT v FROM t ORDER BY rowid`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		rows.Scan(&v)
		out = append(out, v)
	}
	return out
}

func TestReplicator_BackupAndRestore(t *testing.T) {
	store, _ := newStore(t)
	backupAndRestore(t, store, "")
}

// TestReplicator_MinIO backs up to a real MinIO bucket, under a prefix.
func TestReplicator_MinIO(t *testing.T) {
	srv := s3test.MinIO(t)
	backupAndRestore(t, srv.NewStore(t, "backup"), "cell/us")
}

// storedBytes returns every object of store, concatenated, checking that
// each key starts with prefix.
func storedBytes(t *testing.T, store vault.BlobStore, prefix string) []byte {
	t.Helper()
	ctx := context.Background()
	var all []byte
	n := 0
	err := store.List(ctx, "", func(bi vault.BlobInfo) error {
		n++
		if !strings.HasPrefix(bi.Key, prefix) {
			t.Errorf("object %s is not under prefix %q", bi.Key, prefix)
		}
		rc, err := store.Get(ctx, bi.Key, 0, -1)
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		all = append(all, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the backup holds no object")
	}
	return all
}

// backupAndRestore backs up a SQLite file to store, checks that no object
// holds its plaintext, and restores it latest and as of a time between two
// commits.
func backupAndRestore(t *testing.T, store vault.BlobStore, prefix string) {
	ctx := context.Background()
	cell := t.TempDir()
	path := filepath.Join(cell, "casevault.db")
	db := openWAL(t, path)
	key := newKey(t, t.TempDir(), "us")

	r, err := backup.Start(ctx, map[string]string{backup.DBMetadata: path}, backup.Options{
		Store: store, Prefix: prefix, Key: key, Interval: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)

	const markerA, markerB = "MARKER-ALPHA-7f3a9c", "MARKER-BRAVO-2b81de"
	if _, err := db.Exec(`INSERT INTO t (v) VALUES (?)`, markerA); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	at := time.Now()
	time.Sleep(20 * time.Millisecond)
	if _, err := db.Exec(`INSERT INTO t (v) VALUES (?)`, markerB); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}

	stored := storedBytes(t, store, prefix)
	for _, m := range []string{markerA, markerB} {
		if bytes.Contains(stored, []byte(m)) {
			t.Errorf("backup objects contain %s", m)
		}
	}

	out := t.TempDir()
	latest := filepath.Join(out, "latest.db")
	if err := backup.Restore(ctx, backup.RestoreOptions{Store: store, Prefix: prefix, Key: key, DB: backup.DBMetadata, Output: latest}); err != nil {
		t.Fatal(err)
	}
	if got := values(t, latest); len(got) != 2 || got[0] != markerA || got[1] != markerB {
		t.Errorf("latest: got %q, want [%s %s]", got, markerA, markerB)
	}
	early := filepath.Join(out, "early.db")
	if err := backup.Restore(ctx, backup.RestoreOptions{Store: store, Prefix: prefix, Key: key, DB: backup.DBMetadata, Output: early, At: at}); err != nil {
		t.Fatal(err)
	}
	if got := values(t, early); len(got) != 1 || got[0] != markerA {
		t.Errorf("at %s: got %q, want [%s]", at, got, markerA)
	}
	if err := backup.Restore(ctx, backup.RestoreOptions{Store: store, Prefix: prefix, Key: newKey(t, t.TempDir(), "us"), DB: backup.DBMetadata,
		Output: filepath.Join(out, "otherkey.db")}); err == nil {
		t.Error("restore with another backup key: got nil error")
	}
}

// TestRestore_Tampered flips one byte of each backup object in turn: every
// restore that reads the object fails instead of restoring something else.
func TestRestore_Tampered(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casevault.db")
	db := openWAL(t, path)
	store, _ := newStore(t)
	key := newKey(t, t.TempDir(), "us")
	r, err := backup.Start(ctx, map[string]string{backup.DBMetadata: path}, backup.Options{Store: store, Key: key, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO t (v) VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var objs []vault.BlobInfo
	store.List(ctx, "", func(bi vault.BlobInfo) error { objs = append(objs, bi); return nil })
	refused := 0
	for i, bi := range objs {
		rc, err := store.Get(ctx, bi.Key, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		orig, _ := io.ReadAll(rc)
		rc.Close()
		bad := bytes.Clone(orig)
		bad[len(bad)/2] ^= 0x40
		store.Put(ctx, bi.Key, bytes.NewReader(bad), int64(len(bad)))
		out := filepath.Join(t.TempDir(), "restored.db")
		err = backup.Restore(ctx, backup.RestoreOptions{Store: store, Key: key, DB: backup.DBMetadata, Output: out})
		store.Put(ctx, bi.Key, bytes.NewReader(orig), int64(len(orig)))
		if err == nil {
			// The plan may not need this object (an L0 file a snapshot
			// covers); it then must not be read at all.
			continue
		}
		refused++
		if !vault.IsCode(err, vault.ECANNOTDECRYPT) {
			t.Errorf("object %d (%s) flipped: restore error %v, want cannot_decrypt", i, bi.Key, err)
		}
	}
	if refused == 0 {
		t.Fatalf("no flipped object of %d made the restore fail", len(objs))
	}
	t.Logf("%d of %d flipped objects were read by the restore and refused", refused, len(objs))
	out := filepath.Join(t.TempDir(), "restored.db")
	if err := backup.Restore(ctx, backup.RestoreOptions{Store: store, Key: key, DB: backup.DBMetadata, Output: out}); err != nil {
		t.Fatalf("restore of the untouched backup: %v", err)
	}
	if got := values(t, out); len(got) != 1 || got[0] != "x" {
		t.Errorf("restored: got %q, want [x]", got)
	}
}
