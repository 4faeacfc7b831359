package shred

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/residency"
	"github.com/casevault/casevault/vault"
)

// Format is the format string of a certificate's body.
const Format = "casevault-shred/1"

// Time is a time in a certificate: UTC, nanoseconds, as in drill records
// and audit events.
type Time = residency.Time

// Certificate is the signed statement that a firm was crypto-shredded
// (docs/SHRED-FORMAT.md §3). The shred fills it; Sign signs it; Verify
// reads and checks a signed one.
type Certificate struct {
	Format   string `json:"format"` // Format
	Region   string `json:"region"`
	TenantID string `json:"tenant_id"`
	// RequestID is the owner's shred request; RequestedBy the owner's
	// user id; RequestedAt when it was made.
	RequestID   string `json:"request_id"`
	RequestedBy string `json:"requested_by"`
	RequestedAt Time   `json:"requested_at"`
	// ShreddedAt is the time of the tenant.shred event; Finished when the
	// last copy was destroyed.
	ShreddedAt Time `json:"shredded_at"`
	Finished   Time `json:"finished"`
	// Keysets are the firm's destroyed keysets.
	Keysets []vault.KeysetID `json:"keysets"`
	// What the firm held, by its metadata: documents (trashed ones
	// included), versions, and their plaintext and ciphertext bytes.
	Documents    int64 `json:"documents"`
	Versions     int64 `json:"versions"`
	VersionBytes int64 `json:"version_bytes"`
	CipherBytes  int64 `json:"cipher_bytes"`
	// Blobs are the objects deleted from each site of the region's blob
	// store, "primary" first, then "mirror" when the region has one.
	Blobs []Site `json:"blobs"`
	// Rows are the firm's rows deleted from the cell's database;
	// DirectoryRows those deleted from the service database's directory.
	Rows          int64 `json:"rows"`
	DirectoryRows int64 `json:"directory_rows"`
	// AuditEvents is the size of the firm's log, deleted from the cell's
	// audit database: the final checkpoint's tree size, whose last event
	// is tenant.shred.
	AuditEvents int64 `json:"audit_events"`
	// FinalCheckpoint is the signed checkpoint (a signed note) of the
	// firm's log as it ended.
	FinalCheckpoint string `json:"final_checkpoint"`
	// Backup is what was deleted from the region's backup (null when the
	// region's backups are off).
	Backup *Backup `json:"backup"`
	// Bundle is the final audit bundle written before the destruction
	// (null when the operator chose --no-bundle).
	Bundle *Bundle `json:"bundle"`

	// SignedBy are the keys whose signatures Verify checked
	// ("<name>+<hash>"); not part of the body.
	SignedBy []string `json:"-"`
}

// Site counts the objects deleted from one site of a blob store.
type Site struct {
	Site    string `json:"site"` // "primary" or "mirror"
	Objects int64  `json:"objects"`
	Bytes   int64  `json:"bytes"`
}

// Backup is what a shred deleted from the region's backup: every backup
// object older than the fresh snapshot taken without the firm.
type Backup struct {
	ObjectsDeleted int64 `json:"objects_deleted"`
	// Earliest is the creation time of the fresh snapshot: restores of the
	// region reach back to it and no further.
	Earliest Time `json:"earliest"`
}

// Bundle names the final audit bundle.
type Bundle struct {
	SHA256 string `json:"sha256"` // 64 lowercase hex digits of the file
	Bytes  int64  `json:"bytes"`
}

// body returns the certificate's note text: its JSON, indented by two
// spaces, ending in LF; the first two lines are always "{" and
// `  "format": "casevault-shred/1",`.
func (c *Certificate) body() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var (
	regionName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)
	hex64      = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// maxCount is the largest count a certificate states (2^53).
const maxCount = 1 << 53

// check makes the checks of a certificate's meaning (docs/SHRED-FORMAT.md
// §4, step 6): what the shred promises and Verify checks again. It does
// not check the final checkpoint's signature (Verify does).
func (c *Certificate) check() error {
	switch {
	case c.Format != Format:
		return fmt.Errorf("format %q is not %s", c.Format, Format)
	case !regionName.MatchString(c.Region) || c.Region == keys.ServiceSigner:
		return fmt.Errorf("region %q is not a region name", c.Region)
	case !vault.ValidID(vault.PrefixTenant, c.TenantID):
		return fmt.Errorf("tenant_id %q is not a firm id", c.TenantID)
	case !vault.ValidID(vault.PrefixShred, c.RequestID):
		return fmt.Errorf("request_id %q is not a shred request id", c.RequestID)
	case !vault.ValidID(vault.PrefixUser, c.RequestedBy):
		return fmt.Errorf("requested_by %q is not a user id", c.RequestedBy)
	case c.RequestedAt.IsZero() || c.ShreddedAt.Before(c.RequestedAt.Time) || c.Finished.Before(c.ShreddedAt.Time):
		return errors.New("the times are not in the order requested_at, shredded_at, finished")
	}
	if len(c.Keysets) != 2 || c.Keysets[0].Purpose != "document" || c.Keysets[1].Purpose != "field" {
		return errors.New("keysets must be the document keyset, then the field keyset")
	}
	for _, k := range c.Keysets {
		if len(k.KeyIDs) == 0 || !hex64.MatchString(k.WrappedSHA256) || k.WrappedBytes <= 0 {
			return fmt.Errorf("the %s keyset needs key ids, a wrapped_sha256 of 64 lowercase hex digits and wrapped_bytes", k.Purpose)
		}
	}
	if len(c.Blobs) < 1 || len(c.Blobs) > 2 || c.Blobs[0].Site != "primary" || (len(c.Blobs) == 2 && c.Blobs[1].Site != "mirror") {
		return errors.New(`blobs must be the "primary" site, then the "mirror" site if any`)
	}
	counts := []int64{c.Documents, c.Versions, c.VersionBytes, c.CipherBytes, c.Rows, c.DirectoryRows, c.AuditEvents}
	for _, s := range c.Blobs {
		counts = append(counts, s.Objects, s.Bytes)
	}
	if c.Backup != nil {
		counts = append(counts, c.Backup.ObjectsDeleted)
		if c.Backup.Earliest.Before(c.ShreddedAt.Time) || c.Finished.Before(c.Backup.Earliest.Time) {
			return errors.New("backup.earliest is not between shredded_at and finished")
		}
	}
	for _, n := range counts {
		if n < 0 || n > maxCount {
			return errors.New("a count is negative or above 2^53")
		}
	}
	switch {
	case c.Versions < c.Documents:
		return errors.New("versions must not be fewer than documents")
	case c.AuditEvents < 1:
		return errors.New("audit_events must be at least 1: the tenant.shred event")
	case c.Bundle != nil && (!hex64.MatchString(c.Bundle.SHA256) || c.Bundle.Bytes <= 0):
		return errors.New("bundle needs a sha256 of 64 lowercase hex digits and its bytes")
	}
	origin, size, _, err := audit.ParseCheckpointText(checkpointText(c.FinalCheckpoint))
	switch {
	case err != nil:
		return fmt.Errorf("final_checkpoint: %v", err)
	case origin != audit.Origin(c.TenantID):
		return fmt.Errorf("final_checkpoint is of log %q, not the firm's", origin)
	case size != c.AuditEvents:
		return fmt.Errorf("final_checkpoint's tree size %d is not audit_events %d", size, c.AuditEvents)
	}
	return nil
}

// checkpointText returns the text of a signed note: what comes before the
// blank line that starts its signatures.
func checkpointText(signed string) string {
	i := bytes.Index([]byte(signed), []byte("\n\n"))
	if i < 0 {
		return signed
	}
	return signed[:i+1]
}

// SHA256Hex returns the lowercase hex SHA-256 that a certificate names.
func SHA256Hex(sum []byte) string { return hex.EncodeToString(sum) }
