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
	"github.com/casevault/casevault/detect"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// BenchmarkAppend_Detection measures the cost of breach detection on
// durable appends (as BenchmarkLog_Append: 32 writers, 8 firms with real
// Tink field keys, checkpoints at the defaults), in one run: the bare log,
// the log wrapped by detection with every rule off, and with every rule
// on (off_hours too, with hours no event falls in, and each request
// signed in with an API token, so token_new_source hashes every event's
// source). Each variant appends CASEVAULT_BENCH_EVENTS events (default
// 20000) to a fresh log, in three rounds in rotating order; it prints the
// median events/s of each and the ratios on/off and on/bare (target ≥ 0.9).
func BenchmarkAppend_Detection(b *testing.B) {
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
	on := vault.DefaultDetectionSettings()
	for id, r := range on.Rules {
		r.Enabled = true
		on.Rules[id] = r
	}
	on.WorkingHours.Weekdays = []string{}
	off := vault.DefaultDetectionSettings()
	for id, r := range off.Rules {
		r.Enabled = false
		off.Rules[id] = r
	}
	variant := func(name string, st *vault.DetectionSettings) float64 {
		env := newTestEnv(b)
		env.Path = fmt.Sprintf("%s/audit-%s-%d.db", b.TempDir(), name, time.Now().UnixNano())
		l := env.open(b, func(o *audit.Options) { o.CheckpointInterval = 0; o.Sealer = v.Keys })
		var log vault.AuditLog = l
		if st != nil {
			e := detect.New(detect.Options{Store: v.DB, SourceHash: v.Svc.TokenSourceHash})
			for _, t := range tenants {
				e.Configure(t, *st)
			}
			log = v.Svc.WithDetection(l, e)
			v.Svc.Audit = log // alerts are raised in the same log
		}
		return benchDetectAppend(b, name, log, tenants)
	}
	// Three rounds, each in another order, so that a machine getting
	// busier or quieter during the run favours no variant.
	rates := map[string][]float64{}
	run := map[string]func() float64{
		"bare": func() float64 { return variant("bare", nil) },
		"off":  func() float64 { return variant("off", &off) },
		"on":   func() float64 { return variant("on", &on) },
	}
	for _, order := range [][]string{{"bare", "off", "on"}, {"on", "bare", "off"}, {"off", "on", "bare"}} {
		for _, k := range order {
			rates[k] = append(rates[k], run[k]())
		}
	}
	median := func(k string) float64 { xs := slices.Clone(rates[k]); slices.Sort(xs); return xs[len(xs)/2] }
	b.ReportMetric(median("on")/median("off"), "on/off")
	b.ReportMetric(median("on")/median("bare"), "on/bare")
	fmt.Fprintf(os.Stderr, "%s: median of 3 rounds: bare %.0f, rules off %.0f, rules on %.0f events/s; on/off %.3f, on/bare %.3f (rounds: bare %.0f, off %.0f, on %.0f)\n",
		b.Name(), median("bare"), median("off"), median("on"), median("on")/median("off"), median("on")/median("bare"), rates["bare"], rates["off"], rates["on"])
}

// benchDetectAppend appends the sample events through log from 32 writers
// and returns events/s.
func benchDetectAppend(b *testing.B, name string, log vault.AuditLog, tenants []string) float64 {
	total := max(vaulttest.BenchEvents(b, 20000), b.N)
	now := time.Now().UTC()
	events := make([]*vault.AuditEvent, total)
	for i := range events {
		tenant := ""
		if i%50 != 0 {
			tenant = tenants[i%len(tenants)]
		}
		ev := sampleEvent(tenant, i)
		ev.ActorID = fmt.Sprintf("usr_%026d", i%64) // 8 users a firm
		ev.Time = now
		events[i] = ev
	}
	tokens := make([]context.Context, len(tenants))
	for i, t := range tenants {
		tokens[i] = vault.ContextWithToken(context.Background(),
			&vault.Token{ID: fmt.Sprintf("tok_%026d", i), TenantID: t, Kind: vault.TokenAPI})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range benchWriters {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				if _, err := log.Append(tokens[int(i)%len(tenants)], events[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	rate := float64(total) / time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "  %s: %d events: %.0f events/s\n", name, total, rate)
	return rate
}
