package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/backup"
	"github.com/casevault/casevault/config"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/shred"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/mirror"
)

// shredJob is one shred of a firm (`casevault tenant shred`), run by the
// process that owns the cells: the CLI's own (holding the data directory's
// lock) or the server's, through its operator API.
type shredJob struct {
	Tenant, Confirm string
	// BundlePath is the absolute path of the final audit bundle to write,
	// created new (it must not exist); "" with NoBundle for none.
	BundlePath string
	NoBundle   bool
	// AroundCleanup runs the deletion of the firm's rows and log with the
	// cell's backup stopped, and resyncs the backup afterwards
	// (Main.backupAroundCleanup); nil in the CLI's own process, whose
	// caller resyncs the backup after closing the program (afterShred).
	AroundCleanup func(ctx context.Context, region string, clean func(context.Context) error) error
}

// shredRun is what runShred found and did, for the certificate and for
// the steps after the program closes.
type shredRun struct {
	Cert    *shred.Certificate
	Signer  *keys.AuditSigner
	cleaned time.Time // when the firm's rows and log were gone
}

// runShred shreds firm j.Tenant (README, "Ending an engagement: shredding
// a firm"): it checks the owner's pending request and the name typed,
// keeps the firm's users out, records tenant.shred (the firm's last
// event), writes the final audit bundle ending with it, then destroys the
// firm: its blobs on every site, its keysets with its rows in the cell's
// database, its audit log, its directory entries and anchored checkpoint,
// its lines in the cell's log files. The backup's part and the signature
// of the certificate follow (finishShred). Nothing is destroyed when a
// check fails. A failure while the blobs are deleted leaves the request
// pending and the firm served (without the blobs deleted so far): the same
// command runs again. A failure after the rows are deleted says so and
// cannot be rerun (the request went with them): no certificate is issued. Errors: not_found, conflict (no pending request, or events
// appended after the shred event), invalid, unavailable, internal.
func (m *Main) runShred(ctx context.Context, j shredJob) (*shredRun, error) {
	req, err := m.Service.CheckShred(ctx, j.Tenant, j.Confirm)
	if err != nil {
		return nil, err
	}
	region, err := m.DB.Region(ctx, j.Tenant)
	if err != nil {
		return nil, err
	}
	cellDB, err := m.DB.CellOf(region)
	if err != nil {
		return nil, err
	}
	store, log, signer := m.Service.Regions[region], m.Audit.Logs[region], m.auditSigners[region]
	if store == nil || log == nil || signer == nil {
		return nil, vault.Errorf(vault.EINVALID, "Region %s needs its blob store, audit log and audit signer here.", region)
	}
	var bundle *os.File
	if !j.NoBundle {
		if !filepath.IsAbs(j.BundlePath) {
			return nil, vault.Errorf(vault.EINVALID, "The bundle's path must be absolute.")
		}
		// Created before anything is recorded: a path that cannot be
		// written stops the shred while nothing has happened.
		if bundle, err = os.OpenFile(j.BundlePath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
			return nil, vault.WrapError(vault.EINVALID, err, "Cannot create the bundle file: %v.", err)
		}
		defer bundle.Close()
	}
	users, err := cellDB.Users(ctx, j.Tenant)
	if err != nil {
		return nil, err
	}
	keysets, err := m.Keys.KeysetIDs(ctx, j.Tenant)
	if err != nil {
		return nil, err
	}
	m.DB.Freeze(j.Tenant)
	st, err := m.Service.BeginShred(ctx, log, j.Tenant, req.ID, keysets)
	if err != nil {
		m.DB.Thaw(j.Tenant)
		return nil, err
	}
	ck, err := log.Checkpoint(ctx, j.Tenant)
	if err == nil && ck.Size != st.Seq {
		err = vault.Errorf(vault.ECONFLICT, "Events were appended after the shred event (%d of %d); nothing was destroyed; run the command again.", st.Seq, ck.Size)
	}
	c := &shred.Certificate{
		Format: shred.Format, Region: region, TenantID: j.Tenant,
		RequestID: req.ID, RequestedBy: req.RequestedBy, RequestedAt: shred.Time{Time: req.RequestedAt.UTC()},
		ShreddedAt: shred.Time{Time: st.Time.UTC()}, Keysets: keysets,
		Documents: st.Counts.Documents, Versions: st.Counts.Versions, VersionBytes: st.Counts.Bytes, CipherBytes: st.Counts.CipherBytes,
	}
	if err == nil {
		c.AuditEvents, c.FinalCheckpoint = ck.Size, string(ck.Note)
		if bundle != nil {
			c.Bundle, err = writeFinalBundle(ctx, bundle, log, j.Tenant, st.Time, ck.Size)
		}
	}
	if err != nil {
		m.DB.Thaw(j.Tenant)
		if bundle != nil {
			bundle.Close()
			os.Remove(j.BundlePath)
		}
		return nil, err
	}
	// From here on the firm is destroyed; it stays frozen in this process.
	run := &shredRun{Cert: c, Signer: signer}
	if c.Blobs, err = deleteFirmBlobs(ctx, store, j.Tenant+"/"); err != nil {
		// The request is still pending: thawed, the firm can be shredded
		// again (a new tenant.shred event, the last again).
		m.DB.Thaw(j.Tenant)
		return nil, fmt.Errorf("the shred stopped while deleting the firm's blobs (its rows, keysets, request and audit log are intact): %w; run the same command again to finish", err)
	}
	if m.Detect != nil {
		// Its counters, written in batches, must not bring rows back.
		m.Detect.Forget(j.Tenant)
	}
	clean := func(ctx context.Context) error {
		n, err := cellDB.DeleteTenantRows(ctx, j.Tenant)
		if err != nil {
			return err
		}
		c.Rows = n
		if err := log.DropShredded(ctx, j.Tenant, c.AuditEvents); err != nil {
			return err
		}
		run.cleaned = time.Now()
		return nil
	}
	if j.AroundCleanup != nil {
		err = j.AroundCleanup(ctx, region, clean)
	} else {
		err = clean(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("the shred stopped while deleting the firm's rows and audit log (its blobs are gone; report it): %w", err)
	}
	m.Keys.Forget(j.Tenant)
	m.Service.ForgetRegion(j.Tenant)
	if c.DirectoryRows, err = m.forgetDirectory(ctx, region, j.Tenant, users); err != nil {
		return nil, err
	}
	if err := m.dropAnchor(ctx, region, j.Tenant); err != nil {
		return nil, err
	}
	if m.cellLogs != nil {
		if _, err := m.cellLogs.DropTenant(m.Config.CellDir(region), j.Tenant); err != nil {
			return nil, fmt.Errorf("drop the firm's log lines: %w", err)
		}
	}
	return run, nil
}

// writeFinalBundle writes the firm's complete audit bundle up to its
// tenant.shred event, without the events' private parts (the operator
// never reads them; they would not open after the shred either), and
// returns its size and SHA-256.
func writeFinalBundle(ctx context.Context, f *os.File, log *audit.Log, tenant string, at time.Time, size int64) (*shred.Bundle, error) {
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	if err := audit.WriteBundle(ctx, cw, log, nil, tenant, audit.Filter{}, at); err != nil {
		return nil, err
	}
	if n, err := log.Size(ctx, tenant); err != nil || n != size {
		return nil, vault.Errorf(vault.ECONFLICT, "Events were appended after the shred event; nothing was destroyed; run the command again.")
	}
	if err := f.Sync(); err != nil {
		return nil, vault.WrapError(vault.EUNAVAILABLE, err, "Cannot write the bundle file.")
	}
	return &shred.Bundle{SHA256: shred.SHA256Hex(sumOf(h)), Bytes: cw.n}, nil
}

func sumOf(h hash.Hash) []byte { return h.Sum(nil) }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// deleteFirmBlobs deletes every object under prefix from each site of
// store (both sites of a mirrored store, each listed and deleted on its
// own, so that neither keeps one) and counts them.
func deleteFirmBlobs(ctx context.Context, store vault.BlobStore, prefix string) ([]shred.Site, error) {
	sites := []struct {
		name  string
		store vault.BlobStore
	}{{"primary", store}}
	if ms, ok := store.(*mirror.Store); ok {
		sites = []struct {
			name  string
			store vault.BlobStore
		}{{"primary", ms.Primary()}, {"mirror", ms.Mirror()}}
	}
	var out []shred.Site
	for _, s := range sites {
		var keys []string
		site := shred.Site{Site: s.name}
		if err := s.store.List(ctx, prefix, func(b vault.BlobInfo) error {
			keys = append(keys, b.Key)
			site.Objects++
			site.Bytes += b.Size
			return nil
		}); err != nil {
			return nil, err
		}
		for _, k := range keys {
			if err := s.store.Delete(ctx, k); err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
				return nil, err
			}
		}
		if d, ok := s.store.(interface{ Dir() string }); ok {
			if err := os.RemoveAll(filepath.Join(d.Dir(), filepath.FromSlash(prefix))); err != nil {
				return nil, vault.WrapError(vault.EUNAVAILABLE, err, "Cannot remove the firm's directory of the %s site.", s.name)
			}
		}
		out = append(out, site)
	}
	return out, nil
}

// forgetDirectory deletes the service database's entries of the firm: its
// directory row, and the email entries of region that no other firm's user
// there has; then empties the service database's WAL. It returns how many
// rows it deleted.
func (m *Main) forgetDirectory(ctx context.Context, region, tenant string, users []*vault.User) (int64, error) {
	svc := m.DB.Service
	if err := svc.DeleteDirectoryTenant(ctx, tenant); err != nil {
		return 0, err
	}
	n := int64(1)
	cellDB, err := m.DB.CellOf(region)
	if err != nil {
		return 0, err
	}
	for _, u := range users {
		if u.Email == "" {
			continue
		}
		userIx, err := vault.EmailIndex(ctx, m.Service.Indexer, region, u.Email)
		if err != nil {
			return 0, err
		}
		if held, err := cellDB.HasEmailIndex(ctx, userIx, tenant); err != nil {
			return 0, err
		} else if held {
			continue
		}
		dirIx, err := vault.DirectoryEmailIndex(ctx, m.Service.Indexer, u.Email)
		if err != nil {
			return 0, err
		}
		if err := svc.DeleteDirectoryEmail(ctx, dirIx, region); err != nil {
			return 0, err
		}
		n++
	}
	return n, svc.Checkpoint(ctx)
}

// finishShred does the backup's part of a shred and signs the
// certificate: when region's backups are on, every backup object older
// than the fresh snapshot taken after the firm's rows were deleted is
// deleted (as `casevault backup forget` does), so no backup keeps the
// firm's wrapped keysets; restores of the region reach back to that
// snapshot and no further, for every firm of the region. It runs after
// the cell's backup was resynced without the firm (backupAroundCleanup in
// the server, resyncBackupAfterMove in the CLI).
func finishShred(ctx context.Context, c *config.Config, run *shredRun) ([]byte, error) {
	cert := run.Cert
	if c.BackupEnabled(cert.Region) {
		b, err := forgetBackupBefore(ctx, c, cert.Region, run.cleaned)
		if err != nil {
			return nil, fmt.Errorf("the firm is destroyed in the cell, but its region's older backup files could not be deleted: %w; "+
				"run `casevault backup forget --region %s --before %s`", err, cert.Region, run.cleaned.UTC().Format(time.RFC3339))
		}
		cert.Backup = b
	}
	cert.Finished = shred.Time{Time: time.Now().UTC()}
	if cert.Backup != nil && cert.Finished.Before(cert.Backup.Earliest.Time) {
		cert.Finished = cert.Backup.Earliest
	}
	return cert.Sign(run.Signer.Signer)
}

// forgetBackupBefore deletes from region's backup (both databases) every
// object that only a restore to a time before when needs.
func forgetBackupBefore(ctx context.Context, c *config.Config, region string, when time.Time) (*shred.Backup, error) {
	mk, err := loadMasterKey(c.MasterKeyPath(region))
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	key, err := keys.LoadBackupKey(ctx, c.BackupKeyPath(region), region, mk)
	if vault.IsCode(err, vault.ENOTFOUND) {
		return &shred.Backup{Earliest: shred.Time{Time: when.UTC()}}, nil // never backed up
	} else if err != nil {
		return nil, fmt.Errorf("backup key: %w", err)
	}
	store, prefix, err := openBackupStore(ctx, c, region)
	if err != nil {
		return nil, fmt.Errorf("backup store: %w", err)
	}
	out := &shred.Backup{}
	for _, db := range []string{backup.DBMetadata, backup.DBAudit} {
		cl, err := backup.NewClient(store, key, db, prefix)
		if err != nil {
			return nil, err
		}
		n, base, err := backup.ForgetBefore(ctx, cl, when)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", db, err)
		}
		out.ObjectsDeleted += int64(n)
		if t := base.CreatedAt.UTC(); out.Earliest.IsZero() || t.Before(out.Earliest.Time) {
			out.Earliest = shred.Time{Time: t}
		}
	}
	if out.Earliest.IsZero() {
		return nil, errors.New("no snapshot after the shred")
	}
	return out, nil
}
