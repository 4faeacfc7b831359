package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/internal/refverify"
	"github.com/casevault/casevault/vault"
)

// inProcessWitnesses cosign every checkpoint they are asked to with keys
// of their own and store the cosignatures, as the witness client does
// with the answers of real witnesses (tested in audit/witness against
// litewitness).
type inProcessWitnesses struct {
	log     *audit.Log
	signers []*torchwood.CosignatureSigner
	calls   int
}

func newWitnesses(t *testing.T, names ...string) *inProcessWitnesses {
	t.Helper()
	w := &inProcessWitnesses{}
	for _, n := range names {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		s, err := torchwood.NewCosignatureSigner(n, priv)
		if err != nil {
			t.Fatal(err)
		}
		w.signers = append(w.signers, s)
	}
	return w
}

func (w *inProcessWitnesses) keys() []string {
	var out []string
	for _, s := range w.signers {
		out = append(out, s.Verifier().String())
	}
	return out
}

func (w *inProcessWitnesses) Cosign(ctx context.Context, c *audit.Checkpoint) {
	w.calls++
	text, _, _ := strings.Cut(string(c.Note), "\n\n")
	for _, s := range w.signers {
		signed, err := note.Sign(&note.Note{Text: text + "\n"}, s)
		if err != nil {
			panic(err)
		}
		_, line, _ := strings.Cut(string(signed), "\n\n")
		if err := w.log.AddCosignature(ctx, c.Tenant, c.Size, line); err != nil {
			panic(err)
		}
	}
}

// bothVerifyWitnessed runs audit.Verify and refverify on b with the
// witness keys, k required; it returns each one's error.
func bothVerifyWitnessed(t *testing.T, b []byte, key string, keys []string, k int) (error, error) {
	t.Helper()
	_, err := audit.Verify(bytes.NewReader(b), audit.VerifyOptions{TrustedKey: key, Witnesses: keys, MinWitnesses: k})
	_, rerr := refverify.VerifyWitnessed(bytes.NewReader(b), key, refverify.Witnesses{Keys: keys, K: k})
	return err, rerr
}

// TestWitnessCosignatures_ExportAndVerify has two witnesses cosign the
// header's checkpoint as the export asks, and checks both verifiers on the
// bundle and on tampered copies.
func TestWitnessCosignatures_ExportAndVerify(t *testing.T) {
	e := newTestEnv(t)
	l := e.open(t, nil)
	const tenant = "ten_aaaaaaaaaaaaaaaaaaaaaaaaaa"
	ctx := context.Background()
	for i := range 5 {
		mustAppend(t, l, sampleEvent(tenant, i))
	}
	ws := newWitnesses(t, "witness-a.example", "witness-b.example")
	ws.log = l
	r := &audit.Reader{Log: l, Witness: ws}
	var b bytes.Buffer
	if err := r.Export(ctx, tenant, vault.AuditFormatJSONL, vault.AuditFilter{}, vault.AuditExport{}, &b); err != nil {
		t.Fatal(err)
	}
	if ws.calls != 1 {
		t.Errorf("the export asked the witnesses %d times, want 1", ws.calls)
	}
	bundle := b.Bytes()
	keys := ws.keys()
	res, err := audit.Verify(bytes.NewReader(bundle), audit.VerifyOptions{TrustedKey: e.Keys.vkey, Witnesses: keys})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if len(res.Cosigners) != 2 || res.Cosigners[0].Name != "witness-a.example" || res.Cosigners[1].Name != "witness-b.example" || res.Cosigners[0].Time.IsZero() {
		t.Errorf("cosigners = %+v, want both witnesses with their times", res.Cosigners)
	}
	rres, err := refverify.VerifyWitnessed(bytes.NewReader(bundle), e.Keys.vkey, refverify.Witnesses{Keys: keys, K: 2})
	if err != nil || len(rres.Cosigners) != 2 || rres.Cosigners[0].Time != res.Cosigners[0].Time.Unix() {
		t.Fatalf("refverify: %+v, %v; want both cosigners, as audit.Verify", rres, err)
	}

	// The stored checkpoint (size 5) is in the bundle with its cosignatures too.
	if got := strings.Count(string(bundle), `\n— witness-a.example `); got != 2 {
		t.Errorf("bundle holds %d cosignatures of witness-a, want 2 (line 2 and the stored checkpoint)", got)
	}
	// Asked again, a witness key stored once stays once.
	ws.Cosign(ctx, mustCheckpoint(t, l, tenant))
	cs, err := l.Cosignatures(ctx, tenant, 5)
	if err != nil || len(cs) != 2 {
		t.Errorf("cosignatures after a second round: %d, %v; want 2", len(cs), err)
	}

	head := strings.SplitAfterN(string(bundle), "\n", 3)
	lineA := strings.SplitN(head[1][strings.Index(head[1], `— witness-a.example `):], `\n`, 2)[0]
	for _, tc := range []struct {
		name   string
		bundle string
		k      int
		keys   []string
		pass   bool
	}{
		{"BothRequired", string(bundle), 2, keys, true},
		{"OneOfTwo", string(bundle), 1, keys, true},
		{"ThirdRequired", string(bundle), 3, append(keys, newWitnesses(t, "witness-c.example").keys()...), false},
		{"OnlyAbsentWitness", string(bundle), 0, newWitnesses(t, "witness-c.example").keys(), false},
		{"LineRemoved", strings.Replace(string(bundle), lineA+`\n`, "", 1), 2, keys, false},
		{"LineRemovedOneRequired", strings.Replace(string(bundle), lineA+`\n`, "", 1), 1, keys, true},
		// A second, altered line of a witness that also has a good one:
		// every line of a named witness must verify.
		{"DuplicateAltered", strings.Replace(string(bundle), lineA+`\n`, lineA+`\n`+flipLast(lineA)+`\n`, 1), 1, keys, false},
		{"DuplicateIdentical", strings.Replace(string(bundle), lineA+`\n`, lineA+`\n`+lineA+`\n`, 1), 2, keys, true},
		// A's cosignature relabelled as B's: its key hash is A's, so it is
		// no line of B's; B's own was removed.
		{"Relabelled", relabel(string(bundle), lineA), 2, keys, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err, rerr := bothVerifyWitnessed(t, []byte(tc.bundle), e.Keys.vkey, tc.keys, tc.k)
			var ve *audit.VerifyError
			var re *refverify.Error
			if tc.pass && (err != nil || rerr != nil) {
				t.Errorf("audit.Verify %v, refverify %v; want both to pass", err, rerr)
			}
			if !tc.pass && (!errors.As(err, &ve) || !errors.As(rerr, &re) || ve.Seq != 0 || re.Seq != 0) {
				t.Errorf("audit.Verify %v, refverify %v; want both to fail naming no event", err, rerr)
			}
		})
	}

	// Without witness keys, cosignature lines are lines of unknown keys.
	if err, rerr := bothVerifyWitnessed(t, []byte(strings.Replace(string(bundle), lineA, flipLast(lineA), 1)), e.Keys.vkey, nil, 0); err != nil || rerr != nil {
		t.Errorf("altered cosignature, no witness keys: %v, %v; want both to pass", err, rerr)
	}
	// Malformed options are errors before any reading.
	for _, opts := range []audit.VerifyOptions{{Witnesses: []string{e.Keys.vkey}}, {Witnesses: keys, MinWitnesses: 3}, {MinWitnesses: 1}} {
		var ve *audit.VerifyError
		if _, err := audit.Verify(bytes.NewReader(bundle), opts); err == nil || errors.As(err, &ve) {
			t.Errorf("Verify with %+v = %v, want an options error", opts, err)
		}
	}

	// The table is append-only, as every audit table.
	db := e.rawDB(t)
	if _, err := db.Exec(`UPDATE audit_cosignatures SET line = 'x'`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("UPDATE audit_cosignatures: %v, want refused as append-only", err)
	}
	if _, err := db.Exec(`DELETE FROM audit_cosignatures`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("DELETE FROM audit_cosignatures: %v, want refused as append-only", err)
	}
}

func mustCheckpoint(t *testing.T, l *audit.Log, tenant string) *audit.Checkpoint {
	t.Helper()
	c, err := l.Checkpoint(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// flipLast changes a base64 character near the end of a signature line,
// inside the Ed25519 signature (not in the padding bits).
func flipLast(line string) string {
	i := len(line) - 10
	repl := byte('A')
	if line[i] == 'A' {
		repl = 'B'
	}
	return line[:i] + string(repl) + line[i+1:]
}

// relabel replaces witness-b's line of line 2 with lineA under b's name.
func relabel(bundle, lineA string) string {
	head := strings.SplitAfterN(bundle, "\n", 3)
	i := strings.Index(head[1], `— witness-b.example `)
	j := strings.Index(head[1][i:], `\n`)
	head[1] = head[1][:i] + strings.Replace(lineA, "witness-a.example", "witness-b.example", 1) + head[1][i+j:]
	return strings.Join(head, "")
}
