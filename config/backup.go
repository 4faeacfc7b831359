package config

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Backup defaults (README, "Backups and restore").
const (
	DefaultBackupInterval         = 10 * time.Second
	DefaultBackupSnapshotInterval = 24 * time.Hour
	// MaxBackupInterval is the longest sync interval allowed: the issue
	// promises a backup at least every 15 minutes.
	MaxBackupInterval = 15 * time.Minute

	DefaultDrillInterval = 24 * time.Hour
	DefaultDrillDelay    = 5 * time.Minute
	DefaultDrillSample   = 5
)

// BackupConfig is where and how often a region's cell databases are
// backed up (continuously, by Litestream, encrypted under the region's
// backup key). The zero value backs up to DataDir/backups/NAME with the
// defaults; the YAML scalar `off` disables backups of the region.
type BackupConfig struct {
	// Off disables backups of the region (`backup: off`).
	Off bool `yaml:"-"`
	// Type is "fs" (a directory, the default) or "s3".
	Type string `yaml:"type,omitempty"`
	// Dir is the directory of an fs backup; default DataDir/backups/NAME,
	// a demonstration on the same disk as the data, not a second site.
	Dir string `yaml:"dir,omitempty"`

	// Endpoint, Bucket, Prefix, S3Region, AccessKey, SecretKey, Secure and
	// CreateBucket say where an s3 backup goes, as for a region's store.
	Endpoint     string `yaml:"endpoint,omitempty"`
	Bucket       string `yaml:"bucket,omitempty"`
	Prefix       string `yaml:"prefix,omitempty"`
	S3Region     string `yaml:"s3_region,omitempty"`
	AccessKey    string `yaml:"access_key,omitempty"`
	SecretKey    string `yaml:"secret_key,omitempty"`
	Secure       *bool  `yaml:"secure,omitempty"`
	CreateBucket bool   `yaml:"create_bucket,omitempty"`

	// Interval is how often new transactions are shipped (Litestream's
	// sync interval): 1s to 15m, default 10s.
	Interval time.Duration `yaml:"interval,omitempty"`
	// SnapshotInterval is how often a full snapshot is written: default
	// 24h, at most 24h.
	SnapshotInterval time.Duration `yaml:"snapshot_interval,omitempty"`
	// Retention is how long backups are kept, in tiers (backup_retention.go):
	// default every snapshot for 48h, daily for 35d, monthly for 365d.
	Retention BackupRetention `yaml:"retention,omitempty"`

	// DrillInterval is how often serve runs a restore drill of the region
	// (README, "Restore drills"): a duration of at least 1m, default 24h,
	// or "off".
	DrillInterval string `yaml:"drill_interval,omitempty"`
	// DrillDelay is how long after the start serve runs the first drill:
	// default 5m.
	DrillDelay time.Duration `yaml:"drill_delay,omitempty"`
	// DrillSample is how many document versions of each firm a drill
	// decrypts end to end: default 5, at most 1000.
	DrillSample int `yaml:"drill_sample,omitempty"`
}

// UnmarshalYAML accepts the scalar `off` (or false) besides a mapping.
func (b *BackupConfig) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "off", "false":
			*b = BackupConfig{Off: true}
			return nil
		case "on", "true", "":
			*b = BackupConfig{}
			return nil
		}
		return fmt.Errorf("backup: %q is not off or a mapping", n.Value)
	}
	type plain BackupConfig
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*b = BackupConfig(p)
	return nil
}

// UseTLS reports whether an s3 backup talks TLS to its endpoint.
func (b BackupConfig) UseTLS() bool { return b.Secure == nil || *b.Secure }

// BackupEnabled reports whether region name's cell is backed up.
func (c *Config) BackupEnabled(name string) bool { return !c.Regions[name].Backup.Off }

// BackupType is "fs" or "s3".
func (c *Config) BackupType(name string) string {
	if t := c.Regions[name].Backup.Type; t != "" {
		return t
	}
	return StoreFS
}

// BackupDir is the directory of region name's fs backup: its dir, or
// DataDir/backups/NAME.
func (c *Config) BackupDir(name string) string {
	if d := c.Regions[name].Backup.Dir; d != "" {
		return d
	}
	return filepath.Join(c.DataDir, "backups", name)
}

// BackupInterval and BackupSnapshotInterval return the region's settings
// or their defaults; BackupRetention the longest retention tier.
func (c *Config) BackupInterval(name string) time.Duration {
	return orDefault(c.Regions[name].Backup.Interval, DefaultBackupInterval)
}

// BackupSnapshotInterval: see BackupInterval.
func (c *Config) BackupSnapshotInterval(name string) time.Duration {
	return orDefault(c.Regions[name].Backup.SnapshotInterval, DefaultBackupSnapshotInterval)
}

// BackupRetention: see BackupInterval.
func (c *Config) BackupRetention(name string) time.Duration {
	return c.BackupRetentionOf(name).Longest()
}

// DrillInterval is how often serve drills region name's backup; 0 when
// drills are off (or backups are).
func (c *Config) DrillInterval(name string) time.Duration {
	if !c.BackupEnabled(name) {
		return 0
	}
	v := c.Regions[name].Backup.DrillInterval
	switch strings.ToLower(v) {
	case "":
		return DefaultDrillInterval
	case "off", "false":
		return 0
	}
	d, _ := time.ParseDuration(v) // Validate checked it
	return d
}

// DrillDelay is how long after the start serve runs region name's first
// drill.
func (c *Config) DrillDelay(name string) time.Duration {
	return orDefault(c.Regions[name].Backup.DrillDelay, DefaultDrillDelay)
}

// DrillSample is how many versions of each firm a drill decrypts.
func (c *Config) DrillSample(name string) int {
	if n := c.Regions[name].Backup.DrillSample; n > 0 {
		return n
	}
	return DefaultDrillSample
}

// validateDrill checks region a's drill settings.
func (c *Config) validateDrill(a string, b BackupConfig) error {
	field := "regions." + a + ".backup"
	if v := strings.ToLower(b.DrillInterval); v != "" && v != "off" && v != "false" {
		d, err := time.ParseDuration(b.DrillInterval)
		if err != nil || d < time.Minute {
			return fmt.Errorf("config: %s.drill_interval: %q is not off or a duration of at least 1m", field, b.DrillInterval)
		}
	}
	switch {
	case b.DrillDelay < 0:
		return fmt.Errorf("config: %s.drill_delay: %s is negative", field, b.DrillDelay)
	case b.DrillSample < 0 || b.DrillSample > 1000:
		return fmt.Errorf("config: %s.drill_sample: %d is not between 1 and 1000", field, b.DrillSample)
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// BackupKeyPath is the file of region name's backup key, next to the
// region's master key, which wraps it.
func (c *Config) BackupKeyPath(name string) string {
	return filepath.Join(c.keyFileDir(name), name+"-backup.json")
}

// loadBackupEnv applies CASEVAULT_REGION_<NAME>_BACKUP_ACCESS_KEY and
// _BACKUP_SECRET_KEY, so that a backup bucket's secrets need not sit in the
// file.
func (c *Config) loadBackupEnv(getenv func(string) string) {
	for name, r := range c.Regions {
		prefix := "CASEVAULT_REGION_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_BACKUP_"
		if v := getenv(prefix + "ACCESS_KEY"); v != "" {
			r.Backup.AccessKey = v
		}
		if v := getenv(prefix + "SECRET_KEY"); v != "" {
			r.Backup.SecretKey = v
		}
		c.Regions[name] = r
	}
}

// validateBackups checks every region's backup settings, and that no
// backup location overlaps a cell, a store, keys, the service-wide files or
// another region's backup.
func (c *Config) validateBackups() error {
	names := c.RegionNames()
	for _, a := range names {
		if !c.BackupEnabled(a) {
			continue
		}
		b := c.Regions[a].Backup
		field := "regions." + a + ".backup"
		switch {
		case b.Interval != 0 && (b.Interval < time.Second || b.Interval > MaxBackupInterval):
			return fmt.Errorf("config: %s.interval: %s is not between 1s and 15m", field, b.Interval)
		case b.SnapshotInterval != 0 && (b.SnapshotInterval < time.Minute || b.SnapshotInterval > 24*time.Hour):
			return fmt.Errorf("config: %s.snapshot_interval: %s is not between 1m and 24h", field, b.SnapshotInterval)
		}
		if err := c.validateRetention(a); err != nil {
			return err
		}
		if err := c.validateDrill(a, b); err != nil {
			return err
		}
		switch c.BackupType(a) {
		case StoreFS:
			if b.Endpoint != "" || b.Bucket != "" || b.Prefix != "" {
				return fmt.Errorf("config: %s: endpoint, bucket and prefix belong to type s3, not fs", field)
			}
			if err := c.validateBackupDir(a); err != nil {
				return err
			}
		case StoreS3:
			if err := c.validateBackupS3(a, b); err != nil {
				return err
			}
		default:
			return fmt.Errorf("config: %s.type: %q is not fs or s3", field, b.Type)
		}
	}
	return nil
}

func (c *Config) validateBackupDir(a string) error {
	field := "regions." + a + ".backup.dir"
	d := c.BackupDir(a)
	if within(c.DataDir, d) {
		return fmt.Errorf("config: %s: %q is data_dir itself or holds it", field, d)
	}
	if within(c.KeyDir(), d) || within(d, c.KeyDir()) || within(c.MasterKeyPath(a), d) {
		return fmt.Errorf("config: %s: %q overlaps the keys; keep backups apart from the keys that decrypt them", field, d)
	}
	for _, p := range []string{c.ServiceDatabasePath(), c.ServiceAuditPath()} {
		if within(p, d) {
			return fmt.Errorf("config: %s: %q holds the service-wide files", field, d)
		}
	}
	for _, b := range c.RegionNames() {
		if within(d, c.CellDir(b)) || within(c.CellDir(b), d) {
			return fmt.Errorf("config: %s: %q overlaps the cell of region %s", field, d, b)
		}
		if c.Regions[b].Type == StoreFS && (within(d, c.RegionPath(b)) || within(c.RegionPath(b), d)) {
			return fmt.Errorf("config: %s: %q overlaps the store of region %s", field, d, b)
		}
		if b != a && c.BackupEnabled(b) && c.BackupType(b) == StoreFS && (within(d, c.BackupDir(b)) || within(c.BackupDir(b), d)) {
			return fmt.Errorf("config: %s: %q overlaps the backup of region %s", field, d, b)
		}
	}
	return nil
}

func (c *Config) validateBackupS3(a string, b BackupConfig) error {
	field := "regions." + a + ".backup"
	switch {
	case b.Endpoint == "":
		return fmt.Errorf("config: %s.endpoint: required for an s3 backup", field)
	case strings.Contains(b.Endpoint, "://"):
		return fmt.Errorf("config: %s.endpoint: give host:port without a scheme (set secure for TLS)", field)
	case b.Bucket == "":
		return fmt.Errorf("config: %s.bucket: required for an s3 backup", field)
	case b.AccessKey == "" || b.SecretKey == "":
		return fmt.Errorf("config: %s: access_key and secret_key are required for an s3 backup (or CASEVAULT_REGION_%s_BACKUP_ACCESS_KEY/_SECRET_KEY)", field, strings.ToUpper(strings.ReplaceAll(a, "-", "_")))
	case b.Dir != "":
		return fmt.Errorf("config: %s.dir: belongs to type fs, not s3", field)
	case strings.HasPrefix(b.Prefix, "/") || strings.HasSuffix(b.Prefix, "/") || strings.Contains(b.Prefix, "//"):
		return fmt.Errorf("config: %s.prefix: %q must not start or end with a slash", field, b.Prefix)
	}
	for _, seg := range strings.Split(b.Prefix, "/") {
		for _, ch := range seg {
			if (ch < 'a' || ch > 'z') && (ch < '0' || ch > '9') && ch != '_' && ch != '-' {
				return fmt.Errorf("config: %s.prefix: %q may hold only a-z, 0-9, _, - and /", field, b.Prefix)
			}
		}
	}
	host := b.Endpoint
	if h, _, err := net.SplitHostPort(b.Endpoint); err == nil {
		host = h
	}
	if !b.UseTLS() && !IsLoopback(host) {
		return fmt.Errorf("config: %s.secure: TLS is required for the non-loopback endpoint %q", field, b.Endpoint)
	}
	for _, o := range c.RegionNames() {
		r := c.Regions[o]
		if r.Type == StoreS3 && strings.EqualFold(r.Endpoint, b.Endpoint) && r.Bucket == b.Bucket {
			return fmt.Errorf("config: %s.bucket: %q is the store of region %s; backups need a bucket of their own", field, b.Bucket, o)
		}
		ob := r.Backup
		if o != a && c.BackupEnabled(o) && c.BackupType(o) == StoreS3 && strings.EqualFold(ob.Endpoint, b.Endpoint) && ob.Bucket == b.Bucket &&
			(ob.Prefix == b.Prefix || strings.HasPrefix(ob.Prefix, b.Prefix+"/") || strings.HasPrefix(b.Prefix, ob.Prefix+"/") || ob.Prefix == "" || b.Prefix == "") {
			return fmt.Errorf("config: %s: bucket %q and prefix %q overlap the backup of region %s", field, b.Bucket, b.Prefix, o)
		}
	}
	return nil
}
