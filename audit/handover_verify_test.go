package audit_test

import (
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
)

// moved is a log that moved to another region after event 3: events 1–3
// and a checkpoint of size 3 under the old region's key, the handover
// (tenant.moved, event 4) with its checkpoint under the old key, then the
// new region's key.
type moved struct {
	*rotated
	movedAt int64
}

// newMoved builds it; names is the new key the handover names (the new
// region's when "").
func newMoved(t *testing.T, names string) *moved {
	t.Helper()
	r := &rotated{src: newMemSource(t, testTenant, "move")}
	r.oldSig, r.oldKey = r.src.signer, r.src.vkey
	skey, vkey := testKey(t, "casevault-audit-ca", "move, new region")
	newSig, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	r.newSig, r.newKey = newSig, vkey
	if names == "" {
		names = r.newKey
	}
	r.add(t, 0, 3)
	r.checkpoint(t, r.oldSig)
	m := &moved{rotated: r}
	m.movedAt = r.src.add(t, audit.Entry{
		ActorID: "operator", Action: audit.ActionTenantMoved, ObjectType: "tenant", ObjectID: testTenant, Outcome: audit.OutcomeOK,
		Details: map[string]string{audit.DetailFromRegion: "us", audit.DetailToRegion: "ca",
			audit.DetailOldKey: r.oldKey, audit.DetailNewKey: names, audit.DetailStatementHash: strings.Repeat("cd", 32)},
	}, nil)
	r.checkpoint(t, r.oldSig) // the handover's own checkpoint: the old region's
	r.src.signer, r.src.vkey = r.newSig, r.newKey
	return m
}

// A bundle spanning a move verifies with both regions' keys, complete and
// filtered, in both verifiers; with one of them only it does not.
func TestVerify_SpansMove(t *testing.T) {
	m := newMoved(t, "")
	m.add(t, 4, 6)
	m.checkpoint(t, m.newSig)
	m.add(t, 6, 7)
	both := audit.VerifyOptions{TrustedKeys: []string{m.oldKey, m.newKey}}
	for _, f := range []audit.Filter{{}, ann, operator} {
		b := exportBundle(t, m.src, m.src.opener(), f)
		if res := mustVerify(t, b, both); res.TreeSize != 7 {
			t.Fatalf("filter %+v: tree size %d, want 7", f, res.TreeSize)
		}
		ve := wantFail(t, b, audit.VerifyOptions{TrustedKeys: []string{m.newKey}}, 0)
		if !strings.Contains(ve.Reason, "not signed") && !strings.Contains(ve.Reason, "not a trusted key") {
			t.Errorf("filter %+v, new key only: %q", f, ve.Reason)
		}
		ve = wantFail(t, b, audit.VerifyOptions{TrustedKeys: []string{m.oldKey}}, 0)
		if !strings.Contains(ve.Reason, "not the trusted key") {
			t.Errorf("filter %+v, old key only: %q", f, ve.Reason)
		}
	}
}

// After the handover the old region's key signs nothing of the firm's
// log: a checkpoint of a larger tree signed by it alone — by an operator
// who kept the old cell's key — fails, as a stored checkpoint line or as
// the bundle's own on line 2.
func TestVerify_OldKeyAfterMove(t *testing.T) {
	opts := func(m *moved) audit.VerifyOptions {
		return audit.VerifyOptions{TrustedKeys: []string{m.oldKey, m.newKey}}
	}
	t.Run("StoredCheckpoint", func(t *testing.T) {
		m := newMoved(t, "")
		m.add(t, 4, 5)
		m.checkpoint(t, m.oldSig) // size 5, after the handover: old key only
		m.add(t, 5, 7)
		m.checkpoint(t, m.newSig)
		for _, f := range []audit.Filter{{}, operator} {
			ve := wantFail(t, exportBundle(t, m.src, m.src.opener(), f), opts(m), 0)
			if !strings.Contains(ve.Reason, "retired") || !strings.Contains(ve.Reason, audit.ActionTenantMoved) {
				t.Errorf("filter %+v: %q", f, ve.Reason)
			}
		}
	})
	t.Run("HeaderCheckpoint", func(t *testing.T) {
		m := newMoved(t, "")
		m.add(t, 4, 6)
		m.checkpoint(t, m.oldSig) // the latest: the export's line 2 is it
		for _, f := range []audit.Filter{{}, operator} {
			ve := wantFail(t, exportBundle(t, m.src, m.src.opener(), f), opts(m), 0)
			if !strings.Contains(ve.Reason, "retired") {
				t.Errorf("filter %+v: %q", f, ve.Reason)
			}
		}
	})
	t.Run("CosignedByOtherTrustedKey", func(t *testing.T) {
		// Signed by the old key and a third trusted key that is not the
		// one the move names: the complete bundle says so.
		m := newMoved(t, "")
		skey, vkey := testKey(t, "casevault-audit-eu", "move, third region")
		third, err := note.NewSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		m.add(t, 4, 5)
		m.checkpoint(t, third)
		m.add(t, 5, 6)
		m.checkpoint(t, m.newSig)
		ve := wantFail(t, exportBundle(t, m.src, m.src.opener(), audit.Filter{}), audit.VerifyOptions{TrustedKeys: []string{m.oldKey, m.newKey, vkey}}, 0)
		if !strings.Contains(ve.Reason, "new key of the move") {
			t.Errorf("got %q", ve.Reason)
		}
	})
}

// A handover that names another new key than the one that signs after it
// fails: the named key is not trusted (complete and filtered bundles,
// naming the handover), or, trusted too, it is not the key that signed.
func TestVerify_MoveNamesAnotherKey(t *testing.T) {
	_, other := testKey(t, "casevault-audit-ca", "move, another new key")
	m := newMoved(t, other)
	m.add(t, 4, 6)
	m.checkpoint(t, m.newSig)
	for _, f := range []audit.Filter{{}, operator} {
		b := exportBundle(t, m.src, m.src.opener(), f)
		ve := wantFail(t, b, audit.VerifyOptions{TrustedKeys: []string{m.oldKey, m.newKey}}, m.movedAt)
		if !strings.Contains(ve.Reason, "not a trusted key") {
			t.Errorf("filter %+v: %q", f, ve.Reason)
		}
	}
	b := exportBundle(t, m.src, m.src.opener(), audit.Filter{})
	ve := wantFail(t, b, audit.VerifyOptions{TrustedKeys: []string{m.oldKey, m.newKey, other}}, 0)
	if !strings.Contains(ve.Reason, "new key of the move") {
		t.Errorf("with the named key trusted too: %q", ve.Reason)
	}
}

// A firm that moves back to its first region is signed by that region's
// key again: a bundle spanning both moves verifies with both keys.
func TestVerify_MoveBack(t *testing.T) {
	m := newMoved(t, "")
	m.add(t, 4, 5)
	m.checkpoint(t, m.newSig)
	back := m.src.add(t, audit.Entry{
		ActorID: "operator", Action: audit.ActionTenantMoved, ObjectType: "tenant", ObjectID: testTenant, Outcome: audit.OutcomeOK,
		Details: map[string]string{audit.DetailFromRegion: "ca", audit.DetailToRegion: "us",
			audit.DetailOldKey: m.newKey, audit.DetailNewKey: m.oldKey, audit.DetailStatementHash: strings.Repeat("ef", 32)},
	}, nil)
	m.checkpoint(t, m.newSig)
	m.src.signer, m.src.vkey = m.oldSig, m.oldKey
	m.add(t, 6, 7)
	m.checkpoint(t, m.oldSig)
	both := audit.VerifyOptions{TrustedKeys: []string{m.oldKey, m.newKey}}
	for _, f := range []audit.Filter{{}, ann, operator} {
		mustVerify(t, exportBundle(t, m.src, m.src.opener(), f), both)
	}
	// The ca key signs nothing after the move back.
	m.add(t, 6, 7)
	m.checkpoint(t, m.newSig)
	ve := wantFail(t, exportBundle(t, m.src, m.src.opener(), audit.Filter{}), both, 0)
	if !strings.Contains(ve.Reason, "retired") {
		t.Errorf("ca key after the move back (event %d): %q", back, ve.Reason)
	}
}
