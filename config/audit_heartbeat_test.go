package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfig_AuditHeartbeat checks audit.heartbeat: the default, the file,
// the environment over the file, and Validate's refusals.
func TestConfig_AuditHeartbeat(t *testing.T) {
	c := Default()
	if got, want := c.AuditHeartbeat(), time.Hour; got != want {
		t.Errorf("default heartbeat = %s, want %s", got, want)
	}
	path := filepath.Join(t.TempDir(), "casevault.yaml")
	if err := os.WriteFile(path, []byte("audit:\n  heartbeat: 30m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if got, want := c.AuditHeartbeat(), 30*time.Minute; got != want {
		t.Errorf("heartbeat from the file = %s, want %s", got, want)
	}
	env := map[string]string{"CASEVAULT_AUDIT_HEARTBEAT": "5m"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if got, want := c.AuditHeartbeat(), 5*time.Minute; got != want {
		t.Errorf("heartbeat from the environment = %s, want %s", got, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	for _, bad := range []string{"soon", "500ms", "-1h"} {
		c.Audit.Heartbeat = bad
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "audit.heartbeat") {
			t.Errorf("heartbeat %q: Validate = %v, want an audit.heartbeat error", bad, err)
		}
	}
}
