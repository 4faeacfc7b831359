package residency

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Format is the format string of a residency report's body.
const Format = "casevault-residency/1"

// TimeLayout is the layout of every time in a report: UTC, nanoseconds,
// as in audit events (docs/AUDIT-FORMAT.md §2).
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// Store kinds.
const (
	KindFS = "fs" // a local directory (vault/fs)
	KindS3 = "s3" // an S3-compatible bucket (vault/s3)
)

// Time is a time in a report, encoded in TimeLayout.
type Time struct{ time.Time }

// MarshalJSON encodes t in TimeLayout, in UTC.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(TimeLayout))
}

// UnmarshalJSON decodes a time in TimeLayout, exactly.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a time is a string: %w", err)
	}
	v, err := time.Parse(TimeLayout, s)
	if err != nil || v.Format(TimeLayout) != s {
		return fmt.Errorf("time %q is not in the layout %s", s, TimeLayout)
	}
	t.Time = v
	return nil
}

// StoreDesc describes a blob store as a report names it: where it is, never
// how to get in (no credentials).
type StoreDesc struct {
	Kind     string `json:"kind"`     // KindFS or KindS3
	Endpoint string `json:"endpoint"` // S3: host[:port]; "" for fs
	Bucket   string `json:"bucket"`   // S3: the bucket; "" for fs
	Path     string `json:"path"`     // fs: the directory; S3: the store's key prefix in its bucket ("" for the whole bucket, as CaseVault's S3 stores use)
}

// String describes the store in one line: "fs /data/ca/blobs" or
// "s3 host:port/bucket" (with "/path" when the store has one).
func (d StoreDesc) String() string {
	if d.Kind == KindS3 {
		s := "s3 " + d.Endpoint + "/" + d.Bucket
		if d.Path != "" {
			s += "/" + d.Path
		}
		return s
	}
	return d.Kind + " " + d.Path
}

// Object is one of the firm's objects: its key, its size and the SHA-256
// of its stored (ciphertext) bytes, in lowercase hex.
type Object struct {
	Key    string `json:"key"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// FirmStore is a store of the firm's cell and the firm's objects in it:
// those whose key starts with Prefix, in byte order of keys.
type FirmStore struct {
	StoreDesc
	Prefix  string   `json:"prefix"`
	Objects int64    `json:"objects"` // how many
	Bytes   int64    `json:"bytes"`   // their total size
	List    []Object `json:"object_list"`
}

// ScannedStore is a store of another cell and what the scan read of it.
type ScannedStore struct {
	StoreDesc
	Prefix  string `json:"prefix"`  // only keys starting with it were read; "" for all
	Objects int64  `json:"objects"` // objects read
	Bytes   int64  `json:"bytes"`   // bytes read from them
}

// Cell is another served cell and what its scan for the firm read and
// found: Hits is always 0 in a report (Build fails otherwise).
type Cell struct {
	Region      string         `json:"region"`
	Path        string         `json:"path"`         // the cell's directory; "" when only Files were scanned
	Files       int64          `json:"files"`        // regular files read
	FileBytes   int64          `json:"file_bytes"`   // bytes read from them
	Stores      []ScannedStore `json:"stores"`       // the cell's stores
	Objects     int64          `json:"objects"`      // objects read, all stores
	ObjectBytes int64          `json:"object_bytes"` // bytes read from them
	Needles     int            `json:"needles"`      // how many byte strings were looked for
	Hits        int64          `json:"hits"`         // how many were found: 0
}

// Move is one move of the firm between regions: when it started and
// finished, and the audit sequence number of its handover event (the
// event signed by the old region's key after which the new region's key
// signs the firm's log).
type Move struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Started     Time   `json:"started"`
	Finished    Time   `json:"finished"`
	HandoverSeq int64  `json:"handover_seq"`
}

// Report is the residency report of one firm (docs/RESIDENCY.md). Build
// makes one; Sign signs it; Verify reads and checks a signed one.
type Report struct {
	Format        string      `json:"format"` // Format
	Tenant        string      `json:"tenant"`
	Region        string      `json:"region"`
	GeneratedAt   Time        `json:"generated_at"`
	Objects       int64       `json:"objects"`        // the firm's objects, all stores
	Bytes         int64       `json:"bytes"`          // their total size
	ObjectsSHA256 string      `json:"objects_sha256"` // ObjectsDigest of Stores
	Stores        []FirmStore `json:"stores"`
	OtherCells    []Cell      `json:"other_cells"`
	Moves         []Move      `json:"moves"`

	// SignedBy are the keys whose signatures Verify checked
	// ("<name>+<hash>"); not part of the body.
	SignedBy []string `json:"-"`
}

// ObjectsDigest returns the digest over the firm's object list, in
// lowercase hex: SHA-256 of one line per object, for each store in order
// (i counting from 0) and each of its objects in order,
// "<i> <key> <size> <sha256>\n" (decimal i and size).
func ObjectsDigest(stores []FirmStore) string {
	h := sha256.New()
	for i, s := range stores {
		for _, o := range s.List {
			fmt.Fprintf(h, "%d %s %d %s\n", i, o.Key, o.Size, o.SHA256)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// body returns the report's note text: its JSON, indented by two spaces,
// ending in LF. The first two lines are always "{" and
// `  "format": "casevault-residency/1",`.
func (r *Report) body() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil { // Encode ends in "\n"
		return nil, err
	}
	return buf.Bytes(), nil
}
