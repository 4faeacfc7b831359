package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/casevault/casevault/config"
)

func TestConfig_Session(t *testing.T) {
	path := filepath.Join(t.TempDir(), "casevault.yaml")
	if err := os.WriteFile(path, []byte("session:\n  idle: 10m\n  max: 8h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	if err := c.LoadFile(path); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if got, want := c.Session, (config.SessionConfig{Idle: 10 * time.Minute, Max: 8 * time.Hour}); got != want {
		t.Errorf("session from the file = %+v, want %+v", got, want)
	}
	env := map[string]string{"CASEVAULT_SESSION_IDLE": "45m"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatalf("LoadEnv: %v", err)
	}
	if got, want := c.Session.Idle, 45*time.Minute; got != want {
		t.Errorf("idle from the environment = %v, want %v", got, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	c.Session.Idle = time.Second
	if err := c.Validate(); err == nil {
		t.Error("Validate accepted a 1s idle limit")
	}
	env["CASEVAULT_SESSION_MAX"] = "forever"
	if err := c.LoadEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("LoadEnv accepted a max that is not a duration")
	}
}
