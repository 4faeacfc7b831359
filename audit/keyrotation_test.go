package audit_test

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
)

// rotated is a log whose region key was rotated after event 3: events 1–3
// and a checkpoint of size 3 under the old key, then the audit.key_rotated
// event (4) and more events under the new key.
type rotated struct {
	src            *memSource
	oldKey, newKey string
	oldSig, newSig note.Signer
	rotatedAt      int64
}

func newRotated(t *testing.T) *rotated {
	t.Helper()
	r := &rotated{src: newMemSource(t, testTenant, "rotation")}
	r.oldSig, r.oldKey = r.src.signer, r.src.vkey
	skey, vkey := testKey(t, "casevault-audit-test", "rotation, new key")
	newSig, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	r.newSig, r.newKey = newSig, vkey
	for _, ev := range fixtureEvents[:3] {
		r.src.add(t, ev.e, ev.p)
	}
	r.checkpoint(t, r.oldSig)
	r.src.signer, r.src.vkey = r.newSig, r.newKey
	r.rotatedAt = r.src.add(t, audit.Entry{
		ActorID: "operator", Action: audit.ActionKeyRotated, ObjectType: "audit_log", ObjectID: testTenant, Outcome: audit.OutcomeOK,
		Details: map[string]string{audit.DetailOldKey: r.oldKey, audit.DetailNewKey: r.newKey, audit.DetailStatementHash: strings.Repeat("ab", 32)},
	}, nil)
	return r
}

// checkpoint signs a checkpoint of the log as it is with signer.
func (r *rotated) checkpoint(t *testing.T, signer note.Signer) {
	t.Helper()
	saved := r.src.signer
	r.src.signer = signer
	defer func() { r.src.signer = saved }()
	if _, err := r.src.Checkpoint(context.Background(), testTenant); err != nil {
		t.Fatal(err)
	}
}

// add appends fixture events from..to-1.
func (r *rotated) add(t *testing.T, from, to int) {
	t.Helper()
	for _, ev := range fixtureEvents[from:to] {
		r.src.add(t, ev.e, ev.p)
	}
}

// Filters of bundles of a rotated log: ann's events leave the rotation
// event out, operator's hold it.
var (
	ann      = audit.Filter{ActorID: "usr_alice"}
	operator = audit.Filter{ActorID: "operator"}
)

// A bundle spanning a rotation verifies with both keys, with both
// verifiers, complete and filtered; with one key only it does not.
func TestVerify_SpansKeyRotation(t *testing.T) {
	r := newRotated(t)
	r.add(t, 4, 6)
	r.checkpoint(t, r.newSig)
	r.add(t, 6, 7)
	both := audit.VerifyOptions{TrustedKeys: []string{r.oldKey, r.newKey}}
	for _, f := range []audit.Filter{{}, ann, {ActorID: "operator"}} {
		b := exportBundle(t, r.src, r.src.opener(), f)
		res := mustVerify(t, b, both)
		if got, want := res.TreeSize, int64(7); got != want {
			t.Fatalf("tree size %d, want %d", got, want)
		}
		// TrustedKey and TrustedKeys together trust both, as two --key.
		mustVerify(t, b, audit.VerifyOptions{TrustedKey: r.newKey, TrustedKeys: []string{r.oldKey}})
		// A key given twice is trusted once (note.Open would call two
		// verifiers of one key ambiguous).
		mustVerify(t, b, audit.VerifyOptions{TrustedKey: r.newKey, TrustedKeys: []string{r.oldKey, r.newKey, r.oldKey}})
		// The new key alone: the old checkpoint (size 3) does not verify.
		ve := wantFail(t, b, audit.VerifyOptions{TrustedKeys: []string{r.newKey}}, 0)
		if !strings.Contains(ve.Reason, "not signed") {
			t.Errorf("filter %+v, new key only: %q", f, ve.Reason)
		}
		// The old key alone: the header names the new one.
		ve = wantFail(t, b, audit.VerifyOptions{TrustedKeys: []string{r.oldKey}}, 0)
		if !strings.Contains(ve.Reason, "not the trusted key") {
			t.Errorf("filter %+v, old key only: %q", f, ve.Reason)
		}
	}
}

// A checkpoint made after the rotation with the retired key only — by
// whoever kept a copy of it — fails, whether it is a stored checkpoint
// line or the bundle's own on line 2, in both verifiers, in any bundle that
// carries the rotation event. (A filtered bundle without it cannot tell:
// the header's checkpoint and the kept ones must.)
func TestVerify_RetiredKeyAfterRotation(t *testing.T) {
	t.Run("StoredCheckpoint", func(t *testing.T) {
		r := newRotated(t)
		r.add(t, 4, 5)
		r.checkpoint(t, r.oldSig) // size 5, after the rotation event: old key only
		r.add(t, 5, 7)
		r.checkpoint(t, r.newSig)
		opts := audit.VerifyOptions{TrustedKeys: []string{r.oldKey, r.newKey}}
		for _, f := range []audit.Filter{{}, operator} {
			b := exportBundle(t, r.src, r.src.opener(), f)
			ve := wantFail(t, b, opts, 0)
			if !strings.Contains(ve.Reason, "retired") {
				t.Errorf("filter %+v: %q", f, ve.Reason)
			}
		}
	})
	t.Run("WithoutTheEvent", func(t *testing.T) {
		r := newRotated(t)
		r.add(t, 4, 6)
		r.checkpoint(t, r.oldSig)
		mustVerify(t, exportBundle(t, r.src, r.src.opener(), ann), audit.VerifyOptions{TrustedKeys: []string{r.oldKey, r.newKey}})
	})
	t.Run("HeaderCheckpoint", func(t *testing.T) {
		r := newRotated(t)
		r.add(t, 4, 6)
		r.checkpoint(t, r.oldSig) // the latest: the export's line 2 is it
		opts := audit.VerifyOptions{TrustedKeys: []string{r.oldKey, r.newKey}}
		for _, f := range []audit.Filter{{}, operator} {
			b := exportBundle(t, r.src, r.src.opener(), f)
			ve := wantFail(t, b, opts, 0)
			if !strings.Contains(ve.Reason, "retired") {
				t.Errorf("filter %+v: %q", f, ve.Reason)
			}
		}
		// Without its stored copy after event 6, line 2 is caught at the
		// end line.
		ls := splitBundle(t, exportBundle(t, r.src, r.src.opener(), audit.Filter{}))
		if l := ls[len(ls)-2]; l.Type != "checkpoint" {
			t.Fatalf("line before the end is a %s", l.Type)
		}
		ls = append(ls[:len(ls)-2], ls[len(ls)-1])
		ve := wantFail(t, joinBundle(ls), opts, 0)
		if !strings.Contains(ve.Reason, "line 2") || !strings.Contains(ve.Reason, "retired") {
			t.Errorf("line 2: %q", ve.Reason)
		}
	})
}
