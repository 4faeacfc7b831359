package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// DefaultAuditHeartbeat is how often an idle audit log's latest tree is
// signed again with a fresh timestamp when audit.heartbeat is not set.
const DefaultAuditHeartbeat = time.Hour

// AuditConfig configures the audit log: heartbeats, and what it does
// beyond its own file.
type AuditConfig struct {
	// Heartbeat is a Go duration ("1h", "30m"): the longest an idle firm's
	// log goes without a checkpoint signed with a fresh timestamp (a
	// heartbeat: the same tree signed again). Default 1h; at least 1s.
	// CASEVAULT_AUDIT_HEARTBEAT overrides it.
	Heartbeat string `yaml:"heartbeat"`
	// SinkCAFile is a PEM file of extra roots to trust, besides the
	// system's, for firms' checkpoint sinks with a private CA (each firm
	// names its own sink through the API).
	SinkCAFile string `yaml:"sink_ca_file"`
	// SinkAllowPrivate lets firms' sinks be on loopback, private and
	// link-local addresses. Off, the server connects to public addresses
	// only, so a firm cannot point it at the operator's network.
	SinkAllowPrivate bool `yaml:"sink_allow_private"`
	// Witnesses are independent C2SP tlog-witnesses to which every signed
	// checkpoint is submitted; their cosignatures are stored and exported
	// in bundles, where `casevault audit verify --witness` checks them.
	Witnesses []WitnessConfig `yaml:"witnesses"`
	// WitnessTimeout bounds how long an export waits, for all witnesses
	// together, for the cosignatures of its header's checkpoint (default
	// 10s).
	WitnessTimeout time.Duration `yaml:"witness_timeout"`
}

// WitnessConfig is one witness. A firm may run its own (litewitness with a
// key only the firm holds) and name it here for its own log only.
type WitnessConfig struct {
	// Name is the name of the witness's key, as in Key.
	Name string `yaml:"name"`
	// URL is the witness's base URL; checkpoints are POSTed to
	// URL/add-checkpoint.
	URL string `yaml:"url"`
	// Key is the witness's cosignature verifier key
	// (name+hash+base64, algorithm 0x04), as its operator publishes it.
	Key string `yaml:"key"`
	// Tenants and Regions, when either is set, limit the witness to the
	// logs of those firm ids and of the firms in those regions ("service"
	// for the service-wide log). Neither: every log.
	Tenants []string `yaml:"tenants,omitempty"`
	Regions []string `yaml:"regions,omitempty"`
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

// loadAuditFile applies the audit section of a file.
func (c *Config) loadAuditFile(fc *Config) {
	if fc.Audit.Heartbeat != "" {
		c.Audit.Heartbeat = fc.Audit.Heartbeat
	}
	if fc.Audit.SinkCAFile != "" {
		c.Audit.SinkCAFile = fc.Audit.SinkCAFile
	}
	if fc.Audit.SinkAllowPrivate {
		c.Audit.SinkAllowPrivate = true
	}
	if fc.Audit.Witnesses != nil {
		c.Audit.Witnesses = fc.Audit.Witnesses
	}
	if fc.Audit.WitnessTimeout != 0 {
		c.Audit.WitnessTimeout = fc.Audit.WitnessTimeout
	}
}

// loadAuditEnv applies CASEVAULT_AUDIT_WITNESSES ("NAME URL KEY" triples
// separated by semicolons; they replace the file's witnesses and witness
// every log) and CASEVAULT_AUDIT_WITNESS_TIMEOUT (a Go duration).
func (c *Config) loadAuditEnv(getenv func(string) string) error {
	if v := strings.TrimSpace(getenv("CASEVAULT_AUDIT_WITNESSES")); v != "" {
		c.Audit.Witnesses = nil
		for item := range strings.SplitSeq(v, ";") {
			f := strings.Fields(item)
			if len(f) == 0 {
				continue
			}
			if len(f) != 3 {
				return fmt.Errorf("config: CASEVAULT_AUDIT_WITNESSES: %q is not NAME URL KEY", strings.TrimSpace(item))
			}
			c.Audit.Witnesses = append(c.Audit.Witnesses, WitnessConfig{Name: f[0], URL: f[1], Key: f[2]})
		}
	}
	if v := getenv("CASEVAULT_AUDIT_WITNESS_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("config: CASEVAULT_AUDIT_WITNESS_TIMEOUT: %q is not a duration", v)
		}
		c.Audit.WitnessTimeout = d
	}
	return nil
}

// validateAudit checks the audit section. The witnesses' keys are parsed
// where they are used (audit/witness), which names the one at fault.
func (c *Config) validateAudit() error {
	if c.Audit.Heartbeat != "" {
		d, err := time.ParseDuration(c.Audit.Heartbeat)
		if err != nil {
			return fmt.Errorf("config: audit.heartbeat: %q is not a duration such as 1h or 30m", c.Audit.Heartbeat)
		}
		if d < time.Second {
			return fmt.Errorf("config: audit.heartbeat: %s is shorter than 1s", d)
		}
	}
	if c.Audit.WitnessTimeout < 0 {
		return fmt.Errorf("config: audit.witness_timeout: must not be negative")
	}
	names := map[string]bool{}
	for i, w := range c.Audit.Witnesses {
		field := fmt.Sprintf("audit.witnesses[%d]", i)
		if w.Name == "" || w.Key == "" || w.URL == "" {
			return fmt.Errorf("config: %s: name, url and key are required", field)
		}
		if names[w.Name] {
			return fmt.Errorf("config: %s: witness %q is listed twice", field, w.Name)
		}
		names[w.Name] = true
		if !strings.HasPrefix(w.Key, w.Name+"+") {
			return fmt.Errorf("config: %s.key: the key of witness %q must be named %q", field, w.Name, w.Name)
		}
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("config: %s.url: %q is not an http(s) URL", field, w.URL)
		}
		if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
			return fmt.Errorf("config: %s.url: %q: use https for a witness beyond loopback", field, w.URL)
		}
		for _, r := range w.Regions {
			if _, ok := c.Regions[r]; !ok && r != "service" {
				return fmt.Errorf("config: %s.regions: %q is not a configured region (or \"service\")", field, r)
			}
		}
	}
	return nil
}
