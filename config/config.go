// Package config holds CaseVault's configuration: a plain struct with
// defaults that run with nothing installed, a YAML file, CASEVAULT_*
// environment overrides, and Validate.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Region store types.
const (
	StoreFS = "fs"
	StoreS3 = "s3"
)

// Master key source types.
const (
	MasterKeyFile = "file"
)

// Defaults for a fresh machine.
const (
	DefaultDataDir = "./casevault-data"
	DefaultAddr    = "127.0.0.1:8080"
)

// Config is the whole configuration of a CaseVault process.
type Config struct {
	// DataDir holds the SQLite databases and the local region stores: the
	// data an operator backs up. It never holds keys.
	DataDir string `yaml:"data_dir"`
	// KeysDir holds the generated master keys and the keys they wrap (audit
	// signers, index keys). It must lie outside DataDir, so that a copy of
	// the data alone cannot be decrypted. Default: DataDir with "-keys"
	// appended, beside it (./casevault-keys for ./casevault-data).
	KeysDir string `yaml:"keys_dir"`
	// Addr is the HTTP listen address.
	Addr string `yaml:"addr"`
	// TLS serves HTTPS from a certificate and key file, or from
	// certificates obtained by ACME.
	TLS TLSConfig `yaml:"tls"`
	// BehindTLSProxy allows a non-loopback listen address without TLS
	// because a TLS-terminating proxy stands in front.
	BehindTLSProxy bool `yaml:"behind_tls_proxy"`
	// TrustedProxies are the addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For is believed for the client address (rate limits,
	// logs). Empty: none.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// RateLimit bounds each signed-in user's requests.
	RateLimit RateLimitConfig `yaml:"rate_limit"`
	// Metrics says where GET /metrics is served and what it requires.
	Metrics MetricsConfig `yaml:"metrics"`
	// Audit tunes the audit log: heartbeats, witnesses and firms' sinks
	// (config/audit.go).
	Audit AuditConfig `yaml:"audit"`
	// Session bounds sign-in sessions: idle (web UI) and absolute expiry
	// (config/session.go).
	Session SessionConfig `yaml:"session"`
	// Operator says where the operator API listens and where its token is
	// kept (config/operator.go).
	Operator OperatorConfig `yaml:"operator"`
	// Notify configures notifications: links, SMTP, webhooks, retries
	// (config/notify.go).
	Notify NotifyConfig `yaml:"notify"`
	// Security is what /.well-known/security.txt serves (RFC 9116,
	// config/disclosure.go).
	Security SecurityTxtConfig `yaml:"security_txt"`
	// WebAuthn is the relying party of passkeys (config/webauthn.go).
	WebAuthn WebAuthnConfig `yaml:"webauthn"`
	// LogLevel is a zerolog level: debug, info, warn, error.
	LogLevel string `yaml:"log_level"`
	// Regions maps a region name (e.g. "us", "ca") to where its ciphertext
	// lives and which master key wraps its firms' keys.
	Regions map[string]RegionConfig `yaml:"regions"`
}

// RateLimitConfig bounds each signed-in user's requests: PerSecond
// sustained, Burst at once, and Uploads in progress at once. Zero means the
// server's defaults (20, 200 and 4).
type RateLimitConfig struct {
	PerSecond float64 `yaml:"per_user_per_second"`
	Burst     int     `yaml:"per_user_burst"`
	Uploads   int     `yaml:"per_user_uploads"`
}

// TLSConfig names a certificate and key in PEM files, or ACME settings.
type TLSConfig struct {
	CertFile string     `yaml:"cert_file"`
	KeyFile  string     `yaml:"key_file"`
	ACME     ACMEConfig `yaml:"acme"`
}

// ACMEConfig obtains certificates from an ACME CA (Let's Encrypt unless
// directory_url says otherwise) with the TLS-ALPN-01 challenge: the server
// must be reachable on port 443 of every domain.
type ACMEConfig struct {
	Domains []string `yaml:"domains"`
	Email   string   `yaml:"email"`
	// CacheDir keeps the account key and certificates; default
	// DATA_DIR/acme.
	CacheDir string `yaml:"cache_dir"`
	// DirectoryURL is the CA's ACME directory; default Let's Encrypt.
	DirectoryURL string `yaml:"directory_url"`
	// CAFile is a PEM file of roots to trust for a private CA's directory.
	CAFile string `yaml:"ca_file"`
}

// Enabled reports whether ACME is configured.
func (a ACMEConfig) Enabled() bool { return len(a.Domains) > 0 }

// Enabled reports whether TLS is configured.
func (t TLSConfig) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" || t.ACME.Enabled() }

// ACMECacheDir is where ACME keeps its account key and certificates.
func (c *Config) ACMECacheDir() string {
	if d := c.TLS.ACME.CacheDir; d != "" {
		return d
	}
	return filepath.Join(c.DataDir, "acme")
}

// RegionConfig is one residency region: its blob store and its master key.
type RegionConfig struct {
	// Type is "fs" (a local directory) or "s3" (any S3-compatible server).
	Type string `yaml:"type"`
	// Country is the ISO 3166-1 alpha-2 code of the country the region's
	// data lives in ("US", "CA"): the HIPAA add-on is offered only to
	// firms in a region whose country is US. The default regions set it;
	// a region without one gets no add-on that needs a country.
	Country string `yaml:"country,omitempty"`
	// Dir is the region's cell: the directory of its own metadata and
	// audit databases (casevault.db, audit.db); default
	// DataDir/regions/NAME. Everything of the region's firms is written
	// under it, in its store, or beside its master key (config/cell.go).
	Dir string `yaml:"dir,omitempty"`
	// Path is the directory of an fs store; default Dir.
	Path string `yaml:"path,omitempty"`

	// Endpoint is host:port of an S3 server, e.g. "s3.ca-central-1.amazonaws.com".
	Endpoint  string `yaml:"endpoint,omitempty"`
	Bucket    string `yaml:"bucket,omitempty"`
	AccessKey string `yaml:"access_key,omitempty"`
	SecretKey string `yaml:"secret_key,omitempty"`
	// Secure uses TLS; it defaults to true and may be false only for a
	// loopback endpoint.
	Secure *bool `yaml:"secure,omitempty"`
	// S3Region is the bucket's S3 location constraint, e.g. "ca-central-1".
	S3Region string `yaml:"s3_region,omitempty"`
	// CreateBucket creates the bucket when it is missing.
	CreateBucket bool `yaml:"create_bucket,omitempty"`
	// UploadMemoryMiB bounds the memory that the part buffers of all
	// uploads in progress to an s3 region take at once, in MiB (default
	// 192: eight uploads of 3 × 8 MiB); further uploads wait their turn.
	UploadMemoryMiB int64 `yaml:"upload_memory_mib,omitempty"`

	// MasterKey is where this region's key-encryption key comes from.
	MasterKey MasterKeyConfig `yaml:"master_key"`

	// Backup is where the cell's databases are backed up, encrypted
	// (config/backup.go); `backup: off` disables it.
	Backup BackupConfig `yaml:"backup,omitempty"`

	// Mirror is the region's second site, which holds a copy of every blob
	// (config/mirror.go); nil for none.
	Mirror *MirrorConfig `yaml:"mirror,omitempty"`
	// RequireMirror makes an upload commit only once both sites hold its
	// blob; default true when a mirror exists.
	RequireMirror *bool `yaml:"require_mirror,omitempty"`
	// ScrubInterval is how often serve compares the two sites and
	// re-copies what is missing or damaged: default 24h, or `off`.
	ScrubInterval ScrubSchedule `yaml:"scrub_interval,omitempty"`
}

// UseTLS reports whether an S3 region talks TLS to its endpoint.
func (r RegionConfig) UseTLS() bool { return r.Secure == nil || *r.Secure }

// MasterKeyConfig is a region's key-encryption key source.
type MasterKeyConfig struct {
	// Type is "file": a Tink keyset file generated on first run, mode 0600.
	Type string `yaml:"type"`
	// Path of the keyset file; default KeysDir/NAME-master.json.
	Path string `yaml:"path,omitempty"`
}

// Default returns the configuration that runs on a fresh machine: a local
// data directory and two regions, us and ca, backed by local directories.
func Default() Config {
	return Config{
		DataDir:  DefaultDataDir,
		Addr:     DefaultAddr,
		LogLevel: "info",
		Operator: OperatorConfig{Addr: DefaultOperatorAddr},
		Regions: map[string]RegionConfig{
			"us": {Type: StoreFS, Country: "US", MasterKey: MasterKeyConfig{Type: MasterKeyFile}},
			"ca": {Type: StoreFS, Country: "CA", MasterKey: MasterKeyConfig{Type: MasterKeyFile}},
		},
	}
}

// LoadFile reads a YAML file over c. Unknown fields are an error. A file
// that lists regions replaces the default regions entirely.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var fc Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) { // an empty file is fine
		return fmt.Errorf("config: %s: %w", path, err)
	}
	if fc.DataDir != "" {
		c.DataDir = fc.DataDir
	}
	if fc.KeysDir != "" {
		c.KeysDir = fc.KeysDir
	}
	if fc.Addr != "" {
		c.Addr = fc.Addr
	}
	if fc.TLS.Enabled() {
		c.TLS = fc.TLS
	}
	if fc.BehindTLSProxy {
		c.BehindTLSProxy = true
	}
	if fc.TrustedProxies != nil {
		c.TrustedProxies = fc.TrustedProxies
	}
	if fc.LogLevel != "" {
		c.LogLevel = fc.LogLevel
	}
	if fc.RateLimit != (RateLimitConfig{}) {
		c.RateLimit = fc.RateLimit
	}
	if fc.Metrics.Addr != "" {
		c.Metrics.Addr = fc.Metrics.Addr
	}
	if fc.Metrics.Token != "" {
		c.Metrics.Token = fc.Metrics.Token
	}
	if fc.Regions != nil {
		c.Regions = fc.Regions
	}
	c.loadAuditFile(&fc)
	c.loadSessionFile(&fc)
	c.loadOperatorFile(&fc)
	c.loadNotifyFile(&fc)
	c.loadSecurityFile(&fc)
	c.loadWebAuthnFile(&fc)
	return nil
}

// LoadEnv applies CASEVAULT_* environment variables from getenv over c:
// CASEVAULT_DATA_DIR, CASEVAULT_KEYS_DIR, CASEVAULT_ADDR, CASEVAULT_TLS_CERT_FILE,
// CASEVAULT_TLS_KEY_FILE, CASEVAULT_ACME_DOMAINS (comma-separated),
// CASEVAULT_ACME_EMAIL, CASEVAULT_BEHIND_TLS_PROXY, CASEVAULT_LOG_LEVEL,
// CASEVAULT_METRICS_ADDR, CASEVAULT_METRICS_TOKEN, CASEVAULT_AUDIT_HEARTBEAT, CASEVAULT_AUDIT_SINK_CA_FILE,
// CASEVAULT_AUDIT_SINK_ALLOW_PRIVATE, per region CASEVAULT_REGION_<NAME>_ACCESS_KEY and _SECRET_KEY so that S3
// secrets need not sit in the file (and _BACKUP_ACCESS_KEY, _BACKUP_SECRET_KEY for an s3 backup, _MIRROR_ACCESS_KEY, _MIRROR_SECRET_KEY for an s3 mirror), and CASEVAULT_AUDIT_WITNESSES and
// CASEVAULT_AUDIT_WITNESS_TIMEOUT (config/audit.go), CASEVAULT_OPERATOR_ADDR
// and CASEVAULT_OPERATOR_TOKEN_FILE (config/operator.go), CASEVAULT_NOTIFY_PUBLIC_URL, CASEVAULT_NOTIFY_SMTP_PASSWORD and
// CASEVAULT_NOTIFY_ALLOW_PRIVATE_WEBHOOKS (config/notify.go).
func (c *Config) LoadEnv(getenv func(string) string) error {
	set := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	set("CASEVAULT_DATA_DIR", &c.DataDir)
	set("CASEVAULT_KEYS_DIR", &c.KeysDir)
	set("CASEVAULT_ADDR", &c.Addr)
	set("CASEVAULT_TLS_CERT_FILE", &c.TLS.CertFile)
	set("CASEVAULT_TLS_KEY_FILE", &c.TLS.KeyFile)
	set("CASEVAULT_LOG_LEVEL", &c.LogLevel)
	set("CASEVAULT_ACME_EMAIL", &c.TLS.ACME.Email)
	set("CASEVAULT_METRICS_ADDR", &c.Metrics.Addr)
	set("CASEVAULT_METRICS_TOKEN", &c.Metrics.Token)
	set("CASEVAULT_AUDIT_HEARTBEAT", &c.Audit.Heartbeat)
	set("CASEVAULT_AUDIT_SINK_CA_FILE", &c.Audit.SinkCAFile)
	if v := getenv("CASEVAULT_ACME_DOMAINS"); v != "" {
		c.TLS.ACME.Domains = nil
		for d := range strings.SplitSeq(v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				c.TLS.ACME.Domains = append(c.TLS.ACME.Domains, d)
			}
		}
	}
	if v := getenv("CASEVAULT_BEHIND_TLS_PROXY"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: CASEVAULT_BEHIND_TLS_PROXY: %q is not true or false", v)
		}
		c.BehindTLSProxy = b
	}
	if v := getenv("CASEVAULT_AUDIT_SINK_ALLOW_PRIVATE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("config: CASEVAULT_AUDIT_SINK_ALLOW_PRIVATE: %q is not true or false", v)
		}
		c.Audit.SinkAllowPrivate = b
	}
	for name, r := range c.Regions {
		prefix := "CASEVAULT_REGION_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_"
		set(prefix+"ACCESS_KEY", &r.AccessKey)
		set(prefix+"SECRET_KEY", &r.SecretKey)
		c.Regions[name] = r
	}
	c.loadBackupEnv(getenv)
	c.loadMirrorEnv(getenv)
	c.loadOperatorEnv(getenv)
	if err := c.loadNotifyEnv(getenv); err != nil {
		return err
	}
	if err := c.loadSessionEnv(getenv); err != nil {
		return err
	}
	return c.loadAuditEnv(getenv)
}

// RegionNames returns the configured region names, sorted.
func (c *Config) RegionNames() []string {
	names := make([]string, 0, len(c.Regions))
	for name := range c.Regions {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// KeyDir returns the directory of generated keys: KeysDir, or DataDir with
// "-keys" appended.
func (c *Config) KeyDir() string {
	if c.KeysDir != "" {
		return c.KeysDir
	}
	return filepath.Clean(c.DataDir) + "-keys"
}

// LegacyKeyDir is where keys were generated before they moved out of the
// data directory: DataDir/keys. Main refuses to start while it exists.
func (c *Config) LegacyKeyDir() string { return filepath.Join(c.DataDir, "keys") }

// AuditSignerPath returns the file of the audit checkpoint signing key of a
// region ("service" for the service-wide log), next to the region's master
// key.
func (c *Config) AuditSignerPath(name string) string {
	return filepath.Join(c.keyFileDir(name), name+"-audit-signer.json")
}

// AuditAnchorDir returns the directory beside which a region's ("service"
// for the service-wide log) remembered audit checkpoints are kept: that of
// its audit signer, outside the data directory.
func (c *Config) AuditAnchorDir(name string) string { return c.keyFileDir(name) }

// IndexKeyPath returns the file of the blind-index key of a region
// ("service" for the service-wide one), next to the region's master key.
func (c *Config) IndexKeyPath(name string) string {
	return filepath.Join(c.keyFileDir(name), name+"-index.json")
}

// keyFileDir is the directory of the keys wrapped by region name's master
// key: that key's directory, or KeyDir for the service.
func (c *Config) keyFileDir(name string) string {
	if _, ok := c.Regions[name]; ok && name != "service" {
		return filepath.Dir(c.MasterKeyPath(name))
	}
	return c.KeyDir()
}

// RegionPath returns the directory of an fs region store: its path, or the
// region's cell directory.
func (c *Config) RegionPath(name string) string {
	if p := c.Regions[name].Path; p != "" {
		return p
	}
	return c.CellDir(name)
}

// MasterKeyPath returns the keyset file of a region's file master key.
func (c *Config) MasterKeyPath(name string) string {
	if p := c.Regions[name].MasterKey.Path; p != "" {
		return p
	}
	return filepath.Join(c.KeyDir(), name+"-master.json")
}

var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

var regionName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)

// Validate reports the first problem with c, naming the field.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("config: data_dir: must not be empty")
	}
	if within(c.KeyDir(), c.DataDir) {
		return fmt.Errorf("config: keys_dir: %q lies inside data_dir %q; keep keys apart from the data so that a copy of the data alone cannot be decrypted", c.KeyDir(), c.DataDir)
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("config: addr: %q is not host:port", c.Addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("config: addr: port %q is not a number from 0 to 65535", port)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("config: tls: cert_file and key_file must be given together")
	}
	if a := c.TLS.ACME; a.Enabled() {
		if c.TLS.CertFile != "" {
			return errors.New("config: tls: give either cert_file and key_file or acme, not both")
		}
		for _, d := range a.Domains {
			if d == "" || strings.ContainsAny(d, " /:*") || !strings.Contains(d, ".") {
				return fmt.Errorf("config: tls.acme.domains: %q is not a domain name", d)
			}
		}
		if a.DirectoryURL != "" && !strings.HasPrefix(a.DirectoryURL, "https://") {
			return fmt.Errorf("config: tls.acme.directory_url: %q is not an https URL", a.DirectoryURL)
		}
	} else if a.Email != "" || a.CacheDir != "" || a.DirectoryURL != "" || a.CAFile != "" {
		return errors.New("config: tls.acme: domains are required")
	}
	if !IsLoopback(host) && !c.TLS.Enabled() && !c.BehindTLSProxy {
		return fmt.Errorf("config: addr: %q is not a loopback address; configure tls.cert_file and tls.key_file or tls.acme.domains, or set behind_tls_proxy when a TLS proxy stands in front", c.Addr)
	}
	if err := c.validateMetrics(); err != nil {
		return err
	}
	if err := c.validateOperator(); err != nil {
		return err
	}
	if c.RateLimit.PerSecond < 0 || c.RateLimit.Burst < 0 || c.RateLimit.Uploads < 0 {
		return errors.New("config: rate_limit: per_user_per_second, per_user_burst and per_user_uploads must not be negative")
	}
	switch c.LogLevel {
	case "", "trace", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log_level: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if len(c.Regions) == 0 {
		return errors.New("config: regions: at least one region is required")
	}
	for _, name := range c.RegionNames() {
		if err := c.validateRegion(name, c.Regions[name]); err != nil {
			return err
		}
	}
	if err := c.validateCells(); err != nil {
		return err
	}
	if err := c.validateBackups(); err != nil {
		return err
	}
	if err := c.validateMirrors(); err != nil {
		return err
	}
	if err := c.validateSession(); err != nil {
		return err
	}
	if err := c.validateWebAuthn(); err != nil {
		return err
	}
	if err := c.validateNotify(); err != nil {
		return err
	}
	if err := c.validateSecurity(); err != nil {
		return err
	}
	return c.validateAudit()
}

func (c *Config) validateRegion(name string, r RegionConfig) error {
	field := "regions." + name
	if !regionName.MatchString(name) {
		return fmt.Errorf("config: %s: region names are 1-16 lower-case letters, digits and dashes, starting with a letter", field)
	}
	switch r.Type {
	case StoreFS:
		if r.Endpoint != "" || r.Bucket != "" || r.UploadMemoryMiB != 0 {
			return fmt.Errorf("config: %s: endpoint, bucket and upload_memory_mib belong to type s3, not fs", field)
		}
	case StoreS3:
		switch {
		case r.Endpoint == "":
			return fmt.Errorf("config: %s.endpoint: required for an s3 region", field)
		case strings.Contains(r.Endpoint, "://"):
			return fmt.Errorf("config: %s.endpoint: give host:port without a scheme (set secure for TLS)", field)
		case r.Bucket == "":
			return fmt.Errorf("config: %s.bucket: required for an s3 region", field)
		case r.AccessKey == "" || r.SecretKey == "":
			return fmt.Errorf("config: %s: access_key and secret_key are required for an s3 region (or CASEVAULT_REGION_%s_ACCESS_KEY/_SECRET_KEY)", field, strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
		case r.Path != "":
			return fmt.Errorf("config: %s.path: belongs to type fs, not s3", field)
		case r.UploadMemoryMiB < 0 || r.UploadMemoryMiB > 1<<20:
			return fmt.Errorf("config: %s.upload_memory_mib: %d is not between 0 (the default) and %d", field, r.UploadMemoryMiB, 1<<20)
		}
		host := r.Endpoint
		if h, _, err := net.SplitHostPort(r.Endpoint); err == nil {
			host = h
		}
		if !r.UseTLS() && !IsLoopback(host) {
			return fmt.Errorf("config: %s.secure: TLS is required for the non-loopback endpoint %q", field, r.Endpoint)
		}
	case "":
		return fmt.Errorf("config: %s.type: required, fs or s3", field)
	default:
		return fmt.Errorf("config: %s.type: %q is not fs or s3", field, r.Type)
	}
	if r.Country != "" && !countryCode.MatchString(r.Country) {
		return fmt.Errorf("config: %s.country: %q is not an ISO 3166-1 alpha-2 code in capitals (US, CA)", field, r.Country)
	}
	switch r.MasterKey.Type {
	case MasterKeyFile, "":
	default:
		return fmt.Errorf("config: %s.master_key.type: %q is not supported (file)", field, r.MasterKey.Type)
	}
	if p := r.MasterKey.Path; p != "" && within(p, c.DataDir) {
		return fmt.Errorf("config: %s.master_key.path: %q lies inside data_dir %q; keep keys apart from the data", field, p, c.DataDir)
	}
	return nil
}

// within reports whether path is dir or lies below it, comparing absolute,
// cleaned paths.
func within(path, dir string) bool {
	ap, err1 := filepath.Abs(path)
	ad, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(ad, ap)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// IsLoopback reports whether host (a name or an IP, without port) is a
// loopback address: localhost, 127.0.0.0/8 or ::1. An empty host (all
// interfaces) is not.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && ip.IsLoopback()
}
