package vaulttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Tool returns the path of a test server binary that `make test` installs
// (pebble, …): from $CASEVAULT_TOOLS, ~/.cache/casevault/bin or $PATH. When
// it is missing the test skips — or, with CI set, fails, so CI never passes
// by skipping.
func Tool(tb testing.TB, name string) string {
	tb.Helper()
	if p, ok := FindTool(name); ok {
		return p
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s is not installed (make test builds it into ~/.cache/casevault/bin); CI must not skip", name)
	}
	tb.Skipf("%s is not installed; run make test, which builds it", name)
	return ""
}

// FindTool looks for an executable named name in $CASEVAULT_TOOLS,
// ~/.cache/casevault/bin (where `make test` installs test servers) and
// $PATH, in that order.
func FindTool(name string) (string, bool) {
	var dirs []string
	if d := os.Getenv("CASEVAULT_TOOLS"); d != "" {
		dirs = append(dirs, d)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "casevault", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if Executable(p) {
			return p, true
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	return "", false
}

// Executable reports whether p is a regular file someone may execute.
func Executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
