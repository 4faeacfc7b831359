package vaulttest

import (
	"bytes"
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
