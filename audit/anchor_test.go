package audit_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// memAnchor is an in-memory audit.Anchor, for unit tests of the log's
// logic; keys.AuditAnchors is tested with its files in package keys and
// with the real server in cmd/casevault.
type memAnchor struct {
	mu    sync.Mutex
	notes map[string][]byte
}

func newMemAnchor() *memAnchor { return &memAnchor{notes: map[string][]byte{}} }

func (a *memAnchor) Load(_ context.Context, tenant string) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n, ok := a.notes[tenant]
	if !ok {
		return nil, vault.Errorf(vault.ENOTFOUND, "none")
	}
	return n, nil
}

func (a *memAnchor) Store(_ context.Context, tenant string, note []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.notes[tenant] = append([]byte(nil), note...)
	return nil
}

func (a *memAnchor) Tenants(context.Context) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for t := range a.notes {
		out = append(out, t)
	}
	return out, nil
}

// size returns the size the anchor remembers for tenant.
func (a *memAnchor) size(tb testing.TB, tenant string) int64 {
	tb.Helper()
	n, err := a.Load(context.Background(), tenant)
	if err != nil {
		tb.Fatal(err)
	}
	text, _, _ := strings.Cut(string(n), "\n\n")
	_, size, _, err := audit.ParseCheckpointText(text + "\n")
	if err != nil {
		tb.Fatal(err)
	}
	return size
}

func withAnchor(a audit.Anchor) func(*audit.Options) {
	return func(o *audit.Options) { o.Anchor = a }
}

// appendN appends n sample events to tenant's log.
func appendN(tb testing.TB, l *audit.Log, tenant string, n int) {
	tb.Helper()
	for i := range n {
		mustAppend(tb, l, sampleEvent(tenant, i))
	}
}

// wantRefused checks that tenant's log refuses appends and checkpoints as
// unavailable and is listed as diverged with a reason containing why.
func wantRefused(tb testing.TB, l *audit.Log, tenant, why string) {
	tb.Helper()
	ctx := context.Background()
	if _, err := l.Append(ctx, sampleEvent(tenant, 99)); !vault.IsCode(err, vault.EUNAVAILABLE) {
		tb.Errorf("append to the diverged log: %v, want unavailable", err)
	}
	if _, err := l.Checkpoint(ctx, tenant); !vault.IsCode(err, vault.EUNAVAILABLE) {
		tb.Errorf("checkpoint of the diverged log: %v, want unavailable", err)
	}
	if got := l.Diverged()[tenant]; !strings.Contains(got, why) {
		tb.Errorf("Diverged()[%s] = %q, want it to say %q", tenant, got, why)
	}
	if got := l.Stats().Diverged; got != 1 {
		tb.Errorf("Stats().Diverged = %d, want 1", got)
	}
}

func TestLog_AnchorExtends(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	a := newMemAnchor()
	l := e.open(t, withAnchor(a))
	tenant := newTenant()
	appendN(t, l, tenant, 5)
	if _, err := l.Checkpoint(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	if got, want := a.size(t, tenant), int64(5); got != want {
		t.Fatalf("anchored size = %d, want %d", got, want)
	}
	appendN(t, l, tenant, 4)
	if c, err := l.Checkpoint(ctx, tenant); err != nil || c.Size != 9 {
		t.Fatalf("checkpoint extending the anchor: %v, %v", c, err)
	}
	if got, want := a.size(t, tenant), int64(9); got != want {
		t.Fatalf("anchored size = %d, want %d", got, want)
	}
	l.Close()
	// Reopening checks it and keeps it usable.
	l = e.open(t, withAnchor(a))
	if d := l.Diverged(); len(d) != 0 {
		t.Fatalf("Diverged() = %v after a clean reopen", d)
	}
	appendN(t, l, tenant, 1)
	if _, err := l.AcceptRollback(ctx, tenant); !vault.IsCode(err, vault.EINVALID) {
		t.Errorf("AcceptRollback of a healthy log: %v, want invalid", err)
	}
}

func TestLog_AnchorTruncated(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	a := newMemAnchor()
	l := e.open(t, withAnchor(a))
	tenant, other := newTenant(), newTenant()
	appendN(t, l, tenant, 10)
	appendN(t, l, other, 3)
	l.Close() // signs and anchors both

	dropAllTriggers(t, e)
	db := e.rawDB(t)
	for _, q := range []string{
		`DELETE FROM audit_events WHERE tenant_id = ? AND seq > 6`,
		`DELETE FROM audit_checkpoints WHERE tenant_id = ? AND size > 6`,
	} {
		if _, err := db.Exec(q, tenant); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`DELETE FROM audit_hashes WHERE tenant_id = ? AND idx >= ?`, tenant, tlog.StoredHashCount(6)); err != nil {
		t.Fatal(err)
	}

	l = e.open(t, withAnchor(a))
	wantRefused(t, l, tenant, "the log has 6 events, fewer than the 10")
	appendN(t, l, other, 2)
	if _, err := l.Checkpoint(ctx, other); err != nil {
		t.Errorf("the other firm's checkpoint: %v", err)
	}

	// The operator's step records the gap and rebases the anchor.
	c, err := l.AcceptRollback(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Size, int64(7); got != want {
		t.Errorf("checkpoint after the accepted rollback has size %d, want %d", got, want)
	}
	if got := a.size(t, tenant); got != 7 {
		t.Errorf("anchored size = %d, want 7", got)
	}
	recs := checkChain(t, l, tenant, 7)
	last := recs[len(recs)-1].Entry
	if last.Action != audit.ActionRollbackAccepted || last.Details["remembered_size"] != "10" || last.Details["current_size"] != "6" || last.Details["remembered_root"] == "" {
		t.Errorf("last event = %s %v, want %s remembering 10 at 6", last.Action, last.Details, audit.ActionRollbackAccepted)
	}
	appendN(t, l, tenant, 1)
	if d := l.Diverged(); len(d) != 0 {
		t.Errorf("Diverged() = %v after the accepted rollback", d)
	}
}

// TestLog_AnchorForked gives a log the anchored checkpoint of another tree
// (a fork: the same firm, other events), smaller and of the same size: the
// consistency proof fails and the log is refused at open.
func TestLog_AnchorForked(t *testing.T) {
	for _, c := range []struct {
		name       string
		fork, main int
	}{{"Smaller", 3, 8}, {"SameSize", 5, 5}} {
		t.Run(c.name, func(t *testing.T) {
			tenant := newTenant()
			fork := newTestEnv(t)
			a := newMemAnchor()
			fl := fork.open(t, withAnchor(a))
			for i := range c.fork {
				mustAppend(t, fl, sampleEvent(tenant, 1000+i))
			}
			fl.Close()

			main := newTestEnv(t)
			main.Keys = fork.Keys
			ml := main.open(t, nil)
			appendN(t, ml, tenant, c.main)
			ml.Close()

			ml = main.open(t, withAnchor(a))
			wantRefused(t, ml, tenant, "does not extend the checkpoint signed last")
		})
	}
}

// TestLog_AnchorBadNote fails closed on an anchored note that does not
// verify.
func TestLog_AnchorBadNote(t *testing.T) {
	e := newTestEnv(t)
	a := newMemAnchor()
	l := e.open(t, withAnchor(a))
	tenant := newTenant()
	appendN(t, l, tenant, 2)
	l.Close()
	n, _ := a.Load(context.Background(), tenant)
	n = []byte(strings.Replace(string(n), "\n2\n", "\n3\n", 1))
	a.Store(context.Background(), tenant, n)
	l = e.open(t, withAnchor(a))
	wantRefused(t, l, tenant, "cannot be read")
}

// dropAllTriggers drops the file's append-only triggers.
func dropAllTriggers(tb testing.TB, e *testEnv) {
	tb.Helper()
	vaulttest.DropTriggers(tb, e.rawDB(tb))
}

// TestLog_AnchorPartAt rewrites event 6 of 8 behind the log's back with
// every stored hash recomputed and the checkpoints above 4 deleted: the
// refusal names the last signed checkpoint the tree still agrees with.
func TestLog_AnchorPartAt(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	a := newMemAnchor()
	l := e.open(t, withAnchor(a))
	tenant := newTenant()
	for _, n := range []int{2, 2, 4} {
		appendN(t, l, tenant, n)
		if _, err := l.Checkpoint(ctx, tenant); err != nil {
			t.Fatal(err)
		}
	}
	all := leaves(t, l, tenant)
	l.Close()

	dropAllTriggers(t, e)
	db := e.rawDB(t)
	all[5] = append([]byte(nil), all[5]...)
	all[5][len(all[5])/2] ^= 1
	stored := storedHashes(t, all)
	for idx, h := range stored {
		if _, err := db.Exec(`UPDATE audit_hashes SET hash = ? WHERE tenant_id = ? AND idx = ?`, h[:], tenant, idx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`DELETE FROM audit_checkpoints WHERE tenant_id = ? AND size > 4`, tenant); err != nil {
		t.Fatal(err)
	}
	l = e.open(t, withAnchor(a))
	wantRefused(t, l, tenant, "the histories agree up to event 4 (a checkpoint signed then) and part after it, at or before event 8")
}
