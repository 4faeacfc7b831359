package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/backup"
	"github.com/casevault/casevault/config"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/fs"
	"github.com/casevault/casevault/vault/s3"
)

// backupFinalSync bounds the last sync of the backups at shutdown.
const backupFinalSync = 30 * time.Second

// openBackupStore opens region name's backup location and returns it with
// the prefix its keys start with.
func openBackupStore(ctx context.Context, c *config.Config, name string) (vault.BlobStore, string, error) {
	b := c.Regions[name].Backup
	if c.BackupType(name) == config.StoreS3 {
		s, err := s3.New(ctx, s3.Config{
			Endpoint: b.Endpoint, Bucket: b.Bucket, AccessKey: b.AccessKey, SecretKey: b.SecretKey,
			Secure: b.UseTLS(), Region: b.S3Region, CreateBucket: b.CreateBucket,
		})
		return s, b.Prefix, err
	}
	s, err := fs.New(c.BackupDir(name))
	return s, "", err
}

// backupRetry is how long serve waits before it tries again to start a
// cell's backup that could not start (its location unreachable).
const backupRetry = 10 * time.Second

// backupOpenTimeout bounds the opening of a backup location.
const backupOpenTimeout = 30 * time.Second

// startBackups starts, for each served cell whose backup is on, the
// continuous backup of its two databases (backup.Replicator), once the
// cell is open. The backup key is created on first use, wrapped by the
// region's master key. A backup location that cannot be reached does not
// keep the server from starting: the cell is whole, the error is logged
// and the backup is tried again every backupRetry until it starts, then
// catches up (README, "Backups and restore"). A backup key that cannot be
// read or made is an error: that is no passing outage.
func (m *Main) startBackups(ctx context.Context) error {
	m.backupMu.Lock()
	defer m.backupMu.Unlock()
	m.backups = make(map[string]*backup.Replicator)
	m.backupCtx, m.backupStop = context.WithCancel(context.WithoutCancel(ctx))
	for _, name := range m.DB.Regions() {
		if !m.Config.BackupEnabled(name) {
			continue
		}
		if _, err := keys.LoadOrCreateBackupKey(ctx, m.Config.BackupKeyPath(name), name, m.masters[name]); err != nil {
			return fmt.Errorf("region %s: backup key: %w", name, err)
		}
		r, err := m.startBackup(ctx, name)
		if err != nil {
			m.backupLog(name).Error().Err(err).Dur("retry_in", backupRetry).Msg("the backup cannot start: the cell serves without it and it is tried again")
			m.retryBackup(name)
			continue
		}
		m.backups[name] = r
	}
	return nil
}

// backupRetention is region name's retention tiers, as the backup takes
// them.
func backupRetention(c *config.Config, name string) backup.Retention {
	r := c.BackupRetentionOf(name)
	return backup.Retention{All: r.All, Daily: r.Daily, Monthly: r.Monthly}
}

// backupLog is the logger of region's backup.
func (m *Main) backupLog(region string) *zerolog.Logger {
	l := m.Log.With().Str("component", "backup").Str("region", region).Logger()
	return &l
}

// startBackup starts the backup of region's cell. Errors: those of the
// key, the store and Litestream.
func (m *Main) startBackup(ctx context.Context, name string) (*backup.Replicator, error) {
	key, err := keys.LoadBackupKey(ctx, m.Config.BackupKeyPath(name), name, m.masters[name])
	if err != nil {
		return nil, fmt.Errorf("region %s: backup key: %w", name, err)
	}
	// A location that does not answer must not hold up a start.
	octx, cancel := context.WithTimeout(ctx, backupOpenTimeout)
	store, prefix, err := openBackupStore(octx, &m.Config, name)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("region %s: backup store: %w", name, err)
	}
	log := m.backupLog(name)
	r, err := backup.Start(ctx, map[string]string{
		backup.DBMetadata: m.Config.CellDatabasePath(name),
		backup.DBAudit:    m.Config.CellAuditPath(name),
	}, backup.Options{
		Store: store, Prefix: prefix, Key: key,
		Interval:         m.Config.BackupInterval(name),
		SnapshotInterval: m.Config.BackupSnapshotInterval(name),
		Retention:        backupRetention(&m.Config, name),
		Logger:           slog.New(&zerologHandler{log: *log}),
	})
	if err != nil {
		return nil, fmt.Errorf("region %s: backup: %w", name, err)
	}
	log.Info().Dur("interval", m.Config.BackupInterval(name)).Msg("backing up the cell's databases")
	return r, nil
}

// retryBackup tries, every backupRetry in the background until it works
// or the backups close, to start region's backup. It takes backupMu only
// to install the backup once started.
func (m *Main) retryBackup(region string) {
	ctx := m.backupCtx
	m.backupWG.Go(func() {
		t := time.NewTicker(backupRetry)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			r, err := m.startBackup(ctx, region)
			if err != nil {
				m.backupLog(region).Error().Err(err).Dur("retry_in", backupRetry).Msg("the backup still cannot start")
				continue
			}
			m.backupMu.Lock()
			if ctx.Err() != nil || m.backups == nil || m.backups[region] != nil {
				m.backupMu.Unlock()
				cctx, cancel := context.WithTimeout(context.Background(), backupFinalSync)
				_ = r.Close(cctx)
				cancel()
				return
			}
			m.backups[region] = r
			m.backupMu.Unlock()
			m.backupLog(region).Warn().Msg("the backup started after all: it catches up with the cell")
			return
		}
	})
}

// closeBackups ships what the backups have not yet and stops them; it runs
// before the databases close.
func (m *Main) closeBackups() error {
	if m.backupStop != nil {
		m.backupStop()
	}
	m.backupWG.Wait()
	m.backupMu.Lock()
	defer m.backupMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), backupFinalSync)
	defer cancel()
	var errs []error
	for name, r := range m.backups {
		if err := r.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("region %s: %w", name, err))
		}
	}
	m.backups = nil
	return errors.Join(errs...)
}

// SyncBackups ships every served cell's committed transactions now and
// waits until they are stored (tests; a drill).
func (m *Main) SyncBackups(ctx context.Context) error {
	m.backupMu.Lock()
	defer m.backupMu.Unlock()
	var errs []error
	for name, r := range m.backups {
		if err := r.Sync(ctx); err != nil {
			errs = append(errs, fmt.Errorf("region %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// backupAroundCleanup runs a server-run move's cleanup step (clean) of
// region's cell with its backup stopped, and resyncs the backup after it,
// as resyncBackupAfterMove does after an in-process move. Litestream holds
// a read transaction on the cell's databases while it runs, which would
// keep the cleanup's checkpoints from truncating the WAL; and its local
// state in the cell, and the newest backup object it fetches back into that
// state at a start, hold the firm's pages. So: the backup stops (its last
// sync ships what came before the cleanup), the cleanup runs, the local
// state is dropped, the backup starts again (Litestream finds a WAL it did
// not follow and ships a full copy of each database, without the firm),
// writes a fresh snapshot, and drops the local files it fetched from
// before. Other cells' backups run on meanwhile, and so do the cell's
// users: what they write while the backup is stopped ships when it starts.
// A backup that cannot start again is retried in the background, as at a
// start. The backup's older objects keep the firm, sealed, until retention
// drops them (README, "Backups and restore").
func (m *Main) backupAroundCleanup(ctx context.Context, region string, clean func(context.Context) error) error {
	// backupMu is held only to take the backup out and to put the new one
	// in: the cleanup (a firm's objects deleted) may take long, and
	// SyncBackups and readers of the backups must not wait for it.
	m.backupMu.Lock()
	r := m.backups[region]
	running := m.backups != nil
	delete(m.backups, region)
	m.backupMu.Unlock()
	if r == nil {
		err := clean(ctx)
		if running && m.Config.BackupEnabled(region) {
			// Its location was unreachable at the start: it starts from
			// the dropped state when it can.
			err = errors.Join(err, dropLitestreamState(&m.Config, region))
		}
		return err
	}
	log := m.backupLog(region)
	if err := r.Close(ctx); err != nil {
		log.Warn().Err(err).Msg("the backup's last sync before a move's cleanup failed; the snapshot after it covers the cell")
	}
	err := clean(ctx)
	restart := func() error {
		if derr := dropLitestreamState(&m.Config, region); derr != nil {
			return fmt.Errorf("drop the backup's local state: %w", derr)
		}
		nr, serr := m.startBackup(ctx, region)
		if serr != nil {
			return serr
		}
		m.backupMu.Lock()
		if m.backups == nil { // the backups closed meanwhile
			m.backupMu.Unlock()
			return nr.Close(ctx)
		}
		m.backups[region] = nr
		m.backupMu.Unlock()
		if err != nil {
			return nil // the cleanup is redone; so is this
		}
		if rerr := nr.Rebase(ctx); rerr != nil {
			return fmt.Errorf("the backup's fresh start after the firm left: %w", rerr)
		}
		log.Info().Msg("the backup is resynced without the firm that left")
		return nil
	}
	if rerr := restart(); rerr != nil {
		log.Error().Err(rerr).Msg("the backup could not be resynced after a move's cleanup")
		m.backupMu.Lock()
		if m.backups != nil && m.backups[region] == nil {
			m.retryBackup(region)
		}
		m.backupMu.Unlock()
		return errors.Join(err, rerr)
	}
	return err
}

// zerologHandler passes Litestream's slog lines to a zerolog logger, one
// level down (its info lines are our debug lines; warnings stay warnings).
type zerologHandler struct {
	log   zerolog.Logger
	attrs []slog.Attr
}

func (h *zerologHandler) Enabled(_ context.Context, l slog.Level) bool {
	return h.log.GetLevel() <= zlevel(l)
}

func (h *zerologHandler) Handle(_ context.Context, r slog.Record) error {
	ev := h.log.WithLevel(zlevel(r.Level))
	for _, a := range h.attrs {
		ev = ev.Str(a.Key, a.Value.String())
	}
	r.Attrs(func(a slog.Attr) bool {
		ev = ev.Str(a.Key, a.Value.String())
		return true
	})
	ev.Msg("litestream: " + r.Message)
	return nil
}

func (h *zerologHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &zerologHandler{log: h.log, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *zerologHandler) WithGroup(string) slog.Handler { return h }

func zlevel(l slog.Level) zerolog.Level {
	switch {
	case l >= slog.LevelError:
		return zerolog.ErrorLevel
	case l >= slog.LevelWarn:
		return zerolog.WarnLevel
	default:
		return zerolog.DebugLevel
	}
}

// litestreamDirs are the directories of Litestream's local state beside a
// cell's databases: plain LTX files, the databases' own pages.
func litestreamDirs(c *config.Config, region string) []string {
	var dirs []string
	for _, p := range []string{c.CellDatabasePath(region), c.CellAuditPath(region)} {
		dirs = append(dirs, filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+"-litestream"))
	}
	return dirs
}

// dropLitestreamState removes Litestream's local state of region's cell.
func dropLitestreamState(c *config.Config, region string) error {
	for _, d := range litestreamDirs(c, region) {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
	}
	return nil
}

// resyncBackupAfterMove runs after a firm has left region's cell (the
// server stopped): Litestream's local state in the cell still holds the
// firm's pages, and the newest object of the backup, which Litestream
// fetches back into that state at its next start, does too. So the local
// state is dropped, the cell is backed up once more and rebased (its newest
// objects, at every level, are then of the cell without the firm), and the
// local state is dropped again. The backup's older objects keep the firm until retention drops
// them, in the region and under its keys.
func resyncBackupAfterMove(ctx context.Context, c *config.Config, region string) error {
	if !c.BackupEnabled(region) {
		return nil
	}
	drop := func() error { return dropLitestreamState(c, region) }
	if err := drop(); err != nil {
		return err
	}
	mk, err := loadMasterKey(c.MasterKeyPath(region))
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	key, err := keys.LoadBackupKey(ctx, c.BackupKeyPath(region), region, mk)
	if vault.IsCode(err, vault.ENOTFOUND) {
		return nil // never backed up: nothing to bring back
	} else if err != nil {
		return fmt.Errorf("backup key: %w", err)
	}
	store, prefix, err := openBackupStore(ctx, c, region)
	if err != nil {
		return fmt.Errorf("backup store: %w", err)
	}
	r, err := backup.Start(ctx, map[string]string{
		backup.DBMetadata: c.CellDatabasePath(region),
		backup.DBAudit:    c.CellAuditPath(region),
	}, backup.Options{Store: store, Prefix: prefix, Key: key, Interval: time.Hour,
		SnapshotInterval: c.BackupSnapshotInterval(region), Retention: backupRetention(c, region)})
	if err != nil {
		return err
	}
	serr := r.Rebase(ctx)
	if err := errors.Join(serr, r.Close(ctx)); err != nil {
		return err
	}
	return drop()
}

// cmdBackupForget runs `casevault backup forget --region R --before TIME`:
// it deletes from region R's backup everything a restore would need to
// reach a time before TIME — every snapshot taken before the first one at
// or after TIME, and every file those cover — so that, for example, a firm
// moved out of the region leaves no trace in its backup once the move's
// fresh snapshot is taken. Restores to a time before that snapshot are no
// longer possible, for every firm of the region. It may run beside a
// server.
func cmdBackupForget(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("backup forget", stderr)
	region := fs.String("region", "", "the `region` whose backup to cut")
	before := fs.String("before", "", "forget what only a restore to a `time` before this (RFC 3339) needs")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require(fs, "region", "before"); err != nil {
		return err
	}
	when, err := time.Parse(time.RFC3339, *before)
	if err != nil {
		fmt.Fprintf(stderr, "casevault backup forget: --before: %q is not an RFC 3339 time\n", *before)
		return errUsage
	}
	m, err := cf.loadRegion(stderr, *region)
	if err != nil {
		return err
	}
	if !m.Config.BackupEnabled(*region) {
		return fmt.Errorf("region %s: backups are off", *region)
	}
	mk, err := loadMasterKey(m.Config.MasterKeyPath(*region))
	if err != nil {
		return fmt.Errorf("region %s: master key: %w", *region, err)
	}
	key, err := keys.LoadBackupKey(ctx, m.Config.BackupKeyPath(*region), *region, mk)
	if err != nil {
		return fmt.Errorf("region %s: backup key: %w", *region, err)
	}
	store, prefix, err := openBackupStore(ctx, &m.Config, *region)
	if err != nil {
		return fmt.Errorf("region %s: backup store: %w", *region, err)
	}
	type dbResult struct {
		DB       string    `json:"db"`
		Deleted  int       `json:"deleted"`
		Earliest time.Time `json:"earliest"` // the snapshot restores start from now
	}
	var res []dbResult
	for _, db := range []string{backup.DBMetadata, backup.DBAudit} {
		c, err := backup.NewClient(store, key, db, prefix)
		if err != nil {
			return err
		}
		n, base, err := backup.ForgetBefore(ctx, c, when)
		if err != nil {
			return cliError(fmt.Errorf("region %s: %s: %w", *region, db, err))
		}
		res = append(res, dbResult{DB: db, Deleted: n, Earliest: base.CreatedAt.UTC()})
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	for _, r := range res {
		fmt.Fprintf(stdout, "Region %s, %s: %d backup objects deleted; restores reach back to the snapshot of %s.\n",
			*region, r.DB, r.Deleted, r.Earliest.Format(time.RFC3339))
	}
	return nil
}
