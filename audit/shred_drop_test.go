package audit_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

// TestLog_DropShredded drops a shredded firm's log only when it ends with
// the tenant.shred event of the size given, and then the file and its WAL
// hold no byte of the firm, while another firm's log still verifies.
func TestLog_DropShredded(t *testing.T) {
	ctx := context.Background()
	e := newMoveEnv(t)
	l := e.logs["us"]
	firm, stays := e.firm(t, "us", 5), e.firm(t, "us", 3)
	shredEvent := func() int64 {
		seq, err := l.Append(ctx, &vault.AuditEvent{TenantID: firm, ActorID: vault.ActorOperator, Action: vault.ActShred,
			ObjectType: "tenant", ObjectID: firm, Outcome: audit.OutcomeOK, Time: time.Now().UTC(), Details: map[string]string{}})
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	// Not ending with tenant.shred: refused.
	if err := l.DropShredded(ctx, firm, 5); !vault.IsCode(err, vault.ECONFLICT) {
		t.Fatalf("drop of a log without tenant.shred: got %v, want conflict", err)
	}
	seq := shredEvent()
	if err := l.DropShredded(ctx, firm, seq-1); !vault.IsCode(err, vault.ECONFLICT) {
		t.Fatalf("drop at the wrong size: got %v, want conflict", err)
	}
	appendN(t, l, firm, 1) // an event after the shred's
	if err := l.DropShredded(ctx, firm, seq); !vault.IsCode(err, vault.ECONFLICT) {
		t.Fatalf("drop with an event after tenant.shred: got %v, want conflict", err)
	}
	seq = shredEvent()
	if _, err := l.Checkpoint(ctx, firm); err != nil {
		t.Fatal(err)
	}
	if err := l.DropShredded(ctx, firm, seq); err != nil {
		t.Fatalf("DropShredded: %v", err)
	}
	if n, err := l.Size(ctx, firm); err != nil || n != 0 {
		t.Errorf("size after the drop: %d, %v; want 0", n, err)
	}
	for _, p := range []string{e.cellPath("us"), e.cellPath("us") + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(firm)) || bytes.Contains(b, []byte(hexOf(firm))) {
			t.Errorf("%s still holds the firm", p)
		}
	}
	if goErr, refErr := verifyBoth(t, exportFrom(t, l, stays), e.key("us")); goErr != nil || refErr != nil {
		t.Errorf("the firm that stays: %v, %v", goErr, refErr)
	}
	if err := l.DropShredded(ctx, "", 1); err == nil || !strings.Contains(err.Error(), "service") {
		t.Errorf("the service log: got %v, want invalid", err)
	}
}
