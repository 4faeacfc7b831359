package audit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

// exportV2 appends n sample events and an audit.export event (with f's
// filter details) to a real log, then writes the export's bundle.
func exportV2(t *testing.T, f audit.Filter) (b []byte, vkey string, seq int64) {
	t.Helper()
	e := newTestEnv(t)
	l := e.open(t, nil)
	ctx := context.Background()
	appendN(t, l, testTenant, 5)
	if _, err := l.Checkpoint(ctx, testTenant); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, testTenant, 2)
	at := time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC)
	x := vault.AuditExport{ID: vault.NewID(vault.PrefixExport), Time: at}
	details := map[string]string{"format": "jsonl", "export_id": x.ID}
	if f.Action != "" {
		details["filter_action"] = f.Action
	}
	seq, err := l.Append(ctx, &vault.AuditEvent{TenantID: testTenant, ActorID: "usr_" + strings.Repeat("b", 26), Action: audit.ActionExport,
		ObjectType: "audit", ObjectID: testTenant, Outcome: audit.OutcomeOK, Time: at, Details: details})
	if err != nil {
		t.Fatal(err)
	}
	x.Seq = seq
	appendN(t, l, testTenant, 3) // after the export's event: not in its bundle
	var buf bytes.Buffer
	if err := audit.WriteExportBundle(ctx, &buf, l, nil, testTenant, f, x); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), e.Keys.vkey, seq
}

// TestBundleV2_Timestamps checks format /2's timestamp rule (§5): every
// checkpoint line must have the log's timestamp line, and it must verify.
func TestBundleV2_Timestamps(t *testing.T) {
	for _, f := range []audit.Filter{{}, {Action: "document.view"}} {
		b, vkey, seq := exportV2(t, f)
		res := mustVerify(t, b, audit.VerifyOptions{TrustedKey: vkey})
		if res.TreeSize != seq || res.Export == nil || res.Export.Seq != seq || res.Timestamps != res.Checkpoints {
			t.Fatalf("result %+v, want tree size %d ending with the export, every checkpoint timestamped", *res, seq)
		}
		ls := splitBundle(t, b)
		note := ls[1].Note
		sigs := strings.Split(strings.TrimSuffix(note, "\n"), "\n")
		stamp := sigs[len(sigs)-1] // the note signature comes first
		without := strings.Replace(note, stamp+"\n", "", 1)
		edited := func(n string) []byte {
			ls := splitBundle(t, b)
			ls[1].raw = strings.Replace(ls[1].raw, jsonString(note), jsonString(n), 1)
			return joinBundle(ls)
		}
		wantFail(t, edited(without), audit.VerifyOptions{TrustedKey: vkey}, 0)
		// The note signature removed, the timestamp kept: the timestamp is
		// made with the same key but does not sign the checkpoint.
		stampOnly := strings.Replace(note, sigs[len(sigs)-2]+"\n", "", 1)
		if ve := wantFail(t, edited(stampOnly), audit.VerifyOptions{TrustedKey: vkey}, 0); !strings.Contains(ve.Reason, "not signed") {
			t.Errorf("timestamp line only: %q, want not signed", ve.Reason)
		}
		// The time moved by a second: the signature no longer verifies.
		name, sig, _ := strings.Cut(strings.TrimPrefix(stamp, "— "), " ")
		raw, _ := base64.StdEncoding.DecodeString(sig)
		binary.BigEndian.PutUint64(raw[4:12], binary.BigEndian.Uint64(raw[4:12])+1)
		moved := strings.Replace(note, stamp, "— "+name+" "+base64.StdEncoding.EncodeToString(raw), 1)
		wantFail(t, edited(moved), audit.VerifyOptions{TrustedKey: vkey}, 0)
		if !f.Empty() {
			// The export event's line dropped: S is missing.
			ls := splitBundle(t, b)
			i := eventIndex(t, ls, seq)
			wantFail(t, joinBundle(append(ls[:i:i], ls[i+1:]...)), audit.VerifyOptions{TrustedKey: vkey}, seq)
		}
	}
}

// jsonString is s as the bundle writer encodes it.
func jsonString(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '"':
			b.WriteString(`\"`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
