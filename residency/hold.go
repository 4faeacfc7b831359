package residency

import (
	"os"
	"strings"
	"sync"
)

// Closing any descriptor of a file drops every POSIX advisory lock
// (fcntl(2)) the process holds on it, SQLite's included. A scan that
// opened and closed a live database, its -wal or its -shm in the server's
// process would leave SQLite's locks there dropped: another process that
// then closes the database (an operator command run beside the server)
// finds itself the last one, checkpoints and deletes the WAL under the
// running server, and Litestream, which guards the WAL with a read
// transaction, loses its place and stops backing the cell up. So the
// scanner does not close a descriptor it opened on a SQLite file while
// its path still names that file: it keeps one per path and reads it with
// ReadAt. Once the path names another file or none, no other process can
// reach the old one by name, and its descriptor is closed.
var held struct {
	sync.Mutex
	files map[string]*os.File // by path
}

// sqliteFile reports whether path names one of SQLite's files.
func sqliteFile(path string) bool {
	for _, s := range []string{".db", ".db-wal", ".db-shm", ".db-journal"} {
		if strings.HasSuffix(path, s) {
			return true
		}
	}
	return false
}

// openHeld returns a descriptor of path that must not be closed: the one
// held for the file as it is now, opened and held on first use. It first
// closes those of paths that no longer name their file.
func openHeld(path string) (*os.File, error) {
	held.Lock()
	defer held.Unlock()
	for p, f := range held.files {
		if !stillNamed(p, f) {
			f.Close()
			delete(held.files, p)
		}
	}
	if f, ok := held.files[path]; ok {
		return f, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if held.files == nil {
		held.files = make(map[string]*os.File)
	}
	held.files[path] = f
	return f, nil
}

// stillNamed reports whether path names the file f is open on.
func stillNamed(path string, f *os.File) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	hfi, err := f.Stat()
	return err == nil && os.SameFile(fi, hfi)
}
