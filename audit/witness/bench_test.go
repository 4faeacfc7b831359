package witness_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/audit/witness"
	"github.com/casevault/casevault/internal/witnesstest"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// BenchmarkAppend_Witnessed measures durable appends from 32 writers over
// 8 firms, with checkpoints every 1000 events of a firm as in production,
// once with no witnesses and once with every checkpoint submitted to two
// real litewitness processes, in the same run, and reports the ratio of
// the two rates (witnessed/off, the best of two alternating passes each;
// submission is off the append path, so it should stay near 1). An op is
// one event; each pass appends 20000 events (CASEVAULT_BENCH_EVENTS).
func BenchmarkAppend_Witnessed(b *testing.B) {
	total := max(vaulttest.BenchEvents(b, 20000), b.N)
	ws := witnesstest.Start(b, "witness-a.example", "witness-b.example")
	// Two rounds, alternating, best of each: on a shared machine one pass
	// varies by more than the submission costs.
	var off, on float64
	for range 2 {
		off = max(off, benchWitnessedAppend(b, nil, total))
		on = max(on, benchWitnessedAppend(b, ws, total))
	}
	b.ReportMetric(off, "off-events/s")
	b.ReportMetric(on, "witnessed-events/s")
	b.ReportMetric(on/off, "ratio")
	fmt.Fprintf(os.Stderr, "%s: %d events, 32 writers, 8 firms: %.0f events/s without witnesses, %.0f with two, ratio %.3f\n",
		b.Name(), total, off, on, on/off)
}

// benchWitnessedAppend appends total events to a fresh vault's audit log,
// with its checkpoints submitted to ws when there are any, and returns the
// rate. With witnesses it waits, untimed, for the last checkpoints to be
// cosigned, so that submission did happen.
func benchWitnessedAppend(b *testing.B, ws []*witnesstest.Witness, total int) float64 {
	b.Helper()
	ctx := context.Background()
	v := vaulttest.Open(b, b.TempDir(), nil)
	var tenants []string
	for i := range 8 {
		t, _, _, err := v.Svc.CreateTenant(ctx, vault.NewTenant{
			Name: fmt.Sprintf("Firm %d", i), Region: []string{"us", "ca"}[i%2],
			Owner: vault.NewUser{Email: fmt.Sprintf("owner%d@firm%d.example", i, i)},
		})
		if err != nil {
			b.Fatal(err)
		}
		tenants = append(tenants, t.ID)
	}
	var client *witness.Client
	if len(ws) > 0 {
		eps := make([]witness.Endpoint, len(ws))
		for i, w := range ws {
			eps[i] = witness.Endpoint{Name: w.Name, URL: w.URL, Key: w.Key}
		}
		var err error
		if client, err = witness.New(witness.Options{Witnesses: eps, Log: zerolog.Nop()}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { client.Close() })
	}
	l := vaulttest.UseAuditLog(b, v, func(o *audit.Options) {
		if client != nil {
			o.OnSigned = client.Submit
		}
	})
	if client != nil {
		for _, t := range tenants {
			vkey, err := l.VerifierKey(ctx, t)
			if err != nil {
				b.Fatal(err)
			}
			for _, w := range ws {
				w.AddLog(b, audit.Origin(t), vkey)
			}
		}
		client.Start(l)
	}
	events := make([]*vault.AuditEvent, total)
	for i := range events {
		events[i] = &vault.AuditEvent{TenantID: tenants[i%len(tenants)], ActorID: "usr_" + fmt.Sprintf("%026d", i%7),
			Action: "document.view", ObjectType: "document", ObjectID: fmt.Sprintf("doc_%026d", i), Outcome: audit.OutcomeOK,
			Details: map[string]string{"matter_id": "mat_" + fmt.Sprintf("%026d", i%3)}, Private: map[string]string{"name": fmt.Sprintf("Term sheet %d.pdf", i)}}
	}
	rate := float64(total) / vaulttest.AppendAll(b, l, events, 32).Seconds()
	if client != nil {
		deadline := time.Now().Add(30 * time.Second)
		for i := range ws {
			for client.Stats()[i].Cosigned == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if st := client.Stats()[i]; st.Cosigned == 0 {
				b.Fatalf("witness %s cosigned no checkpoint: %+v", st.Name, st)
			}
		}
	}
	return rate
}
