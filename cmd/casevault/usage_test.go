package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLI_UsageErrors runs the real binary with each required flag of each
// command missing (and other usage mistakes): each exits 2, names what is
// wrong on stderr, and opens nothing in the data directory.
func TestCLI_UsageErrors(t *testing.T) {
	bundle, key := exampleBundle(t)
	path := writeFile(t, bundle)
	for _, tt := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"TenantCreate/name", []string{"tenant", "create", "--region", "ca", "--owner-email", "o@maple.example"}, "casevault tenant create: --name is required"},
		{"TenantCreate/region", []string{"tenant", "create", "--name", "Maple", "--owner-email", "o@maple.example"}, "casevault tenant create: --region is required"},
		{"TenantCreate/owner-email", []string{"tenant", "create", "--name", "Maple", "--region", "ca"}, "casevault tenant create: --owner-email is required"},
		{"TenantCreate/empty", []string{"tenant", "create", "--name", "", "--region", "ca", "--owner-email", "o@maple.example"}, "casevault tenant create: --name is required"},
		{"TenantCreate/all", []string{"tenant", "create"}, "casevault tenant create: --name, --region and --owner-email are required"},
		{"UserAdd/tenant", []string{"user", "add", "--email", "l@maple.example"}, "casevault user add: --tenant is required"},
		{"UserAdd/email", []string{"user", "add", "--tenant", "ten_x"}, "casevault user add: --email is required"},
		{"UserAdd/role", []string{"user", "add", "--tenant", "ten_x", "--email", "l@maple.example", "--role", ""}, "casevault user add: --role is required"},
		{"KeysRotate/tenant", []string{"keys", "rotate"}, "casevault keys rotate: --tenant is required"},
		{"AuditAcceptRollback/tenant", []string{"audit", "accept-rollback"}, "casevault audit accept-rollback: --tenant is required"},
		{"AuditAcceptRollback/both", []string{"audit", "accept-rollback", "--tenant", "ten_x", "--service"}, "casevault audit accept-rollback: give one of --tenant and --service, not both"},
		{"AuditVerify/key", []string{"audit", "verify", path}, "casevault audit verify: --key is required"},
		{"AuditVerify/emptyKey", []string{"audit", "verify", "--key", "", path}, "casevault audit verify: --key must not be empty"},
		{"AuditVerify/file", []string{"audit", "verify", "--key", key}, "casevault audit verify: FILE is required"},
		{"AuditVerify/secondKeyEmpty", []string{"audit", "verify", "--key", key, "--key", "", path}, "casevault audit verify: --key must not be empty"},
		{"AuditVerify/secondKeyBad", []string{"audit", "verify", "--key", key, "--key", "nonsense", path}, "casevault audit verify: --key is not a note verifier key"},
		{"AuditRotateKey/region", []string{"audit", "rotate-key"}, "casevault audit rotate-key: --region is required"},
		{"AuditRotateKey/argument", []string{"audit", "rotate-key", "--region", "us", "now"}, `casevault audit rotate-key: unexpected argument "now"`},
		{"AuditKeys/argument", []string{"audit", "keys", "extra"}, `casevault audit keys: unexpected argument "extra"`},
		{"AuditKeys/flag", []string{"audit", "keys", "--bogus"}, "flag provided but not defined: -bogus"},
		{"TenantMove/all", []string{"tenant", "move"}, "casevault tenant move: --tenant and --to are required"},
		{"TenantMove/to", []string{"tenant", "move", "--tenant", "ten_x"}, "casevault tenant move: --to is required"},
		{"TenantAddon/all", []string{"tenant", "addon"}, "casevault tenant addon: --tenant and --hipaa are required"},
		{"TenantAddon/value", []string{"tenant", "addon", "--tenant", "ten_x", "--hipaa", "yes"}, `casevault tenant addon: --hipaa must be on or off, not "yes"`},
		{"TenantList/flag", []string{"tenant", "list", "--bogus"}, "flag provided but not defined: -bogus"},
		{"Serve/argument", []string{"serve", "now"}, `casevault serve: unexpected argument "now"`},
		{"Serve/flagValue", []string{"serve", "--addr"}, "flag needs an argument: -addr"},
		{"NoSubcommand", []string{"tenant"}, `casevault: unknown command "tenant"`},
		{"NoCommand", nil, "Usage:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			cmd := exec.Command(binary(t), tt.args...)
			cmd.Env = append(os.Environ(), "CASEVAULT_DATA_DIR="+dir)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("casevault %q: %v, want exit status 2\nstderr %s", tt.args, err, stderr.String())
			}
			if got := stderr.String(); !strings.Contains(got, tt.want) {
				t.Errorf("casevault %q: stderr %q, want it to contain %q", tt.args, got, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("casevault %q: stdout %q, want nothing", tt.args, stdout.String())
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("casevault %q: the data directory exists (%v): a usage error opened something", tt.args, err)
			}
		})
	}
}
