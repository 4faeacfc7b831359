package witness_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/audit/witness"
	"github.com/casevault/casevault/internal/witnesstest"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// env is an audit log of its own (the service log, tenant "") whose
// checkpoints go to two real litewitness processes.
type env struct {
	log     *audit.Log
	client  *witness.Client
	ws      []*witnesstest.Witness
	signer  note.Signer
	logText *vaulttest.SyncBuffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ws := witnesstest.Start(t, "witness-a.example", "witness-b.example")
	e := &env{ws: ws, logText: &vaulttest.SyncBuffer{}}
	eps := make([]witness.Endpoint, len(ws))
	for i, w := range ws {
		eps[i] = witness.Endpoint{Name: w.Name, URL: w.URL, Key: w.Key}
	}
	c, err := witness.New(witness.Options{Witnesses: eps, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Log: zerolog.New(e.logText)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.client = c
	v := vaulttest.Open(t, t.TempDir(), nil)
	e.log = vaulttest.UseAuditLog(t, v, func(o *audit.Options) {
		o.OnSigned = c.Submit
		o.CheckpointInterval = time.Hour
		inner := o.Signer
		o.Signer = func(ctx context.Context, tenant string) (note.Signer, string, error) {
			s, k, err := inner(ctx, tenant)
			e.signer = s
			return s, k, err
		}
	})
	c.Start(e.log)
	vkey, err := e.log.VerifierKey(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		w.AddLog(t, audit.Origin(""), vkey)
	}
	return e
}

func (e *env) append(t *testing.T, n int) *audit.Checkpoint {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		if _, err := e.log.Append(ctx, &vault.AuditEvent{ActorID: "operator", Action: "service.ping", ObjectType: "service",
			ObjectID: fmt.Sprint(i), Outcome: audit.OutcomeOK}); err != nil {
			t.Fatal(err)
		}
	}
	c, err := e.log.Checkpoint(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitCosigned waits until every witness's cosignature of c is stored.
func (e *env) waitCosigned(t *testing.T, c *audit.Checkpoint) []*audit.Cosignature {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cs, err := e.log.Cosignatures(context.Background(), c.Tenant, c.Size)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == len(e.ws) {
			return cs
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint %d has %d cosignatures, want %d\n%s", c.Size, len(cs), len(e.ws), e.logText.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClient_CosignsAndRefusesFork has two real witnesses cosign a log's
// checkpoints as it grows (the second with a consistency proof), then
// shows them a fork of the same size signed with the log's real key: both
// refuse it, and the client reports the refusals.
func TestClient_CosignsAndRefusesFork(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c5 := e.append(t, 5)
	cs := e.waitCosigned(t, c5)
	for i, w := range e.ws {
		if cs[i].Name != w.Name {
			t.Errorf("cosignature %d is by %q, want %q", i, cs[i].Name, w.Name)
		}
	}
	c8 := e.append(t, 3)
	e.waitCosigned(t, c8)
	n, err := e.log.CosignedNote(ctx, c8)
	if err != nil {
		t.Fatal(err)
	}
	// The log's signature and its timestamp line, then one per witness.
	if got, want := strings.Count(string(n), "\n— "), 2+len(e.ws); got != want {
		t.Errorf("cosigned note has %d signature lines, want %d:\n%s", got, want, n)
	}

	// A fork: a tree of the same size with another root, signed with the
	// log's own key, as an operator holding the key could.
	fork := sha256.Sum256([]byte("another history"))
	forged, err := note.Sign(&note.Note{Text: audit.CheckpointText("", c8.Size, tlog.Hash(fork))}, e.signer)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range e.ws {
		status, body := w.AddCheckpoint(t, []byte(fmt.Sprintf("old %d\n\n%s", c8.Size, forged)))
		if status != http.StatusUnprocessableEntity {
			t.Errorf("%s: forked checkpoint answered %d %q, want 422", w, status, body)
		}
		status, body = w.AddCheckpoint(t, append([]byte("old 5\n\n"), forged...))
		if status != http.StatusConflict || strings.TrimSpace(body) != fmt.Sprint(c8.Size) {
			t.Errorf("%s: forked checkpoint from size 5 answered %d %q, want 409 %d", w, status, body, c8.Size)
		}
	}
	// The client, handed the fork as if the log had signed it, counts a
	// refusal from each witness and says so in its log.
	e.client.Submit(&audit.Checkpoint{Tenant: "", Size: c8.Size, Root: tlog.Hash(fork), Note: forged})
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := e.client.Stats()
		done := true
		for _, s := range st {
			done = done && s.Refusals == 1 && s.Refusing == 1
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want one refusal from each witness\n%s", st, e.logText.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := strings.Count(e.logText.String(), "witness refused the audit log's checkpoint"); got != len(e.ws) {
		t.Errorf("the client logged %d refusals, want %d:\n%s", got, len(e.ws), e.logText.String())
	}
	if r := e.client.Refusing(); len(r) != len(e.ws) {
		t.Errorf("Refusing() = %v, want both witnesses", r)
	}

	// The real log goes on; the witnesses cosign its next checkpoint.
	c9 := e.append(t, 1)
	e.waitCosigned(t, c9)
	for _, s := range e.client.Stats() {
		if s.Refusing != 0 || s.Cosigned != 3 {
			t.Errorf("%s: stats %+v, want 3 cosigned and no log refused now", s.Name, s)
		}
	}
}

// TestClient_CosignWaits checks that Cosign, as an export calls it, waits
// for the witnesses' cosignatures of a checkpoint they never saw.
func TestClient_CosignWaits(t *testing.T) {
	e := newEnv(t)
	c := e.append(t, 2)
	// Make a second checkpoint without telling the client, as after a
	// restart, and wait for it synchronously.
	c3 := e.append(t, 1)
	e.client.Cosign(context.Background(), c3)
	cs, err := e.log.Cosignatures(context.Background(), "", c3.Size)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("after Cosign, checkpoint %d has %d cosignatures, want 2", c3.Size, len(cs))
	}
	_ = c
	var b bytes.Buffer
	r := &audit.Reader{Log: e.log, Witness: e.client}
	if err := r.Export(context.Background(), "", vault.AuditFormatJSONL, vault.AuditFilter{}, vault.AuditExport{}, &b); err != nil {
		t.Fatal(err)
	}
	keys := []string{e.ws[0].Key, e.ws[1].Key}
	res, err := audit.Verify(bytes.NewReader(b.Bytes()), audit.VerifyOptions{Witnesses: keys})
	if err != nil {
		t.Fatalf("verify with both witnesses: %v\n%s", err, b.String())
	}
	if len(res.Cosigners) != 2 {
		t.Errorf("cosigners %+v, want both witnesses", res.Cosigners)
	}
}
