package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/config"
)

func TestConfig_BackupDefaults(t *testing.T) {
	c := config.Default()
	c.DataDir = "/srv/cv"
	if !c.BackupEnabled("us") {
		t.Fatal("backups of us: got off, want on by default")
	}
	if got, want := c.BackupDir("us"), "/srv/cv/backups/us"; got != want {
		t.Errorf("BackupDir(us): got %q, want %q", got, want)
	}
	if got, want := c.BackupKeyPath("us"), "/srv/cv-keys/us-backup.json"; got != want {
		t.Errorf("BackupKeyPath(us): got %q, want %q", got, want)
	}
	if got, want := c.BackupInterval("us"), 10*time.Second; got != want {
		t.Errorf("BackupInterval: got %s, want %s", got, want)
	}
	if got, want := c.BackupSnapshotInterval("us"), 24*time.Hour; got != want {
		t.Errorf("BackupSnapshotInterval: got %s, want %s", got, want)
	}
	if got, want := c.BackupRetentionOf("us"), (config.BackupRetention{All: 48 * time.Hour, Daily: 35 * 24 * time.Hour, Monthly: 365 * 24 * time.Hour}); got != want {
		t.Errorf("BackupRetentionOf: got %+v, want %+v", got, want)
	}
	if got, want := c.DrillInterval("us"), 24*time.Hour; got != want {
		t.Errorf("DrillInterval: got %s, want %s", got, want)
	}
	if got, want := c.DrillDelay("us"), 5*time.Minute; got != want {
		t.Errorf("DrillDelay: got %s, want %s", got, want)
	}
	if got, want := c.DrillSample("us"), 5; got != want {
		t.Errorf("DrillSample: got %d, want %d", got, want)
	}
}

func TestConfig_BackupFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	yaml := `regions:
  us:
    type: fs
    master_key: {type: file}
    backup: off
  ca:
    type: fs
    master_key: {type: file}
    backup:
      type: s3
      endpoint: 127.0.0.1:9000
      bucket: cv-backup
      prefix: ca
      access_key: a
      secret_key: s
      secure: false
      interval: 30s
      retention: 720h
      drill_interval: off
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.BackupEnabled("us") {
		t.Error("backup: off: got on")
	}
	if got, want := c.BackupType("ca"), config.StoreS3; got != want {
		t.Errorf("BackupType(ca): got %q, want %q", got, want)
	}
	if got, want := c.BackupInterval("ca"), 30*time.Second; got != want {
		t.Errorf("BackupInterval(ca): got %s, want %s", got, want)
	}
	if got, want := c.BackupRetention("ca"), 720*time.Hour; got != want {
		t.Errorf("BackupRetention(ca): got %s, want %s", got, want)
	}
	if got := c.DrillInterval("ca"); got != 0 {
		t.Errorf("DrillInterval(ca) with drill_interval: off: got %s, want 0 (off)", got)
	}
}

func TestConfig_ValidateBackup(t *testing.T) {
	f := false
	with := func(region string, mod func(*config.BackupConfig)) func(*config.Config) {
		return func(c *config.Config) {
			r := c.Regions[region]
			mod(&r.Backup)
			c.Regions[region] = r
		}
	}
	s3 := func(b *config.BackupConfig) {
		*b = config.BackupConfig{Type: "s3", Endpoint: "127.0.0.1:9000", Bucket: "bk", AccessKey: "a", SecretKey: "s", Secure: &f}
	}
	for _, tt := range []struct {
		name string
		mod  func(*config.Config)
		want string // substring of the error; "" for valid
	}{
		{"Default", func(*config.Config) {}, ""},
		{"Off", with("us", func(b *config.BackupConfig) { *b = config.BackupConfig{Off: true, Dir: "/srv/cv"} }), ""},
		{"IntervalTooShort", with("us", func(b *config.BackupConfig) { b.Interval = time.Millisecond }), "regions.us.backup.interval"},
		{"IntervalTooLong", with("us", func(b *config.BackupConfig) { b.Interval = 16 * time.Minute }), "regions.us.backup.interval"},
		{"SnapshotTooRare", with("us", func(b *config.BackupConfig) { b.SnapshotInterval = 48 * time.Hour }), "snapshot_interval"},
		{"RetentionShort", with("us", func(b *config.BackupConfig) { b.Retention = config.BackupRetention{All: time.Hour} }), "regions.us.backup.retention"},
		{"RetentionAllTooShort", with("us", func(b *config.BackupConfig) {
			b.Retention = config.BackupRetention{All: time.Second, Daily: 30 * 24 * time.Hour}
		}), "regions.us.backup.retention.all"},
		{"RetentionTiers", with("us", func(b *config.BackupConfig) {
			b.Retention = config.BackupRetention{All: time.Hour, Daily: 7 * 24 * time.Hour}
		}), ""},
		{"DrillOff", with("us", func(b *config.BackupConfig) { b.DrillInterval = "off" }), ""},
		{"DrillHourly", with("us", func(b *config.BackupConfig) { b.DrillInterval = "1h" }), ""},
		{"DrillTooOften", with("us", func(b *config.BackupConfig) { b.DrillInterval = "10s" }), "regions.us.backup.drill_interval"},
		{"DrillGarbage", with("us", func(b *config.BackupConfig) { b.DrillInterval = "daily" }), "regions.us.backup.drill_interval"},
		{"DrillSampleTooMany", with("us", func(b *config.BackupConfig) { b.DrillSample = 5000 }), "drill_sample"},
		{"DirIsDataDir", func(c *config.Config) {
			with("us", func(b *config.BackupConfig) { b.Dir = "/srv/cv" })(c)
			with("ca", func(b *config.BackupConfig) { b.Off = true })(c)
		}, "data_dir itself"},
		{"DirInCell", with("us", func(b *config.BackupConfig) { b.Dir = "/srv/cv/regions/ca/bk" }), "cell of region ca"},
		{"DirHoldsKeys", with("us", func(b *config.BackupConfig) { b.Dir = "/srv/cv-keys/bk" }), "keys"},
		{"DirsOverlap", func(c *config.Config) {
			with("us", func(b *config.BackupConfig) { b.Dir = "/bk" })(c)
			with("ca", func(b *config.BackupConfig) { b.Dir = "/bk/ca" })(c)
		}, "backup of region"},
		{"DirOwn", with("us", func(b *config.BackupConfig) { b.Dir = "/bk/us" }), ""},
		{"S3", with("us", s3), ""},
		{"S3NoBucket", with("us", func(b *config.BackupConfig) { s3(b); b.Bucket = "" }), "regions.us.backup.bucket"},
		{"S3PlainPublic", with("us", func(b *config.BackupConfig) { s3(b); b.Endpoint = "s3.example.com" }), "regions.us.backup.secure"},
		{"S3BadPrefix", with("us", func(b *config.BackupConfig) { s3(b); b.Prefix = "/x" }), "prefix"},
		{"S3SameBucketBothRegions", func(c *config.Config) {
			with("us", s3)(c)
			with("ca", s3)(c)
		}, "overlap the backup of region"},
		{"S3PrefixesApart", func(c *config.Config) {
			with("us", func(b *config.BackupConfig) { s3(b); b.Prefix = "us" })(c)
			with("ca", func(b *config.BackupConfig) { s3(b); b.Prefix = "ca" })(c)
		}, ""},
		{"S3IsStore", func(c *config.Config) {
			c.Regions["ca"] = config.RegionConfig{Type: "s3", Endpoint: "127.0.0.1:9000", Bucket: "bk", AccessKey: "a", SecretKey: "s", Secure: &f}
			with("us", s3)(c)
		}, "is the store of region ca"},
		{"BadType", with("us", func(b *config.BackupConfig) { b.Type = "tape" }), "regions.us.backup.type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			c.DataDir = "/srv/cv"
			tt.mod(&c)
			checkValidate(t, &c, tt.want)
		})
	}
}

func TestConfig_BackupRetention(t *testing.T) {
	const day = 24 * time.Hour
	for _, tt := range []struct {
		name, yaml string
		want       config.BackupRetention
		err        string
	}{
		{"Scalar", "retention: 720h", config.BackupRetention{All: 720 * time.Hour}, ""},
		{"ScalarDays", "retention: 35d", config.BackupRetention{All: 35 * day}, ""},
		{"Mapping", "retention: {all: 72h, daily: 14d, monthly: 730d}", config.BackupRetention{All: 72 * time.Hour, Daily: 14 * day, Monthly: 730 * day}, ""},
		{"MappingDefaults", "retention: {daily: 10d}", config.BackupRetention{All: 48 * time.Hour, Daily: 10 * day, Monthly: 365 * day}, ""},
		{"MonthlyOff", "retention: {monthly: 0}", config.BackupRetention{All: 48 * time.Hour, Daily: 35 * day}, ""},
		{"UnknownTier", "retention: {weekly: 8w}", config.BackupRetention{}, "weekly"},
		{"BadDays", "retention: {daily: xd}", config.BackupRetention{}, "retention.daily"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			yml := "regions:\n  us:\n    type: fs\n    master_key: {type: file}\n    backup:\n      " + tt.yaml + "\n"
			if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
				t.Fatal(err)
			}
			c := config.Default()
			err := c.LoadFile(path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("LoadFile = %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.BackupRetentionOf("us"); got.All != tt.want.All || got.Daily != tt.want.Daily || got.Monthly != tt.want.Monthly {
				t.Errorf("BackupRetentionOf: got %+v, want %+v", got, tt.want)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v", err)
			}
		})
	}
}
