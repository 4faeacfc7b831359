package backup

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/benbjohnson/litestream"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
)

// RestoreOptions say what to restore and where.
type RestoreOptions struct {
	Store  vault.BlobStore
	Prefix string
	Key    *keys.BackupKey
	// DB is the database: DBMetadata or DBAudit.
	DB string
	// Output is the file to write; it must not exist.
	Output string
	// At restores the state as of that time (the last transaction
	// shipped before it); zero restores the latest.
	At     time.Time
	Logger *slog.Logger
}

// Restore rebuilds one database from its backup into opt.Output, checking
// its integrity, without touching the database it was backed up from.
// Errors: invalid (Output exists), not_found (no backup at or before
// At), cannot_decrypt (an object was tampered with or is of another region
// or key), unavailable.
func Restore(ctx context.Context, opt RestoreOptions) error {
	if _, err := os.Stat(opt.Output); err == nil {
		return vault.Errorf(vault.EINVALID, "%s already exists.", opt.Output)
	}
	client, err := NewClient(opt.Store, opt.Key, opt.DB, opt.Prefix)
	if err != nil {
		return err
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client.SetLogger(logger)
	r := litestream.NewReplicaWithClient(nil, client)
	ro := litestream.NewRestoreOptions()
	ro.OutputPath = opt.Output
	ro.Timestamp = opt.At
	ro.IntegrityCheck = litestream.IntegrityCheckQuick
	if err := r.Restore(ctx, ro); err != nil {
		var verr *vault.Error
		switch {
		case errors.Is(err, litestream.ErrTxNotAvailable), errors.Is(err, litestream.ErrNoSnapshots):
			return vault.WrapError(vault.ENOTFOUND, err, "No backup of %s at that time.", opt.DB)
		case errors.As(err, &verr):
			return vault.WrapError(verr.Code, err, "Cannot restore %s: %s", opt.DB, verr.Message)
		}
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot restore %s.", opt.DB)
	}
	return nil
}

// Newest returns the creation time of the newest LTX file of database db
// in the backup (zero when there is none): how far the backup reaches.
func Newest(ctx context.Context, store vault.BlobStore, key *keys.BackupKey, db, prefix string) (time.Time, error) {
	client, err := NewClient(store, key, db, prefix)
	if err != nil {
		return time.Time{}, err
	}
	var newest time.Time
	for level := 0; level <= litestream.SnapshotLevel; level++ {
		itr, err := client.LTXFiles(ctx, level, 0, true)
		if err != nil {
			return time.Time{}, err
		}
		for itr.Next() {
			if t := itr.Item().CreatedAt; t.After(newest) {
				newest = t
			}
		}
		if err := itr.Close(); err != nil {
			return time.Time{}, err
		}
	}
	return newest, nil
}
