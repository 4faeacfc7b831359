package drill

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/residency"
	"github.com/casevault/casevault/vault"
)

// Format is the format string of a drill record's body.
const Format = "casevault-drill/1"

// PrefixDrill starts the ids of drills ("drl_" and 26 base32 characters).
const PrefixDrill = "drl"

// Time is a time in a record: UTC, nanoseconds, as in residency reports
// and audit events.
type Time = residency.Time

// Record is the signed result of one restore drill of a region
// (docs/DRILL-FORMAT.md §3). Run fills it; Sign signs it; Verify reads and
// checks a signed one.
type Record struct {
	Format string `json:"format"` // Format
	ID     string `json:"id"`
	Region string `json:"region"`
	// Started is when the drill began; Restored when the restored cell had
	// passed its checks (null when it did not); Finished when the restore
	// was deleted again.
	Started  Time  `json:"started"`
	Restored *Time `json:"restored"`
	Finished Time  `json:"finished"`
	// BackupNewest is the creation time of the newest backup file of the
	// region's two databases (null when none could be read).
	BackupNewest *Time `json:"backup_newest"`
	// OK is true when everything below checked out; Failure says what did
	// not otherwise.
	OK      bool   `json:"ok"`
	Failure string `json:"failure"`
	// RPOms is Started − BackupNewest and RTOms is Restored − Started, in
	// whole milliseconds (truncated); null when the time they need is.
	RPOms *int64 `json:"rpo_ms"`
	RTOms *int64 `json:"rto_ms"`
	// What the restored cell held and what its checks found.
	Firms        int64 `json:"firms"`
	Documents    int64 `json:"documents"`
	Versions     int64 `json:"versions"`
	MissingBlobs int64 `json:"missing_blobs"`
	// AuditEvents is the events of every firm's restored log;
	// AuditFailures the logs that do not verify; AuditBehind the logs that
	// end behind the checkpoint the server anchored for them (events after
	// the backup's newest file: within the RPO, not a failure);
	// AuditUnsigned the logs with events and no checkpoint yet in the
	// backup, which nothing could verify (a firm created within the RPO).
	AuditEvents   int64 `json:"audit_events"`
	AuditFailures int64 `json:"audit_failures"`
	AuditBehind   int64 `json:"audit_behind"`
	AuditUnsigned int64 `json:"audit_unsigned"`
	// Sampled versions were decrypted end to end from the region's blob
	// store with the restored keysets, SampledBytes of plaintext in all
	// (discarded, never written); SampleFailures of them failed.
	Sampled        int64 `json:"sampled"`
	SampledBytes   int64 `json:"sampled_bytes"`
	SampleFailures int64 `json:"sample_failures"`

	// SignedBy are the keys whose signatures Verify checked
	// ("<name>+<hash>"); not part of the body.
	SignedBy []string `json:"-"`
}

// NewID returns a new drill id.
func NewID() string { return vault.NewID(PrefixDrill) }

// Summary returns the record as the durability figures show it.
func (r *Record) Summary() vault.DrillSummary {
	s := vault.DrillSummary{ID: r.ID, Started: r.Started.Time, Finished: r.Finished.Time, OK: r.OK, Failure: r.Failure}
	if r.RPOms != nil {
		s.RPO = time.Duration(*r.RPOms) * time.Millisecond
	}
	if r.RTOms != nil {
		s.RTO = time.Duration(*r.RTOms) * time.Millisecond
	}
	return s
}

// SetTimes sets the record's times and derives RPO and RTO from them;
// restored and newest may be zero (unknown).
func (r *Record) SetTimes(started, restored, finished, newest time.Time) {
	r.Started, r.Finished = Time{Time: started.UTC()}, Time{Time: finished.UTC()}
	r.Restored, r.RTOms, r.BackupNewest, r.RPOms = nil, nil, nil, nil
	if !restored.IsZero() {
		r.Restored = &Time{Time: restored.UTC()}
		r.RTOms = ms(restored.Sub(started))
	}
	if !newest.IsZero() {
		r.BackupNewest = &Time{Time: newest.UTC()}
		r.RPOms = ms(started.Sub(newest))
	}
}

func ms(d time.Duration) *int64 {
	v := d.Milliseconds()
	return &v
}

// body returns the record's note text: its JSON, indented by two spaces,
// ending in LF. The first two lines are always "{" and
// `  "format": "casevault-drill/1",`.
func (r *Record) body() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var regionName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)

// check makes the checks of a record's meaning (docs/DRILL-FORMAT.md §4,
// steps 5 to 8): what Run promises and Verify checks again.
func (r *Record) check() error {
	switch {
	case r.Format != Format:
		return fmt.Errorf("format %q is not %s", r.Format, Format)
	case !vault.ValidID(PrefixDrill, r.ID):
		return fmt.Errorf("id %q is not a drill id", r.ID)
	case !regionName.MatchString(r.Region) || r.Region == keys.ServiceSigner:
		return fmt.Errorf("region %q is not a region name", r.Region)
	case r.Started.IsZero() || r.Finished.Before(r.Started.Time):
		return errors.New("finished before it started")
	case r.Restored != nil && (r.Restored.Before(r.Started.Time) || r.Finished.Before(r.Restored.Time)):
		return errors.New("restored is not between started and finished")
	case (r.Restored == nil) != (r.RTOms == nil):
		return errors.New("rto_ms must be given exactly when restored is")
	case (r.BackupNewest == nil) != (r.RPOms == nil):
		return errors.New("rpo_ms must be given exactly when backup_newest is")
	case r.RTOms != nil && *r.RTOms != r.Restored.Sub(r.Started.Time).Milliseconds():
		return fmt.Errorf("rto_ms %d is not restored - started", *r.RTOms)
	case r.RPOms != nil && *r.RPOms != r.Started.Sub(r.BackupNewest.Time).Milliseconds():
		return fmt.Errorf("rpo_ms %d is not started - backup_newest", *r.RPOms)
	}
	for _, n := range []int64{r.Firms, r.Documents, r.Versions, r.MissingBlobs, r.AuditEvents, r.AuditFailures, r.AuditBehind, r.AuditUnsigned, r.Sampled, r.SampledBytes, r.SampleFailures} {
		if n < 0 || n > maxCount {
			return errors.New("a count is negative or above 2^53")
		}
	}
	switch {
	case r.MissingBlobs > r.Versions || r.Sampled > r.Versions || r.SampleFailures > r.Sampled:
		return errors.New("missing_blobs and sampled must not exceed versions, nor sample_failures sampled")
	case r.AuditFailures > r.Firms || r.AuditBehind > r.Firms || r.AuditUnsigned > r.Firms:
		return errors.New("audit_failures, audit_behind and audit_unsigned must not exceed firms")
	}
	clean := r.Restored != nil && r.BackupNewest != nil && r.MissingBlobs == 0 && r.AuditFailures == 0 && r.SampleFailures == 0
	switch {
	case r.OK && (!clean || r.Failure != ""):
		return errors.New("ok is true, but the record shows a failure")
	case !r.OK && r.Failure == "":
		return errors.New("ok is false, but failure says nothing")
	}
	return nil
}

// maxCount is the largest count a record states (2^53, the largest
// integer every JSON reader holds exactly).
const maxCount = 1 << 53
