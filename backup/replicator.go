package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/superfly/ltx"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// Options configure the backups of one cell.
type Options struct {
	// Store is the region's backup location; Prefix ("" for none) starts
	// every key written to it.
	Store  vault.BlobStore
	Prefix string
	// Key is the region's backup key.
	Key *keys.BackupKey
	// Interval is how often new transactions are shipped.
	Interval time.Duration
	// SnapshotInterval is how often a full snapshot is written.
	SnapshotInterval time.Duration
	// Retention is how long backups are kept, in tiers (retention.go);
	// zero deletes no snapshot (not Litestream's default of one day: a
	// short run for a resync must not cut the tiers of the region's
	// backup).
	Retention Retention
	// Logger receives Litestream's log lines; nil discards them.
	Logger *slog.Logger
}

// keepForever is Litestream's snapshot retention when Options.Retention
// gives none: a century.
const keepForever = 100 * 365 * 24 * time.Hour

// Replicator runs Litestream on a cell's databases. Litestream owns their
// WAL checkpoints while it runs (it holds a read transaction so that no
// other checkpoint can discard frames it has not shipped); call
// Checkpoint for one that must truncate the WAL.
type Replicator struct {
	store   *litestream.Store
	dbs     map[string]*litestream.DB
	clients map[string]*Client
	policy  Retention
	logger  *slog.Logger
	stop    context.CancelFunc
	done    chan struct{}
}

// Start backs up the databases in paths (by name, DBMetadata and DBAudit)
// continuously, in the background, until Close. The databases must exist
// and be in WAL mode. Errors: invalid, unavailable.
func Start(ctx context.Context, paths map[string]string, opt Options) (*Replicator, error) {
	if opt.Store == nil || opt.Key == nil {
		return nil, vault.Errorf(vault.EINVALID, "A backup needs a store and a key.")
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Replicator{dbs: make(map[string]*litestream.DB), clients: make(map[string]*Client), policy: opt.Retention, logger: logger}
	var list []*litestream.DB
	for _, name := range []string{DBMetadata, DBAudit} {
		path, ok := paths[name]
		if !ok {
			continue
		}
		client, err := NewClient(opt.Store, opt.Key, name, opt.Prefix)
		if err != nil {
			return nil, err
		}
		client.SetLogger(logger)
		r.clients[name] = client
		db := litestream.NewDB(path)
		rep := litestream.NewReplicaWithClient(db, client)
		if opt.Interval > 0 {
			rep.SyncInterval = opt.Interval
		}
		db.Replica = rep
		r.dbs[name] = db
		list = append(list, db)
	}
	if len(list) == 0 {
		return nil, vault.Errorf(vault.EINVALID, "No database to back up.")
	}
	s := litestream.NewStore(list, litestream.DefaultCompactionLevels)
	s.Logger = logger
	for _, db := range list {
		db.SetLogger(logger)
	}
	if opt.SnapshotInterval > 0 {
		s.SnapshotInterval = opt.SnapshotInterval
	}
	// Litestream keeps one age of snapshots (and everything after the
	// oldest): the longest tier; the pruner drops the rest.
	s.SnapshotRetention = keepForever
	if opt.Retention.Longest() > 0 {
		s.SnapshotRetention = opt.Retention.Longest()
	}
	if err := s.Open(ctx); err != nil {
		_ = s.Close(context.WithoutCancel(ctx))
		return nil, vault.WrapError(vault.EUNAVAILABLE, err, "Cannot start the backups.")
	}
	r.store = s
	pctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	r.stop, r.done = stop, make(chan struct{})
	go r.pruneLoop(pctx)
	return r, nil
}

// pruneLoop prunes a minute after the start and then every pruneInterval,
// until Close.
func (r *Replicator) pruneLoop(ctx context.Context) {
	defer close(r.done)
	if r.policy.All <= 0 {
		return
	}
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := r.Prune(ctx, time.Now()); err != nil && ctx.Err() == nil {
			r.logger.Error("backup pruning failed", "error", err)
		} else if n > 0 {
			r.logger.Info("backup pruned", "deleted", n)
		}
		t.Reset(pruneInterval)
	}
}

// Prune deletes what the retention tiers do not keep at now from every
// database's backup and returns how many files it deleted. Errors:
// unavailable.
func (r *Replicator) Prune(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for _, name := range []string{DBMetadata, DBAudit} {
		c, ok := r.clients[name]
		if !ok {
			continue
		}
		n, err := Prune(ctx, c, now, r.policy)
		total += n
		if err != nil {
			return total, vault.WrapError(vault.EUNAVAILABLE, err, "Cannot prune the backup of %s.", name)
		}
	}
	return total, nil
}

// Sync ships everything committed so far, now, and waits until it is
// stored. Errors: unavailable.
func (r *Replicator) Sync(ctx context.Context) error {
	var errs []error
	for name, db := range r.dbs {
		if err := db.SyncAndWait(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot sync the backups.")
	}
	return nil
}

// Snapshot ships what is committed, then writes a full snapshot of every
// database now. Errors: unavailable.
func (r *Replicator) Snapshot(ctx context.Context) error {
	if err := r.Sync(ctx); err != nil {
		return err
	}
	for name, db := range r.dbs {
		if _, err := db.Snapshot(ctx); err != nil {
			return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot snapshot %s.", name)
		}
	}
	return nil
}

// Checkpoint ships database name's WAL and then truncates it, through
// Litestream, which owns checkpoints while it runs. Errors: invalid
// (unknown database), unavailable.
func (r *Replicator) Checkpoint(ctx context.Context, name string) error {
	db, ok := r.dbs[name]
	if !ok {
		return vault.Errorf(vault.EINVALID, "Unknown backup database %q.", name)
	}
	if err := db.Checkpoint(ctx, litestream.CheckpointModeTruncate); err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot checkpoint %s.", name)
	}
	return nil
}

// Rebase makes the backup start over from the databases as they are now:
// it ships what is committed, compacts every level up to now and writes a
// full snapshot, then trims the local state (TrimLocal). Afterwards every
// object the backup writes covers transactions from now on, so no later
// compaction repackages older pages. A resync after a firm left the cell
// calls it. Errors: unavailable.
func (r *Replicator) Rebase(ctx context.Context) error {
	if err := r.Sync(ctx); err != nil {
		return err
	}
	for name, db := range r.dbs {
		for _, lvl := range litestream.DefaultCompactionLevels[1:] {
			if _, err := db.Compact(ctx, lvl.Level); err != nil && !errors.Is(err, litestream.ErrNoCompaction) {
				return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot compact %s.", name)
			}
		}
	}
	if err := r.Snapshot(ctx); err != nil {
		return err
	}
	return r.TrimLocal()
}

// TrimLocal deletes Litestream's local LTX files of every database but
// the newest, which holds its position: the others are copies of objects
// in the backup (compaction reads the backup when a local copy is
// missing). A resync after a firm left the cell calls it once the backup
// has shipped a full copy of each database, so that no older page of the
// firm stays beside the cell. Errors: unavailable.
func (r *Replicator) TrimLocal() error {
	for name, db := range r.dbs {
		_, maxTXID, err := db.MaxLTX()
		if err != nil {
			return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot read %s's local backup state.", name)
		}
		err = filepath.WalkDir(db.LTXDir(), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if _, max, perr := ltx.ParseFilename(d.Name()); perr == nil && max >= maxTXID && filepath.Dir(p) == db.LTXLevelDir(0) {
				return nil
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			return nil
		})
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot trim %s's local backup state.", name)
		}
	}
	return nil
}

// LastSync is when database name last shipped to the backup (zero before
// the first time).
func (r *Replicator) LastSync(name string) time.Time {
	if db, ok := r.dbs[name]; ok {
		return db.LastSuccessfulSyncAt()
	}
	return time.Time{}
}

// Close ships what is left, stops the backups and releases Litestream's
// hold on the databases. It must run before the databases close.
func (r *Replicator) Close(ctx context.Context) error {
	if r == nil || r.store == nil {
		return nil
	}
	r.stop()
	<-r.done
	// Litestream's own final sync skips a database it has not opened yet
	// (its monitor opens it within a second of the start): a sync first
	// opens it, so that even a short run is backed up.
	serr := r.Sync(ctx)
	err := r.store.Close(ctx)
	r.store = nil
	if err = errors.Join(serr, err); err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot finish the backups.")
	}
	return nil
}
