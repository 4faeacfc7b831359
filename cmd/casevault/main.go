// Command casevault runs the CaseVault server and its operator commands.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/audit/witness"
	"github.com/casevault/casevault/backup"
	"github.com/casevault/casevault/config"
	"github.com/casevault/casevault/detect"
	"github.com/casevault/casevault/internal/celllog"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/notify"
	"github.com/casevault/casevault/sink"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/cell"
	"github.com/casevault/casevault/vault/fs"
	"github.com/casevault/casevault/vault/mirror"
	"github.com/casevault/casevault/vault/s3"
	"github.com/casevault/casevault/web"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) && !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "casevault:", err)
		}
		os.Exit(exitCode(err))
	}
}

// Main is the whole program, wired from a Config. Open builds it; Close
// releases everything it opened.
type Main struct {
	Config config.Config
	Log    zerolog.Logger

	// DB routes the metadata to the service database and the served
	// cells' databases (cells.go).
	DB *cell.Router
	// Audit routes audit events to the served cells' logs and the
	// service-wide log.
	Audit *audit.Router
	// AuditKeys are the note verifier keys of the audit checkpoints, by
	// region ("service" for the service-wide log): what the operator
	// publishes for auditors.
	AuditKeys map[string]string
	Keys      *keys.Manager
	// Witness submits signed checkpoints to the configured witnesses; nil
	// when there are none.
	Witness *witness.Client
	Service *vault.Service
	HTTP    *web.Server
	// Sinks delivers every firm's checkpoints to the sink it names; Run
	// starts it.
	Sinks *sink.Worker
	// Notify queues the firms' notices (it is Service.Notifier) and
	// delivers them to their channels; Run starts it.
	Notify *notify.Worker
	// Detect evaluates the breach-detection rules on every firm event
	// the audit log appends (auditwire.go); Run flushes its counters.
	Detect *detect.Engine

	// auditSigners sign each region's checkpoints and residency reports.
	auditSigners keys.AuditSigners
	// cellLogs writes each firm's log lines to its cell's log file
	// (logging.go); Close closes its files.
	cellLogs *celllog.Writer
	// lock is Run's hold on DATA_DIR/serve.lock (servelock.go); moves run
	// the operator API's moves (operator.go).
	lock  *dataDirLock
	moves *operatorMoves
	// shreds runs the operator API's shreds (shred.go).
	shreds *operatorShreds
	// drills runs the restore drills, scheduled and asked for (drill_runner.go).
	drills *drillRunner

	// masters are the regions' master keys, by region.
	masters map[string]keys.MasterKey
	// backups back up each served cell's databases (backup.go); Run
	// starts them, Close ships what is left and stops them.
	backups map[string]*backup.Replicator
	// backupMu guards backups; backupCtx (cancelled by backupStop) and
	// backupWG run the retries of backups that could not start.
	backupMu   sync.Mutex
	backupCtx  context.Context
	backupStop context.CancelFunc
	backupWG   sync.WaitGroup

	// AuditKeyHistory are every audit verifier key, current and retired,
	// with its validity, by region ("service" too), oldest first.
	AuditKeyHistory map[string][]vault.AuditKey
}

// NewMain returns a Main with the default configuration.
func NewMain() *Main {
	return &Main{Config: config.Default(), Log: zerolog.Nop()}
}

// Open opens the database, the master keys and the region stores and builds
// the service. It does not listen.
func (m *Main) Open(ctx context.Context) error {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	if err := checkLegacyKeys(&m.Config); err != nil {
		return err
	}
	if err := os.MkdirAll(m.Config.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if err := m.openCells(ctx); err != nil {
		return err
	}
	db := m.DB
	var err error
	masters := make(map[string]keys.MasterKey)
	regions := make(map[string]vault.BlobStore)
	for _, name := range m.Config.RegionNames() {
		rc := m.Config.Regions[name]
		mk, err := keys.LoadOrCreateFileMasterKey(m.Config.MasterKeyPath(name))
		if err != nil {
			return fmt.Errorf("region %s: master key: %w", name, err)
		}
		masters[name] = mk
		store, err := openStore(ctx, &m.Config, name, rc, m.Log)
		if err != nil {
			return fmt.Errorf("region %s: store: %w", name, err)
		}
		if ms, ok := store.(*mirror.Store); ok {
			ms.SetLog(m.Log.With().Str("component", "mirror").Str("region", name).Logger())
		}
		regions[name] = store
	}
	m.masters = masters
	if m.Keys, err = keys.NewManager(masters, db); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	db.SetSealer(m.Keys)
	m.Service = vault.NewService(db, m.Keys, regions, m.Log)
	m.Service.RegionCountries = m.Config.RegionCountries()
	if m.Config.Session.Max > 0 {
		m.Service.SessionTTL = m.Config.Session.Max
	}
	m.Service.WebAuthn = vault.WebAuthnConfig{RPID: m.Config.WebAuthn.RPID,
		DisplayName: m.Config.WebAuthn.DisplayName, Origins: m.Config.WebAuthnOrigins()}
	if m.Service.Indexer, err = keys.LoadOrCreateIndexer(ctx, masters, m.Config.RegionNames()[0], m.Config.IndexKeyPath); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	// A database written before identifying text was sealed is sealed now,
	// before anything reads it (once; later starts return at once).
	for _, region := range db.Regions() {
		if err := db.Cells[region].SealPlaintext(ctx, m.Service.Indexer); err != nil {
			return fmt.Errorf("region %s: database: %w", region, err)
		}
	}
	db.Indexer = m.Service.Indexer
	if err := db.Repair(ctx); err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	return m.openAudit(ctx, masters)
}

// checkLegacyKeys refuses to start while keys generated by an older version
// still sit inside the data directory (DATA_DIR/keys), where a copy of the
// data would carry them, and says how to move them.
func checkLegacyKeys(c *config.Config) error {
	legacy := c.LegacyKeyDir()
	if _, err := os.Stat(legacy); errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return fmt.Errorf("keys: %s holds keys inside the data directory, where a copy of the data would carry them; "+
		"move them out before starting: mv %s %s (or move them elsewhere and set keys_dir)", legacy, legacy, c.KeyDir())
}

// openStore opens region name's blob store: its own site, wrapped with its
// mirror (vault/mirror) when the region has one.
func openStore(ctx context.Context, c *config.Config, name string, rc config.RegionConfig, log zerolog.Logger) (vault.BlobStore, error) {
	openPrimary := func(ctx context.Context) (vault.BlobStore, error) {
		if rc.Type == config.StoreS3 {
			return s3.New(ctx, s3.Config{
				Endpoint: rc.Endpoint, Bucket: rc.Bucket, AccessKey: rc.AccessKey, SecretKey: rc.SecretKey,
				Secure: rc.UseTLS(), Region: rc.S3Region, CreateBucket: rc.CreateBucket,
				UploadMemory: rc.UploadMemoryMiB << 20,
			})
		}
		return fs.New(c.RegionPath(name))
	}
	store, err := openPrimary(ctx)
	if rc.Mirror == nil {
		return store, err
	}
	openSecond := func(ctx context.Context) (vault.BlobStore, error) { return openMirrorSite(ctx, *rc.Mirror) }
	second, merr := openSecond(ctx)
	// One site out of reach (not both, not refused) leaves the region to
	// the other: a Late site answers unavailable and opens in the
	// background once it can.
	log = log.With().Str("component", "mirror").Str("region", name).Logger()
	switch {
	case err != nil && merr == nil && mirror.Unreachable(err):
		store = mirror.NewLate(ctx, "primary", err, openPrimary, log)
	case err != nil:
		return nil, err
	case merr != nil && mirror.Unreachable(merr):
		second = mirror.NewLate(ctx, "mirror", merr, openSecond, log)
	case merr != nil:
		return nil, fmt.Errorf("mirror: %w", merr)
	}
	return mirror.New(store, second, mirror.Options{Required: c.MirrorRequired(name)}), nil
}

// openMirrorSite opens a region's second site.
func openMirrorSite(ctx context.Context, mc config.MirrorConfig) (vault.BlobStore, error) {
	if mc.Type == config.StoreS3 {
		return s3.New(ctx, s3.Config{
			Endpoint: mc.Endpoint, Bucket: mc.Bucket, AccessKey: mc.AccessKey, SecretKey: mc.SecretKey,
			Secure: mc.UseTLS(), Region: mc.S3Region, CreateBucket: mc.CreateBucket,
		})
	}
	return fs.New(mc.Path)
}

// Run opens everything and starts serving HTTP (and /metrics, on its own
// listener when the configuration asks for one) in the background, plus the
// janitor that removes blobs of uploads that never committed.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	if err := m.Config.CheckSecurityTxtExpiry(time.Now()); err != nil {
		return err
	}
	lock, err := lockDataDir(m.Config.DataDir, "serve")
	if err != nil {
		return fmt.Errorf("%w: a server or a tenant move runs on it already", err)
	}
	m.lock = lock
	if err := m.Open(ctx); err != nil {
		return err
	}
	if m.Notify, err = m.newNotifyWorker(); err != nil {
		return err
	}
	m.Service.Notifier = m.Notify
	m.HTTP = web.NewServer(m.Service, m.Log)
	m.drills = m.newDrillRunner(ctx)
	m.HTTP.Durability = m.durability
	if err := m.wireOperator(ctx); err != nil {
		return err
	}
	m.HTTP.Addr = m.Config.Addr
	// Single sign-on's redirect URI is {notify.public_url}/sso/callback.
	m.HTTP.PublicURL = m.Config.Notify.PublicURL
	m.HTTP.TLSCertFile, m.HTTP.TLSKeyFile = m.Config.TLS.CertFile, m.Config.TLS.KeyFile
	if a := m.Config.TLS.ACME; a.Enabled() {
		acme := &web.ACME{Domains: a.Domains, Email: a.Email, CacheDir: m.Config.ACMECacheDir(), DirectoryURL: a.DirectoryURL}
		if a.CAFile != "" {
			pem, err := os.ReadFile(a.CAFile)
			if err != nil {
				return fmt.Errorf("tls.acme.ca_file: %w", err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return fmt.Errorf("tls.acme.ca_file: %s holds no PEM certificate", a.CAFile)
			}
			acme.HTTPClient = &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
		}
		m.HTTP.ACME = acme
	}
	m.HTTP.TrustedProxies = m.Config.TrustedProxies
	st := m.Config.SecurityTxt()
	m.HTTP.SecurityTxt = &web.SecurityTxt{Contact: st.Contact, Expires: st.Expires, ExpiresIn: config.DefaultSecurityTxtExpiry,
		Policy: st.Policy, Canonical: st.Canonical, Languages: st.PreferredLanguages}
	m.HTTP.BehindTLSProxy = m.Config.BehindTLSProxy
	m.HTTP.SessionIdle = m.Config.Session.Idle
	m.HTTP.UserRate, m.HTTP.UserBurst = m.Config.RateLimit.PerSecond, m.Config.RateLimit.Burst
	m.HTTP.UserUploads = m.Config.RateLimit.Uploads
	// Beyond loopback, /metrics moves to a loopback listener of its own
	// unless metrics.addr says where.
	m.HTTP.MetricsAddr, m.HTTP.MetricsTLS = m.Config.MetricsListenAddr(), m.Config.MetricsTLS()
	m.HTTP.MetricsToken = m.Config.Metrics.Token
	if m.Witness != nil {
		m.HTTP.Witnesses = m.Witness.Stats
	}
	m.HTTP.SinkPending = m.Sinks.Pending
	if err := m.HTTP.Open(); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if err := m.lock.note(lockInfo{PID: os.Getpid(), Command: "serve", Ready: true,
		OperatorURL: m.HTTP.OperatorURL(), TokenFile: m.operatorTokenFile()}); err != nil {
		return err
	}
	if err := m.startBackups(ctx); err != nil {
		return err
	}
	m.startScrubs(ctx)
	m.drills.setBackups(m.backups)
	m.drills.schedule()
	go m.watchBackups(ctx)
	m.Sinks.Start()
	m.Notify.Start()
	go m.janitor(ctx)
	if m.Detect != nil {
		go m.Detect.Run(ctx, detectFlushInterval)
	}
	if err := m.logSetupToken(ctx); err != nil {
		return err
	}
	m.Log.Info().Str("url", m.HTTP.URL()).Str("metrics_url", m.HTTP.MetricsURL()).Str("operator_url", m.HTTP.OperatorURL()).Str("data_dir", m.Config.DataDir).Strs("regions", m.Config.RegionNames()).Msg("casevault serving")
	return nil
}

// logSetupToken issues and logs a one-time setup token while no firm
// exists, so the first firm can be created over the API (POST /api/v1/setup).
// Each start issues a new one; the previous one stops working.
func (m *Main) logSetupToken(ctx context.Context) error {
	need, err := m.Service.NeedsSetup(ctx)
	if err != nil || !need {
		return err
	}
	token, err := m.Service.IssueSetupToken(ctx)
	if err != nil {
		return err
	}
	m.Log.Warn().Str("setup_token", token).Msg("no firm exists yet: POST /api/v1/setup with this one-time token to create the first firm and its owner")
	return nil
}

func (m *Main) janitor(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for i := 0; ; i++ {
		// Expired grants go on record within a minute; unfinished uploads,
		// old tokens and expired throttle entries are swept hourly.
		if n, err := m.Service.RecordExpiries(ctx); err != nil {
			m.Log.Warn().Err(err).Msg("recording grant expiries failed")
		} else if n > 0 {
			m.Log.Info().Int("recorded", n).Msg("recorded grant expiries")
		}
		if i%60 == 0 {
			if n, err := m.Service.CleanupPending(ctx); err != nil {
				m.Log.Warn().Err(err).Msg("pending blob cleanup failed")
			} else if n > 0 {
				m.Log.Info().Int("removed", n).Msg("removed blobs of unfinished uploads")
			}
			if n, err := m.Service.PurgeTokens(ctx); err != nil {
				m.Log.Warn().Err(err).Msg("token purge failed")
			} else if n > 0 {
				m.Log.Info().Int("deleted", n).Msg("deleted long-expired and revoked tokens")
			}
			if n, err := m.Service.PurgeThrottle(ctx); err != nil {
				m.Log.Warn().Err(err).Msg("sign-in throttle purge failed")
			} else if n > 0 {
				m.Log.Info().Int("deleted", n).Msg("deleted expired sign-in throttle entries")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close stops the server and closes the database.
func (m *Main) Close() error {
	var errs []error
	// Moves in progress stop at the step they are in; the next request
	// resumes them.
	m.moves.Close()
	m.shreds.Close()
	m.drills.Close()
	if m.HTTP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		errs = append(errs, m.HTTP.Close(ctx))
		cancel()
	}
	if m.Witness != nil {
		errs = append(errs, m.Witness.Close())
	}
	if m.Service != nil {
		// Repairs of damaged copies started by downloads finish (each
		// is bounded); one cut short stays for scrub.
		for _, st := range m.Service.Regions {
			if ms, ok := st.(*mirror.Store); ok {
				ms.Wait()
			}
		}
	}
	if m.Sinks != nil {
		m.Sinks.Close()
	}
	if m.Notify != nil {
		m.Notify.Close()
	}
	if m.Detect != nil {
		// The baseline's last counts, before the databases close.
		errs = append(errs, m.Detect.Flush(context.Background()))
	}
	if m.backupStop != nil {
		// No backup that could not start starts now, on closing databases.
		m.backupStop()
		m.backupWG.Wait()
	}
	if m.Audit != nil {
		errs = append(errs, m.Audit.Close())
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	if m.backups != nil {
		// After the databases close, so that the final sync ships what they
		// wrote while closing (a last checkpoint). Litestream's own
		// connection keeps the WAL until it has read it. A backup that
		// cannot finish is an alert, not a failed shutdown: the data is
		// whole in the cell, and the backup catches up at the next start.
		if err := m.closeBackups(); err != nil {
			m.Log.Error().Err(err).Msg("the final sync of the backups failed: they lag behind the cell until the next start")
		}
	}
	if m.cellLogs != nil {
		errs = append(errs, m.cellLogs.Close())
	}
	errs = append(errs, m.lock.Close())
	return errors.Join(errs...)
}

// newLogger builds the root logger: JSON lines on w at the configured level.
func newLogger(w io.Writer, level string) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// absDataDir makes the data and keys dirs absolute so logs name them
// unambiguously.
func absDataDir(c *config.Config) {
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if c.KeysDir == "" {
		return
	}
	if abs, err := filepath.Abs(c.KeysDir); err == nil {
		c.KeysDir = abs
	}
}
