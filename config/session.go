package config

import (
	"fmt"
	"time"
)

// SessionConfig bounds web UI sessions (and API sessions from sign-in):
// Idle is how long a UI session may go unused (default 30m), Max how long
// any session lasts from sign-in (default 12h). Both are Go durations.
type SessionConfig struct {
	Idle time.Duration `yaml:"idle"`
	Max  time.Duration `yaml:"max"`
}

// loadSessionFile applies the session section of a file.
func (c *Config) loadSessionFile(fc *Config) {
	if fc.Session.Idle != 0 {
		c.Session.Idle = fc.Session.Idle
	}
	if fc.Session.Max != 0 {
		c.Session.Max = fc.Session.Max
	}
}

// loadSessionEnv applies CASEVAULT_SESSION_IDLE and CASEVAULT_SESSION_MAX.
func (c *Config) loadSessionEnv(getenv func(string) string) error {
	for _, v := range []struct {
		name string
		to   *time.Duration
	}{{"CASEVAULT_SESSION_IDLE", &c.Session.Idle}, {"CASEVAULT_SESSION_MAX", &c.Session.Max}} {
		s := getenv(v.name)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("config: %s: %q is not a duration such as 30m or 12h", v.name, s)
		}
		*v.to = d
	}
	return nil
}

// validateSession checks the session section: zero means the default.
func (c *Config) validateSession() error {
	if c.Session.Idle != 0 && c.Session.Idle < time.Minute {
		return fmt.Errorf("config: session.idle: %s is shorter than 1m", c.Session.Idle)
	}
	if c.Session.Max != 0 && c.Session.Max < time.Minute {
		return fmt.Errorf("config: session.max: %s is shorter than 1m", c.Session.Max)
	}
	return nil
}
