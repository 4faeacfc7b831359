package audit_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// benchWriters is the number of goroutines appending at once, as many
// requests of a busy server.
const benchWriters = 32

// BenchmarkLog_Append measures durable appends (synchronous=FULL, every
// returned Append committed and synced) of realistic events, each with a
// document name sealed in its private part, from 32 concurrent writers over
// 8 firms and the service log, with checkpoints signed every 1000 events of
// a firm as in production. An op is one event. Each run appends at least
// CASEVAULT_BENCH_EVENTS events (default 20000) so that -benchtime 1x still
// measures; it reports events/s and the p50 and p99 latency of Append.
func BenchmarkLog_Append(b *testing.B) {
	b.Run("FakeSealer", func(b *testing.B) {
		env := newTestEnv(b)
		var tenants []string
		for range 8 {
			tenants = append(tenants, newTenant())
		}
		benchAppend(b, env, tenants)
	})
	b.Run("TinkSealer", func(b *testing.B) {
		// The firms' real field keys: Tink AEAD keysets under file master
		// keys, read from the vault's own database.
		v := vaulttest.Open(b, b.TempDir(), nil)
		var tenants []string
		for i := range 8 {
			t, _, _, err := v.Svc.CreateTenant(context.Background(), vault.NewTenant{
				Name: fmt.Sprintf("Firm %d", i), Region: []string{"us", "ca"}[i%2],
				Owner: vault.NewUser{Email: fmt.Sprintf("owner%d@firm%d.example", i, i)},
			})
			if err != nil {
				b.Fatal(err)
			}
			tenants = append(tenants, t.ID)
		}
		env := newTestEnv(b)
		env.Path = v.Dir + "/audit.db"
		benchAppend(b, env, tenants, func(o *audit.Options) { o.Sealer = v.Keys })
	})
}

func benchAppend(b *testing.B, env *testEnv, tenants []string, mods ...func(*audit.Options)) {
	total := max(vaulttest.BenchEvents(b, 20000), b.N)
	l := env.open(b, func(o *audit.Options) {
		o.CheckpointInterval = 0 // the defaults
		for _, mod := range mods {
			mod(o)
		}
	})
	ctx := context.Background()
	// Events are built before the clock starts; their private parts are
	// sealed inside Append, so sealing is measured.
	events := make([]*vault.AuditEvent, total)
	for i := range events {
		tenant := ""
		if i%50 != 0 {
			tenant = tenants[i%len(tenants)]
		}
		events[i] = sampleEvent(tenant, i)
	}

	var next atomic.Int64
	lat := make([][]time.Duration, benchWriters)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range benchWriters {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				t0 := time.Now()
				if _, err := l.Append(ctx, events[i]); err != nil {
					b.Error(err)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) != total {
		b.Fatalf("%d appends succeeded, want %d", len(all), total)
	}
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(float64(len(all))*p))] }
	rate := float64(total) / elapsed.Seconds()
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(total), "ns/op")
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(float64(pct(0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(pct(0.99).Microseconds()), "p99-µs")
	ckpts := 0
	for _, t := range tenants {
		ckpts += len(checkpoints(b, l, t))
	}
	fmt.Fprintf(os.Stderr, "%s: %d events, %d writers, %d firms: %.0f events/s, Append p50 %v p99 %v max %v, %d checkpoints signed\n",
		b.Name(), total, benchWriters, len(tenants), rate, pct(0.50), pct(0.99), all[len(all)-1], ckpts)
}
