package audit_test

import (
	"context"
	"fmt"
	"os"
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
// on (off_hours too, with every hour working time, and each user signed
// in with an API token of their own, for token_new_source), the events
// spread over 512 users so that none trips a rule at the defaults. Each variant
// appends CASEVAULT_BENCH_EVENTS events (default 20000) to a log of its
// own, in 20 batches taking turns; it prints events/s of each and the
// ratios on/off and on/bare (target ≥ 0.9). An alert that fires costs one
// more durable append and an alert row, outside this measure.
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
	// Every hour of every day is working time: off_hours is evaluated on
	// every event and fires on none.
	on.WorkingHours = vault.WorkingHours{TimeZone: "America/Toronto", Start: "00:00", End: "24:00",
		Weekdays: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}}
	off := vault.DefaultDetectionSettings()
	for id, r := range off.Rules {
		r.Enabled = false
		off.Rules[id] = r
	}
	open := func(name string, st *vault.DetectionSettings) vault.AuditLog {
		env := newTestEnv(b)
		env.Path = fmt.Sprintf("%s/audit-%s.db", b.TempDir(), name)
		l := env.open(b, func(o *audit.Options) { o.CheckpointInterval = 0; o.Sealer = v.Keys })
		if st == nil {
			return l
		}
		e := detect.New(detect.Options{Store: v.DB, SourceHash: v.Svc.TokenSourceHash})
		for _, t := range tenants {
			e.Configure(t, *st)
		}
		return v.Svc.WithDetection(l, e)
	}
	// Alerts are raised through the Service's log: the rules-on one.
	names := []string{"bare", "off", "on"}
	logs := map[string]vault.AuditLog{"bare": open("bare", nil), "off": open("off", &off), "on": open("on", &on)}
	v.Svc.Audit = logs["on"]
	total := max(vaulttest.BenchEvents(b, 20000), b.N)
	events := map[string][]*vault.AuditEvent{}
	for _, n := range names {
		events[n] = detectEvents(total, tenants)
	}
	// The variants take turns, a batch of events at a time, in rotating
	// order, so that a machine getting busier or quieter during the run
	// weighs on each alike.
	const batches = 20
	spent := map[string]time.Duration{}
	b.ResetTimer()
	for i := range batches {
		from, to := total*i/batches, total*(i+1)/batches
		for j := range names {
			n := names[(i+j)%len(names)]
			spent[n] += benchDetectAppend(b, logs[n], events[n][from:to])
		}
	}
	b.StopTimer()
	rate := func(n string) float64 { return float64(total) / spent[n].Seconds() }
	raised := 0
	for _, t := range tenants {
		as, err := v.DB.Alerts(context.Background(), t, "")
		if err != nil {
			b.Fatal(err)
		}
		raised += len(as)
	}
	b.ReportMetric(rate("on")/rate("off"), "on/off")
	b.ReportMetric(rate("on")/rate("bare"), "on/bare")
	fmt.Fprintf(os.Stderr, "%s: %d events each, %d batches in turn: bare %.0f, rules off %.0f, rules on %.0f events/s; on/off %.3f, on/bare %.3f; %d alerts\n",
		b.Name(), total, batches, rate("bare"), rate("off"), rate("on"), rate("on")/rate("off"), rate("on")/rate("bare"), raised)
}

// benchUsers is how many users the events are spread over (64 a firm):
// at the default thresholds, 20000 events trip no rule.
const benchUsers = 512

// detectEvents returns total sample events over tenants (every 50th of
// the service log), by benchUsers users, stamped now.
func detectEvents(total int, tenants []string) []*vault.AuditEvent {
	now := time.Now().UTC()
	events := make([]*vault.AuditEvent, total)
	for i := range events {
		tenant := ""
		if i%50 != 0 {
			tenant = tenants[i%len(tenants)]
		}
		ev := sampleEvent(tenant, i)
		ev.ActorID = fmt.Sprintf("usr_%026d", i%benchUsers)
		ev.Time = now
		events[i] = ev
	}
	return events
}

// benchDetectAppend appends events through log from 32 writers, each
// request signed in with its firm's API token, and returns the time taken.
func benchDetectAppend(b *testing.B, log vault.AuditLog, events []*vault.AuditEvent) time.Duration {
	// Each user signs in with an API token of their own.
	ctxOf := func(ev *vault.AuditEvent) context.Context {
		if ev.TenantID == "" {
			return context.Background()
		}
		return vault.ContextWithToken(context.Background(), &vault.Token{ID: "tok" + ev.ActorID[3:], TenantID: ev.TenantID, Kind: vault.TokenAPI})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range benchWriters {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(events)) {
					return
				}
				if _, err := log.Append(ctxOf(events[i]), events[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}
