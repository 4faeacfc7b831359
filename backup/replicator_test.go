package backup_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/casevault/casevault/backup"
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

// scanDir reports the files under dir whose bytes contain marker.
func scanDir(tb testing.TB, dir string, marker []byte) []string {
	tb.Helper()
	var hits []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, marker) {
			hits = append(hits, p)
		}
		return nil
	})
	return hits
}

func TestReplicator_BackupAndRestore(t *testing.T) {
	ctx := context.Background()
	cell := t.TempDir()
	path := filepath.Join(cell, "casevault.db")
	db := openWAL(t, path)
	store, storeDir := newStore(t)
	key := newKey(t, t.TempDir(), "us")

	r, err := backup.Start(ctx, map[string]string{backup.DBMetadata: path}, backup.Options{
		Store: store, Key: key, Interval: 100 * time.Millisecond,
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

	for _, m := range []string{markerA, markerB} {
		if hits := scanDir(t, storeDir, []byte(m)); len(hits) > 0 {
			t.Errorf("backup objects contain %s: %v", m, hits)
		}
	}

	out := t.TempDir()
	latest := filepath.Join(out, "latest.db")
	if err := backup.Restore(ctx, backup.RestoreOptions{Store: store, Key: key, DB: backup.DBMetadata, Output: latest}); err != nil {
		t.Fatal(err)
	}
	if got := values(t, latest); len(got) != 2 || got[0] != markerA || got[1] != markerB {
		t.Errorf("latest: got %q, want [%s %s]", got, markerA, markerB)
	}
	early := filepath.Join(out, "early.db")
	if err := backup.Restore(ctx, backup.RestoreOptions{Store: store, Key: key, DB: backup.DBMetadata, Output: early, At: at}); err != nil {
		t.Fatal(err)
	}
	if got := values(t, early); len(got) != 1 || got[0] != markerA {
		t.Errorf("at %s: got %q, want [%s]", at, got, markerA)
	}
	if err := backup.Restore(ctx, backup.RestoreOptions{Store: store, Key: newKey(t, t.TempDir(), "us"), DB: backup.DBMetadata,
		Output: filepath.Join(out, "otherkey.db")}); err == nil {
		t.Error("restore with another backup key: got nil error")
	}
}
