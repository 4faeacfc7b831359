package audit

import (
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
)

// A checkpoint's timestamp is a C2SP tlog-cosignature (cosignature/v1)
// signature line made with the log's own Ed25519 key under the log's own
// key name: it signs "cosignature/v1\ntime T\n" followed by the checkpoint
// text, and the signature is T (8 bytes, big-endian Unix seconds) followed
// by the Ed25519 signature. Its key hash is computed over the algorithm
// byte 0x04 and the same public key, so it differs from the note
// signature's and a verifier derives it from the trusted verifier key alone
// (TimestampVerifier). docs/AUDIT-FORMAT.md §5 specifies it.

// TimestampVerifier returns the verifier of the timestamp cosignatures of
// the log whose note verifier key is vkey: same name, same Ed25519 public
// key, key hash over 0x04 ‖ key.
func TimestampVerifier(vkey string) (*torchwood.CosignatureVerifier, error) {
	name, pub, err := parseVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	s, err := torchwood.NewCosignatureSigner(name, publicOnly{pub})
	if err != nil {
		return nil, fmt.Errorf("timestamp verifier: %w", err)
	}
	return s.Verifier(), nil
}

// parseVerifierKey returns the name and Ed25519 public key of a note
// verifier key "<name>+<hash>+<base64 of 0x01 ‖ key>".
func parseVerifierKey(vkey string) (string, ed25519.PublicKey, error) {
	if _, err := note.NewVerifier(vkey); err != nil {
		return "", nil, err
	}
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return "", nil, errors.New("malformed verifier key")
	}
	b, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(b) != 1+ed25519.PublicKeySize || b[0] != 1 {
		return "", nil, errors.New("verifier key is not an Ed25519 note key")
	}
	return parts[0], ed25519.PublicKey(b[1:]), nil
}

// timestampSigner makes cosignature/v1 timestamp lines with the log's
// clock (torchwood's CosignatureSigner reads time.Now).
type timestampSigner struct {
	name string
	hash uint32
	key  crypto.Signer
	now  func() time.Time
}

// newTimestampSigner returns the timestamp signer of the log whose note
// verifier key is vkey; key must be that key's private half.
func newTimestampSigner(vkey string, key crypto.Signer, now func() time.Time) (*timestampSigner, error) {
	_, pub, err := parseVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	if kp, ok := key.Public().(ed25519.PublicKey); !ok || !kp.Equal(pub) {
		return nil, errors.New("the timestamp key is not the checkpoint key")
	}
	v, err := TimestampVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &timestampSigner{name: v.Name(), hash: v.KeyHash(), key: key, now: now}, nil
}

func (s *timestampSigner) Name() string    { return s.name }
func (s *timestampSigner) KeyHash() uint32 { return s.hash }

// Sign signs a checkpoint text (msg) with the current time.
func (s *timestampSigner) Sign(msg []byte) ([]byte, error) {
	if _, err := torchwood.ParseCheckpoint(string(msg)); err != nil {
		return nil, err
	}
	t := s.now().Unix()
	if t < 0 {
		return nil, errors.New("time before 1970")
	}
	m := fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", t, msg)
	sig, err := s.key.Sign(nil, m, crypto.Hash(0))
	if err != nil {
		return nil, err
	}
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(sig)), uint64(t)), sig...), nil
}

// CheckpointTime returns the time of the log's own timestamp on a signed
// checkpoint note, verified with the timestamp key derived from vkey; ok is
// false when the note has no timestamp line of that key. The note itself
// must verify with vkey.
func CheckpointTime(msg []byte, vkey string) (t time.Time, ok bool, err error) {
	nv, err := note.NewVerifier(vkey)
	if err != nil {
		return time.Time{}, false, err
	}
	tv, err := TimestampVerifier(vkey)
	if err != nil {
		return time.Time{}, false, err
	}
	n, err := note.Open(msg, note.VerifierList(nv, tv))
	if err != nil {
		return time.Time{}, false, err
	}
	return timestampOf(n, []note.Verifier{tv})
}

// timestampOf returns the time of n's verified signature by tv, if any.
func timestampOf(n *note.Note, tvs []note.Verifier) (time.Time, bool, error) {
	for _, sig := range n.Sigs {
		if slices.ContainsFunc(tvs, func(tv note.Verifier) bool { return sig.Name == tv.Name() && sig.Hash == tv.KeyHash() }) {
			ts, err := torchwood.CosignatureTimestamp(sig)
			if err != nil {
				return time.Time{}, false, err
			}
			return time.Unix(ts, 0).UTC(), true, nil
		}
	}
	return time.Time{}, false, nil
}
