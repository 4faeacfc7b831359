package audit_test

import (
	"context"
	"crypto"
	"errors"
	"os"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

// rotatingKeys are a region's keys before and after one rotation, for the
// log's Signer and Keys options; rotated switches them.
type rotatingKeys struct {
	oldSig, newSig note.Signer
	oldKey, newKey string
	oldTS, newTS   crypto.Signer // the same keys, for timestamps
	rotated        atomic.Bool
}

func newRotatingKeys(t *testing.T) *rotatingKeys {
	t.Helper()
	k := &rotatingKeys{}
	for _, x := range []struct {
		seed string
		sig  *note.Signer
		key  *string
		ts   *crypto.Signer
	}{{"log rotation old", &k.oldSig, &k.oldKey, &k.oldTS}, {"log rotation new", &k.newSig, &k.newKey, &k.newTS}} {
		skey, vkey := testKey(t, "casevault-audit-test", x.seed)
		s, err := note.NewSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		*x.sig, *x.key, *x.ts = s, vkey, noteKey(t, skey)
	}
	return k
}

func (k *rotatingKeys) options(a audit.Anchor) func(*audit.Options) {
	return func(o *audit.Options) {
		o.Anchor = a
		o.Signer = func(context.Context, string) (note.Signer, string, error) {
			if k.rotated.Load() {
				return k.newSig, k.newKey, nil
			}
			return k.oldSig, k.oldKey, nil
		}
		o.Timestamper = func(context.Context, string) (crypto.Signer, error) {
			if k.rotated.Load() {
				return k.newTS, nil
			}
			return k.oldTS, nil
		}
		o.Keys = func(context.Context, string) ([]vault.AuditKey, error) {
			if !k.rotated.Load() {
				return []vault.AuditKey{{VerifierKey: k.oldKey, State: vault.AuditKeyCurrent}}, nil
			}
			return []vault.AuditKey{
				{VerifierKey: k.oldKey, State: vault.AuditKeyRetired, Rotation: "statement of the rotation"},
				{VerifierKey: k.newKey, State: vault.AuditKeyCurrent},
			}, nil
		}
	}
}

// failingAnchor is a memAnchor whose Store fails while fail is set.
type failingAnchor struct {
	*memAnchor
	fail atomic.Bool
}

func (a *failingAnchor) Store(ctx context.Context, tenant string, msg []byte) error {
	if a.fail.Load() {
		return vault.WrapError(vault.EUNAVAILABLE, errors.New("disk gone"), "Cannot store.")
	}
	return a.memAnchor.Store(ctx, tenant, msg)
}

// rotationEvents returns tenant's audit.key_rotated events.
func rotationEvents(t *testing.T, l *audit.Log, tenant string) []*audit.Entry {
	t.Helper()
	var out []*audit.Entry
	err := l.Records(context.Background(), tenant, audit.Filter{Action: audit.ActionKeyRotated}, func(r *audit.Record) error {
		out = append(out, r.Entry)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// At the first open after a rotation, each log whose anchored checkpoint
// the old key signed gets one audit.key_rotated event, then a checkpoint
// of the new key; a log that cannot take it is refused, the others are
// not held up, and a later open records it once.
func TestLog_KeyRotated(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	k := newRotatingKeys(t)
	a := &failingAnchor{memAnchor: newMemAnchor()}
	l := e.open(t, k.options(a))
	first, second, fresh := newTenant(), newTenant(), newTenant()
	for _, tenant := range []string{first, second} {
		appendN(t, l, tenant, 3)
		if _, err := l.Checkpoint(ctx, tenant); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()

	k.rotated.Store(true)
	// The anchor of the first log cannot be written: the event goes in, the
	// new checkpoint does not, and the log is refused until the next open.
	a.fail.Store(true)
	l = e.open(t, k.options(a))
	a.fail.Store(false)
	if _, err := l.Append(ctx, sampleEvent(first, 9)); !vault.IsCode(err, vault.EUNAVAILABLE) {
		t.Fatalf("append to a log whose rotation is unrecorded: %v, want unavailable", err)
	}
	appendN(t, l, fresh, 1) // a log with no anchor is not held up
	l.Close()

	l = e.open(t, k.options(a))
	for _, tenant := range []string{first, second} {
		evs := rotationEvents(t, l, tenant)
		if len(evs) != 1 {
			t.Fatalf("%s: %d audit.key_rotated events, want 1", tenant, len(evs))
		}
		ev := evs[0]
		if ev.Seq != 4 || ev.ActorID != vault.ActorOperator || ev.Details[audit.DetailOldKey] != k.oldKey ||
			ev.Details[audit.DetailNewKey] != k.newKey || ev.Details[audit.DetailStatementHash] != audit.StatementHash("statement of the rotation") {
			t.Fatalf("%s: event %+v", tenant, ev)
		}
		// The anchored checkpoint is now the new key's, of the tree that
		// holds the event.
		msg, err := a.Load(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		nv, _ := note.NewVerifier(k.newKey)
		if _, err := note.Open(msg, note.VerifierList(nv)); err != nil || a.size(t, tenant) != 4 {
			t.Fatalf("%s: anchored checkpoint of size %d, new key: %v", tenant, a.size(t, tenant), err)
		}
		appendN(t, l, tenant, 1)
	}
	if evs := rotationEvents(t, l, fresh); len(evs) != 0 {
		t.Fatalf("a log the old key never signed got %d rotation events", len(evs))
	}
	l.Close()
	// Once more: nothing new.
	l = e.open(t, k.options(a))
	if evs := rotationEvents(t, l, first); len(evs) != 1 {
		t.Fatalf("after another open: %d events", len(evs))
	}
}

// A log that was refused when the key was rotated (an older audit.db put
// back) gets its rotation event when the operator accepts the rollback,
// after the audit.rollback_accepted event and before the new key signs it.
func TestLog_KeyRotatedAcceptRollback(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	k := newRotatingKeys(t)
	a := newMemAnchor()
	tenant := newTenant()
	l := e.open(t, k.options(a))
	appendN(t, l, tenant, 3)
	l.Close()
	older, err := os.ReadFile(e.Path)
	if err != nil {
		t.Fatal(err)
	}
	l = e.open(t, k.options(a))
	appendN(t, l, tenant, 3)
	l.Close()
	if err := os.WriteFile(e.Path, older, 0o600); err != nil {
		t.Fatal(err)
	}

	k.rotated.Store(true)
	l = e.open(t, k.options(a))
	wantRefused(t, l, tenant, "fewer than the 6")
	if evs := rotationEvents(t, l, tenant); len(evs) != 0 {
		t.Fatalf("a refused log got %d rotation events", len(evs))
	}
	c, err := l.AcceptRollback(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	recs := checkChain(t, l, tenant, 5)
	if got := []string{recs[3].Entry.Action, recs[4].Entry.Action}; got[0] != audit.ActionRollbackAccepted || got[1] != audit.ActionKeyRotated {
		t.Fatalf("events 4 and 5: %v", got)
	}
	nv, _ := note.NewVerifier(k.newKey)
	if _, err := note.Open(c.Note, note.VerifierList(nv)); err != nil || c.Size != 5 {
		t.Fatalf("checkpoint after the accepted rollback: size %d, new key: %v", c.Size, err)
	}
}
