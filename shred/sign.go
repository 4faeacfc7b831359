package shred

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/residency"
	"github.com/casevault/casevault/vault"
)

// MaxCertificate is the largest signed certificate Verify reads, in bytes.
const MaxCertificate = 1 << 20

// KeyName returns the note key name that signs the certificates of
// region: its audit checkpoint key's, "casevault-audit-<region>", which
// also signs the firm's checkpoints.
func KeyName(region string) string { return keys.SignerName(region) }

// Sign returns the certificate as a signed note, signed by signer, which
// must be the audit checkpoint key of the certificate's region. Errors:
// invalid (a signer of another name, a certificate that does not hold
// together), internal.
func (c *Certificate) Sign(signer note.Signer) ([]byte, error) {
	if signer.Name() != KeyName(c.Region) {
		return nil, vault.Errorf(vault.EINVALID, "A certificate of region %s must be signed by key %s, not %s.", c.Region, KeyName(c.Region), signer.Name())
	}
	c.Format = Format
	if err := c.check(); err != nil {
		return nil, vault.WrapError(vault.EINVALID, err, "Destruction certificate of %s: %v.", c.TenantID, err)
	}
	text, err := c.body()
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot encode the destruction certificate.")
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot sign the destruction certificate.")
	}
	return msg, nil
}

// VerifyError is the error of Verify: what failed, in words.
type VerifyError struct{ Reason string }

func (e *VerifyError) Error() string { return "destruction certificate: " + e.Reason }

// Verify checks a signed destruction certificate (docs/SHRED-FORMAT.md §4)
// against verifierKeys, the region's published audit verifier keys (one
// must have signed it, and its final checkpoint), and returns it. The
// error, a *VerifyError, says what failed.
func Verify(file []byte, verifierKeys []string) (*Certificate, error) {
	if len(file) > MaxCertificate {
		return nil, &VerifyError{"file is larger than 1 MiB"}
	}
	n, err := openNote(file, verifierKeys, "certificate")
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(n.Text, "{\n  \"format\": \""+Format+"\",\n") {
		return nil, &VerifyError{"the text does not start with the format line of " + Format}
	}
	var c Certificate
	dec := json.NewDecoder(strings.NewReader(n.Text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, &VerifyError{"body: " + err.Error()}
	}
	if dec.More() {
		return nil, &VerifyError{"body: text after the JSON object"}
	}
	if canon, err := c.body(); err != nil || string(canon) != n.Text {
		return nil, &VerifyError{"body is not in the canonical encoding (docs/SHRED-FORMAT.md §2)"}
	}
	c.SignedBy = signedBy(n, c.Region)
	if len(c.SignedBy) == 0 {
		return nil, &VerifyError{"not signed by region " + c.Region + "'s key " + KeyName(c.Region)}
	}
	if err := c.check(); err != nil {
		return nil, &VerifyError{err.Error()}
	}
	ck, err := openNote([]byte(c.FinalCheckpoint), verifierKeys, "final checkpoint")
	if err != nil {
		var ve *VerifyError
		errors.As(err, &ve)
		return nil, &VerifyError{"final_checkpoint: " + ve.Reason}
	}
	if len(signedBy(ck, c.Region)) == 0 {
		return nil, &VerifyError{"final_checkpoint is not signed by region " + c.Region + "'s key " + KeyName(c.Region)}
	}
	if _, _, _, err := audit.ParseCheckpointText(ck.Text); err != nil {
		return nil, &VerifyError{"final_checkpoint: " + err.Error()}
	}
	return &c, nil
}

// openNote opens a signed note with the given keys.
func openNote(file []byte, verifierKeys []string, what string) (*note.Note, error) {
	n, err := residency.OpenNote(file, verifierKeys, what)
	var re *residency.VerifyError
	if errors.As(err, &re) {
		return nil, &VerifyError{re.Reason}
	} else if err != nil {
		return nil, &VerifyError{err.Error()}
	}
	return n, nil
}

// signedBy returns the verified signatures of n by region's key.
func signedBy(n *note.Note, region string) []string {
	var out []string
	for _, s := range n.Sigs {
		if s.Name == KeyName(region) {
			out = append(out, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
		}
	}
	return out
}

// Peek decodes a signed certificate's body without checking anything:
// to learn which region's keys to verify it with.
func Peek(file []byte) (*Certificate, error) {
	text, _, ok := strings.Cut(string(file), "\n\n")
	if !ok {
		return nil, &VerifyError{"not a signed note"}
	}
	var c Certificate
	if err := json.Unmarshal([]byte(text+"\n"), &c); err != nil {
		return nil, &VerifyError{"body: " + err.Error()}
	}
	return &c, nil
}
