package audit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

// TestCheckpoint_Timestamp checks that every checkpoint the log signs
// carries a cosignature/v1 timestamp line of the log's own key, which
// torchwood's own verifier (built from the same key by torchwood) accepts,
// with the log's clock as its time, and that the note signature is still
// there for verifiers that know nothing of timestamps.
func TestCheckpoint_Timestamp(t *testing.T) {
	e := newTestEnv(t)
	clock := time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)
	l := e.open(t, func(o *audit.Options) { o.Now = func() time.Time { return clock } })
	appendN(t, l, testTenant, 3)
	c, err := l.Checkpoint(context.Background(), testTenant)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Time, clock; !got.Equal(want) {
		t.Errorf("Checkpoint.Time = %v, want %v", got, want)
	}
	// torchwood's signer over the same key makes the verifier the spec
	// derives (algorithm byte 0x04); it checks our line.
	tw, err := torchwood.NewCosignatureSigner("casevault-audit-test", e.Keys.key)
	if err != nil {
		t.Fatal(err)
	}
	derived, err := audit.TimestampVerifier(e.Keys.vkey)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := derived.String(), tw.Verifier().String(); got != want {
		t.Errorf("derived timestamp key %s, torchwood's %s", got, want)
	}
	nv, _ := note.NewVerifier(e.Keys.vkey)
	n, err := note.Open(c.Note, note.VerifierList(nv, tw.Verifier()))
	if err != nil {
		t.Fatalf("note does not open with torchwood's verifier: %v\n%s", err, c.Note)
	}
	if got, want := len(n.Sigs), 2; got != want {
		t.Fatalf("%d verified signatures, want %d (note and timestamp)", got, want)
	}
	var found bool
	for _, s := range n.Sigs {
		if s.Hash == tw.Verifier().KeyHash() {
			ts, err := torchwood.CosignatureTimestamp(s)
			if err != nil || ts != clock.Unix() {
				t.Errorf("timestamp %d, %v; want %d", ts, err, clock.Unix())
			}
			found = true
		}
	}
	if !found {
		t.Errorf("no timestamp line:\n%s", c.Note)
	}
	// Old verifiers: the note key alone still opens it.
	if _, err := note.Open(c.Note, note.VerifierList(nv)); err != nil {
		t.Errorf("note key alone: %v", err)
	}
}

// TestLog_Heartbeat checks that an idle log's latest tree is signed again
// with a fresh timestamp every Heartbeat: stored, anchored (the newest
// note), passed to OnSigned, returned by Checkpoint; and that reopening
// the log signs at most one heartbeat per idle log, not one per stored
// checkpoint or per missed interval.
func TestLog_Heartbeat(t *testing.T) {
	e := newTestEnv(t)
	anchor := newMemAnchor()
	var mu sync.Mutex
	var signed []*audit.Checkpoint
	onSigned := func(c *audit.Checkpoint) {
		mu.Lock()
		defer mu.Unlock()
		signed = append(signed, c)
	}
	const beat = 1200 * time.Millisecond
	l := e.open(t, func(o *audit.Options) {
		o.Anchor, o.OnSigned, o.Heartbeat = anchor, onSigned, beat
	})
	const other = "ten_bbbbbbbbbbbbbbbbbbbbbbbbbb"
	appendN(t, l, testTenant, 4)
	appendN(t, l, other, 2)
	ctx := context.Background()
	first, err := l.Checkpoint(ctx, testTenant)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Checkpoint(ctx, other); err != nil {
		t.Fatal(err)
	}
	// Idle: within a few intervals, heartbeats of size 4, each newer.
	deadline := time.Now().Add(10 * beat)
	var beats []*audit.Checkpoint
	for time.Now().Before(deadline) && len(beats) < 2 {
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		beats = beats[:0]
		for _, c := range signed {
			if c.Tenant == testTenant && c.Size == 4 && c.Time.After(first.Time) {
				beats = append(beats, c)
			}
		}
		mu.Unlock()
	}
	if len(beats) < 2 {
		t.Fatalf("%d heartbeats of the idle log after %s, want 2", len(beats), 10*beat)
	}
	hb := beats[len(beats)-1]
	if string(hb.Note) == string(first.Note) {
		t.Fatal("the heartbeat is the old note")
	}
	if got, _, err := audit.CheckpointTime(hb.Note, e.Keys.vkey); err != nil || !got.Equal(hb.Time) {
		t.Errorf("heartbeat timestamp %v, %v; want %v", got, err, hb.Time)
	}
	// Anchored: the anchor holds a heartbeat, not the first checkpoint.
	an, _ := anchor.Load(ctx, testTenant)
	if at, _, err := audit.CheckpointTime(an, e.Keys.vkey); err != nil || !at.After(first.Time) {
		t.Errorf("anchored note timestamped %v (%v), want after %v", at, err, first.Time)
	}
	// Returned as the log's checkpoint while it stays idle.
	now, err := l.Checkpoint(ctx, testTenant)
	if err != nil {
		t.Fatal(err)
	}
	if !now.Time.After(first.Time) || now.Size != 4 {
		t.Errorf("Checkpoint = size %d at %v, want size 4 after %v", now.Size, now.Time, first.Time)
	}
	rows := func() int {
		var n int
		if err := e.rawDB(t).QueryRow(`SELECT COUNT(*) FROM audit_timestamps WHERE tenant_id = ?`, testTenant).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if rows() < 2 {
		t.Errorf("%d stored heartbeats, want at least 2", rows())
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened after several intervals: one heartbeat per idle log at
	// once, then one per interval.
	time.Sleep(3 * beat)
	before := rows()
	mu.Lock()
	signed = nil
	mu.Unlock()
	l2 := e.open(t, func(o *audit.Options) {
		o.Anchor, o.OnSigned, o.Heartbeat = anchor, onSigned, beat
	})
	time.Sleep(beat / 2)
	mu.Lock()
	n := 0
	for _, c := range signed {
		if c.Tenant == testTenant {
			n++
		}
	}
	mu.Unlock()
	if n != 1 {
		t.Errorf("%d heartbeats of the idle log half an interval after reopening, want 1", n)
	}
	if got := rows() - before; got != 1 {
		t.Errorf("%d heartbeats stored at reopening, want 1", got)
	}
	l2.Close()
}

// TestLog_SignAt checks the checkpoint an export signs of the tree that
// ends with its own event: fresh (a new timestamp) even when that size is
// stored already, consistent with a larger anchored tree, which stays the
// anchor (never moved back), and refused beyond the log.
func TestLog_SignAt(t *testing.T) {
	e := newTestEnv(t)
	anchor := newMemAnchor()
	clock := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	tick := func() { mu.Lock(); clock = clock.Add(time.Minute); mu.Unlock() }
	l := e.open(t, func(o *audit.Options) { o.Anchor, o.Now = anchor, now })
	ctx := context.Background()
	appendN(t, l, testTenant, 5)
	c5, err := l.Checkpoint(ctx, testTenant)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, testTenant, 3)
	if _, err := l.Checkpoint(ctx, testTenant); err != nil {
		t.Fatal(err)
	}
	tick()
	s5, err := l.SignAt(ctx, testTenant, 5)
	if err != nil {
		t.Fatal(err)
	}
	if s5.Root != c5.Root || !s5.Time.After(c5.Time) || string(s5.Note) == string(c5.Note) {
		t.Errorf("SignAt(5) = root %s at %v, want root %s after %v, a new note", s5.Root, s5.Time, c5.Root, c5.Time)
	}
	if got, want := anchor.size(t, testTenant), int64(8); got != want {
		t.Errorf("anchor size %d after SignAt(5), want %d (never moved back)", got, want)
	}
	tick()
	s8, err := l.SignAt(ctx, testTenant, 8)
	if err != nil {
		t.Fatal(err)
	}
	an, _ := anchor.Load(ctx, testTenant)
	if string(an) != string(s8.Note) {
		t.Errorf("anchor is not the newest note of the anchored size")
	}
	if _, err := l.SignAt(ctx, testTenant, 9); !vault.IsCode(err, vault.EINVALID) {
		t.Errorf("SignAt beyond the log: %v, want invalid", err)
	}
}
