package vaulttest

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// MarkersInDatabase reads the SQLite database at path and its -wal and
// -shm files byte by byte and returns the markers found in them,
// case-insensitively, as "file: marker", and how many bytes it read (0 when
// none of the files exists).
func MarkersInDatabase(tb testing.TB, path string, markers ...string) (hits []string, read int) {
	tb.Helper()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			tb.Fatal(err)
		}
		read += len(b)
		b = bytes.ToLower(b)
		for _, m := range markers {
			if bytes.Contains(b, []byte(strings.ToLower(m))) {
				hits = append(hits, filepath.Base(p)+": "+m)
			}
		}
	}
	return hits, read
}

// DropTriggers drops every trigger of the SQLite database db, as anyone who
// can write the file can, so that a test may then edit the append-only
// tables behind the server's back.
func DropTriggers(tb testing.TB, db *sql.DB) {
	tb.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'trigger'`)
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		if _, err := db.Exec(`DROP TRIGGER "` + n + `"`); err != nil {
			tb.Fatal(err)
		}
	}
}
