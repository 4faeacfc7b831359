// Package auditbench measures what keeping the audit log honest outside
// the server costs its appends: the checkpoint memory (anchors), the
// witnesses and the firms' sinks, all on, against all off, in one run.
package auditbench_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/audit/witness"
	"github.com/casevault/casevault/internal/witnesstest"
	"github.com/casevault/casevault/keys"
	"github.com/casevault/casevault/sink"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// BenchmarkAppend_Outside measures durable appends (every returned Append
// committed and synced) from 32 writers over 8 firms in two regions, with
// signed timestamps on checkpoints in both phases and, in the "on" phase,
// the three things that keep checkpoints outside the database: the anchors
// (keys.AuditAnchors, written before a checkpoint is stored), two real
// litewitness processes cosigning every checkpoint, and an HTTPS webhook
// sink for every firm. Phases alternate, three rounds, and the best of each
// counts: on a shared machine one pass varies by more than these cost. Each
// phase appends CASEVAULT_BENCH_EVENTS events (default 20000); it reports
// events/s off and on and their ratio (target ≥ 0.9, docs/BENCHMARKS.md).
func BenchmarkAppend_Outside(b *testing.B) {
	total := max(vaulttest.BenchEvents(b, 20000), b.N)
	ws := witnesstest.Start(b, "witness-a.example", "witness-b.example")
	var delivered atomic.Int64
	hook := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err == nil {
			delivered.Add(1)
		}
	}))
	defer hook.Close()
	roots := x509.NewCertPool()
	roots.AddCert(hook.Certificate())

	b.ResetTimer()
	var off, on float64
	var got outcome
	for range 3 {
		off = max(off, appendPhase(b, total, nil).rate)
		o := appendPhase(b, total, &outside{ws: ws, hook: hook.URL, roots: roots})
		on = max(on, o.rate)
		got.cosigned += o.cosigned
		got.anchored += o.anchored
	}
	b.StopTimer()
	if got.cosigned == 0 || got.anchored == 0 || delivered.Load() == 0 {
		b.Fatalf("the on phases did not do their work: %d cosignatures, %d anchors, %d sink deliveries", got.cosigned, got.anchored, delivered.Load())
	}
	b.ReportMetric(off, "off-events/s")
	b.ReportMetric(on, "on-events/s")
	b.ReportMetric(on/off, "ratio")
	fmt.Fprintf(os.Stderr, "%s: %d events a phase, 32 writers, 8 firms: %.0f events/s with anchors, witnesses and sinks off, %.0f on, ratio %.3f (%d cosignatures, %d sink deliveries)\n",
		b.Name(), total, off, on, on/off, got.cosigned, delivered.Load())
}

// outside is what the "on" phase turns on.
type outside struct {
	ws    []*witnesstest.Witness
	hook  string
	roots *x509.CertPool
}

type outcome struct {
	rate               float64
	cosigned, anchored int64
}

// appendPhase appends total events to a fresh vault's audit log and
// returns the rate; with o, through anchors, witnesses and sinks, waiting
// untimed at the end for both to have done some work.
func appendPhase(b *testing.B, total int, o *outside) outcome {
	b.Helper()
	ctx := context.Background()
	v := vaulttest.Open(b, b.TempDir(), nil)
	var tenants []string
	var owners []*vault.User
	for i := range 8 {
		t, owner, _, err := v.Svc.CreateTenant(ctx, vault.NewTenant{
			Name: fmt.Sprintf("Firm %d", i), Region: []string{"us", "ca"}[i%2],
			Owner: vault.NewUser{Email: fmt.Sprintf("owner%d@firm%d.example", i, i)},
		})
		if err != nil {
			b.Fatal(err)
		}
		tenants, owners = append(tenants, t.ID), append(owners, owner)
	}
	regionOf := func(ctx context.Context, id string) (string, error) {
		t, err := v.DB.Tenant(ctx, id)
		if err != nil {
			return "", err
		}
		return t.Region, nil
	}
	var client *witness.Client
	var worker *sink.Worker
	var anchors *keys.AuditAnchors
	if o != nil {
		var err error
		anchorDir := filepath.Join(b.TempDir(), "anchors")
		if anchors, err = keys.NewAuditAnchors(v.Masters, "us", func(name string) string { return filepath.Join(anchorDir, name) }, regionOf); err != nil {
			b.Fatal(err)
		}
		eps := make([]witness.Endpoint, len(o.ws))
		for i, w := range o.ws {
			eps[i] = witness.Endpoint{Name: w.Name, URL: w.URL, Key: w.Key}
		}
		if client, err = witness.New(witness.Options{Witnesses: eps, RegionOf: regionOf, Log: zerolog.Nop()}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { client.Close() })
		worker = sink.New(sink.Options{Store: v.DB, RootCAs: o.roots, AllowPrivate: true})
	}
	l := vaulttest.UseAuditLog(b, v, func(opts *audit.Options) {
		if o != nil {
			opts.Anchor = anchors
			opts.OnSigned = func(c *audit.Checkpoint) {
				worker.OnSigned(c)
				client.Submit(c)
			}
		}
	})
	if o != nil {
		worker.Bind(l)
		for i, t := range tenants {
			if _, err := v.Svc.SetAuditSink(ctx, owners[i], vault.AuditSinkConfig{Kind: vault.SinkWebhook, URL: o.hook + "/" + t}); err != nil {
				b.Fatal(err)
			}
			vkey, err := l.VerifierKey(ctx, t)
			if err != nil {
				b.Fatal(err)
			}
			for _, w := range o.ws {
				w.AddLog(b, audit.Origin(t), vkey)
			}
		}
		client.Start(l)
		worker.Start()
		b.Cleanup(worker.Close)
	}
	events := make([]*vault.AuditEvent, total)
	for i := range events {
		events[i] = &vault.AuditEvent{TenantID: tenants[i%len(tenants)], ActorID: fmt.Sprintf("usr_%026d", i%7),
			Action: vault.ActDocumentView, ObjectType: "document", ObjectID: fmt.Sprintf("doc_%026d", i), Outcome: vault.OutcomeOK,
			Details: map[string]string{"matter_id": fmt.Sprintf("mat_%026d", i%3)}, Private: map[string]string{"name": fmt.Sprintf("Term sheet %d.pdf", i)}}
	}
	out := outcome{rate: float64(total) / vaulttest.AppendAll(b, l, events, 32).Seconds()}
	if o == nil {
		return out
	}
	// Untimed: the checkpoints of the phase were passed on.
	for _, t := range tenants {
		if _, err := l.Checkpoint(ctx, t); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out.cosigned = 0
		for _, s := range client.Stats() {
			out.cosigned += s.Cosigned
		}
		if out.cosigned > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, t := range tenants {
		if n, err := anchors.Load(ctx, t); err == nil && n != nil {
			out.anchored++
		}
	}
	return out
}
