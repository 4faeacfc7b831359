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
	var dirs []string
	if d := os.Getenv("CASEVAULT_TOOLS"); d != "" {
		dirs = append(dirs, d)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "casevault", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s is not installed (make test builds it into ~/.cache/casevault/bin); CI must not skip", name)
	}
	tb.Skipf("%s is not installed; run make test, which builds it", name)
	return ""
}
