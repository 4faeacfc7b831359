package main

import (
	"context"
	"errors"
	"fmt"
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

// startBackups starts, for each served cell whose backup is on, the
// continuous backup of its two databases (backup.Replicator), once the
// cell is open. The backup key is created on first use, wrapped by the
// region's master key.
func (m *Main) startBackups(ctx context.Context) error {
	m.backups = make(map[string]*backup.Replicator)
	for _, name := range m.DB.Regions() {
		if !m.Config.BackupEnabled(name) {
			continue
		}
		key, err := keys.LoadOrCreateBackupKey(ctx, m.Config.BackupKeyPath(name), name, m.masters[name])
		if err != nil {
			return fmt.Errorf("region %s: backup key: %w", name, err)
		}
		store, prefix, err := openBackupStore(ctx, &m.Config, name)
		if err != nil {
			return fmt.Errorf("region %s: backup store: %w", name, err)
		}
		log := m.Log.With().Str("component", "backup").Str("region", name).Logger()
		r, err := backup.Start(ctx, map[string]string{
			backup.DBMetadata: m.Config.CellDatabasePath(name),
			backup.DBAudit:    m.Config.CellAuditPath(name),
		}, backup.Options{
			Store: store, Prefix: prefix, Key: key,
			Interval:         m.Config.BackupInterval(name),
			SnapshotInterval: m.Config.BackupSnapshotInterval(name),
			Retention:        m.Config.BackupRetention(name),
			Logger:           slog.New(&zerologHandler{log: log}),
		})
		if err != nil {
			return fmt.Errorf("region %s: backup: %w", name, err)
		}
		m.backups[name] = r
		log.Info().Dur("interval", m.Config.BackupInterval(name)).Msg("backing up the cell's databases")
	}
	return nil
}

// closeBackups ships what the backups have not yet and stops them; it runs
// before the databases close.
func (m *Main) closeBackups() error {
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
	var errs []error
	for name, r := range m.backups {
		if err := r.Sync(ctx); err != nil {
			errs = append(errs, fmt.Errorf("region %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
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

// resyncBackupAfterMove runs after a firm has left region's cell (the
// server stopped): Litestream's local state in the cell still holds the
// firm's pages, and the newest object of the backup, which Litestream
// fetches back into that state at its next start, does too. So the local
// state is dropped, the cell is backed up once more (its newest objects
// are then of the cell without the firm), and the local state is dropped
// again. The backup's older objects keep the firm until retention drops
// them, in the region and under its keys.
func resyncBackupAfterMove(ctx context.Context, c *config.Config, region string) error {
	if !c.BackupEnabled(region) {
		return nil
	}
	drop := func() error {
		for _, d := range litestreamDirs(c, region) {
			if err := os.RemoveAll(d); err != nil {
				return err
			}
		}
		return nil
	}
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
	}, backup.Options{Store: store, Prefix: prefix, Key: key, Interval: time.Hour})
	if err != nil {
		return err
	}
	serr := r.Snapshot(ctx)
	if err := errors.Join(serr, r.Close(ctx)); err != nil {
		return err
	}
	return drop()
}
