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

// Leaf format versions. Version 1 kept the actor's email, the client's
// address and its user agent in the clear in the leaf; version 2 moves them
// into the sealed, committed private part. A log may hold version 1 leaves
// followed by version 2 leaves, never the reverse. New events are always
// FormatVersion.
const (
	FormatV1      = 1
	FormatV2      = 2
	FormatVersion = FormatV2
)

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
// confidential: names, emails, addresses and other identifying text live in
// the private part, of which an Entry holds only the ciphertext (Sealed) and
// a commitment (Commit), so the log verifies even after the firm's keys are
// destroyed. docs/AUDIT-FORMAT.md specifies all of this for independent
// verifiers.
//
// ActorEmail, Source and UserAgent are members of version 1 leaves only; in
// version 2 they are in the private part and empty here.
type Entry struct {
	V          int
	Tenant     string // firm id; "" for the service log
	Seq        int64  // 1, 2, …; leaf index Seq-1
	ID         string // random event id; the sealed part is bound to it
	Time       string // TimeLayout
	Prev       string // base64 tlog.RecordHash of entry Seq-1; "" for Seq 1
	ActorID    string // user id, "operator", or "" (anonymous)
	ActorEmail string // version 1: as it was at the time
	Source     string // version 1: client address
	UserAgent  string // version 1
	Action     string // the actions are listed in docs/AUDIT-FORMAT.md
	ObjectType string
	ObjectID   string
	Outcome    string
	Details    map[string]string // not confidential; keys sorted by the encoding
	Sealed     string            // base64 ciphertext of the private part; "" when none
	Commit     string            // base64 SHA-256(nonce ‖ private); "" when none
}

// entryV1 is the encoding of a version 1 leaf: 17 members. Its fields are
// Entry's, so that each converts to the other.
type entryV1 struct {
	V          int               `json:"v"`
	Tenant     string            `json:"tenant"`
	Seq        int64             `json:"seq"`
	ID         string            `json:"id"`
	Time       string            `json:"time"`
	Prev       string            `json:"prev"`
	ActorID    string            `json:"actor_id"`
	ActorEmail string            `json:"actor_email"`
	Source     string            `json:"source"`
	UserAgent  string            `json:"user_agent"`
	Action     string            `json:"action"`
	ObjectType string            `json:"object_type"`
	ObjectID   string            `json:"object_id"`
	Outcome    string            `json:"outcome"`
	Details    map[string]string `json:"details"`
	Sealed     string            `json:"sealed"`
	Commit     string            `json:"commit"`
}

// entryV2 is the encoding of a version 2 leaf: 14 members, without the
// actor's email, the source and the user agent.
type entryV2 struct {
	V          int               `json:"v"`
	Tenant     string            `json:"tenant"`
	Seq        int64             `json:"seq"`
	ID         string            `json:"id"`
	Time       string            `json:"time"`
	Prev       string            `json:"prev"`
	ActorID    string            `json:"actor_id"`
	Action     string            `json:"action"`
	ObjectType string            `json:"object_type"`
	ObjectID   string            `json:"object_id"`
	Outcome    string            `json:"outcome"`
	Details    map[string]string `json:"details"`
	Sealed     string            `json:"sealed"`
	Commit     string            `json:"commit"`
}

func (e *Entry) v2() entryV2 {
	return entryV2{
		V: e.V, Tenant: e.Tenant, Seq: e.Seq, ID: e.ID, Time: e.Time, Prev: e.Prev, ActorID: e.ActorID,
		Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID, Outcome: e.Outcome,
		Details: e.Details, Sealed: e.Sealed, Commit: e.Commit,
	}
}

func (w *entryV2) entry() *Entry {
	return &Entry{
		V: w.V, Tenant: w.Tenant, Seq: w.Seq, ID: w.ID, Time: w.Time, Prev: w.Prev, ActorID: w.ActorID,
		Action: w.Action, ObjectType: w.ObjectType, ObjectID: w.ObjectID, Outcome: w.Outcome,
		Details: w.Details, Sealed: w.Sealed, Commit: w.Commit,
	}
}

// Encode returns the canonical bytes of e in the encoding of its version:
// compact JSON in field order, map keys sorted, no HTML escaping, no
// trailing newline. It refuses text that is not valid UTF-8, which would not
// decode back to the same bytes, and a version 2 entry with an actor email,
// source or user agent, which that version keeps out of the leaf.
func Encode(e *Entry) ([]byte, error) {
	details := e.Details
	if details == nil {
		details = map[string]string{} // e itself is left alone: it may be shared
	}
	var v any
	switch e.V {
	case FormatV1:
		w := entryV1(*e)
		w.Details = details
		v = &w
	case FormatV2:
		if e.ActorEmail != "" || e.Source != "" || e.UserAgent != "" {
			return nil, errors.New("a version 2 entry keeps the actor email, source and user agent in its private part")
		}
		w := e.v2()
		w.Details = details
		v = &w
	default:
		return nil, fmt.Errorf("entry has unknown version %d", e.V)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
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

// Decode parses leaf bytes of either version. It checks that the bytes are
// exactly the canonical encoding of what they parse to in the members of
// their version, so two different byte strings never claim to be the same
// event.
func Decode(leaf []byte) (*Entry, error) {
	var head struct {
		V json.RawMessage `json:"v"`
	}
	if err := json.Unmarshal(leaf, &head); err != nil {
		return nil, fmt.Errorf("entry is not valid JSON: %w", err)
	}
	var e *Entry
	var err error
	switch string(head.V) {
	case "1":
		var w entryV1
		err = strictUnmarshal(leaf, &w)
		c := Entry(w)
		e = &c
	case "2":
		var w entryV2
		err = strictUnmarshal(leaf, &w)
		e = w.entry()
	default:
		return nil, fmt.Errorf("entry has version %s, want %d or %d", head.V, FormatV1, FormatV2)
	}
	if err != nil {
		return nil, fmt.Errorf("entry is not valid JSON: %w", err)
	}
	again, err := Encode(e)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, leaf) {
		return nil, errors.New("entry is not in canonical encoding")
	}
	return e, nil
}

// strictUnmarshal decodes one JSON value into v, refusing unknown members.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// LeafHash is the RFC 6962 leaf hash of a leaf: SHA-256(0x00 ‖ leaf).
func LeafHash(leaf []byte) tlog.Hash { return tlog.RecordHash(leaf) }

// PrevOf is the Prev value of the entry that follows leaf.
func PrevOf(leaf []byte) string {
	h := LeafHash(leaf)
	return base64.StdEncoding.EncodeToString(h[:])
}

// Private is the confidential part of an event (names at the time of the
// event, old and new names of a rename…, and since FormatV2 who did it and
// from where: PrivateActorEmail, PrivateSource, PrivateUserAgent and emails),
// kept out of the leaf. Its exact
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
	h, err := decodeBase64(lines[2])
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

	// Time is the log's signed timestamp on Note (its cosignature/v1 line,
	// timestamp.go), to the second, on the checkpoints Log.Checkpoint and
	// Log.SignAt return and OnSigned gets; zero when the note has none
	// (signed before CaseVault added them, or without
	// Options.Timestamper). The listing Source.Checkpoints leaves it zero:
	// CheckpointTime reads it from Note.
	Time time.Time
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
	// ProveTree returns the consistency proof from tenant's tree of size
	// from to its tree of size to.
	ProveTree(ctx context.Context, tenant string, from, to int64) (tlog.TreeProof, error)
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
