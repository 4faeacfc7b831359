package residency_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite"

	"github.com/casevault/casevault/residency"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/fs"
	"github.com/casevault/casevault/vault/s3/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.Run(m)) }

// testKey is a note key named name from a fixed seed, so that signatures
// are the same on every run (Ed25519 signs deterministically).
type testKey struct {
	signer note.Signer
	vkey   string
}

func newTestKey(tb testing.TB, name string) testKey {
	tb.Helper()
	seed := sha256.Sum256([]byte("residency test key " + name))
	skey, vkey, err := note.GenerateKey(bytes.NewReader(seed[:]), name)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	return testKey{signer: s, vkey: vkey}
}

// newFS returns a vault/fs store in dir.
func newFS(tb testing.TB, dir string) *fs.Store {
	tb.Helper()
	st, err := fs.New(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// put stores b under key.
func put(tb testing.TB, st vault.BlobStore, key string, b []byte) {
	tb.Helper()
	if _, err := st.Put(context.Background(), key, bytes.NewReader(b), int64(len(b))); err != nil {
		tb.Fatalf("Put %s: %v", key, err)
	}
}

// sqliteWAL creates a SQLite database at path in WAL mode with a table
// holding row, and returns it open, automatic checkpoints off, so that the
// row is in path-wal until Close.
func sqliteWAL(tb testing.TB, path, row string) *sql.DB {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	for _, q := range []string{
		"CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)",
		"INSERT INTO t (v) VALUES ('" + strings.ReplaceAll(row, "'", "''") + "')",
	} {
		if _, err := db.Exec(q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		tb.Fatalf("journal_mode: got %q (%v), want wal", mode, err)
	}
	return db
}

// fixedClock returns a clock that always says t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// cellFixture is a ca firm in its own fs store (beside another ca firm's
// objects) and a us cell: a directory with a SQLite database in WAL mode,
// its store, and another firm's objects.
type cellFixture struct {
	caStore, usStore *fs.Store
	usDir            string
	in               residency.Input
	ca, us           testKey
}

const caFirm = "ten_cafirm0001"

func newCellFixture(t *testing.T) *cellFixture {
	t.Helper()
	root := t.TempDir()
	f := &cellFixture{usDir: filepath.Join(root, "regions", "us")}
	caBlobs := filepath.Join(root, "regions", "ca", "blobs")
	f.caStore = newFS(t, caBlobs)
	put(t, f.caStore, caFirm+"/doc_1/v1", []byte("ciphertext one"))
	put(t, f.caStore, caFirm+"/doc_2/v1", bytes.Repeat([]byte{0xA5}, 70_000))
	put(t, f.caStore, "ten_otherca/doc_9/v1", []byte("another ca firm"))
	f.usStore = newFS(t, filepath.Join(f.usDir, "blobs"))
	put(t, f.usStore, "ten_usfirm/doc_3/v1", []byte("a us firm's ciphertext"))
	sqliteWAL(t, filepath.Join(f.usDir, "casevault.db"), "ten_usfirm owner@us.example")
	f.ca, f.us = newTestKey(t, "casevault-audit-ca"), newTestKey(t, "casevault-audit-us")
	f.in = residency.Input{
		Tenant: caFirm, Region: "ca",
		Stores: []residency.StoreInput{{Desc: residency.StoreDesc{Kind: residency.KindFS, Path: caBlobs}, Store: f.caStore, Prefix: caFirm + "/"}},
		OtherCells: []residency.CellInput{{Region: "us", Dir: f.usDir, Stores: []residency.StoreInput{
			{Desc: residency.StoreDesc{Kind: residency.KindFS, Path: filepath.Join(f.usDir, "blobs")}, Store: f.usStore}}}},
		Needles: [][]byte{[]byte("ann@ca.example"), []byte("MARKER-CA-7f3e")},
		Moves: []residency.Move{{From: "us", To: "ca", HandoverSeq: 41,
			Started:  residency.Time{Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)},
			Finished: residency.Time{Time: time.Date(2026, 3, 1, 10, 5, 0, 0, time.UTC)}}},
		Now: fixedClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)),
	}
	return f
}

// build builds and signs f's report with the ca key.
func (f *cellFixture) build(t *testing.T) ([]byte, *residency.Report) {
	t.Helper()
	r, err := residency.Build(context.Background(), f.in)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	signed, err := r.Sign(f.ca.signer)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return signed, r
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return fmt.Sprintf("%x", s)
}
