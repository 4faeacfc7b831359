package config

import (
	"fmt"
	"time"
)

// DefaultAuditHeartbeat is how often an idle audit log's latest tree is
// signed again with a fresh timestamp when audit.heartbeat is not set.
const DefaultAuditHeartbeat = time.Hour

// AuditConfig tunes the audit log.
type AuditConfig struct {
	// Heartbeat is a Go duration ("1h", "30m"): the longest an idle firm's
	// log goes without a checkpoint signed with a fresh timestamp (a
	// heartbeat: the same tree signed again). Default 1h; at least 1s.
	// CASEVAULT_AUDIT_HEARTBEAT overrides it.
	Heartbeat string `yaml:"heartbeat"`
}

// AuditHeartbeat returns audit.heartbeat as a duration (the default when
// it is not set). Validate has checked it.
func (c *Config) AuditHeartbeat() time.Duration {
	d, err := time.ParseDuration(c.Audit.Heartbeat)
	if c.Audit.Heartbeat == "" || err != nil {
		return DefaultAuditHeartbeat
	}
	return d
}

// validateAudit reports the first problem with c.Audit, naming the field.
func (c *Config) validateAudit() error {
	if c.Audit.Heartbeat == "" {
		return nil
	}
	d, err := time.ParseDuration(c.Audit.Heartbeat)
	if err != nil {
		return fmt.Errorf("config: audit.heartbeat: %q is not a duration such as 1h or 30m", c.Audit.Heartbeat)
	}
	if d < time.Second {
		return fmt.Errorf("config: audit.heartbeat: %s is shorter than 1s", d)
	}
	return nil
}
