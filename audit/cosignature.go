package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/vault"
)

// Witness cosignatures (C2SP tlog-cosignature, cosignature/v1): a witness
// signs "cosignature/v1\ntime T\n" followed by the checkpoint text with an
// Ed25519 key whose key hash is computed with algorithm byte 0x04; the
// signature is the 8-byte big-endian T followed by the Ed25519 signature.
// The log stores the lines its witnesses return (audit_cosignatures) and
// appends them to the checkpoint notes of bundles (docs/AUDIT-FORMAT.md §5).

// algCosignature is the key algorithm byte of a cosignature/v1 key.
const algCosignature = 0x04

// ParseCosignatureKey parses a witness's verifier key, "name+hash+base64"
// with the base64 of 0x04 followed by the 32-byte Ed25519 public key, and
// checks its key hash.
func ParseCosignatureKey(vkey string) (*torchwood.CosignatureVerifier, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	hash, err1 := strconv.ParseUint(hash16, 16, 32)
	key, err2 := base64.StdEncoding.DecodeString(key64)
	if !ok1 || !ok2 || len(hash16) != 8 || err1 != nil || err2 != nil || name == "" {
		return nil, errors.New("malformed witness key: want name+hash+base64")
	}
	if len(key) != 1+ed25519.PublicKeySize || key[0] != algCosignature {
		return nil, errors.New("witness key is not a cosignature/v1 (algorithm 0x04) Ed25519 key")
	}
	pub := ed25519.PublicKey(key[1:])
	h := sha256.Sum256(append([]byte(name+"\n"), key...))
	if binary.BigEndian.Uint32(h[:4]) != uint32(hash) {
		return nil, errors.New("witness key hash does not match its name and key")
	}
	s, err := torchwood.NewCosignatureSigner(name, publicOnly{pub})
	if err != nil {
		return nil, fmt.Errorf("witness key: %w", err)
	}
	return s.Verifier(), nil
}

// publicOnly is a crypto.Signer that only knows its public key: torchwood
// builds a CosignatureVerifier from a signer.
type publicOnly struct{ pub ed25519.PublicKey }

func (p publicOnly) Public() crypto.PublicKey { return p.pub }

func (publicOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("a verifier key cannot sign")
}

// Cosignature is one witness cosignature line of a checkpoint.
type Cosignature struct {
	Name string    // the witness key's name
	Hash uint32    // its key hash
	Line string    // "— name base64\n"
	Time time.Time // the time the witness signed, from the line
}

// ParseCosignatureLine parses a signature line of a note, with or without
// its final newline, as a cosignature (it does not verify it).
func ParseCosignatureLine(line string) (*Cosignature, error) {
	body, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "— ")
	if !ok {
		return nil, errors.New("not a signature line")
	}
	name, b64, ok := strings.Cut(body, " ")
	sig, err := base64.StdEncoding.DecodeString(b64)
	if !ok || name == "" || err != nil || len(sig) != 4+8+ed25519.SignatureSize {
		return nil, errors.New("malformed cosignature line")
	}
	t, err := torchwood.CosignatureTimestamp(note.Signature{Name: name, Base64: b64})
	if err != nil {
		return nil, err
	}
	return &Cosignature{Name: name, Hash: binary.BigEndian.Uint32(sig), Line: "— " + body + "\n", Time: time.Unix(t, 0).UTC()}, nil
}

// AddCosignature stores a witness's cosignature of tenant's checkpoint of
// the given size, unless one of that witness key is stored already. The
// caller has verified it. Errors: invalid (not a cosignature line),
// unavailable.
func (l *Log) AddCosignature(ctx context.Context, tenant string, size int64, line string) error {
	c, err := ParseCosignatureLine(line)
	if err != nil {
		return vault.WrapError(vault.EINVALID, err, "Invalid cosignature.")
	}
	_, err = l.db.ExecContext(ctx, `
		INSERT INTO audit_cosignatures (tenant_id, size, key_name, key_hash, line, created_at)
		SELECT ?, ?, ?, ?, ?, ?
		WHERE NOT EXISTS (SELECT 1 FROM audit_cosignatures WHERE tenant_id = ? AND size = ? AND key_name = ? AND key_hash = ?)`,
		tenant, size, c.Name, int64(c.Hash), c.Line, l.now().Format(TimeLayout), tenant, size, c.Name, int64(c.Hash))
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// Cosignatures returns the stored witness cosignatures of tenant's
// checkpoint of the given size, by key name. Errors: unavailable.
func (l *Log) Cosignatures(ctx context.Context, tenant string, size int64) ([]*Cosignature, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT line FROM audit_cosignatures WHERE tenant_id = ? AND size = ? ORDER BY key_name, key_hash`, tenant, size)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []*Cosignature
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, unavailable(err)
		}
		if c, err := ParseCosignatureLine(line); err == nil {
			out = append(out, c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// hasCosignatures reports whether tenant's log has any stored
// cosignature, so that exports of logs without witnesses look up none.
func (l *Log) hasCosignatures(ctx context.Context, tenant string) (bool, error) {
	var n int
	err := l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM audit_cosignatures WHERE tenant_id = ? LIMIT 1)`, tenant).Scan(&n)
	if err != nil {
		return false, unavailable(err)
	}
	return n > 0, nil
}

// CosignedNote returns c's note with the stored witness cosignature lines
// appended after its own signature lines. Errors: unavailable.
func (l *Log) CosignedNote(ctx context.Context, c *Checkpoint) ([]byte, error) {
	cs, err := l.Cosignatures(ctx, c.Tenant, c.Size)
	if err != nil || len(cs) == 0 {
		return c.Note, err
	}
	return appendCosignatures(c.Note, cs), nil
}

// appendCosignatures appends the lines of cs that note does not hold yet.
func appendCosignatures(n []byte, cs []*Cosignature) []byte {
	out := append([]byte(nil), n...)
	for _, c := range cs {
		if !bytes.Contains(n, []byte("\n"+c.Line)) {
			out = append(out, c.Line...)
		}
	}
	return out
}

// Witnesser submits checkpoints to witnesses. Cosign submits c to every
// witness that should cosign it and returns once each has answered (its
// cosignature then stored) or ctx ends; it reports nothing, since the
// bundle's verifier, not the exporter, decides which cosignatures it needs.
type Witnesser interface {
	Cosign(ctx context.Context, c *Checkpoint)
}

// cosignedSource is a Log whose Checkpoint is submitted to the witnesses
// and waited for before an export writes it as the header's.
type cosignedSource struct {
	*Log
	w Witnesser
}

// Checkpoint signs (when the tree grew) and returns tenant's latest
// checkpoint, once the witnesses have cosigned it or the wait is over.
func (s cosignedSource) Checkpoint(ctx context.Context, tenant string) (*Checkpoint, error) {
	c, err := s.Log.Checkpoint(ctx, tenant)
	if err != nil {
		return nil, err
	}
	s.w.Cosign(ctx, c)
	return c, nil
}

// SignAt signs tenant's tree of the given size (an export's own), and
// waits for the witnesses as Checkpoint does.
func (s cosignedSource) SignAt(ctx context.Context, tenant string, size int64) (*Checkpoint, error) {
	c, err := s.Log.SignAt(ctx, tenant, size)
	if err != nil {
		return nil, err
	}
	s.w.Cosign(ctx, c)
	return c, nil
}

// cosignatureSource is implemented by Sources that store witness
// cosignatures (Log, and a Log behind cosignedSource).
type cosignatureSource interface {
	CosignedNote(ctx context.Context, c *Checkpoint) ([]byte, error)
	hasCosignatures(ctx context.Context, tenant string) (bool, error)
}
