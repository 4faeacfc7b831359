package s3test

import (
	"errors"
	"fmt"
	"os"

	"github.com/casevault/casevault/vault/vaulttest"
)

// ErrNotInstalled is wrapped by the error Start and Lookup return when the
// server binary cannot be found. `make test` builds the binaries into
// $HOME/.cache/casevault/bin.
var ErrNotInstalled = errors.New("s3test: server binary not found (run `make test`, which builds it)")

// envVar is the variable that names the full path of each kind's binary.
var envVar = map[string]string{
	KindMinIO:   "CASEVAULT_MINIO",
	KindVersity: "CASEVAULT_VERSITYGW",
}

// Lookup returns the path of the binary for kind, trying in order: the
// environment variable CASEVAULT_MINIO or CASEVAULT_VERSITYGW (a full path),
// the directory $CASEVAULT_TOOLS, $HOME/.cache/casevault/bin, and $PATH. The
// error wraps ErrNotInstalled when the binary is nowhere; a variable that
// names a missing file is an error of its own, not a reason to skip.
func Lookup(kind string) (string, error) {
	name, ok := binaryName[kind]
	if !ok {
		return "", fmt.Errorf("s3test: unknown server kind %q", kind)
	}
	if p := os.Getenv(envVar[kind]); p != "" {
		if !vaulttest.Executable(p) {
			return "", fmt.Errorf("s3test: %s=%s is not an executable file", envVar[kind], p)
		}
		return p, nil
	}
	if p, ok := vaulttest.FindTool(name); ok {
		return p, nil
	}
	return "", fmt.Errorf("%w: %s (looked in $%s, $CASEVAULT_TOOLS, ~/.cache/casevault/bin, $PATH)", ErrNotInstalled, name, envVar[kind])
}
