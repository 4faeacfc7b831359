package residency_test

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/casevault/casevault/residency"
)

// TestHoldHelper is the other process of TestScanFiles_KeepsSQLiteLocks:
// it opens the database named by $RESIDENCY_HOLD_DB and closes it.
func TestHoldHelper(t *testing.T) {
	p := os.Getenv("RESIDENCY_HOLD_DB")
	if p == "" {
		t.Skip("helper process only")
	}
	db, err := sql.Open("sqlite", p+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// TestScanFiles_KeepsSQLiteLocks scans a database this process has open
// (its file, -wal and -shm), then lets another process open and close it:
// the scan must not have dropped this process's SQLite locks, or that
// process would checkpoint and delete the WAL under the open database.
func TestScanFiles_KeepsSQLiteLocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "casevault.db")
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
	files := []string{path, path + "-wal", path + "-shm"}
	for range 2 { // the second scan reuses the descriptors
		if _, err := residency.ScanFiles(context.Background(), files, [][]byte{[]byte("needle")}); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldHelper$")
	cmd.Env = append(os.Environ(), "RESIDENCY_HOLD_DB="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("other process: %v\n%s", err, out)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("the WAL of the open database after another process closed it: %v (the scan dropped this process's locks)", err)
	}
}
