package audit_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
)

// memSource is an in-memory audit.Source (and audit.RawSource) for one
// firm, built like the real log from the real tlog and note functions: each
// appended leaf's stored hashes come from tlog.StoredHashes, roots from
// tlog.TreeHash, proofs from tlog.ProveRecord, checkpoints are signed with
// note.Sign. Its leaves can be edited, swapped and deleted afterwards, as
// someone with write access to the database could, without touching the
// stored hashes or checkpoints.
type memSource struct {
	mu     sync.Mutex
	tenant string
	signer note.Signer
	vkey   string
	keys   *memKeys
	start  time.Time
	leaves [][]byte // by seq-1; nil: deleted
	hashes []tlog.Hash
	cps    []*audit.Checkpoint

	// stampAt, when set, is the time of the log's timestamp line each
	// checkpoint then carries (§5), made with key, the note key's Ed25519
	// half.
	stampAt time.Time
	key     ed25519.PrivateKey
}

var (
	_ audit.Source       = (*memSource)(nil)
	_ audit.RawSource    = (*memSource)(nil)
	_ audit.ExportSource = (*memSource)(nil)
)

// newMemSource returns an empty log of tenant whose signing key is derived
// from seed, so that bundles are byte for byte reproducible.
func newMemSource(tb testing.TB, tenant string, seed string) *memSource {
	tb.Helper()
	skey, vkey := testKey(tb, "casevault-audit-test", seed)
	signer, err := note.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	return &memSource{
		tenant: tenant, signer: signer, vkey: vkey, keys: newMemKeys("field key " + seed),
		start: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), key: noteKey(tb, skey).(ed25519.PrivateKey),
	}
}

// testKey returns a note key pair whose Ed25519 seed is derived from seed.
func testKey(tb testing.TB, name, seed string) (skey, vkey string) {
	tb.Helper()
	sum := sha256.Sum256([]byte(seed))
	skey, vkey, err := note.GenerateKey(bytes.NewReader(sum[:]), name)
	if err != nil {
		tb.Fatal(err)
	}
	return skey, vkey
}

// ReadHashes implements tlog.HashReader over the stored hashes.
func (s *memSource) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s.hashes)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = s.hashes[x]
	}
	return out, nil
}

// add appends an event: e's Seq, ID, Prev and Tenant are filled in, its V
// when zero (audit.FormatVersion) and its Time when empty. A version 2
// event's ActorEmail, Source and UserAgent move into its private part, as
// the log moves them. private, when not nil, is committed to and sealed.
func (s *memSource) add(tb testing.TB, e audit.Entry, private audit.Private) int64 {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := int64(len(s.leaves)) + 1
	if e.V == 0 {
		e.V = audit.FormatVersion
	}
	if e.V >= audit.FormatV2 {
		moved := audit.Private{}
		for k, v := range private {
			moved[k] = v
		}
		for k, v := range map[string]string{
			audit.PrivateActorEmail: e.ActorEmail, audit.PrivateSource: e.Source, audit.PrivateUserAgent: e.UserAgent,
		} {
			if v != "" {
				moved[k] = v
			}
		}
		if len(moved) > 0 {
			private = moved
		}
		e.ActorEmail, e.Source, e.UserAgent = "", "", ""
	}
	e.Tenant, e.Seq = s.tenant, seq
	e.ID = fmt.Sprintf("evt_%06d", seq)
	if e.Time == "" {
		e.Time = s.start.Add(time.Duration(seq) * 90 * time.Second).Format(audit.TimeLayout)
	}
	if seq > 1 {
		e.Prev = audit.PrevOf(s.leaves[seq-2])
	}
	if private != nil {
		p, err := audit.EncodePrivate(private)
		if err != nil {
			tb.Fatal(err)
		}
		nonce := testNonce(seq)
		e.Commit = audit.CommitTo(nonce, p)
		e.Sealed = base64.StdEncoding.EncodeToString(s.keys.seal(s.tenant, e.ID, seq, audit.SealedPlaintext(nonce, p)))
	}
	leaf, err := audit.Encode(&e)
	if err != nil {
		tb.Fatal(err)
	}
	hs, err := tlog.StoredHashes(seq-1, leaf, s)
	if err != nil {
		tb.Fatal(err)
	}
	s.hashes = append(s.hashes, hs...)
	s.leaves = append(s.leaves, leaf)
	return seq
}

// addRaw appends leaf as it is, whatever it holds.
func (s *memSource) addRaw(tb testing.TB, leaf []byte) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	hs, err := tlog.StoredHashes(int64(len(s.leaves)), leaf, s)
	if err != nil {
		tb.Fatal(err)
	}
	s.hashes = append(s.hashes, hs...)
	s.leaves = append(s.leaves, leaf)
}

// testNonce is a fixed commitment nonce per event, for reproducible bundles.
func testNonce(seq int64) []byte {
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("nonce"), uint64(seq)))
	return sum[:]
}

// leaf returns a copy of the stored leaf of seq.
func (s *memSource) leaf(seq int64) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.leaves[seq-1])
}

// setLeaf overwrites the stored leaf of seq (nil deletes the row), as a
// tamperer with write access to the database would.
func (s *memSource) setLeaf(seq int64, leaf []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leaves[seq-1] = leaf
}

func (s *memSource) size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.leaves))
}

func (s *memSource) checkTenant(tenant string) error {
	if tenant != s.tenant {
		return fmt.Errorf("firm %q not found", tenant)
	}
	return nil
}

// Records implements audit.Source. Like a real log, it fails on a stored
// leaf that does not decode.
func (s *memSource) Records(ctx context.Context, tenant string, f audit.Filter, fn func(*audit.Record) error) error {
	if err := s.checkTenant(tenant); err != nil {
		return err
	}
	n := 0
	return s.RawRecords(ctx, tenant, func(seq int64, leaf []byte) error {
		if seq <= f.AfterSeq {
			return nil
		}
		e, err := audit.Decode(leaf)
		if err != nil {
			return fmt.Errorf("stored event %d: %w", seq, err)
		}
		if !matches(f, e) {
			return nil
		}
		if f.Limit > 0 && n == f.Limit {
			return errStop
		}
		n++
		return fn(&audit.Record{Seq: seq, Leaf: leaf, Entry: e})
	})
}

var errStop = errors.New("stop")

// matches reports whether e is selected by f, but for AfterSeq and Limit.
func matches(f audit.Filter, e *audit.Entry) bool {
	t, _ := time.Parse(audit.TimeLayout, e.Time)
	switch {
	case f.ActorID != "" && e.ActorID != f.ActorID,
		f.ObjectType != "" && e.ObjectType != f.ObjectType,
		f.ObjectID != "" && e.ObjectID != f.ObjectID,
		f.MatterID != "" && e.Details["matter_id"] != f.MatterID && (e.ObjectType != "matter" || e.ObjectID != f.MatterID),
		f.Action != "" && e.Action != f.Action,
		f.Outcome != "" && e.Outcome != f.Outcome,
		!f.From.IsZero() && t.Before(f.From),
		!f.To.IsZero() && !t.Before(f.To):
		return false
	}
	return true
}

// RawRecords implements audit.RawSource: rows as stored, deleted ones
// skipped. The lock is not held while fn runs, so fn may call the source.
func (s *memSource) RawRecords(ctx context.Context, tenant string, fn func(int64, []byte) error) error {
	if err := s.checkTenant(tenant); err != nil {
		return err
	}
	for seq := int64(1); seq <= s.size(); seq++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.mu.Lock()
		leaf := s.leaves[seq-1]
		s.mu.Unlock()
		if leaf == nil {
			continue
		}
		if err := fn(seq, leaf); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

// Checkpoints implements audit.Source.
func (s *memSource) Checkpoints(ctx context.Context, tenant string, upTo int64, fn func(*audit.Checkpoint) error) error {
	if err := s.checkTenant(tenant); err != nil {
		return err
	}
	for i := 0; ; i++ {
		s.mu.Lock()
		if i >= len(s.cps) || s.cps[i].Size > upTo {
			s.mu.Unlock()
			return nil
		}
		c := s.cps[i]
		s.mu.Unlock()
		if err := fn(c); err != nil {
			return err
		}
	}
}

// Checkpoint implements audit.Source: it signs the tree as it is now,
// unless the last checkpoint already has its size.
func (s *memSource) Checkpoint(ctx context.Context, tenant string) (*audit.Checkpoint, error) {
	if err := s.checkTenant(tenant); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	size := int64(len(s.leaves))
	if n := len(s.cps); n > 0 && s.cps[n-1].Size == size {
		return s.cps[n-1], nil
	}
	c, err := s.sign(size)
	if err != nil {
		return nil, err
	}
	s.cps = append(s.cps, c)
	return c, nil
}

// sign signs the tree of the given size, with a timestamp line when
// stampAt is set. s.mu is held.
func (s *memSource) sign(size int64) (*audit.Checkpoint, error) {
	root, err := tlog.TreeHash(size, s)
	if err != nil {
		return nil, err
	}
	signers := []note.Signer{s.signer}
	if !s.stampAt.IsZero() {
		tv, err := audit.TimestampVerifier(s.vkey)
		if err != nil {
			return nil, err
		}
		signers = append(signers, &fixedCosigner{name: tv.Name(), hash: tv.KeyHash(), key: s.key, t: s.stampAt.Unix()})
	}
	msg, err := note.Sign(&note.Note{Text: audit.CheckpointText(s.tenant, size, root)}, signers...)
	if err != nil {
		return nil, err
	}
	return &audit.Checkpoint{Tenant: s.tenant, Size: size, Root: root, Note: msg, CreatedAt: s.start, Time: s.stampAt}, nil
}

// SignAt implements audit.ExportSource: a fresh checkpoint of the given
// size, stored (in size order) unless one of that size is.
func (s *memSource) SignAt(ctx context.Context, tenant string, size int64) (*audit.Checkpoint, error) {
	if err := s.checkTenant(tenant); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if size < 1 || size > int64(len(s.leaves)) {
		return nil, fmt.Errorf("tree has no size %d", size)
	}
	c, err := s.sign(size)
	if err != nil {
		return nil, err
	}
	i := 0
	for i < len(s.cps) && s.cps[i].Size < size {
		i++
	}
	if i == len(s.cps) || s.cps[i].Size != size {
		s.cps = slices.Insert(s.cps, i, c)
	}
	return c, nil
}

// fixedCosigner makes cosignature/v1 timestamp lines (AUDIT-FORMAT.md §5)
// at a fixed time, for reproducible bundles.
type fixedCosigner struct {
	name string
	hash uint32
	key  ed25519.PrivateKey
	t    int64
}

func (c *fixedCosigner) Name() string    { return c.name }
func (c *fixedCosigner) KeyHash() uint32 { return c.hash }
func (c *fixedCosigner) Sign(msg []byte) ([]byte, error) {
	sig := ed25519.Sign(c.key, fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", c.t, msg))
	return append(binary.BigEndian.AppendUint64(nil, uint64(c.t)), sig...), nil
}

// Prove implements audit.Source.
func (s *memSource) Prove(ctx context.Context, tenant string, seq, size int64) (tlog.RecordProof, error) {
	if err := s.checkTenant(tenant); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if size > int64(len(s.leaves)) {
		return nil, fmt.Errorf("tree has no size %d", size)
	}
	return tlog.ProveRecord(size, seq-1, s)
}

// ProveTree implements audit.Source.
func (s *memSource) ProveTree(ctx context.Context, tenant string, from, to int64) (tlog.TreeProof, error) {
	if err := s.checkTenant(tenant); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if to > int64(len(s.leaves)) {
		return nil, fmt.Errorf("tree has no size %d", to)
	}
	return tlog.ProveTree(to, from, s)
}

// VerifierKey implements audit.Source.
func (s *memSource) VerifierKey(ctx context.Context, tenant string) (string, error) {
	if err := s.checkTenant(tenant); err != nil {
		return "", err
	}
	return s.vkey, nil
}

// recordsOnly hides RawRecords, so exports read through Records.
type recordsOnly struct{ audit.Source }

// memKeys stands in for a firm's field key: AES-GCM with the firm and
// event id as associated data. Nonces are derived from the sequence number
// so that test bundles are reproducible; never do that with a real key.
type memKeys struct {
	aead cipher.AEAD
}

func newMemKeys(seed string) *memKeys {
	sum := sha256.Sum256([]byte(seed))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &memKeys{aead: aead}
}

func (k *memKeys) seal(tenant, id string, seq int64, plaintext string) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	binary.BigEndian.PutUint64(nonce[4:], uint64(seq))
	return k.aead.Seal(nonce, nonce, []byte(plaintext), []byte(tenant+"\x00"+id))
}

// memOpener is the audit.Opener of a memSource's firm; destroyed, it fails
// as after crypto-shredding.
type memOpener struct {
	keys      *memKeys
	destroyed bool
}

func (o *memOpener) OpenPrivate(ctx context.Context, tenant, eventID string, sealed []byte) (string, error) {
	if o.destroyed {
		return "", errors.New("keyset destroyed")
	}
	n := o.keys.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("sealed value too short")
	}
	pt, err := o.keys.aead.Open(nil, sealed[:n], sealed[n:], []byte(tenant+"\x00"+eventID))
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

func (s *memSource) opener() *memOpener { return &memOpener{keys: s.keys} }
