package config

import (
	"fmt"
	"net"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// DefaultScrubInterval is how often serve scrubs a region with a mirror
// (README, "Mirror and scrub").
const DefaultScrubInterval = 24 * time.Hour

// MirrorConfig is a region's second site: a store of the same shape as the
// region's own (a directory, or an S3 endpoint and bucket) that holds a
// copy of every ciphertext blob of the region (vault/mirror).
type MirrorConfig struct {
	// Type is "fs" (a directory) or "s3".
	Type string `yaml:"type"`
	// Path is the directory of an fs mirror: required, apart from the
	// data directory, every cell, store and backup.
	Path string `yaml:"path,omitempty"`

	// Endpoint, Bucket, AccessKey, SecretKey, Secure, S3Region and
	// CreateBucket say where an s3 mirror is, as for a region's store.
	Endpoint     string `yaml:"endpoint,omitempty"`
	Bucket       string `yaml:"bucket,omitempty"`
	AccessKey    string `yaml:"access_key,omitempty"`
	SecretKey    string `yaml:"secret_key,omitempty"`
	Secure       *bool  `yaml:"secure,omitempty"`
	S3Region     string `yaml:"s3_region,omitempty"`
	CreateBucket bool   `yaml:"create_bucket,omitempty"`
}

// UseTLS reports whether an s3 mirror talks TLS to its endpoint.
func (m MirrorConfig) UseTLS() bool { return m.Secure == nil || *m.Secure }

// ScrubSchedule is how often serve scrubs a region's two sites: a
// duration, or `off`.
type ScrubSchedule struct {
	Off   bool
	Every time.Duration
}

// UnmarshalYAML accepts `off` (or false) and a duration such as "24h".
func (s *ScrubSchedule) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("scrub_interval: want a duration or off")
	}
	switch strings.ToLower(n.Value) {
	case "off", "false":
		*s = ScrubSchedule{Off: true}
		return nil
	case "":
		*s = ScrubSchedule{}
		return nil
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("scrub_interval: %q is not a duration or off", n.Value)
	}
	*s = ScrubSchedule{Every: d}
	return nil
}

// HasMirror reports whether region name has a second site.
func (c *Config) HasMirror(name string) bool { return c.Regions[name].Mirror != nil }

// MirrorRequired reports whether an upload to region name commits only once
// both sites hold its blob: require_mirror, true by default when a mirror
// exists.
func (c *Config) MirrorRequired(name string) bool {
	r := c.Regions[name]
	if r.Mirror == nil {
		return false
	}
	return r.RequireMirror == nil || *r.RequireMirror
}

// ScrubInterval returns how often serve scrubs region name, 0 when never
// (no mirror, or scrub_interval: off).
func (c *Config) ScrubInterval(name string) time.Duration {
	r := c.Regions[name]
	if r.Mirror == nil || r.ScrubInterval.Off {
		return 0
	}
	return orDefault(r.ScrubInterval.Every, DefaultScrubInterval)
}

// loadMirrorEnv applies CASEVAULT_REGION_<NAME>_MIRROR_ACCESS_KEY and
// _MIRROR_SECRET_KEY to an s3 mirror.
func (c *Config) loadMirrorEnv(getenv func(string) string) {
	for name, r := range c.Regions {
		if r.Mirror == nil {
			continue
		}
		m := *r.Mirror
		prefix := "CASEVAULT_REGION_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_MIRROR_"
		if v := getenv(prefix + "ACCESS_KEY"); v != "" {
			m.AccessKey = v
		}
		if v := getenv(prefix + "SECRET_KEY"); v != "" {
			m.SecretKey = v
		}
		r.Mirror = &m
		c.Regions[name] = r
	}
}

// validateMirrors checks every region's mirror: well formed, not the
// region's own store, and apart from the data directory, the keys and every
// region's cell, store, backup and mirror.
func (c *Config) validateMirrors() error {
	names := c.RegionNames()
	for _, a := range names {
		r := c.Regions[a]
		field := "regions." + a
		if r.Mirror == nil {
			if r.RequireMirror != nil && *r.RequireMirror {
				return fmt.Errorf("config: %s.require_mirror: the region has no mirror", field)
			}
			continue
		}
		if r.ScrubInterval.Every < 0 || (r.ScrubInterval.Every > 0 && r.ScrubInterval.Every < time.Second) {
			return fmt.Errorf("config: %s.scrub_interval: %s is shorter than 1s", field, r.ScrubInterval.Every)
		}
		m := *r.Mirror
		field += ".mirror"
		switch m.Type {
		case StoreFS:
			if err := c.validateMirrorDir(a, m); err != nil {
				return err
			}
		case StoreS3:
			if err := c.validateMirrorS3(a, m); err != nil {
				return err
			}
		case "":
			return fmt.Errorf("config: %s.type: required, fs or s3", field)
		default:
			return fmt.Errorf("config: %s.type: %q is not fs or s3", field, m.Type)
		}
	}
	return nil
}

func (c *Config) validateMirrorDir(a string, m MirrorConfig) error {
	field := "regions." + a + ".mirror"
	if m.Endpoint != "" || m.Bucket != "" {
		return fmt.Errorf("config: %s: endpoint and bucket belong to type s3, not fs", field)
	}
	d := m.Path
	if d == "" {
		return fmt.Errorf("config: %s.path: required for an fs mirror", field)
	}
	overlap := func(x string) bool { return within(d, x) || within(x, d) }
	if overlap(c.DataDir) {
		return fmt.Errorf("config: %s.path: %q overlaps data_dir; the second site needs a place of its own", field, d)
	}
	if overlap(c.KeyDir()) || within(c.MasterKeyPath(a), d) {
		return fmt.Errorf("config: %s.path: %q overlaps the keys", field, d)
	}
	for _, b := range c.RegionNames() {
		rb := c.Regions[b]
		if overlap(c.CellDir(b)) {
			return fmt.Errorf("config: %s.path: %q overlaps the cell of region %s", field, d, b)
		}
		if rb.Type == StoreFS && overlap(c.RegionPath(b)) {
			if b == a {
				return fmt.Errorf("config: %s.path: %q is the region's own store; a mirror is a second site", field, d)
			}
			return fmt.Errorf("config: %s.path: %q overlaps the store of region %s", field, d, b)
		}
		if c.BackupEnabled(b) && c.BackupType(b) == StoreFS && overlap(c.BackupDir(b)) {
			return fmt.Errorf("config: %s.path: %q overlaps the backup of region %s", field, d, b)
		}
		if b != a && rb.Mirror != nil && rb.Mirror.Type == StoreFS && overlap(rb.Mirror.Path) {
			return fmt.Errorf("config: %s.path: %q overlaps the mirror of region %s", field, d, b)
		}
	}
	return nil
}

func (c *Config) validateMirrorS3(a string, m MirrorConfig) error {
	field := "regions." + a + ".mirror"
	switch {
	case m.Endpoint == "":
		return fmt.Errorf("config: %s.endpoint: required for an s3 mirror", field)
	case strings.Contains(m.Endpoint, "://"):
		return fmt.Errorf("config: %s.endpoint: give host:port without a scheme (set secure for TLS)", field)
	case m.Bucket == "":
		return fmt.Errorf("config: %s.bucket: required for an s3 mirror", field)
	case m.AccessKey == "" || m.SecretKey == "":
		return fmt.Errorf("config: %s: access_key and secret_key are required for an s3 mirror (or CASEVAULT_REGION_%s_MIRROR_ACCESS_KEY/_SECRET_KEY)", field, strings.ToUpper(strings.ReplaceAll(a, "-", "_")))
	case m.Path != "":
		return fmt.Errorf("config: %s.path: belongs to type fs, not s3", field)
	}
	host := m.Endpoint
	if h, _, err := net.SplitHostPort(m.Endpoint); err == nil {
		host = h
	}
	if !m.UseTLS() && !IsLoopback(host) {
		return fmt.Errorf("config: %s.secure: TLS is required for the non-loopback endpoint %q", field, m.Endpoint)
	}
	same := func(endpoint, bucket string) bool {
		return strings.EqualFold(endpoint, m.Endpoint) && bucket == m.Bucket
	}
	for _, b := range c.RegionNames() {
		rb := c.Regions[b]
		if rb.Type == StoreS3 && same(rb.Endpoint, rb.Bucket) {
			if b == a {
				return fmt.Errorf("config: %s.bucket: %q is the region's own store; a mirror is a second site", field, m.Bucket)
			}
			return fmt.Errorf("config: %s.bucket: %q is the store of region %s", field, m.Bucket, b)
		}
		if c.BackupEnabled(b) && c.BackupType(b) == StoreS3 && same(rb.Backup.Endpoint, rb.Backup.Bucket) {
			return fmt.Errorf("config: %s.bucket: %q holds the backup of region %s", field, m.Bucket, b)
		}
		if b != a && rb.Mirror != nil && rb.Mirror.Type == StoreS3 && same(rb.Mirror.Endpoint, rb.Mirror.Bucket) {
			return fmt.Errorf("config: %s.bucket: %q is the mirror of region %s", field, m.Bucket, b)
		}
	}
	return nil
}
