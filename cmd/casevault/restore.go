package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/backup"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// restoreSummary is what `casevault restore` reports (--json).
type restoreSummary struct {
	Region string        `json:"region"`
	To     string        `json:"to"`
	At     string        `json:"at,omitempty"` // RFC 3339; "" for the latest
	Newest time.Time     `json:"backup_newest"`
	Firms  []firmRestore `json:"firms"`
	OK     bool          `json:"ok"`
}

// firmRestore is one firm of a restored cell, as checked.
type firmRestore struct {
	Tenant string `json:"tenant"`
	// Documents and Versions are what the restored metadata lists;
	// MissingBlobs the versions whose blob the region's store lacks.
	Documents    int      `json:"documents"`
	Versions     int      `json:"versions"`
	MissingBlobs []string `json:"missing_blobs,omitempty"`
	// AuditEvents is the size of the firm's restored log; AuditVerified
	// the size of the checkpoint the bundle verified up to (events after
	// the last stored checkpoint are not covered by a signature yet).
	AuditEvents   int64  `json:"audit_events"`
	AuditVerified int64  `json:"audit_verified"`
	AuditError    string `json:"audit_error,omitempty"`
	// AuditUnsigned says the log has events but no checkpoint yet: none
	// of it could be verified.
	AuditUnsigned bool `json:"audit_unsigned,omitempty"`
	// AuditBehind says how the restored log fails to extend the
	// checkpoint the server anchored for it (kept beside the keys): a log
	// restored as of an earlier time, or a backup that lost its last
	// events. The server refuses such a log (503) until the gap is
	// accepted with `casevault audit accept-rollback`.
	AuditBehind string `json:"audit_behind_anchor,omitempty"`
	// Sampled versions were decrypted end to end (a drill's checks,
	// drill_sample.go); SampleFailures of them failed.
	Sampled        int      `json:"sampled,omitempty"`
	SampledBytes   int64    `json:"sampled_bytes,omitempty"`
	SampleFailures []string `json:"sample_failures,omitempty"`
}

// restoreOptions are what a drill adds to a restore's checks.
type restoreOptions struct {
	// Sample is how many versions of each firm to decrypt end to end (0:
	// none, as `casevault restore` does).
	Sample int
	// Store is the region's blob store to check against; nil opens it
	// from the configuration.
	Store vault.BlobStore
	// Throwaway checks the restored databases in place (a drill deletes
	// them afterwards); otherwise the checks run on a copy, so that they
	// never change a byte of what was restored.
	Throwaway bool
}

// cmdRestore runs `casevault restore --region R --to DIR [--at TIME]`:
// both databases of region R's cell, from its backup, into DIR (empty or
// absent), as of the latest state or TIME, without touching the running
// cell; then it opens the copy and checks it.
func cmdRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("restore", stderr)
	region := fs.String("region", "", "the `region` whose cell to restore")
	to := fs.String("to", "", "empty or absent `directory` to restore into")
	at := fs.String("at", "", "restore the state as of this `time` (RFC 3339); default the latest")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := require(fs, "region", "to"); err != nil {
		return err
	}
	var when time.Time
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "casevault restore: --at: %q is not an RFC 3339 time\n", *at)
			return errUsage
		}
		when = t
	}
	m, err := cf.loadRegion(stderr, *region)
	if err != nil {
		return err
	}
	// Litestream's restore logs through slog's default logger: into ours,
	// where its info lines are debug lines.
	slog.SetDefault(slog.New(&zerologHandler{log: m.Log.With().Str("component", "restore").Logger()}))
	if !m.Config.BackupEnabled(*region) {
		return fmt.Errorf("region %s: backups are off", *region)
	}
	dir, err := filepath.Abs(*to)
	if err != nil {
		return err
	}
	sum, err := restoreCell(ctx, m, *region, dir, when, restoreOptions{})
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSON(stdout, sum); err != nil {
			return err
		}
	} else {
		printRestore(stdout, sum)
	}
	if !sum.OK {
		return errReported
	}
	return nil
}

// restoreCell restores region's cell into dir and checks it; `casevault
// restore` and a drill (drill.go) both call it.
func restoreCell(ctx context.Context, m *Main, region, dir string, at time.Time, opt restoreOptions) (*restoreSummary, error) {
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	mk, err := loadMasterKey(m.Config.MasterKeyPath(region))
	if err != nil {
		return nil, fmt.Errorf("region %s: master key: %w", region, err)
	}
	key, err := keys.LoadBackupKey(ctx, m.Config.BackupKeyPath(region), region, mk)
	if err != nil {
		return nil, fmt.Errorf("region %s: backup key: %w", region, err)
	}
	bstore, prefix, err := openBackupStore(ctx, &m.Config, region)
	if err != nil {
		return nil, fmt.Errorf("region %s: backup store: %w", region, err)
	}
	sum := &restoreSummary{Region: region, To: dir, Firms: []firmRestore{}}
	if !at.IsZero() {
		sum.At = at.UTC().Format(time.RFC3339)
	}
	// How far the backup reaches: its newest file of either database.
	for _, db := range []string{backup.DBMetadata, backup.DBAudit} {
		newest, err := backup.Newest(ctx, bstore, key, db, prefix)
		if err != nil {
			return nil, fmt.Errorf("region %s: backup: %w", region, err)
		}
		if newest.After(sum.Newest) {
			sum.Newest = newest
		}
	}
	for _, db := range []string{backup.DBMetadata, backup.DBAudit} {
		if err := backup.Restore(ctx, backup.RestoreOptions{
			Store: bstore, Prefix: prefix, Key: key, DB: db, Output: filepath.Join(dir, db+".db"), At: at,
		}); err != nil {
			return nil, fmt.Errorf("region %s: %w", region, err)
		}
	}
	store := opt.Store
	if store == nil {
		if store, err = openStore(ctx, &m.Config, region, m.Config.Regions[region], m.Log); err != nil {
			return nil, fmt.Errorf("region %s: store: %w", region, err)
		}
	}
	check := checkRestoredCopy
	if opt.Throwaway {
		check = checkRestored
	}
	if err := check(ctx, m, region, dir, mk, store, opt.Sample, sum); err != nil {
		return nil, err
	}
	return sum, nil
}

// checkRestoredCopy runs checkRestored on a throwaway copy of the restored
// databases in dir (in dir/.check-*, removed afterwards), so that the
// check, which opens them as the server would (the metadata database may
// switch its journal mode, the audit log may record a key rotation), never
// changes a byte of what was restored.
func checkRestoredCopy(ctx context.Context, m *Main, region, dir string, mk keys.MasterKey, store vault.BlobStore, sample int, sum *restoreSummary) error {
	tmp, err := os.MkdirTemp(dir, ".check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		if err := copyFile(filepath.Join(dir, de.Name()), filepath.Join(tmp, de.Name())); err != nil {
			return fmt.Errorf("copy for the check: %w", err)
		}
	}
	return checkRestored(ctx, m, region, tmp, mk, store, sample, sum)
}

// copyFile copies the regular file from to the new file to (mode 0600).
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// emptyDir creates dir, or checks that it is an empty directory.
func emptyDir(dir string) error {
	des, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o700)
	case err != nil:
		return err
	case len(des) > 0:
		return fmt.Errorf("%s is not empty: restore only into an empty or absent directory", dir)
	}
	return nil
}

// loadMasterKey loads an existing master key: restore never creates one.
func loadMasterKey(path string) (keys.MasterKey, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return keys.LoadOrCreateFileMasterKey(path)
}

// checkRestored opens the restored copy in dir and checks every firm in it:
// each version's blob is in store, and each audit log verifies as an
// auditor would verify its export, against the checkpoints it holds,
// signed by the region's keys; and, when sample > 0, up to sample versions
// of each firm decrypt end to end with the restored keysets. It signs
// nothing.
func checkRestored(ctx context.Context, m *Main, region, dir string, mk keys.MasterKey, store vault.BlobStore, sample int, sum *restoreSummary) error {
	db, err := sqlite.Open(ctx, filepath.Join(dir, backup.DBMetadata+".db"))
	if err != nil {
		return fmt.Errorf("restored database: %w", err)
	}
	defer db.Close()
	km, err := keys.NewManager(map[string]keys.MasterKey{region: mk}, db)
	if err != nil {
		return err
	}
	db.Sealer = km
	if _, err := os.Stat(m.Config.AuditSignerPath(region)); err != nil {
		return fmt.Errorf("region %s: audit signer: %w", region, err)
	}
	signer, err := keys.LoadOrCreateAuditSigner(ctx, m.Config.AuditSignerPath(region), region, mk)
	if err != nil {
		return fmt.Errorf("region %s: audit signer: %w", region, err)
	}
	history := signer.Keys(region)
	keysOf := func(context.Context, string) ([]vault.AuditKey, error) { return history, nil }
	inRegion := func(context.Context, string) (string, error) { return region, nil }
	anchors, err := keys.NewAuditAnchors(map[string]keys.MasterKey{region: mk}, region, m.Config.AuditAnchorDir, inRegion)
	if err != nil {
		return err
	}
	log, err := audit.Open(ctx, filepath.Join(dir, backup.DBAudit+".db"), audit.Options{
		Sealer: km, Keys: keysOf, Log: zerolog.Nop(),
		// Checked against the live anchors, which it must never replace.
		Anchor: readOnlyAnchor{anchors},
		// The copy is checked, never signed: a signer that refuses.
		Signer: func(context.Context, string) (note.Signer, string, error) {
			return refusingSigner{signer.Signer}, signer.VerifierKey, nil
		},
	})
	if err != nil {
		return fmt.Errorf("restored audit log: %w", err)
	}
	defer log.Close()
	var trusted []string
	for _, k := range history {
		trusted = append(trusted, k.VerifierKey)
	}

	tenants, err := db.Tenants(ctx)
	if err != nil {
		return fmt.Errorf("restored database: %w", err)
	}
	behind := log.Diverged()
	sum.OK = true
	for _, t := range tenants {
		f := firmRestore{Tenant: t.ID}
		docs, err := db.Documents(ctx, t.ID, vault.DocumentFilter{IncludeTrashed: true})
		if err != nil {
			return fmt.Errorf("restored database: firm %s: %w", t.ID, err)
		}
		f.Documents = len(docs)
		var present []*vault.Version
		for _, d := range docs {
			vs, err := db.Versions(ctx, t.ID, d.ID)
			if err != nil {
				return fmt.Errorf("restored database: firm %s: %w", t.ID, err)
			}
			for _, v := range vs {
				f.Versions++
				if _, err := store.Stat(ctx, v.BlobKey); err != nil {
					f.MissingBlobs = append(f.MissingBlobs, fmt.Sprintf("%s/%d", d.ID, v.Number))
				} else {
					present = append(present, v)
				}
			}
		}
		if sample > 0 {
			sampleVersions(ctx, km, store, present, sample, &f)
		}
		if f.AuditEvents, err = log.Size(ctx, t.ID); err != nil {
			return fmt.Errorf("restored audit log: firm %s: %w", t.ID, err)
		}
		signed, err := hasCheckpoint(ctx, log, t.ID)
		if err != nil {
			return fmt.Errorf("restored audit log: firm %s: %w", t.ID, err)
		}
		// A log whose events the backup holds before any checkpoint of
		// them (a firm just created) has nothing signed to verify yet: it
		// shows as unsigned, and behind its anchor once the server signed.
		f.AuditUnsigned = f.AuditEvents > 0 && !signed
		if f.AuditEvents > 0 && signed {
			res, err := verifyLog(ctx, log, t.ID, signer.VerifierKey, trusted)
			if err != nil {
				f.AuditError = err.Error()
			} else {
				f.AuditVerified = res.TreeSize
			}
		}
		f.AuditBehind = behind[t.ID]
		if len(f.MissingBlobs) > 0 || f.AuditError != "" || len(f.SampleFailures) > 0 {
			sum.OK = false
		}
		sum.Firms = append(sum.Firms, f)
	}
	slices.SortFunc(sum.Firms, func(a, b firmRestore) int { return strings.Compare(a.Tenant, b.Tenant) })
	return nil
}

// hasCheckpoint reports whether l holds a signed checkpoint of tenant's
// log.
func hasCheckpoint(ctx context.Context, l *audit.Log, tenant string) (bool, error) {
	found := false
	err := l.Checkpoints(ctx, tenant, math.MaxInt64, func(*audit.Checkpoint) error {
		found = true
		return errFound
	})
	if errors.Is(err, errFound) {
		err = nil
	}
	return found, err
}

// errFound stops an iteration that found what it looked for.
var errFound = errors.New("found")

// verifyLog exports tenant's whole log from l as a bundle and verifies it
// offline, as `casevault audit verify` does.
func verifyLog(ctx context.Context, l *audit.Log, tenant, key string, trusted []string) (*audit.VerifyResult, error) {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(audit.WriteBundle(ctx, pw, l, nil, tenant, audit.Filter{}, time.Now()))
	}()
	res, err := audit.Verify(pr, audit.VerifyOptions{TrustedKey: key, TrustedKeys: trusted})
	pr.CloseWithError(errors.New("verified"))
	return res, err
}

// readOnlyAnchor reads the live anchors and never replaces one.
type readOnlyAnchor struct{ audit.Anchor }

func (readOnlyAnchor) Store(context.Context, string, []byte) error {
	return vault.Errorf(vault.EINVALID, "A restored copy never replaces an anchored checkpoint.")
}

// refusingSigner names a signer's key but signs nothing.
type refusingSigner struct{ note.Signer }

func (refusingSigner) Sign([]byte) ([]byte, error) {
	return nil, errors.New("a restored copy is checked, never signed")
}

func printRestore(w io.Writer, s *restoreSummary) {
	at := "the latest state"
	if s.At != "" {
		at = s.At
	}
	fmt.Fprintf(w, "Restored region %s's cell as of %s into %s (newest backup: %s).\n", s.Region, at, s.To, s.Newest.UTC().Format(time.RFC3339))
	for _, f := range s.Firms {
		fmt.Fprintf(w, "  firm %s: %d documents, %d versions, %d missing blobs; audit log %d events, verified through %d",
			f.Tenant, f.Documents, f.Versions, len(f.MissingBlobs), f.AuditEvents, f.AuditVerified)
		if f.AuditError != "" {
			fmt.Fprintf(w, " — FAILS: %s", f.AuditError)
		}
		if f.AuditBehind != "" {
			fmt.Fprintf(w, "; behind its anchored checkpoint (%s): served, it is refused until `casevault audit accept-rollback --tenant %s`", f.AuditBehind, f.Tenant)
		}
		fmt.Fprintln(w)
	}
	if s.OK {
		fmt.Fprintln(w, "Every firm's audit log verifies and every listed document version is in the store.")
		fmt.Fprintf(w, "To serve it: stop the server; remove the cell's casevault.db, audit.db, their -wal and -shm files and .*-litestream directories; move the two files from %s into the cell (README, \"Backups and restore\"); start. The directory of firms is rebuilt from the cells.\n", s.To)
	} else {
		fmt.Fprintln(w, "The restored cell does NOT check out: see above.")
	}
}
