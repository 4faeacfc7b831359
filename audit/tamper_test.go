package audit_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

// TestLog_AppendOnly checks that the schema itself refuses to change
// history, whoever holds a connection to the file.
func TestLog_AppendOnly(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t)
	l := env.open(t, nil)
	tenant := newTenant()
	for i := range 5 {
		mustAppend(t, l, sampleEvent(tenant, i))
	}
	if _, err := l.Checkpoint(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	before := leaves(t, l, tenant)
	raw := env.rawDB(t)
	for _, tt := range []struct {
		name, sql string
		args      []any
	}{
		{"UpdateEvent", `UPDATE audit_events SET outcome = 'ok', leaf = x'00' WHERE tenant_id = ? AND seq = 2`, []any{tenant}},
		{"DeleteEvent", `DELETE FROM audit_events WHERE tenant_id = ? AND seq = 5`, []any{tenant}},
		{"DeleteAllEvents", `DELETE FROM audit_events`, nil},
		{"ReplaceEvent", `INSERT OR REPLACE INTO audit_events (tenant_id, seq, leaf, time, actor_id, action, object_type, object_id, matter_id, outcome)
			SELECT tenant_id, seq, x'00', time, actor_id, action, object_type, object_id, matter_id, outcome FROM audit_events WHERE tenant_id = ? AND seq = 3`, []any{tenant}},
		{"UpsertEvent", `INSERT INTO audit_events (tenant_id, seq, leaf, time, actor_id, action, object_type, object_id, matter_id, outcome)
			SELECT tenant_id, seq, leaf, time, actor_id, action, object_type, object_id, matter_id, outcome FROM audit_events WHERE tenant_id = ? AND seq = 3
			ON CONFLICT DO UPDATE SET leaf = x'00'`, []any{tenant}},
		{"GapEvent", `INSERT INTO audit_events (tenant_id, seq, leaf, time, actor_id, action, object_type, object_id, matter_id, outcome)
			SELECT tenant_id, seq + 2, leaf, time, actor_id, action, object_type, object_id, matter_id, outcome FROM audit_events WHERE tenant_id = ? AND seq = 5`, []any{tenant}},
		{"UpdateHash", `UPDATE audit_hashes SET hash = zeroblob(32) WHERE tenant_id = ? AND idx = 0`, []any{tenant}},
		{"DeleteHash", `DELETE FROM audit_hashes WHERE tenant_id = ?`, []any{tenant}},
		{"ReplaceHash", `INSERT OR REPLACE INTO audit_hashes (tenant_id, idx, hash) VALUES (?, 0, zeroblob(32))`, []any{tenant}},
		{"UpdateCheckpoint", `UPDATE audit_checkpoints SET size = 4 WHERE tenant_id = ?`, []any{tenant}},
		{"DeleteCheckpoint", `DELETE FROM audit_checkpoints WHERE tenant_id = ?`, []any{tenant}},
		{"ReplaceCheckpoint", `INSERT OR REPLACE INTO audit_checkpoints (tenant_id, size, root, note, created_at)
			VALUES (?, 5, zeroblob(32), x'00', '2030-01-01T00:00:00.000000000Z')`, []any{tenant}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := raw.ExecContext(ctx, tt.sql, tt.args...)
			if err == nil || !(strings.Contains(err.Error(), "append-only") || strings.Contains(err.Error(), "gap")) {
				t.Fatalf("statement was not refused by the schema: %v", err)
			}
		})
	}
	after := leaves(t, l, tenant)
	if len(after) != len(before) {
		t.Fatalf("%d leaves, want %d", len(after), len(before))
	}
	for i := range before {
		if !bytes.Equal(before[i], after[i]) {
			t.Fatalf("leaf %d changed", i+1)
		}
	}
	cs := checkpoints(t, l, tenant)
	if len(cs) != 1 {
		t.Fatalf("%d checkpoints, want 1", len(cs))
	}
	checkCheckpoint(t, cs[0], env.Keys.vkey, tenant, after)
	p, err := l.Prove(ctx, tenant, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.VerifyProof(after[1], 2, p, 5, cs[0].Root); err != nil {
		t.Fatal(err)
	}
	if seq := mustAppend(t, l, sampleEvent(tenant, 6)); seq != 6 {
		t.Fatalf("seq = %d, want 6", seq)
	}
}

// TestLog_Tampered checks what remains when someone drops the triggers and
// rewrites a leaf: the log still serves the bytes verbatim, the decoded
// view names the damaged event, and the signed checkpoint disowns it.
func TestLog_Tampered(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t)
	l := env.open(t, nil)
	tenant := newTenant()
	for i := range 8 {
		mustAppend(t, l, sampleEvent(tenant, i))
	}
	c, err := l.Checkpoint(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	orig := leaves(t, l, tenant)
	raw := env.rawDB(t)
	if _, err := raw.ExecContext(ctx, `DROP TRIGGER audit_events_no_update`); err != nil {
		t.Fatal(err)
	}

	t.Run("Canonical", func(t *testing.T) {
		// A rewritten outcome still decodes.
		forged := bytes.Replace(orig[2], []byte(`"outcome":"ok"`), []byte(`"outcome":"no"`), 1)
		if _, err := raw.ExecContext(ctx, `UPDATE audit_events SET leaf = ? WHERE tenant_id = ? AND seq = 3`, forged, tenant); err != nil {
			t.Fatal(err)
		}
		got := leaves(t, l, tenant)
		if !bytes.Equal(got[2], forged) {
			t.Fatal("RawRecords does not return the stored bytes")
		}
		p, err := l.Prove(ctx, tenant, 3, c.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := audit.VerifyProof(got[2], 3, p, c.Size, c.Root); err == nil {
			t.Fatal("a rewritten leaf verifies against the signed checkpoint")
		}
		if treeHash(t, got) == c.Root {
			t.Fatal("the tree of the rewritten leaves has the signed root")
		}
		if e, err := audit.Decode(got[3]); err != nil || e.Prev != audit.PrevOf(orig[2]) || e.Prev == audit.PrevOf(got[2]) {
			t.Fatalf("the next event's prev does not give the rewrite away (%v)", err)
		}
	})

	t.Run("NotCanonical", func(t *testing.T) {
		forged := append([]byte(" "), orig[4]...)
		if _, err := raw.ExecContext(ctx, `UPDATE audit_events SET leaf = ? WHERE tenant_id = ? AND seq = 5`, forged, tenant); err != nil {
			t.Fatal(err)
		}
		err := l.Records(ctx, tenant, audit.Filter{}, func(*audit.Record) error { return nil })
		assertCode(t, err, vault.EINTERNAL)
		if !strings.Contains(err.Error(), "event 5 ") {
			t.Fatalf("error does not name the damaged event: %v", err)
		}
		var seqs []int64
		if err := l.RawRecords(ctx, tenant, func(seq int64, leaf []byte) error {
			seqs = append(seqs, seq)
			if seq == 5 && !bytes.Equal(leaf, forged) {
				t.Fatal("RawRecords changed the damaged leaf")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(seqs) != 8 {
			t.Fatalf("RawRecords returned %d rows, want 8", len(seqs))
		}
	})
}
