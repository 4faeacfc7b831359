package drill

import (
	"encoding/json"
	"errors"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/residency"
	"github.com/casevault/casevault/vault"
)

// MaxRecord is the largest signed record Verify reads, in bytes.
const MaxRecord = 1 << 20

// KeyName returns the note key name that signs the drill records of
// region: its audit checkpoint key's, "casevault-audit-<region>".
func KeyName(region string) string { return keys.SignerName(region) }

// Sign returns the record as a signed note, signed by signer, which must be
// the audit checkpoint key of the record's region (named KeyName(region)).
// Errors: invalid (a signer of another name, a record that does not hold
// together), internal.
func (r *Record) Sign(signer note.Signer) ([]byte, error) {
	if signer.Name() != KeyName(r.Region) {
		return nil, vault.Errorf(vault.EINVALID, "Drill record of region %s must be signed by key %s, not %s.", r.Region, KeyName(r.Region), signer.Name())
	}
	if err := r.check(); err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Drill record %s: %v.", r.ID, err)
	}
	text, err := r.body()
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot encode the drill record.")
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot sign the drill record.")
	}
	return msg, nil
}

// VerifyError is the error of Verify: what failed, in words.
type VerifyError struct{ Reason string }

func (e *VerifyError) Error() string { return "drill record: " + e.Reason }

// Verify checks a signed drill record (docs/DRILL-FORMAT.md §4) against
// verifierKeys, the published audit verifier keys of the region (any
// number; one must have signed it), and returns it. The error, a
// *VerifyError, says what failed: a malformed note, no signature by a
// given key, a signature that does not verify (the text was changed), a
// key that is not the record's region's, the format, the encoding, or
// figures that do not hold together.
func Verify(file []byte, verifierKeys []string) (*Record, error) {
	if len(file) > MaxRecord {
		return nil, &VerifyError{"file is larger than 1 MiB"}
	}
	n, err := residency.OpenNote(file, verifierKeys, "record")
	var re *residency.VerifyError
	if errors.As(err, &re) {
		return nil, &VerifyError{re.Reason}
	} else if err != nil {
		return nil, &VerifyError{err.Error()}
	}
	if !strings.HasPrefix(n.Text, "{\n  \"format\": \""+Format+"\",\n") {
		return nil, &VerifyError{"the text does not start with the format line of " + Format}
	}
	var r Record
	dec := json.NewDecoder(strings.NewReader(n.Text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, &VerifyError{"body: " + err.Error()}
	}
	if dec.More() {
		return nil, &VerifyError{"body: text after the JSON object"}
	}
	if canon, err := r.body(); err != nil || string(canon) != n.Text {
		return nil, &VerifyError{"body is not in the canonical encoding (docs/DRILL-FORMAT.md §2)"}
	}
	var names []string
	for _, s := range n.Sigs {
		names = append(names, s.Name)
		if s.Name == KeyName(r.Region) {
			r.SignedBy = append(r.SignedBy, s.Name+"+"+hash8(s.Hash))
		}
	}
	if len(r.SignedBy) == 0 {
		return nil, &VerifyError{"signed by " + strings.Join(names, ", ") + ", not by region " + r.Region + "'s key " + KeyName(r.Region)}
	}
	if err := r.check(); err != nil {
		return nil, &VerifyError{err.Error()}
	}
	return &r, nil
}

func hash8(h uint32) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = digits[h&0xf]
		h >>= 4
	}
	return string(b)
}
