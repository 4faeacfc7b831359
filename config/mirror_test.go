package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/casevault/casevault/config"
)

func TestConfig_MirrorFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	yaml := `regions:
  us:
    type: fs
    master_key: {type: file}
    mirror: {type: fs, path: /mnt/second/us}
    scrub_interval: 6h
  ca:
    type: fs
    master_key: {type: file}
    require_mirror: false
    scrub_interval: off
    mirror:
      type: s3
      endpoint: 127.0.0.1:9100
      bucket: cv-mirror-ca
      secure: false
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.DataDir = "/srv/cv"
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if err := c.LoadEnv(func(k string) string {
		return map[string]string{"CASEVAULT_REGION_CA_MIRROR_ACCESS_KEY": "ak", "CASEVAULT_REGION_CA_MIRROR_SECRET_KEY": "sk"}[k]
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if !c.HasMirror("us") || !c.MirrorRequired("us") {
		t.Error("us: want a required mirror by default")
	}
	if !c.HasMirror("ca") || c.MirrorRequired("ca") {
		t.Error("ca: want a mirror that is not required")
	}
	if got, want := c.ScrubInterval("us"), 6*time.Hour; got != want {
		t.Errorf("ScrubInterval(us): got %s, want %s", got, want)
	}
	if got := c.ScrubInterval("ca"); got != 0 {
		t.Errorf("ScrubInterval(ca): got %s, want 0 (off)", got)
	}
	if m := c.Regions["ca"].Mirror; m.AccessKey != "ak" || m.SecretKey != "sk" {
		t.Errorf("ca mirror keys from the environment: got %q, %q", m.AccessKey, m.SecretKey)
	}
	d := config.Default()
	if d.HasMirror("us") || d.MirrorRequired("us") || d.ScrubInterval("us") != 0 {
		t.Error("default: want no mirror, nothing required, no scrub")
	}
	e := config.Config{Regions: map[string]config.RegionConfig{"us": {Mirror: &config.MirrorConfig{}}}}
	if got, want := e.ScrubInterval("us"), 24*time.Hour; got != want {
		t.Errorf("default scrub interval: got %s, want %s", got, want)
	}
}

func TestConfig_ValidateMirror(t *testing.T) {
	f, tr := false, true
	with := func(region string, m config.MirrorConfig) func(*config.Config) {
		return func(c *config.Config) {
			r := c.Regions[region]
			r.Mirror = &m
			c.Regions[region] = r
		}
	}
	s3m := func(endpoint, bucket string) config.MirrorConfig {
		return config.MirrorConfig{Type: "s3", Endpoint: endpoint, Bucket: bucket, AccessKey: "a", SecretKey: "s", Secure: &f}
	}
	for _, tt := range []struct {
		name string
		mod  func(*config.Config)
		want string // substring of the error; "" for valid
	}{
		{"FS", with("us", config.MirrorConfig{Type: "fs", Path: "/mnt/second/us"}), ""},
		{"S3", with("us", s3m("127.0.0.1:9100", "mirror-us")), ""},
		{"NoType", with("us", config.MirrorConfig{Path: "/mnt/second/us"}), "regions.us.mirror.type"},
		{"BadType", with("us", config.MirrorConfig{Type: "tape"}), "regions.us.mirror.type"},
		{"FSNoPath", with("us", config.MirrorConfig{Type: "fs"}), "regions.us.mirror.path: required"},
		{"FSIsPrimary", with("us", config.MirrorConfig{Type: "fs", Path: "/srv/cv/regions/us"}), "overlaps data_dir"},
		{"FSIsOwnStore", func(c *config.Config) {
			r := c.Regions["us"]
			r.Path = "/blobs/us"
			c.Regions["us"] = r
			with("us", config.MirrorConfig{Type: "fs", Path: "/blobs/us"})(c)
		}, "the region's own store"},
		{"FSInsideDataDir", with("us", config.MirrorConfig{Type: "fs", Path: "/srv/cv/mirror"}), "overlaps data_dir"},
		{"FSOtherStore", func(c *config.Config) {
			r := c.Regions["ca"]
			r.Path = "/blobs/ca"
			c.Regions["ca"] = r
			with("us", config.MirrorConfig{Type: "fs", Path: "/blobs/ca/m"})(c)
		}, "store of region ca"},
		{"FSOtherCell", func(c *config.Config) {
			r := c.Regions["ca"]
			r.Dir = "/cells/ca"
			c.Regions["ca"] = r
			with("us", config.MirrorConfig{Type: "fs", Path: "/cells/ca/mirror"})(c)
		}, "cell of region ca"},
		{"FSBackup", func(c *config.Config) {
			r := c.Regions["ca"]
			r.Backup.Dir = "/backups/ca"
			c.Regions["ca"] = r
			with("us", config.MirrorConfig{Type: "fs", Path: "/backups"})(c)
		}, "backup of region ca"},
		{"FSKeys", with("us", config.MirrorConfig{Type: "fs", Path: "/srv/cv-keys/m"}), "keys"},
		{"FSOtherMirror", func(c *config.Config) {
			with("us", config.MirrorConfig{Type: "fs", Path: "/mnt/second"})(c)
			with("ca", config.MirrorConfig{Type: "fs", Path: "/mnt/second/ca"})(c)
		}, "mirror of region"},
		{"S3NoBucket", with("us", s3m("127.0.0.1:9100", "")), "regions.us.mirror.bucket"},
		{"S3NoKeys", with("us", config.MirrorConfig{Type: "s3", Endpoint: "127.0.0.1:9100", Bucket: "b", Secure: &f}), "MIRROR_ACCESS_KEY"},
		{"S3PlainPublic", with("us", s3m("s3.example.com", "b")), "regions.us.mirror.secure"},
		{"S3WithPath", func(c *config.Config) { m := s3m("127.0.0.1:9100", "b"); m.Path = "/x"; with("us", m)(c) }, "regions.us.mirror.path"},
		{"S3IsPrimary", func(c *config.Config) {
			c.Regions["us"] = config.RegionConfig{Type: "s3", Endpoint: "127.0.0.1:9000", Bucket: "docs", AccessKey: "a", SecretKey: "s", Secure: &f}
			with("us", s3m("127.0.0.1:9000", "docs"))(c)
		}, "the region's own store"},
		{"S3SameServerOtherBucket", func(c *config.Config) {
			c.Regions["us"] = config.RegionConfig{Type: "s3", Endpoint: "127.0.0.1:9000", Bucket: "docs", AccessKey: "a", SecretKey: "s", Secure: &f}
			with("us", s3m("127.0.0.1:9000", "docs-mirror"))(c)
		}, ""},
		{"S3OtherStore", func(c *config.Config) {
			c.Regions["ca"] = config.RegionConfig{Type: "s3", Endpoint: "127.0.0.1:9000", Bucket: "docs-ca", AccessKey: "a", SecretKey: "s", Secure: &f}
			with("us", s3m("127.0.0.1:9000", "docs-ca"))(c)
		}, "store of region ca"},
		{"S3Backup", func(c *config.Config) {
			r := c.Regions["ca"]
			r.Backup = config.BackupConfig{Type: "s3", Endpoint: "127.0.0.1:9000", Bucket: "bk", AccessKey: "a", SecretKey: "s", Secure: &f}
			c.Regions["ca"] = r
			with("us", s3m("127.0.0.1:9000", "bk"))(c)
		}, "backup of region ca"},
		{"S3OtherMirror", func(c *config.Config) {
			with("us", s3m("127.0.0.1:9100", "m"))(c)
			with("ca", s3m("127.0.0.1:9100", "m"))(c)
		}, "mirror of region"},
		{"RequiredWithoutMirror", func(c *config.Config) {
			r := c.Regions["us"]
			r.RequireMirror = &tr
			c.Regions["us"] = r
		}, "regions.us.require_mirror"},
		{"ScrubTooOften", func(c *config.Config) {
			with("us", config.MirrorConfig{Type: "fs", Path: "/mnt/second/us"})(c)
			r := c.Regions["us"]
			r.ScrubInterval = config.ScrubSchedule{Every: 500 * time.Millisecond}
			c.Regions["us"] = r
		}, "regions.us.scrub_interval"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			c.DataDir = "/srv/cv"
			tt.mod(&c)
			checkValidate(t, &c, tt.want)
		})
	}
}
