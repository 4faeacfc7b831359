// Package sink delivers every signed checkpoint of a firm's audit log to a
// checkpoint sink the firm names (an S3-compatible bucket of its own or an
// HTTPS webhook), each with the consistency proof from the one delivered
// before, and checks such a collection (docs/AUDIT-FORMAT.md §"Checkpoint
// sinks").
package sink

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
)

// Format is the format member of every delivered object.
const Format = "casevault-audit-sink/1"

// Dir is the folder, under the firm's prefix, of the objects of every log.
const Dir = "casevault-audit"

// MaxObjectSize bounds the size of one object a verifier reads.
const MaxObjectSize = 1 << 20

// Object is one delivered checkpoint: the signed note with its size and
// root, and the consistency proof from the checkpoint delivered before it
// (Previous; null for the first one delivered to the sink).
type Object struct {
	Format      string    `json:"format"`
	Tenant      string    `json:"tenant"`
	Size        int64     `json:"size"`
	Root        string    `json:"root"`
	SignedAt    string    `json:"signed_at"`
	Note        string    `json:"note"`
	Previous    *Previous `json:"previous"`
	Consistency []string  `json:"consistency"`
}

// Previous is the checkpoint delivered before an object's.
type Previous struct {
	Size int64  `json:"size"`
	Root string `json:"root"`
}

// NewObject builds the object of checkpoint c, proved consistent with the
// previously delivered checkpoint prev (nil: none).
func NewObject(c *audit.Checkpoint, prev *Previous, proof tlog.TreeProof) *Object {
	o := &Object{
		Format: Format, Tenant: c.Tenant, Size: c.Size, Root: b64(c.Root[:]),
		SignedAt: c.CreatedAt.UTC().Format(time.RFC3339Nano), Note: string(c.Note), Previous: prev,
		Consistency: []string{},
	}
	for _, h := range proof {
		o.Consistency = append(o.Consistency, b64(h[:]))
	}
	return o
}

// Marshal returns the object's JSON, one line ending in LF.
func (o *Object) Marshal() []byte {
	b, _ := json.Marshal(o) // strings and numbers only: cannot fail
	return append(b, '\n')
}

// Name returns the object's name under the sink's prefix:
// PREFIX/casevault-audit/TENANT/SIZE-UNIXTIME-HASH.json, with the size as
// 20 digits and the signing time as 12, so that a listing is in size order
// and then signing order; HASH is the first 16 hex digits of the SHA-256 of
// the note, so two checkpoints never share a name and a repeated delivery
// overwrites the object with the same bytes.
func (o *Object) Name(prefix string) string {
	t, _ := time.Parse(time.RFC3339Nano, o.SignedAt)
	sum := sha256.Sum256([]byte(o.Note))
	base := fmt.Sprintf("%020d-%012d-%s.json", o.Size, t.Unix(), hex.EncodeToString(sum[:8]))
	return path.Join(prefix, Dir, o.Tenant, base)
}

// ParseObject reads one object strictly: one JSON object with exactly the
// members of Object, none repeated, and nothing after it.
func ParseObject(b []byte) (*Object, error) {
	if len(b) > MaxObjectSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxObjectSize)
	}
	if err := checkMembers(b, "format", "tenant", "size", "root", "signed_at", "note", "previous", "consistency"); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var o Object
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("not a sink object: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	if o.Format != Format {
		return nil, fmt.Errorf("format %q, want %q", o.Format, Format)
	}
	if o.Consistency == nil {
		return nil, fmt.Errorf("consistency is missing")
	}
	return &o, nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// parseHash reads a canonical base64 hash.
func parseHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != tlog.HashSize || b64(b) != s {
		return h, fmt.Errorf("%q is not a canonical base64 SHA-256 hash", s)
	}
	copy(h[:], b)
	return h, nil
}

// checkMembers checks that b is a JSON object whose members are exactly
// names, each once.
func checkMembers(b []byte, names ...string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("not a JSON object")
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("malformed JSON: %v", err)
		}
		k, _ := t.(string)
		switch {
		case !want[k]:
			return fmt.Errorf("unknown member %q", k)
		case seen[k]:
			return fmt.Errorf("member %q repeated", k)
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("malformed JSON: %v", err)
		}
	}
	for _, n := range names {
		if !seen[n] {
			return fmt.Errorf("member %q is missing", n)
		}
	}
	return nil
}
