package sink_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/sink"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// BenchmarkAppend_Sink measures durable appends from 32 concurrent writers
// over 8 firms of a real audit log (Tink-sealed private parts, a checkpoint
// every 100 events of a firm), first with no sink, then with every firm's
// checkpoints delivered to an HTTPS webhook on loopback, in the same run,
// and reports both rates and their ratio (sink_ratio; the target is ≥ 0.9:
// delivery must not slow appends). Each phase appends
// CASEVAULT_BENCH_EVENTS events (default 10000).
func BenchmarkAppend_Sink(b *testing.B) {
	total := max(vaulttest.BenchEvents(b, 10000), b.N)
	col := &collector{}
	ts := httptest.NewTLSServer(col)
	defer ts.Close()
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())

	phase := func(withSink bool) float64 {
		ctx := context.Background()
		v := vaulttest.Open(b, b.TempDir(), nil)
		w := sink.New(sink.Options{Store: v.DB, RootCAs: roots, AllowPrivate: true})
		l := vaulttest.UseAuditLog(b, v, func(o *audit.Options) {
			o.CheckpointEvery = 100
			if withSink {
				o.OnSigned = w.OnSigned
			}
		})
		w.Bind(l)
		var tenants []string
		for i := range 8 {
			t, owner, _, err := v.Svc.CreateTenant(ctx, vault.NewTenant{Name: fmt.Sprintf("Firm %d", i), Region: "us",
				Owner: vault.NewUser{Email: fmt.Sprintf("owner%d@firm%d.example", i, i)}})
			if err != nil {
				b.Fatal(err)
			}
			if withSink {
				if _, err := v.Svc.SetAuditSink(ctx, owner, vault.AuditSinkConfig{Kind: vault.SinkWebhook, URL: ts.URL + "/in"}); err != nil {
					b.Fatal(err)
				}
			}
			tenants = append(tenants, t.ID)
		}
		if withSink {
			w.Start()
			defer w.Close()
		}
		// Built before the clock starts, as in the other append benchmarks.
		events := make([]*vault.AuditEvent, total)
		for i := range events {
			events[i] = &vault.AuditEvent{TenantID: tenants[i%8], Time: time.Now(), ActorID: "usr_bench", Action: vault.ActDocumentView,
				ObjectType: "document", ObjectID: "doc_bench", Outcome: vault.OutcomeOK,
				Details: map[string]string{"version": "1"}, Private: map[string]string{"name": "Lease " + strconv.Itoa(i) + ".pdf"}}
		}
		return float64(total) / vaulttest.AppendAll(b, l, events, 32).Seconds()
	}
	b.ResetTimer()
	off := phase(false)
	on := phase(true)
	b.ReportMetric(off, "events/s_off")
	b.ReportMetric(on, "events/s_sink")
	b.ReportMetric(on/off, "sink_ratio")
	b.ReportMetric(float64(len(col.all())), "delivered")
}
