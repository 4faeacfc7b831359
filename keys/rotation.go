package keys

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/vault"
)

// RotationHeader is the first line of a key rotation statement
// (docs/AUDIT-FORMAT.md, "Key rotation").
const RotationHeader = "casevault-audit-key-rotation/1"

// RotationText is the text of the statement that region's audit key
// oldKey was replaced by newKey at t: five lines, each ending in LF.
func RotationText(region, oldKey, newKey string, t time.Time) string {
	return fmt.Sprintf("%s\nregion %s\nold %s\nnew %s\ntime %s\n", RotationHeader, region, oldKey, newKey, t.UTC().Format(time.RFC3339))
}

// Rotation is a parsed, verified key rotation statement.
type Rotation struct {
	Region, OldKey, NewKey string
	Time                   time.Time
}

// OpenRotation checks a signed rotation statement: its text has the five
// lines of RotationText, and it carries a valid signature of both the old
// and the new key it names. Errors: invalid.
func OpenRotation(statement string) (*Rotation, error) {
	// The keys are in the text; open it once to read them, then check
	// both signatures.
	text, _, ok := strings.Cut(statement, "\n\n")
	lines := strings.Split(text, "\n")
	bad := vault.Errorf(vault.EINVALID, "Not a key rotation statement.")
	if !ok || len(lines) != 5 || lines[0] != RotationHeader {
		return nil, bad
	}
	var r Rotation
	var ts string
	for i, f := range []struct {
		key string
		dst *string
	}{{"region ", &r.Region}, {"old ", &r.OldKey}, {"new ", &r.NewKey}, {"time ", &ts}} {
		v, ok := strings.CutPrefix(lines[i+1], f.key)
		if !ok || v == "" {
			return nil, bad
		}
		*f.dst = v
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return nil, bad
	}
	r.Time = t
	for _, k := range []string{r.OldKey, r.NewKey} {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, bad
		}
		n, err := note.Open([]byte(statement), note.VerifierList(v))
		if err != nil || n.Text != text+"\n" {
			return nil, vault.WrapError(vault.EINVALID, err, "The key rotation statement is not signed by %s.", k)
		}
	}
	if r.OldKey == r.NewKey {
		return nil, bad
	}
	return &r, nil
}

// RotateAuditSigner replaces region's audit signing key kept at path with
// a new one of the same name (another key hash), valid from now: the new
// key's private half is wrapped by master; the old key's public verifier
// key is kept among the retired ones, valid until now, with a rotation
// statement signed by both keys; the old private half is not written
// again, so once the file is replaced no new history can be signed with
// it. The file is replaced atomically. It returns the new signer and the
// statement. Run it with the server stopped: a running server keeps
// signing with the key it loaded. Errors: not_found (no signer file),
// invalid, internal.
func RotateAuditSigner(ctx context.Context, path, region string, master MasterKey, now time.Time) (*AuditSigner, string, error) {
	old, err := loadAuditSigner(ctx, path, region, master)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", vault.Errorf(vault.ENOTFOUND, "No audit signer of region %s at %s.", region, path)
	} else if err != nil {
		return nil, "", err
	}
	now = now.UTC().Truncate(time.Second)
	if now.Before(old.ValidFrom) {
		now = old.ValidFrom
	}
	used := map[uint32]bool{old.Signer.KeyHash(): true}
	for _, k := range old.Retired {
		if v, err := note.NewVerifier(k.VerifierKey); err == nil {
			used[v.KeyHash()] = true
		}
	}
	var skey, vkey string
	var signer note.Signer
	for {
		if skey, vkey, err = note.GenerateKey(nil, SignerName(region)); err != nil {
			return nil, "", vault.WrapError(vault.EINTERNAL, err, "Cannot generate audit signing key.")
		}
		if signer, err = note.NewSigner(skey); err != nil {
			return nil, "", vault.WrapError(vault.EINTERNAL, err, "Cannot load the new audit signing key.")
		}
		// A key hash names the key in signature lines: never reuse one.
		if !used[signer.KeyHash()] {
			break
		}
	}
	msg, err := note.Sign(&note.Note{Text: RotationText(region, old.VerifierKey, vkey, now)}, old.Signer, signer)
	if err != nil {
		return nil, "", vault.WrapError(vault.EINTERNAL, err, "Cannot sign the key rotation statement.")
	}
	retired := make([]retiredKey, 0, len(old.Retired)+1)
	for _, k := range old.Retired {
		retired = append(retired, retiredKey{VerifierKey: k.VerifierKey, ValidFrom: k.ValidFrom.UTC().Format(time.RFC3339),
			ValidUntil: k.ValidUntil.UTC().Format(time.RFC3339), Rotation: k.Rotation})
	}
	retired = append(retired, retiredKey{VerifierKey: old.VerifierKey, ValidFrom: old.ValidFrom.UTC().Format(time.RFC3339),
		ValidUntil: now.Format(time.RFC3339), Rotation: string(msg)})
	b, err := encodeSignerFile(ctx, region, master, skey, vkey, now, retired)
	if err != nil {
		return nil, "", err
	}
	if err := replaceFile(path, b, "audit signer file"); err != nil {
		return nil, "", err
	}
	s, err := loadAuditSigner(ctx, path, region, master)
	if err != nil {
		return nil, "", err
	}
	return s, string(msg), nil
}
