package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/casevault/casevault/config"
)

func TestDefault_Valid(t *testing.T) {
	c := config.Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil", err)
	}
	if got, want := c.RegionNames(), []string{"ca", "us"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("RegionNames() = %v, want %v", got, want)
	}
	if got, want := c.RegionPath("ca"), filepath.Join(config.DefaultDataDir, "regions", "ca"); got != want {
		t.Fatalf("RegionPath(ca) = %q, want %q", got, want)
	}
}

func TestConfig_Validate(t *testing.T) {
	f := false
	s3 := func(mod func(*config.RegionConfig)) func(*config.Config) {
		return func(c *config.Config) {
			r := config.RegionConfig{Type: "s3", Endpoint: "s3.example.com", Bucket: "b", AccessKey: "a", SecretKey: "s"}
			mod(&r)
			c.Regions["ca"] = r
		}
	}
	for _, tt := range []struct {
		name string
		mod  func(*config.Config)
		want string // substring of the error; "" for valid
	}{
		{"Default", func(*config.Config) {}, ""},
		{"EmptyDataDir", func(c *config.Config) { c.DataDir = "" }, "data_dir"},
		{"KeysInsideData", func(c *config.Config) { c.DataDir = "/srv/cv"; c.KeysDir = "/srv/cv/keys" }, "keys_dir"},
		{"KeysAreData", func(c *config.Config) { c.DataDir = "/srv/cv"; c.KeysDir = "/srv/cv/" }, "keys_dir"},
		{"KeysBesideData", func(c *config.Config) { c.DataDir = "/srv/cv"; c.KeysDir = "/srv/cv-keys" }, ""},
		{"MasterKeyInsideData", func(c *config.Config) {
			c.DataDir = "/srv/cv"
			r := c.Regions["ca"]
			r.MasterKey.Path = "/srv/cv/ca.json"
			c.Regions["ca"] = r
		}, "regions.ca.master_key.path"},
		{"BadAddr", func(c *config.Config) { c.Addr = "nope" }, "addr"},
		{"PublicWithoutTLS", func(c *config.Config) { c.Addr = "0.0.0.0:8080" }, "addr: \"0.0.0.0:8080\" is not a loopback"},
		{"PublicBehindProxy", func(c *config.Config) { c.Addr = "0.0.0.0:8080"; c.BehindTLSProxy = true }, ""},
		{"PublicWithTLS", func(c *config.Config) { c.Addr = ":443"; c.TLS = config.TLSConfig{CertFile: "c", KeyFile: "k"} }, ""},
		{"CertWithoutKey", func(c *config.Config) { c.TLS.CertFile = "c" }, "tls"},
		{"PublicWithACME", func(c *config.Config) { c.Addr = ":443"; c.TLS.ACME.Domains = []string{"vault.example.com"} }, ""},
		{"ACMEAndCert", func(c *config.Config) {
			c.TLS = config.TLSConfig{CertFile: "c", KeyFile: "k", ACME: config.ACMEConfig{Domains: []string{"vault.example.com"}}}
		}, "not both"},
		{"ACMEBadDomain", func(c *config.Config) { c.TLS.ACME.Domains = []string{"https://vault"} }, "tls.acme.domains"},
		{"ACMEWithoutDomains", func(c *config.Config) { c.TLS.ACME.Email = "ops@example.com" }, "tls.acme"},
		{"ACMEPlainDirectory", func(c *config.Config) {
			c.TLS.ACME = config.ACMEConfig{Domains: []string{"vault.example.com"}, DirectoryURL: "http://ca.example.com/dir"}
		}, "directory_url"},
		{"IPv6Loopback", func(c *config.Config) { c.Addr = "[::1]:8080" }, ""},
		{"NoRegions", func(c *config.Config) { c.Regions = nil }, "regions"},
		{"BadRegionName", func(c *config.Config) { c.Regions["CA!"] = config.RegionConfig{Type: "fs"} }, "regions.CA!"},
		{"UnknownType", func(c *config.Config) { c.Regions["ca"] = config.RegionConfig{Type: "ftp"} }, "regions.ca.type"},
		{"S3Valid", s3(func(*config.RegionConfig) {}), ""},
		{"S3WithoutBucket", s3(func(r *config.RegionConfig) { r.Bucket = "" }), "regions.ca.bucket"},
		{"S3WithoutEndpoint", s3(func(r *config.RegionConfig) { r.Endpoint = "" }), "regions.ca.endpoint"},
		{"S3WithScheme", s3(func(r *config.RegionConfig) { r.Endpoint = "https://x" }), "regions.ca.endpoint"},
		{"S3WithoutKeys", s3(func(r *config.RegionConfig) { r.SecretKey = "" }), "secret_key"},
		{"S3InsecureRemote", s3(func(r *config.RegionConfig) { r.Secure = &f }), "regions.ca.secure"},
		{"S3InsecureLoopback", s3(func(r *config.RegionConfig) { r.Secure = &f; r.Endpoint = "127.0.0.1:9000" }), ""},
		{"S3UploadMemory", s3(func(r *config.RegionConfig) { r.UploadMemoryMiB = 512 }), ""},
		{"S3NegativeUploadMemory", s3(func(r *config.RegionConfig) { r.UploadMemoryMiB = -1 }), "regions.ca.upload_memory_mib"},
		{"FSUploadMemory", func(c *config.Config) { c.Regions["us"] = config.RegionConfig{Type: "fs", UploadMemoryMiB: 64} }, "upload_memory_mib belong to type s3"},
		{"BadMasterKey", func(c *config.Config) {
			c.Regions["us"] = config.RegionConfig{Type: "fs", MasterKey: config.MasterKeyConfig{Type: "kms"}}
		}, "regions.us.master_key.type"},
		{"BadLogLevel", func(c *config.Config) { c.LogLevel = "loud" }, "log_level"},
		{"RateLimit", func(c *config.Config) { c.RateLimit = config.RateLimitConfig{PerSecond: 5, Burst: 50} }, ""},
		{"NegativeRateLimit", func(c *config.Config) { c.RateLimit.Burst = -1 }, "rate_limit"},
		{"UploadLimit", func(c *config.Config) { c.RateLimit.Uploads = 2 }, ""},
		{"NegativeUploadLimit", func(c *config.Config) { c.RateLimit.Uploads = -1 }, "per_user_uploads"},
		{"MetricsLoopback", func(c *config.Config) { c.Metrics.Addr = "127.0.0.1:9091" }, ""},
		{"MetricsToken", func(c *config.Config) { c.Metrics.Token = metricsToken }, ""},
		{"MetricsBadAddr", func(c *config.Config) { c.Metrics.Addr = "9091" }, "metrics.addr: \"9091\" is not host:port"},
		{"MetricsBadPort", func(c *config.Config) { c.Metrics.Addr = "127.0.0.1:http" }, "metrics.addr: port"},
		{"MetricsSameAsAddr", func(c *config.Config) { c.Metrics.Addr = c.Addr }, "metrics.addr: \"127.0.0.1:8080\" would share addr's port"},
		{"MetricsDefaultSharesPort", func(c *config.Config) { c.Addr = "0.0.0.0:9090"; c.BehindTLSProxy = true }, "metrics.addr: \"127.0.0.1:9090\" would share"},
		{"MetricsPortZero", func(c *config.Config) { c.Addr = "127.0.0.1:0"; c.Metrics.Addr = "127.0.0.1:0" }, ""},
		{"MetricsPublicWithoutTLS", func(c *config.Config) { c.Metrics.Addr = "0.0.0.0:9090"; c.Metrics.Token = metricsToken }, "metrics.addr: \"0.0.0.0:9090\" is not a loopback"},
		{"MetricsPublicWithoutToken", func(c *config.Config) { c.Metrics.Addr = "0.0.0.0:9090"; c.BehindTLSProxy = true }, "metrics.token: required"},
		{"MetricsPublicTLSAndToken", func(c *config.Config) {
			c.TLS = config.TLSConfig{CertFile: "c", KeyFile: "k"}
			c.Metrics = config.MetricsConfig{Addr: ":9090", Token: metricsToken}
		}, ""},
		{"CellDirs", func(c *config.Config) {
			c.DataDir = "/srv/cv"
			setDir(c, "us", "/vol/us/cell")
			setDir(c, "ca", "/vol/ca/cell")
		}, ""},
		{"CellDirsOverlap", func(c *config.Config) {
			c.DataDir = "/srv/cv"
			setDir(c, "us", "/vol/cells")
			setDir(c, "ca", "/vol/cells/ca")
		}, "regions.ca.dir and regions.us.dir"},
		{"CellDirIsDataDir", func(c *config.Config) { c.DataDir = "/srv/cv"; setDir(c, "us", "/srv/cv") }, "regions.us.dir: \"/srv/cv\" is data_dir itself or holds it"},
		{"CellHoldsDataDir", func(c *config.Config) { c.DataDir = "/srv/cv"; setDir(c, "ca", "/srv") }, "regions.ca.dir: \"/srv\" is data_dir itself or holds it"},
		{"CellHoldsKeys", func(c *config.Config) {
			c.DataDir = "/srv/cv"
			c.KeysDir = "/vol/us/keys"
			setDir(c, "us", "/vol/us")
		}, "regions.us.dir: \"/vol/us\" holds keys"},
		{"StoreInOtherCell", func(c *config.Config) {
			c.DataDir = "/srv/cv"
			r := c.Regions["ca"]
			r.Path = "/srv/cv/regions/us/ca-blobs"
			c.Regions["ca"] = r
		}, "regions.ca.path"},
		{"MetricsShortToken", func(c *config.Config) { c.Metrics.Token = "secret" }, "metrics.token: must be at least 16"},
		{"MetricsTokenWithSpace", func(c *config.Config) { c.Metrics.Token = "correct horse battery" }, "metrics.token: must be printable ASCII"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.mod(&c)
			checkValidate(t, &c, tt.want)
		})
	}
}

// checkValidate checks that c.Validate() passes (want "") or fails with an
// error naming want.
func checkValidate(t *testing.T, c *config.Config, want string) {
	t.Helper()
	err := c.Validate()
	switch {
	case want == "" && err != nil:
		t.Fatalf("Validate() = %v, want nil", err)
	case want != "" && err == nil:
		t.Fatalf("Validate() = nil, want error naming %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("Validate() = %v, want it to name %q", err, want)
	}
}

// setDir sets region name's cell directory.
func setDir(c *config.Config, name, dir string) {
	r := c.Regions[name]
	r.Dir = dir
	c.Regions[name] = r
}

// TestConfig_CellPaths: each region's cell holds its databases, and by
// default its fs store; the service-wide files sit in data_dir.
func TestConfig_CellPaths(t *testing.T) {
	c := config.Default()
	c.DataDir = "/srv/cv"
	setDir(&c, "ca", "/vol/ca")
	for _, tt := range []struct{ got, want string }{
		{c.CellDir("us"), "/srv/cv/regions/us"},
		{c.CellDatabasePath("us"), "/srv/cv/regions/us/casevault.db"},
		{c.CellAuditPath("ca"), "/vol/ca/audit.db"},
		{c.RegionPath("ca"), "/vol/ca"},
		{c.ServiceDatabasePath(), "/srv/cv/service.db"},
		{c.ServiceAuditPath(), "/srv/cv/service-audit.db"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// metricsToken is a well-formed metrics.token.
const metricsToken = "m3tr1cs-t0ken-0123456789"

func TestConfig_MetricsListenAddr(t *testing.T) {
	for _, tt := range []struct {
		addr, metricsAddr string
		tls               bool
		want              string
		wantTLS           bool
	}{
		{"127.0.0.1:8080", "", false, "", false}, // on the main listener
		{"[::1]:8080", "", false, "", false},
		{"localhost:8080", "", false, "", false},
		{"127.0.0.1:8080", "127.0.0.1:9100", false, "127.0.0.1:9100", false},
		{"0.0.0.0:8080", "", false, config.DefaultMetricsAddr, false},
		{":443", "", true, config.DefaultMetricsAddr, false}, // loopback: plain HTTP
		{"192.0.2.1:8080", "10.0.0.5:9100", false, "10.0.0.5:9100", false},
		{":443", "10.0.0.5:9100", true, "10.0.0.5:9100", true},
	} {
		c := config.Default()
		c.Addr, c.Metrics.Addr = tt.addr, tt.metricsAddr
		if tt.tls {
			c.TLS = config.TLSConfig{CertFile: "c", KeyFile: "k"}
		}
		if got := c.MetricsListenAddr(); got != tt.want {
			t.Errorf("addr %q, metrics.addr %q: MetricsListenAddr() = %q, want %q", tt.addr, tt.metricsAddr, got, tt.want)
		}
		if got := c.MetricsTLS(); got != tt.wantTLS {
			t.Errorf("addr %q, metrics.addr %q: MetricsTLS() = %t, want %t", tt.addr, tt.metricsAddr, got, tt.wantTLS)
		}
	}
}

func TestConfig_Validate_HidesMetricsToken(t *testing.T) {
	c := config.Default()
	c.Metrics.Token = "short token"
	if err := c.Validate(); err == nil || strings.Contains(err.Error(), "short") {
		t.Fatalf("Validate() = %v, want an error that does not show the token", err)
	}
}

func TestConfig_LoadFileAndEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "casevault.yaml")
	const yml = `
data_dir: /srv/casevault
addr: 127.0.0.1:9090
rate_limit:
  per_user_per_second: 5
  per_user_burst: 50
metrics:
  addr: 127.0.0.1:9191
  token: from-the-file-0123456789
tls:
  acme:
    domains: [vault.maple.example]
audit:
  sink_ca_file: /etc/casevault/sink-ca.pem
regions:
  ca:
    type: s3
    endpoint: 127.0.0.1:9000
    bucket: casevault-ca
    secure: false
    master_key:
      type: file
      path: /etc/casevault/ca.json
`
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	if err := c.LoadFile(path); err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	env := map[string]string{
		"CASEVAULT_ADDR":                     "127.0.0.1:7070",
		"CASEVAULT_ACME_DOMAINS":             "vault.maple.example, vault2.maple.example",
		"CASEVAULT_ACME_EMAIL":               "it@maple.example",
		"CASEVAULT_REGION_CA_ACCESS_KEY":     "ak",
		"CASEVAULT_REGION_CA_SECRET_KEY":     "sk",
		"CASEVAULT_METRICS_TOKEN":            metricsToken,
		"CASEVAULT_AUDIT_SINK_ALLOW_PRIVATE": "true",
	}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatalf("LoadEnv: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.RateLimit.PerSecond != 5 || c.RateLimit.Burst != 50 {
		t.Errorf("RateLimit = %+v", c.RateLimit)
	}
	if got, want := c.Metrics, (config.MetricsConfig{Addr: "127.0.0.1:9191", Token: metricsToken}); got != want {
		t.Errorf("Metrics = %+v, want %+v (addr from the file, token from the env)", got, want)
	}
	if a := c.TLS.ACME; len(a.Domains) != 2 || a.Domains[1] != "vault2.maple.example" || a.Email != "it@maple.example" || c.ACMECacheDir() != "/srv/casevault/acme" {
		t.Errorf("ACME = %+v, cache %s", a, c.ACMECacheDir())
	}
	if got, want := c.DataDir, "/srv/casevault"; got != want {
		t.Errorf("DataDir = %q, want %q", got, want)
	}
	if got, want := c.Addr, "127.0.0.1:7070"; got != want {
		t.Errorf("Addr = %q, want %q (env beats file)", got, want)
	}
	if got, want := c.RegionNames(), []string{"ca"}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("RegionNames = %v, want %v (file replaces default regions)", got, want)
	}
	if r := c.Regions["ca"]; r.AccessKey != "ak" || r.SecretKey != "sk" || r.UseTLS() {
		t.Errorf("region ca = %+v, want keys from env and secure false", r)
	}
	if got, want := c.MasterKeyPath("ca"), "/etc/casevault/ca.json"; got != want {
		t.Errorf("MasterKeyPath = %q, want %q", got, want)
	}
	if got, want := [2]any{c.Audit.SinkCAFile, c.Audit.SinkAllowPrivate}, [2]any{"/etc/casevault/sink-ca.pem", true}; got != want {
		t.Errorf("Audit = %+v, want %+v (CA from the file, allow_private from the env)", got, want)
	}
}

func TestConfig_LoadFile_UnknownField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("data_dri: /x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	if err := c.LoadFile(path); err == nil || !strings.Contains(err.Error(), "data_dri") {
		t.Fatalf("LoadFile = %v, want an error naming data_dri", err)
	}
}

func TestConfig_LoadEnv_BadBool(t *testing.T) {
	c := config.Default()
	err := c.LoadEnv(func(k string) string {
		if k == "CASEVAULT_BEHIND_TLS_PROXY" {
			return "maybe"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "CASEVAULT_BEHIND_TLS_PROXY") {
		t.Fatalf("LoadEnv = %v, want an error naming the variable", err)
	}
}

func TestConfig_KeyDir(t *testing.T) {
	c := config.Default()
	if got, want := c.KeyDir(), "casevault-data-keys"; got != want {
		t.Errorf("default KeyDir = %q, want %q (beside the data, not in it)", got, want)
	}
	if got, want := c.MasterKeyPath("ca"), filepath.Join("casevault-data-keys", "ca-master.json"); got != want {
		t.Errorf("MasterKeyPath = %q, want %q", got, want)
	}
	c.DataDir, c.KeysDir = "/srv/cv", "/etc/cv"
	for _, tt := range []struct{ got, want string }{
		{c.MasterKeyPath("us"), "/etc/cv/us-master.json"},
		{c.AuditSignerPath("us"), "/etc/cv/us-audit-signer.json"},
		{c.AuditSignerPath("service"), "/etc/cv/service-audit-signer.json"},
		{c.IndexKeyPath("ca"), "/etc/cv/ca-index.json"},
		{c.IndexKeyPath("service"), "/etc/cv/service-index.json"},
		{c.LegacyKeyDir(), "/srv/cv/keys"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	// A region's own master key path carries its wrapped keys along.
	r := c.Regions["ca"]
	r.MasterKey.Path = "/mnt/hsm/ca.json"
	c.Regions["ca"] = r
	if got, want := c.IndexKeyPath("ca"), "/mnt/hsm/ca-index.json"; got != want {
		t.Errorf("IndexKeyPath = %q, want %q", got, want)
	}
	if err := c.LoadEnv(func(k string) string {
		if k == "CASEVAULT_KEYS_DIR" {
			return "/var/lib/cv-keys"
		}
		return ""
	}); err != nil || c.KeyDir() != "/var/lib/cv-keys" {
		t.Errorf("CASEVAULT_KEYS_DIR: KeyDir = %q, %v", c.KeyDir(), err)
	}
}
