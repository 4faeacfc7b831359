package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/casevault/casevault/vault"
	"golang.org/x/mod/sumdb/tlog"
)

// FormatVersion is the version of the entry encoding, the "v" of every leaf.
const FormatVersion = 1

// TimeLayout is the one layout of every time in a leaf: UTC, fixed width,
// nanoseconds.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// Outcomes of an event.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied"
	OutcomeError  = "error"
)

// Entry is one audit event as it is stored and hashed: the leaf of its
// firm's Merkle tree is exactly the bytes of Encode(entry), kept verbatim.
// Field order here is the order of the encoding. Nothing in an Entry is
// confidential: names and other client-confidential text live in the
// private part, of which an Entry holds only the ciphertext (Sealed) and a
// commitment (Commit), so the log verifies even after the firm's keys are
// destroyed. docs/AUDIT-FORMAT.md specifies all of this for independent
// verifiers.
type Entry struct {
	V          int               `json:"v"`
	Tenant     string            `json:"tenant"`      // firm id; "" for the service log
	Seq        int64             `json:"seq"`         // 1, 2, …; leaf index Seq-1
	ID         string            `json:"id"`          // random event id; the sealed part is bound to it
	Time       string            `json:"time"`        // TimeLayout
	Prev       string            `json:"prev"`        // base64 tlog.RecordHash of entry Seq-1; "" for Seq 1
	ActorID    string            `json:"actor_id"`    // user id, "operator", or "" (anonymous)
	ActorEmail string            `json:"actor_email"` // as it was at the time
	Source     string            `json:"source"`      // client address
	UserAgent  string            `json:"user_agent"`
	Action     string            `json:"action"` // the actions are listed in docs/AUDIT-FORMAT.md
	ObjectType string            `json:"object_type"`
	ObjectID   string            `json:"object_id"`
	Outcome    string            `json:"outcome"`
	Details    map[string]string `json:"details"` // not confidential; keys sorted by the encoding
	Sealed     string            `json:"sealed"`  // base64 ciphertext of the private part; "" when none
	Commit     string            `json:"commit"`  // base64 SHA-256(nonce ‖ private); "" when none
}

// Encode returns the canonical bytes of e: compact JSON in field order,
// map keys sorted, no HTML escaping, no trailing newline. It refuses text
// that is not valid UTF-8, which would not decode back to the same bytes.
func Encode(e *Entry) ([]byte, error) {
	if e.Details == nil {
		c := *e // e itself is left alone: it may be shared
		c.Details = map[string]string{}
		e = &c
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if bytes.Contains(b, []byte("\ufffd")) || !utf8.Valid(b) {
		// encoding/json replaces invalid UTF-8 with U+FFFD silently.
		if !validEntryText(e) {
			return nil, errors.New("entry text is not valid UTF-8")
		}
	}
	return b, nil
}

// validEntryText reports whether every string of e is valid UTF-8.
func validEntryText(e *Entry) bool {
	for _, s := range []string{e.Tenant, e.ID, e.Time, e.Prev, e.ActorID, e.ActorEmail, e.Source, e.UserAgent,
		e.Action, e.ObjectType, e.ObjectID, e.Outcome, e.Sealed, e.Commit} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	for k, v := range e.Details {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// Decode parses leaf bytes. It checks the version and that the bytes are
// exactly the canonical encoding of what they parse to, so two different
// byte strings never claim to be the same event.
func Decode(leaf []byte) (*Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(leaf))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("entry is not valid JSON: %w", err)
	}
	if e.V != FormatVersion {
		return nil, fmt.Errorf("entry has version %d, want %d", e.V, FormatVersion)
	}
	again, err := Encode(&e)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, leaf) {
		return nil, errors.New("entry is not in canonical encoding")
	}
	return &e, nil
}

// LeafHash is the RFC 6962 leaf hash of a leaf: SHA-256(0x00 ‖ leaf).
func LeafHash(leaf []byte) tlog.Hash { return tlog.RecordHash(leaf) }

// PrevOf is the Prev value of the entry that follows leaf.
func PrevOf(leaf []byte) string {
	h := LeafHash(leaf)
	return base64.StdEncoding.EncodeToString(h[:])
}

// Private is the confidential part of an event (names at the time of the
// event, old and new names of a rename…), kept out of the leaf. Its exact
// bytes, with a random 32-byte nonce, are committed to in Entry.Commit and
// sealed with the firm's field key in Entry.Sealed.
type Private map[string]string

// NonceSize is the size of the commitment nonce.
const NonceSize = 32

// CommitTo returns the Commit value for the private bytes p under nonce:
// base64 of SHA-256(nonce ‖ p).
func CommitTo(nonce, p []byte) string {
	h := sha256.New()
	h.Write(nonce)
	h.Write(p)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// EncodePrivate returns the canonical bytes of p: compact JSON, keys
// sorted, no HTML escaping.
func EncodePrivate(p Private) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// SealedPlaintext is what is sealed for an event: the nonce in base64, a
// newline, and the private bytes.
func SealedPlaintext(nonce, private []byte) string {
	return base64.StdEncoding.EncodeToString(nonce) + "\n" + string(private)
}

// SplitSealedPlaintext undoes SealedPlaintext.
func SplitSealedPlaintext(s string) (nonce, private []byte, err error) {
	n, p, ok := strings.Cut(s, "\n")
	if !ok {
		return nil, nil, errors.New("sealed part has no nonce")
	}
	nonce, err = base64.StdEncoding.DecodeString(n)
	if err != nil || len(nonce) != NonceSize {
		return nil, nil, errors.New("sealed part has a bad nonce")
	}
	return nonce, []byte(p), nil
}

// Origin is the first line of a firm's checkpoints: it names the log.
func Origin(tenant string) string {
	if tenant == "" {
		return "casevault/audit/service"
	}
	return "casevault/audit/" + tenant
}

// CheckpointText is the signed body of a checkpoint (the C2SP tlog
// checkpoint layout): origin, tree size in decimal, base64 root hash, each
// followed by a newline.
func CheckpointText(tenant string, size int64, root tlog.Hash) string {
	return Origin(tenant) + "\n" + strconv.FormatInt(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
}

// ParseCheckpointText parses what CheckpointText wrote.
func ParseCheckpointText(text string) (origin string, size int64, root tlog.Hash, err error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		return "", 0, root, errors.New("checkpoint is not three lines")
	}
	size, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return "", 0, root, errors.New("checkpoint has a bad tree size")
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return "", 0, root, errors.New("checkpoint has a bad root hash")
	}
	copy(root[:], h)
	return lines[0], size, root, nil
}

// Record is one stored event.
type Record struct {
	Seq   int64
	Leaf  []byte // exactly as stored and hashed
	Entry *Entry // Leaf decoded
}

// Checkpoint is a signed tree head of one firm's log.
type Checkpoint struct {
	Tenant    string
	Size      int64
	Root      tlog.Hash
	Note      []byte // the signed note: CheckpointText plus signature lines
	CreatedAt time.Time
}

// Filter selects events of one firm: the vault's AuditFilter, whose
// Withhold the Reader applies (exports and listings alike read the rest).
type Filter = vault.AuditFilter

// Source is what exports and proofs read from a log.
type Source interface {
	// Records calls fn with each record of tenant matching f, in Seq order,
	// stopping at the first error fn returns.
	Records(ctx context.Context, tenant string, f Filter, fn func(*Record) error) error
	// Checkpoints calls fn with each stored checkpoint of tenant whose size
	// is at most upTo, in size order.
	Checkpoints(ctx context.Context, tenant string, upTo int64, fn func(*Checkpoint) error) error
	// Checkpoint signs, stores and returns a checkpoint of tenant's tree as
	// it is now (or the latest one, if the tree has not grown since).
	Checkpoint(ctx context.Context, tenant string) (*Checkpoint, error)
	// Prove returns the inclusion proof of the leaf with sequence number
	// seq in tenant's tree of the given size.
	Prove(ctx context.Context, tenant string, seq, size int64) (tlog.RecordProof, error)
	// VerifierKey returns the note verifier key that checks tenant's
	// checkpoints.
	VerifierKey(ctx context.Context, tenant string) (string, error)
}

// Opener decrypts the sealed part of an event, for exports that show names.
// It is the firm's field key; after crypto-shredding it fails, and exports
// show "[sealed]" while the log still verifies.
type Opener interface {
	OpenPrivate(ctx context.Context, tenant, eventID string, sealed []byte) (string, error)
}
