package audit_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// The exporter reads damaged rows verbatim through RawSource.
var _ audit.RawSource = (*audit.Log)(nil)

// xorSealer is a reversible stand-in for the firm's field key: it binds the
// cell and tenant in a clear prefix and scrambles the plaintext, so the
// tests can open what the log sealed and check the file never holds it.
type xorSealer struct {
	fail  atomic.Bool
	calls atomic.Int64
}

func sealPrefix(tenant string, ref vault.FieldRef) string {
	return tenant + "|" + ref.Table + "|" + ref.Column + "|" + ref.RowID + "\x00"
}

func (s *xorSealer) SealField(_ context.Context, tenant string, ref vault.FieldRef, plaintext string) ([]byte, error) {
	s.calls.Add(1)
	if s.fail.Load() {
		return nil, vault.Errorf(vault.ECANNOTDECRYPT, "Keys are gone.")
	}
	out := []byte(sealPrefix(tenant, ref))
	for _, c := range []byte(plaintext) {
		out = append(out, c^0x5a)
	}
	return out, nil
}

func (s *xorSealer) OpenField(_ context.Context, tenant string, ref vault.FieldRef, ct []byte) (string, error) {
	rest, ok := bytes.CutPrefix(ct, []byte(sealPrefix(tenant, ref)))
	if !ok {
		return "", vault.Errorf(vault.ECANNOTDECRYPT, "Field cannot be decrypted.")
	}
	out := make([]byte, len(rest))
	for i, c := range rest {
		out[i] = c ^ 0x5a
	}
	return string(out), nil
}

// testIndexer is a stand-in for the service index key: HMAC-SHA256 under a
// fixed key, per purpose, as keys.Indexer computes it.
type testIndexer struct{}

func (testIndexer) Index(_ context.Context, region, purpose, value string) ([]byte, error) {
	if region != "" {
		return nil, vault.Errorf(vault.EINVALID, "Unknown region %q.", region)
	}
	m := hmac.New(sha256.New, []byte("test service index key"))
	m.Write([]byte(purpose + "\x00" + value))
	return m.Sum(nil), nil
}

func (testIndexer) Regions() []string { return nil }

// testKeys is one note key pair that signs every tenant's checkpoints.
type testKeys struct {
	signer note.Signer
	vkey   string
	key    crypto.Signer
}

func newTestKeys(tb testing.TB) *testKeys {
	tb.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "casevault-audit-test")
	if err != nil {
		tb.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	return &testKeys{signer: s, vkey: vkey, key: noteKey(tb, skey)}
}

func (k *testKeys) Signer(context.Context, string) (note.Signer, string, error) {
	return k.signer, k.vkey, nil
}

func (k *testKeys) Timestamper(context.Context, string) (crypto.Signer, error) {
	return k.key, nil
}

// testEnv is an audit log file with its sealer and keys, which tests open,
// close and reopen.
type testEnv struct {
	Path   string
	Sealer *xorSealer
	Keys   *testKeys
}

func newTestEnv(tb testing.TB) *testEnv {
	tb.Helper()
	return &testEnv{Path: filepath.Join(tb.TempDir(), "audit.db"), Sealer: &xorSealer{}, Keys: newTestKeys(tb)}
}

// open opens the log with the env's sealer and keys, timed checkpoints
// effectively off, and the options mod changes; it is closed at cleanup.
func (e *testEnv) open(tb testing.TB, mod func(*audit.Options)) *audit.Log {
	tb.Helper()
	opts := audit.Options{Sealer: e.Sealer, Signer: e.Keys.Signer, Timestamper: e.Keys.Timestamper, Indexer: testIndexer{}, CheckpointInterval: time.Hour}
	if mod != nil {
		mod(&opts)
	}
	l, err := audit.Open(context.Background(), e.Path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// private opens the private part of an entry the env's log sealed.
func (e *testEnv) private(tb testing.TB, ent *audit.Entry) audit.Private {
	tb.Helper()
	ct, err := base64.StdEncoding.DecodeString(ent.Sealed)
	if err != nil {
		tb.Fatal(err)
	}
	pt, err := e.Sealer.OpenField(context.Background(), ent.Tenant, audit.PrivateRef(ent.ID), ct)
	if err != nil {
		tb.Fatal(err)
	}
	nonce, p, err := audit.SplitSealedPlaintext(pt)
	if err != nil || audit.CommitTo(nonce, p) != ent.Commit {
		tb.Fatalf("private part of %s does not match its commitment (%v)", ent.ID, err)
	}
	var out audit.Private
	if err := json.Unmarshal(p, &out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// rawDB opens a second, plain connection to the env's file.
func (e *testEnv) rawDB(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", e.Path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func newTenant() string { return vault.NewID(vault.PrefixTenant) }

// sampleEvent is a realistic document view, with the document's name in
// the private part (none in the service log).
func sampleEvent(tenant string, i int) *vault.AuditEvent {
	e := &vault.AuditEvent{
		TenantID:   tenant,
		ActorID:    "usr_" + strings.Repeat("a", 26),
		ActorEmail: "lawyer@firm.example",
		Source:     "203.0.113.7",
		UserAgent:  "Mozilla/5.0 (X11; Linux x86_64) Test/1.0",
		Action:     "document.view",
		ObjectType: "document",
		ObjectID:   fmt.Sprintf("doc_%026d", i),
		Outcome:    audit.OutcomeOK,
		Details:    map[string]string{"matter_id": "mat_" + strings.Repeat("m", 26), "version": "3"},
	}
	if tenant != "" {
		e.Private = map[string]string{"name": fmt.Sprintf("Henderson merger term sheet %d.pdf", i)}
	}
	return e
}

func mustAppend(tb testing.TB, l *audit.Log, e *vault.AuditEvent) int64 {
	tb.Helper()
	seq, err := l.Append(context.Background(), e)
	if err != nil {
		tb.Fatalf("Append: %v", err)
	}
	return seq
}

func assertCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := vault.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

func mustSize(tb testing.TB, l *audit.Log, tenant string) int64 {
	tb.Helper()
	n, err := l.Size(context.Background(), tenant)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// leaves returns the stored leaves of tenant, in order.
func leaves(tb testing.TB, l *audit.Log, tenant string) [][]byte {
	tb.Helper()
	var out [][]byte
	err := l.RawRecords(context.Background(), tenant, func(seq int64, leaf []byte) error {
		if seq != int64(len(out))+1 {
			return fmt.Errorf("seq %d after %d", seq, len(out))
		}
		out = append(out, leaf)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// checkChain checks that tenant's log holds events 1..n, each decoding and
// re-encoding to its exact bytes, each Prev the hash of the one before, and
// each event id unique.
func checkChain(tb testing.TB, l *audit.Log, tenant string, n int64) []*audit.Record {
	tb.Helper()
	var recs []*audit.Record
	if err := l.Records(context.Background(), tenant, audit.Filter{}, func(r *audit.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	if int64(len(recs)) != n {
		tb.Fatalf("%q has %d records, want %d", tenant, len(recs), n)
	}
	ids := map[string]bool{}
	for i, r := range recs {
		e := r.Entry
		if r.Seq != int64(i+1) || e.Seq != r.Seq {
			tb.Fatalf("record %d has seq %d, entry seq %d", i+1, r.Seq, e.Seq)
		}
		if e.Tenant != tenant || e.V < audit.FormatV1 || e.V > audit.FormatVersion || i > 0 && e.V < recs[i-1].Entry.V {
			tb.Fatalf("record %d: tenant %q v %d", r.Seq, e.Tenant, e.V)
		}
		want := ""
		if i > 0 {
			want = audit.PrevOf(recs[i-1].Leaf)
		}
		if e.Prev != want {
			tb.Fatalf("record %d: prev = %q, want %q", r.Seq, e.Prev, want)
		}
		again, err := audit.Encode(e)
		if err != nil || !bytes.Equal(again, r.Leaf) {
			tb.Fatalf("record %d does not re-encode to its leaf (%v)", r.Seq, err)
		}
		if !strings.HasPrefix(e.ID, "evt_") || ids[e.ID] {
			tb.Fatalf("record %d: id %q is malformed or repeated", r.Seq, e.ID)
		}
		ids[e.ID] = true
	}
	return recs
}

// storedHashes computes the tlog stored hashes of the tree of leaves (in
// tlog.StoredHashIndex order) from the leaves alone.
func storedHashes(tb testing.TB, leaves [][]byte) []tlog.Hash {
	tb.Helper()
	var stored []tlog.Hash
	r := storedReader(&stored)
	for i, leaf := range leaves {
		hs, err := tlog.StoredHashes(int64(i), leaf, r)
		if err != nil {
			tb.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	return stored
}

// storedReader reads hashes from *stored.
func storedReader(stored *[]tlog.Hash) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = (*stored)[x]
		}
		return out, nil
	})
}

// treeHash computes the root of the tree of leaves from the leaves alone.
func treeHash(tb testing.TB, leaves [][]byte) tlog.Hash {
	tb.Helper()
	stored := storedHashes(tb, leaves)
	h, err := tlog.TreeHash(int64(len(leaves)), storedReader(&stored))
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// checkCheckpoint checks c's signature against vkey and its text and root
// against the tree of the log's first c.Size leaves.
func checkCheckpoint(tb testing.TB, c *audit.Checkpoint, vkey, tenant string, all [][]byte) {
	tb.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := note.Open(c.Note, note.VerifierList(v))
	if err != nil {
		tb.Fatalf("checkpoint %d does not verify: %v", c.Size, err)
	}
	origin, size, root, err := audit.ParseCheckpointText(n.Text)
	if err != nil {
		tb.Fatal(err)
	}
	if origin != audit.Origin(tenant) || size != c.Size || root != c.Root || c.Tenant != tenant {
		tb.Fatalf("checkpoint text %q does not match %+v", n.Text, c)
	}
	if c.Size > int64(len(all)) {
		tb.Fatalf("checkpoint size %d beyond %d leaves", c.Size, len(all))
	}
	if want := treeHash(tb, all[:c.Size]); root != want {
		tb.Fatalf("checkpoint %d root = %v, want %v", c.Size, root, want)
	}
}

func checkpoints(tb testing.TB, l *audit.Log, tenant string) []*audit.Checkpoint {
	tb.Helper()
	var out []*audit.Checkpoint
	if err := l.Checkpoints(context.Background(), tenant, 1<<62, func(c *audit.Checkpoint) error {
		out = append(out, c)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return out
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLog_Append(t *testing.T) {
	ctx := context.Background()

	t.Run("Concurrent", func(t *testing.T) {
		env := newTestEnv(t)
		l := env.open(t, nil)
		tenants := []string{newTenant(), newTenant(), ""}
		const workers, each = 16, 40
		var mu sync.Mutex
		got := map[string][]int64{}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					tenant := tenants[(w+i)%len(tenants)]
					seq, err := l.Append(ctx, sampleEvent(tenant, w*each+i))
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					got[tenant] = append(got[tenant], seq)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		total := 0
		for _, tenant := range tenants {
			seqs := got[tenant]
			slices.Sort(seqs)
			for i, s := range seqs {
				if s != int64(i+1) {
					t.Fatalf("%q: seqs %v have a gap or repeat at %d", tenant, seqs, i+1)
				}
			}
			checkChain(t, l, tenant, int64(len(seqs)))
			total += len(seqs)
		}
		if total != workers*each {
			t.Fatalf("appended %d, want %d", total, workers*each)
		}
	})

	t.Run("Fields", func(t *testing.T) {
		env := newTestEnv(t)
		clock := time.Date(2031, 2, 3, 4, 5, 6, 7, time.FixedZone("X", 3600))
		l := env.open(t, func(o *audit.Options) { o.Now = func() time.Time { return clock } })
		tenant := newTenant()
		e := sampleEvent(tenant, 1)
		e.Source, e.UserAgent = "", ""
		e.Details["matter_id"] = "mat_x"
		mctx := vault.WithRequestMeta(ctx, vault.RequestMeta{Source: "198.51.100.4", UserAgent: "curl/8"})
		if _, err := l.Append(mctx, e); err != nil {
			t.Fatal(err)
		}
		e.Details["matter_id"] = "changed after the call"
		e.Time = time.Date(2030, 1, 1, 0, 0, 0, 5, time.UTC)
		mustAppend(t, l, e)

		recs := checkChain(t, l, tenant, 2)
		got := recs[0].Entry
		want := audit.Entry{V: 2, Tenant: tenant, Seq: 1, ID: got.ID, Time: "2031-02-03T03:05:06.000000007Z",
			ActorID: e.ActorID, Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID, Outcome: "ok",
			Details: map[string]string{"matter_id": "mat_x", "version": "3"}, Sealed: got.Sealed, Commit: got.Commit}
		if fmt.Sprint(*got) != fmt.Sprint(want) {
			t.Fatalf("entry = %+v\nwant   %+v", *got, want)
		}
		// The actor's email and the request's source and user agent are in
		// the sealed private part, with the name.
		wantP := audit.Private{"name": e.Private["name"], "actor_email": e.ActorEmail, "source": "198.51.100.4", "user_agent": "curl/8"}
		if p := env.private(t, got); fmt.Sprint(p) != fmt.Sprint(wantP) {
			t.Fatalf("private part = %v, want %v", p, wantP)
		}
		// An event is never earlier than the one before it: the explicit
		// earlier time is raised to the first event's.
		if recs[1].Entry.Time != "2031-02-03T03:05:06.000000007Z" {
			t.Fatalf("explicit earlier time stored as %q, want the previous event's", recs[1].Entry.Time)
		}
		e.Time = time.Date(2032, 1, 1, 0, 0, 0, 5, time.UTC)
		mustAppend(t, l, e)
		if recs := checkChain(t, l, tenant, 3); recs[2].Entry.Time != "2032-01-01T00:00:00.000000005Z" {
			t.Fatalf("explicit later time stored as %q", recs[2].Entry.Time)
		}
	})

	t.Run("Private", func(t *testing.T) {
		env := newTestEnv(t)
		l := env.open(t, nil)
		tenant := newTenant()
		const name = "Acme Corp v. Globex: privileged settlement memo.docx"
		e := sampleEvent(tenant, 1)
		e.Private = map[string]string{"name": name, "client": "Acme Corp"}
		mustAppend(t, l, e)
		none := sampleEvent(tenant, 2)
		none.Private, none.ActorEmail, none.Source, none.UserAgent = nil, "", "", ""
		mustAppend(t, l, none)

		recs := checkChain(t, l, tenant, 2)
		ent := recs[0].Entry
		ct, err := base64.StdEncoding.DecodeString(ent.Sealed)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := env.Sealer.OpenField(ctx, tenant, vault.FieldRef{Table: "audit_events", Column: "private", RowID: ent.ID}, ct)
		if err != nil {
			t.Fatal(err)
		}
		nonce, p, err := audit.SplitSealedPlaintext(pt)
		if err != nil {
			t.Fatal(err)
		}
		wantP, _ := audit.EncodePrivate(audit.Private{"name": name, "client": "Acme Corp",
			"actor_email": e.ActorEmail, "source": e.Source, "user_agent": e.UserAgent})
		if !bytes.Equal(p, wantP) || audit.CommitTo(nonce, p) != ent.Commit {
			t.Fatalf("sealed private part %q does not match its commitment", p)
		}
		if _, err := env.Sealer.OpenField(ctx, tenant, vault.FieldRef{Table: "audit_events", Column: "private", RowID: recs[1].Entry.ID}, ct); err == nil {
			t.Fatal("sealed part opened in another event's cell")
		}
		if e2 := recs[1].Entry; e2.Sealed != "" || e2.Commit != "" {
			t.Fatalf("event without private part has sealed %q commit %q", e2.Sealed, e2.Commit)
		}
		// Nothing readable on disk, while open (in the WAL) and after close.
		assertNotOnDisk(t, env.Path, name, "Acme Corp", e.ActorEmail, e.Source, "Test/1.0")
		l.Close()
		assertNotOnDisk(t, env.Path, name, "Acme Corp", e.ActorEmail, e.Source, "Test/1.0")
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		env := newTestEnv(t)
		l := env.open(t, nil)
		tenant := newTenant()
		for _, tt := range []struct {
			name string
			mod  func(*vault.AuditEvent)
		}{
			{"NoAction", func(e *vault.AuditEvent) { e.Action = "" }},
			{"BadOutcome", func(e *vault.AuditEvent) { e.Outcome = "maybe" }},
			{"NoOutcome", func(e *vault.AuditEvent) { e.Outcome = "" }},
			{"BadUTF8", func(e *vault.AuditEvent) { e.ObjectID = "doc_\xff" }},
			{"BadUTF8Detail", func(e *vault.AuditEvent) { e.Details["k"] = "\xc3" }},
			{"BadUTF8Private", func(e *vault.AuditEvent) { e.Private["name"] = "\xc3" }},
			{"TenantWithNewline", func(e *vault.AuditEvent) { e.TenantID = "ten_a\nevil" }},
			{"PrivateInServiceLog", func(e *vault.AuditEvent) { e.TenantID = "" }},
			{"EmailDetail", func(e *vault.AuditEvent) { e.Details["email"] = "someone@firm.example" }},
			{"OwnerEmailDetail", func(e *vault.AuditEvent) { e.Details["owner_email"] = "someone@firm.example" }},
			{"SourceDetail", func(e *vault.AuditEvent) { e.Details["source"] = "192.0.2.1" }},
			{"UserAgentDetail", func(e *vault.AuditEvent) { e.Details["user_agent"] = "curl/8" }},
			{"ReservedPrivateKey", func(e *vault.AuditEvent) { e.Private["actor_email"] = "someone@firm.example" }},
			{"ReservedServiceDetail", func(e *vault.AuditEvent) {
				e.TenantID, e.Private, e.Details["source_hash"] = "", nil, "00"
			}},
			{"TooLarge", func(e *vault.AuditEvent) { e.Details["blob"] = strings.Repeat("x", 70<<10) }},
			{"YearOutOfRange", func(e *vault.AuditEvent) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				e := sampleEvent(tenant, 1)
				tt.mod(e)
				_, err := l.Append(ctx, e)
				assertCode(t, err, vault.EINVALID)
			})
		}
		if _, err := l.Append(ctx, nil); vault.ErrorCode(err) != vault.EINVALID {
			t.Fatalf("nil event: %v", err)
		}
		if n := mustSize(t, l, tenant) + mustSize(t, l, ""); n != 0 {
			t.Fatalf("invalid events wrote %d records", n)
		}
		if mustAppend(t, l, sampleEvent(tenant, 2)) != 1 {
			t.Fatal("first valid event is not seq 1")
		}
	})

	t.Run("ErrSeal", func(t *testing.T) {
		env := newTestEnv(t)
		l := env.open(t, nil)
		tenant := newTenant()
		mustAppend(t, l, sampleEvent(tenant, 1))
		env.Sealer.fail.Store(true)
		_, err := l.Append(ctx, sampleEvent(tenant, 2))
		assertCode(t, err, vault.EUNAVAILABLE)
		if !vault.IsCode(errors.Unwrap(err), vault.ECANNOTDECRYPT) {
			t.Fatalf("sealing error does not wrap its cause: %v", err)
		}
		// Events without a private part need no key.
		noPrivate := sampleEvent(tenant, 3)
		noPrivate.Private, noPrivate.ActorEmail, noPrivate.Source, noPrivate.UserAgent = nil, "", "", ""
		if seq := mustAppend(t, l, noPrivate); seq != 2 {
			t.Fatalf("seq after a sealing failure = %d, want 2", seq)
		}
		env.Sealer.fail.Store(false)
		if seq := mustAppend(t, l, sampleEvent(tenant, 4)); seq != 3 {
			t.Fatalf("seq = %d, want 3", seq)
		}
		checkChain(t, l, tenant, 3)
	})

	t.Run("Reopen", func(t *testing.T) {
		env := newTestEnv(t)
		l := env.open(t, nil)
		a, b := newTenant(), newTenant()
		for i := range 5 {
			mustAppend(t, l, sampleEvent(a, i))
		}
		mustAppend(t, l, sampleEvent(b, 0))
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = env.open(t, nil)
		if seq := mustAppend(t, l, sampleEvent(a, 5)); seq != 6 {
			t.Fatalf("seq after reopen = %d, want 6", seq)
		}
		if seq := mustAppend(t, l, sampleEvent(b, 1)); seq != 2 {
			t.Fatalf("seq after reopen = %d, want 2", seq)
		}
		checkChain(t, l, a, 6)
		checkChain(t, l, b, 2)
	})
}

// assertNotOnDisk fails if any of the secrets appear in the database file
// or its -wal and -shm files.
func assertNotOnDisk(tb testing.TB, path string, secrets ...string) {
	tb.Helper()
	hits, read := vaulttest.MarkersInDatabase(tb, path, secrets...)
	if read == 0 {
		tb.Fatal("no database bytes to check")
	}
	if len(hits) > 0 {
		tb.Fatalf("in the clear: %v", hits)
	}
}

func TestLog_FailClosed(t *testing.T) {
	ctx := context.Background()

	t.Run("Full", func(t *testing.T) {
		env := newTestEnv(t)
		tenant := newTenant()
		l := env.open(t, nil)
		for i := range 20 {
			mustAppend(t, l, sampleEvent(tenant, i))
		}
		l.Close()
		fi, err := os.Stat(env.Path)
		if err != nil {
			t.Fatal(err)
		}

		// A disk with a few pages to spare.
		l = env.open(t, func(o *audit.Options) { o.MaxSize = fi.Size() + 3*4096 })
		n := int64(20)
		var failure error
		for i := range 10000 {
			seq, err := l.Append(ctx, sampleEvent(tenant, 100+i))
			if err != nil {
				failure = err
				break
			}
			if n++; seq != n {
				t.Fatalf("seq = %d, want %d", seq, n)
			}
		}
		assertCode(t, failure, vault.EUNAVAILABLE)
		if !strings.Contains(failure.Error(), "full") {
			t.Fatalf("failure is not the full disk: %v", failure)
		}
		// Still full, but an event may fit where the last did not: either
		// way nothing is skipped or repeated.
		for i := range 3 {
			seq, err := l.Append(ctx, sampleEvent(tenant, 20000+i))
			if err == nil {
				if n++; seq != n {
					t.Fatalf("seq = %d, want %d", seq, n)
				}
				continue
			}
			assertCode(t, err, vault.EUNAVAILABLE)
		}
		if got := mustSize(t, l, tenant); got != n {
			t.Fatalf("size after failures = %d, want %d", got, n)
		}
		l.Close()

		// Space freed: the log goes on from the last durable event.
		l = env.open(t, nil)
		if seq := mustAppend(t, l, sampleEvent(tenant, 30000)); seq != n+1 {
			t.Fatalf("seq after the fault = %d, want %d", seq, n+1)
		}
		checkChain(t, l, tenant, n+1)
		c, err := l.Checkpoint(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		checkCheckpoint(t, c, env.Keys.vkey, tenant, leaves(t, l, tenant))
	})

	t.Run("MidBatch", func(t *testing.T) {
		// A fault inside the writer's transaction: firm b's rows fail, after
		// firm a's rows earlier in the same batch were written and their
		// sequence numbers taken. The whole batch fails; nothing advances.
		env := newTestEnv(t)
		a, b := newTenant(), newTenant()
		l := env.open(t, nil)
		for i := range 3 {
			mustAppend(t, l, sampleEvent(a, i))
			mustAppend(t, l, sampleEvent(b, i))
		}
		raw := env.rawDB(t)
		if _, err := raw.ExecContext(ctx, `CREATE TRIGGER injected_fault BEFORE INSERT ON audit_hashes
			WHEN NEW.tenant_id = '`+b+`' BEGIN SELECT RAISE(ABORT, 'injected fault'); END`); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var okA []int64
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Go(func() {
				tenant := []string{a, b}[i%2]
				seq, err := l.Append(ctx, sampleEvent(tenant, 100+i))
				switch {
				case err == nil && tenant == a:
					mu.Lock()
					okA = append(okA, seq)
					mu.Unlock()
				case vault.ErrorCode(err) != vault.EUNAVAILABLE || !strings.Contains(err.Error(), "injected fault"):
					t.Errorf("append to %s during the fault: seq %d, %v", tenant[:6], seq, err)
				}
			})
		}
		wg.Wait()
		slices.Sort(okA)
		for i, seq := range okA {
			if seq != int64(4+i) {
				t.Fatalf("firm a's appends during the fault got seqs %v", okA)
			}
		}
		na := 3 + int64(len(okA))
		if got, nb := mustSize(t, l, a), mustSize(t, l, b); got != na || nb != 3 {
			t.Fatalf("sizes after the fault = %d, %d, want %d, 3", got, nb, na)
		}
		if len(okA) == 16 {
			t.Log("no batch mixed the two firms")
		}
		if _, err := raw.ExecContext(ctx, `DROP TRIGGER injected_fault`); err != nil {
			t.Fatal(err)
		}
		if seq := mustAppend(t, l, sampleEvent(a, 200)); seq != na+1 {
			t.Fatalf("seq after the fault = %d, want %d", seq, na+1)
		}
		if seq := mustAppend(t, l, sampleEvent(b, 200)); seq != 4 {
			t.Fatalf("seq after the fault = %d, want 4", seq)
		}
		checkChain(t, l, a, na+1)
		checkChain(t, l, b, 4)
	})

	t.Run("Locked", func(t *testing.T) {
		env := newTestEnv(t)
		tenant := newTenant()
		l := env.open(t, func(o *audit.Options) { o.BusyTimeout = 100 * time.Millisecond })
		for i := range 3 {
			mustAppend(t, l, sampleEvent(tenant, i))
		}
		// Another process holds the write lock.
		conn, err := env.rawDB(t).Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				_, err := l.Append(ctx, sampleEvent(tenant, 10+i))
				if vault.ErrorCode(err) != vault.EUNAVAILABLE {
					t.Errorf("append under a held lock: %v", err)
				}
			})
		}
		wg.Wait()
		if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
			t.Fatal(err)
		}
		if got := mustSize(t, l, tenant); got != 3 {
			t.Fatalf("size = %d, want 3", got)
		}
		if seq := mustAppend(t, l, sampleEvent(tenant, 20)); seq != 4 {
			t.Fatalf("seq after the lock = %d, want 4", seq)
		}
		checkChain(t, l, tenant, 4)
	})

	t.Run("Closed", func(t *testing.T) {
		env := newTestEnv(t)
		l := env.open(t, nil)
		mustAppend(t, l, sampleEvent("", 1))
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := l.Append(ctx, sampleEvent("", 2))
		assertCode(t, err, vault.EUNAVAILABLE)
		_, err = l.Checkpoint(ctx, "")
		assertCode(t, err, vault.EUNAVAILABLE)
	})

	t.Run("Canceled", func(t *testing.T) {
		env := newTestEnv(t)
		l := env.open(t, nil)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := l.Append(cctx, sampleEvent("", 1))
		assertCode(t, err, vault.EUNAVAILABLE)
		if seq := mustAppend(t, l, sampleEvent("", 2)); seq != 1 {
			t.Fatalf("seq = %d, want 1", seq)
		}
	})
}

func TestLog_Checkpoint(t *testing.T) {
	ctx := context.Background()

	t.Run("OnSigned", func(t *testing.T) {
		env := newTestEnv(t)
		var mu sync.Mutex
		var got []int64
		l := env.open(t, func(o *audit.Options) {
			o.OnSigned = func(c *audit.Checkpoint) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, c.Size)
			}
		})
		tenant := newTenant()
		mustAppend(t, l, sampleEvent(tenant, 0))
		if _, err := l.Checkpoint(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		// The stored one again: not newly signed.
		if _, err := l.Checkpoint(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, sampleEvent(tenant, 1))
		if _, err := l.Checkpoint(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if want := []int64{1, 2}; !slices.Equal(got, want) {
			t.Fatalf("OnSigned sizes = %v, want %v", got, want)
		}
	})

	t.Run("Every", func(t *testing.T) {
		env := newTestEnv(t)
		l := env.open(t, func(o *audit.Options) { o.CheckpointEvery = 10 })
		tenant := newTenant()
		for i := range 35 {
			mustAppend(t, l, sampleEvent(tenant, i))
		}
		waitFor(t, "a checkpoint at 30 or more", func() bool {
			cs := checkpoints(t, l, tenant)
			return len(cs) > 0 && cs[len(cs)-1].Size >= 30
		})
		cs := checkpoints(t, l, tenant)
		all := leaves(t, l, tenant)
		for i, c := range cs {
			checkCheckpoint(t, c, env.Keys.vkey, tenant, all)
			if i > 0 && c.Size-cs[i-1].Size < 10 {
				t.Fatalf("checkpoints at %d and %d are fewer than 10 apart", cs[i-1].Size, c.Size)
			}
		}
		if len(cs) < 3 || cs[0].Size < 10 {
			t.Fatalf("checkpoint sizes %v, want three from 10 on", sizes(cs))
		}
	})

	t.Run("Timer", func(t *testing.T) {
		env := newTestEnv(t)
		l := env.open(t, func(o *audit.Options) { o.CheckpointInterval = 20 * time.Millisecond })
		a, b := newTenant(), newTenant()
		for i := range 5 {
			mustAppend(t, l, sampleEvent(a, i))
		}
		mustAppend(t, l, sampleEvent(b, 0))
		mustAppend(t, l, sampleEvent("", 0))
		for _, tt := range []struct {
			tenant string
			size   int64
		}{{a, 5}, {b, 1}, {"", 1}} {
			waitFor(t, "timed checkpoint", func() bool {
				cs := checkpoints(t, l, tt.tenant)
				return len(cs) > 0 && cs[len(cs)-1].Size == tt.size
			})
		}
		for i := range 3 {
			mustAppend(t, l, sampleEvent(a, 10+i))
		}
		waitFor(t, "timed checkpoint at 8", func() bool {
			cs := checkpoints(t, l, a)
			return cs[len(cs)-1].Size == 8
		})
		// No growth, no new checkpoints.
		cs := checkpoints(t, l, a)
		time.Sleep(100 * time.Millisecond)
		if got := sizes(checkpoints(t, l, a)); !slices.Equal(got, sizes(cs)) {
			t.Fatalf("checkpoint sizes went from %v to %v without appends", sizes(cs), got)
		}
		all := leaves(t, l, a)
		for _, c := range cs {
			checkCheckpoint(t, c, env.Keys.vkey, a, all)
		}
		checkCheckpoint(t, checkpoints(t, l, "")[0], env.Keys.vkey, "", leaves(t, l, ""))
	})

	t.Run("Explicit", func(t *testing.T) {
		env := newTestEnv(t)
		l := env.open(t, nil)
		tenant := newTenant()
		_, err := l.Checkpoint(ctx, tenant)
		assertCode(t, err, vault.ENOTFOUND)
		for i := range 7 {
			mustAppend(t, l, sampleEvent(tenant, i))
		}
		c1, err := l.Checkpoint(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := l.Checkpoint(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		if c1.Size != 7 || !bytes.Equal(c1.Note, c2.Note) {
			t.Fatalf("second checkpoint of an unchanged tree differs: %d %q vs %q", c1.Size, c1.Note, c2.Note)
		}
		checkCheckpoint(t, c1, env.Keys.vkey, tenant, leaves(t, l, tenant))
		vkey, err := l.VerifierKey(ctx, tenant)
		if err != nil || vkey != env.Keys.vkey {
			t.Fatalf("VerifierKey = %q, %v", vkey, err)
		}
		mustAppend(t, l, sampleEvent(tenant, 8))
		c3, err := l.Checkpoint(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		var upTo []int64
		if err := l.Checkpoints(ctx, tenant, 7, func(c *audit.Checkpoint) error { upTo = append(upTo, c.Size); return nil }); err != nil {
			t.Fatal(err)
		}
		if c3.Size != 8 || !slices.Equal(upTo, []int64{7}) || !slices.Equal(sizes(checkpoints(t, l, tenant)), []int64{7, 8}) {
			t.Fatalf("checkpoints: %d, up to 7: %v", c3.Size, upTo)
		}
		// The other firm's checkpoints are its own.
		if cs := checkpoints(t, l, newTenant()); len(cs) != 0 {
			t.Fatalf("unknown firm has checkpoints %v", sizes(cs))
		}
	})

	t.Run("CatchUpAndClose", func(t *testing.T) {
		env := newTestEnv(t)
		tenant := newTenant()
		// No timer and no count reached: Close signs what grew.
		l := env.open(t, nil)
		for i := range 4 {
			mustAppend(t, l, sampleEvent(tenant, i))
		}
		l.Close()
		l = env.open(t, nil)
		if got := sizes(checkpoints(t, l, tenant)); !slices.Equal(got, []int64{4}) {
			t.Fatalf("checkpoints after close = %v, want [4]", got)
		}
		l.Close()

		// A tree that grew without a checkpoint (as after a crash) is
		// signed by the first timer pass of the next run.
		raw := env.rawDB(t)
		if _, err := raw.ExecContext(ctx, `DROP TRIGGER audit_checkpoints_no_delete`); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, `DELETE FROM audit_checkpoints`); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		l = env.open(t, func(o *audit.Options) { o.CheckpointInterval = 20 * time.Millisecond })
		waitFor(t, "catch-up checkpoint", func() bool { return len(checkpoints(t, l, tenant)) == 1 })
		checkCheckpoint(t, checkpoints(t, l, tenant)[0], env.Keys.vkey, tenant, leaves(t, l, tenant))
	})

	t.Run("ErrSigner", func(t *testing.T) {
		env := newTestEnv(t)
		var fail atomic.Bool
		l := env.open(t, func(o *audit.Options) {
			o.CheckpointEvery = 2
			o.Signer = func(ctx context.Context, tenant string) (note.Signer, string, error) {
				if fail.Load() {
					return nil, "", vault.Errorf(vault.EUNAVAILABLE, "Region key unavailable.")
				}
				return env.Keys.Signer(ctx, tenant)
			}
		})
		tenant := newTenant()
		fail.Store(true)
		// Appends do not depend on signing.
		for i := range 5 {
			mustAppend(t, l, sampleEvent(tenant, i))
		}
		_, err := l.Checkpoint(ctx, tenant)
		assertCode(t, err, vault.EUNAVAILABLE)
		fail.Store(false)
		c, err := l.Checkpoint(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		checkCheckpoint(t, c, env.Keys.vkey, tenant, leaves(t, l, tenant))
	})
}

func sizes(cs []*audit.Checkpoint) []int64 {
	var out []int64
	for _, c := range cs {
		out = append(out, c.Size)
	}
	return out
}

func TestLog_Prove(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t)
	l := env.open(t, nil)
	tenant, other := newTenant(), newTenant()
	for i := range 137 {
		mustAppend(t, l, sampleEvent(tenant, i))
		if i%3 == 0 {
			mustAppend(t, l, sampleEvent(other, i))
		}
		if i == 63 {
			if _, err := l.Checkpoint(ctx, tenant); err != nil {
				t.Fatal(err)
			}
		}
	}
	latest, err := l.Checkpoint(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	all := leaves(t, l, tenant)
	cs := checkpoints(t, l, tenant)
	if !slices.Equal(sizes(cs), []int64{64, 137}) {
		t.Fatalf("checkpoints %v", sizes(cs))
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, c := range cs {
		checkCheckpoint(t, c, env.Keys.vkey, tenant, all)
		for _, seq := range append([]int64{1, c.Size}, r.Int64N(c.Size)+1, r.Int64N(c.Size)+1, r.Int64N(c.Size)+1) {
			p, err := l.Prove(ctx, tenant, seq, c.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := audit.VerifyProof(all[seq-1], seq, p, c.Size, c.Root); err != nil {
				t.Fatalf("proof of %d in %d: %v", seq, c.Size, err)
			}
			wrong := all[seq%int64(len(all))]
			if err := audit.VerifyProof(wrong, seq, p, c.Size, c.Root); err == nil {
				t.Fatalf("proof of %d in %d verifies another leaf", seq, c.Size)
			}
			tampered := bytes.Replace(all[seq-1], []byte(`"ok"`), []byte(`"denied"`), 1)
			if err := audit.VerifyProof(tampered, seq, p, c.Size, c.Root); err == nil {
				t.Fatalf("proof of %d verifies a changed leaf", seq)
			}
			if seq > 1 {
				if err := audit.VerifyProof(all[seq-1], seq-1, p, c.Size, c.Root); err == nil {
					t.Fatalf("proof of %d verifies at %d", seq, seq-1)
				}
			}
		}
	}
	if err := audit.VerifyProof(all[0], 1, nil, latest.Size, latest.Root); err == nil {
		t.Fatal("empty proof verifies")
	}
	for _, tt := range []struct{ seq, size int64 }{{0, 10}, {11, 10}, {1, 138}, {-1, 5}} {
		_, err := l.Prove(ctx, tenant, tt.seq, tt.size)
		assertCode(t, err, vault.EINVALID)
	}
}

func TestLog_Records(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t)
	l := env.open(t, nil)
	tenant, other := newTenant(), newTenant()
	base := time.Date(2030, 5, 1, 9, 0, 0, 0, time.UTC)
	actors := []string{"usr_alice", "usr_bob", "operator"}
	actions := []string{"document.view", "document.download", "grant.create", "matter.create"}
	outcomes := []string{"ok", "ok", "denied", "error"}
	type ev struct {
		seq                                        int64
		actor, action, otype, oid, matter, outcome string
		at                                         time.Time
	}
	var evs []ev
	for i := range 60 {
		e := sampleEvent(tenant, i)
		e.Time = base.Add(time.Duration(i) * time.Minute)
		e.ActorID = actors[i%3]
		e.Action = actions[i%4]
		e.Outcome = outcomes[i%4]
		e.ObjectID = fmt.Sprintf("doc_%d", i%5)
		e.Details = map[string]string{"matter_id": fmt.Sprintf("mat_%d", i%2)}
		matter := e.Details["matter_id"]
		if e.Action == "matter.create" {
			e.ObjectType, e.ObjectID = "matter", fmt.Sprintf("mat_%d", i%7)
			e.Details = map[string]string{}
			matter = e.ObjectID
		}
		seq := mustAppend(t, l, e)
		evs = append(evs, ev{seq, e.ActorID, e.Action, e.ObjectType, e.ObjectID, matter, e.Outcome, e.Time})
		mustAppend(t, l, sampleEvent(other, i))
	}
	for _, tt := range []struct {
		name string
		f    audit.Filter
		keep func(ev) bool
	}{
		{"All", audit.Filter{}, func(ev) bool { return true }},
		{"Actor", audit.Filter{ActorID: "usr_bob"}, func(e ev) bool { return e.actor == "usr_bob" }},
		{"Action", audit.Filter{Action: "document.download"}, func(e ev) bool { return e.action == "document.download" }},
		{"Outcome", audit.Filter{Outcome: "denied"}, func(e ev) bool { return e.outcome == "denied" }},
		{"Object", audit.Filter{ObjectType: "document", ObjectID: "doc_3"}, func(e ev) bool { return e.otype == "document" && e.oid == "doc_3" }},
		{"Matter", audit.Filter{MatterID: "mat_1"}, func(e ev) bool { return e.matter == "mat_1" }},
		{"MatterItself", audit.Filter{MatterID: "mat_3"}, func(e ev) bool { return e.matter == "mat_3" }},
		{"Time", audit.Filter{From: base.Add(10 * time.Minute), To: base.Add(20 * time.Minute)}, func(e ev) bool {
			return !e.at.Before(base.Add(10*time.Minute)) && e.at.Before(base.Add(20*time.Minute))
		}},
		{"TimeZone", audit.Filter{From: base.Add(10 * time.Minute).In(time.FixedZone("Y", -5*3600))}, func(e ev) bool {
			return !e.at.Before(base.Add(10 * time.Minute))
		}},
		{"Anded", audit.Filter{ActorID: "usr_alice", MatterID: "mat_0", To: base.Add(40 * time.Minute)}, func(e ev) bool {
			return e.actor == "usr_alice" && e.matter == "mat_0" && e.at.Before(base.Add(40*time.Minute))
		}},
		{"AfterLimit", audit.Filter{ActorID: "usr_bob", AfterSeq: 20, Limit: 4}, nil},
		{"Nothing", audit.Filter{ActorID: "usr_nobody"}, func(ev) bool { return false }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var want []int64
			for _, e := range evs {
				if tt.keep == nil {
					if e.actor == "usr_bob" && e.seq > 20 && len(want) < 4 {
						want = append(want, e.seq)
					}
				} else if tt.keep(e) {
					want = append(want, e.seq)
				}
			}
			var got []int64
			err := l.Records(ctx, tenant, tt.f, func(r *audit.Record) error {
				if r.Entry == nil || r.Entry.Seq != r.Seq || r.Entry.Tenant != tenant {
					return fmt.Errorf("record %d is not of %q", r.Seq, tenant)
				}
				got = append(got, r.Seq)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}

	t.Run("Paging", func(t *testing.T) {
		var got []int64
		after := int64(0)
		for {
			var page []int64
			if err := l.Records(ctx, tenant, audit.Filter{AfterSeq: after, Limit: 7}, func(r *audit.Record) error {
				page = append(page, r.Seq)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1]
		}
		if len(got) != 60 || got[0] != 1 || got[59] != 60 {
			t.Fatalf("paged %d records", len(got))
		}
	})

	t.Run("StopsAtError", func(t *testing.T) {
		stop := errors.New("enough")
		n := 0
		err := l.Records(ctx, tenant, audit.Filter{}, func(*audit.Record) error {
			if n++; n == 3 {
				return stop
			}
			return nil
		})
		if err != stop || n != 3 {
			t.Fatalf("err = %v after %d records", err, n)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, f := range []audit.Filter{{Limit: -1}, {AfterSeq: -1}, {From: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}} {
			err := l.Records(ctx, tenant, f, func(*audit.Record) error { return nil })
			assertCode(t, err, vault.EINVALID)
		}
	})
}
