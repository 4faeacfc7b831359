package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/casevault/casevault/drill"
	"github.com/casevault/casevault/vault"
)

// drillsKept is how many signed drill records each cell keeps.
const drillsKept = 10

// drillsDir is the directory of region's drills inside its cell: the
// signed records (<id>.txt) and, while a drill runs, its restore
// (tmp-<id>), so that nothing of the region leaves it.
func (m *Main) drillsDir(region string) string {
	return filepath.Join(m.Config.CellDir(region), "drills")
}

// runDrill runs one restore drill of region with id (docs/DRILL-FORMAT.md
// §1): it restores the region's latest backup into a temporary directory
// inside the cell, checks it as `casevault restore` does and decrypts a
// sample of each firm's documents end to end, deletes the restore, records
// the outcome in each of the region's firms' logs (backup.drill) and keeps
// the signed record in the cell. A drill that fails is a record too; the
// error is for what kept the drill from being recorded (no signer, the
// audit log unavailable).
func (m *Main) runDrill(ctx context.Context, region, id string) (*drill.Record, []byte, error) {
	signer := m.auditSigners[region]
	if signer == nil {
		return nil, nil, vault.Errorf(vault.EINVALID, "Region %s is not served here.", region)
	}
	if !m.Config.BackupEnabled(region) {
		return nil, nil, vault.Errorf(vault.EINVALID, "Region %s's backups are off: there is nothing to drill.", region)
	}
	rec := &drill.Record{Format: drill.Format, ID: id, Region: region}
	started := time.Now()
	tmp := filepath.Join(m.drillsDir(region), "tmp-"+id)
	var restored, newest time.Time
	var failures []string
	if err := os.MkdirAll(filepath.Dir(tmp), 0o700); err != nil {
		failures = append(failures, "the drill's directory in the cell cannot be made (see the server log)")
		m.Log.Error().Err(err).Str("component", "drill").Str("region", region).Msg("restore drill: cannot make its directory")
	} else {
		sum, err := restoreCell(ctx, m, region, tmp, time.Time{}, restoreOptions{Sample: m.Config.DrillSample(region), Store: m.Service.Regions[region], Throwaway: true})
		if err != nil {
			failures = append(failures, "the backup does not restore: "+drillReason(err))
			m.Log.Warn().Err(err).Str("component", "drill").Str("region", region).Str("drill_id", id).Msg("restore drill: the backup does not restore")
		} else {
			newest = sum.Newest
			failures = append(failures, tally(rec, sum)...)
			m.logDrillFirms(region, id, sum)
			if len(failures) == 0 {
				restored = time.Now()
			}
		}
	}
	// The restore holds the region's databases: it goes, whatever happened.
	if err := os.RemoveAll(tmp); err != nil {
		failures = append(failures, "the restored copy could not be deleted (see the server log)")
		m.Log.Error().Err(err).Str("component", "drill").Str("region", region).Str("drill_id", id).Msg("restore drill: cannot delete the restored copy")
		restored = time.Time{}
	}
	rec.SetTimes(started, restored, time.Now(), newest)
	if rec.BackupNewest == nil && len(failures) == 0 {
		failures = append(failures, "the backup holds no file")
	}
	rec.OK = len(failures) == 0
	rec.Failure = strings.Join(failures, "; ")
	signed, err := rec.Sign(signer.Signer)
	if err != nil {
		return rec, nil, err
	}
	sum := sha256.Sum256(signed)
	if _, err := m.Service.RecordDrill(ctx, region, rec.Summary(), hex.EncodeToString(sum[:])); err != nil {
		return rec, signed, err
	}
	if err := m.keepDrillRecord(region, id, signed); err != nil {
		return rec, signed, err
	}
	return rec, signed, nil
}

// tally adds what a restore's checks found to rec and says what failed,
// in words that name no firm (a record stays in the cell after a firm
// leaves it; `casevault restore` names them).
func tally(rec *drill.Record, sum *restoreSummary) []string {
	for _, f := range sum.Firms {
		rec.Firms++
		rec.Documents += int64(f.Documents)
		rec.Versions += int64(f.Versions)
		rec.MissingBlobs += int64(len(f.MissingBlobs))
		rec.AuditEvents += f.AuditEvents
		if f.AuditError != "" {
			rec.AuditFailures++
		}
		if f.AuditBehind != "" {
			rec.AuditBehind++
		}
		if f.AuditUnsigned {
			rec.AuditUnsigned++
		}
		rec.Sampled += int64(f.Sampled)
		rec.SampledBytes += f.SampledBytes
		rec.SampleFailures += int64(len(f.SampleFailures))
	}
	var out []string
	if rec.MissingBlobs > 0 {
		out = append(out, fmt.Sprintf("%d document version(s) listed by the backup have no blob in the region's store", rec.MissingBlobs))
	}
	if rec.AuditFailures > 0 {
		out = append(out, fmt.Sprintf("%d firm(s)' restored audit log does not verify", rec.AuditFailures))
	}
	if rec.SampleFailures > 0 {
		out = append(out, fmt.Sprintf("%d sampled version(s) do not decrypt to their recorded size", rec.SampleFailures))
	}
	return out
}

// logDrillFirms logs, for the operator, what failed for each firm of a
// drill's restore: the record names no firm, the server log does.
func (m *Main) logDrillFirms(region, id string, sum *restoreSummary) {
	for _, f := range sum.Firms {
		if f.AuditError == "" && len(f.MissingBlobs) == 0 && len(f.SampleFailures) == 0 {
			continue
		}
		m.Log.Warn().Str("component", "drill").Str("region", region).Str("drill_id", id).Str("tenant_id", f.Tenant).
			Str("audit_error", f.AuditError).Strs("missing_blobs", f.MissingBlobs).Strs("sample_failures", f.SampleFailures).
			Msg("restore drill: a firm of the restored cell fails its checks")
	}
}

// drillReason is a restore error in words fit for a record, a firm's
// audit event and the durability figures owners see: a vault error's
// message, which names no firm and no path; anything else (a key file
// missing, a directory that cannot be read) only by its kind, its details
// being in the server log.
func drillReason(err error) string {
	var verr *vault.Error
	if errors.As(err, &verr) && verr.Code != vault.EINTERNAL {
		return verr.Message
	}
	return "an error of the server's (see its log)"
}

// keepDrillRecord stores a signed record in the cell's drills directory
// and deletes the oldest beyond drillsKept.
func (m *Main) keepDrillRecord(region, id string, signed []byte) error {
	dir := m.drillsDir(region)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+id+".tmp")
	if err := os.WriteFile(tmp, signed, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, id+".txt")); err != nil {
		return err
	}
	files, err := drillRecordFiles(dir)
	if err != nil {
		return err
	}
	for len(files) > drillsKept {
		if err := os.Remove(files[0]); err != nil {
			return err
		}
		files = files[1:]
	}
	return nil
}

// drillRecordFiles are the signed records in dir, oldest first.
func drillRecordFiles(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	type file struct {
		path string
		mod  time.Time
	}
	var fs []file
	for _, de := range des {
		if !de.Type().IsRegular() || !strings.HasPrefix(de.Name(), drill.PrefixDrill+"_") || !strings.HasSuffix(de.Name(), ".txt") {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		fs = append(fs, file{filepath.Join(dir, de.Name()), fi.ModTime()})
	}
	slices.SortFunc(fs, func(a, b file) int { return a.mod.Compare(b.mod) })
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.path
	}
	return out, nil
}

// lastDrill reads region's newest kept record, checked against the
// region's verifier keys; nil when there is none that verifies.
func (m *Main) lastDrill(region string) *drill.Record {
	files, err := drillRecordFiles(m.drillsDir(region))
	if err != nil || len(files) == 0 {
		return nil
	}
	b, err := os.ReadFile(files[len(files)-1])
	if err != nil {
		return nil
	}
	var vkeys []string
	for _, k := range m.AuditKeyHistory[region] {
		vkeys = append(vkeys, k.VerifierKey)
	}
	r, err := drill.Verify(b, vkeys)
	if err != nil || r.Region != region {
		m.Log.Warn().Err(err).Str("region", region).Msg("the newest kept drill record does not verify; it is ignored")
		return nil
	}
	return r
}
