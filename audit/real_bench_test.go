package audit_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault/vaulttest"
)

// benchEvents is the number of events of the 1M benchmarks:
// CASEVAULT_BENCH_EVENTS, or a million.
func benchEvents(b *testing.B) int { return vaulttest.BenchEvents(b, 1_000_000) }

// fillLog appends n sample events to tenant's log through Append, from 64
// writers, and returns how long it took.
func fillLog(b *testing.B, l *audit.Log, tenant string, n int) time.Duration {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if _, err := l.Append(ctx, sampleEvent(tenant, int(i))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkLog_Export1M exports and verifies a million events from the real
// SQLite audit log (not a synthetic source): the log is filled through
// Append by 64 writers first (a few minutes; not timed), then WriteBundle
// streams the complete bundle to a counter, and WriteBundle piped into
// Verify checks it, each with its time and peak memory. CASEVAULT_BENCH_EVENTS
// changes the number of events. Run with
//
//	go test -run '^$' -bench Export1M -benchtime 1x -timeout 30m ./audit/
func BenchmarkLog_Export1M(b *testing.B) {
	n := benchEvents(b)
	env := newTestEnv(b)
	l := env.open(b, nil)
	tenant := newTenant()
	ctx := context.Background()

	fill := fillLog(b, l, tenant, n)
	if b.Failed() {
		return
	}
	fi, _ := os.Stat(env.Path)
	opener := audit.SealerOpener{Sealer: env.Sealer}

	b.ResetTimer()
	for range b.N {
		var size countWriter
		now := time.Now()
		m := measure(func() {
			if err := audit.WriteBundle(ctx, &size, l, opener, tenant, audit.Filter{}, now); err != nil {
				b.Fatal(err)
			}
		})
		var res *audit.VerifyResult
		v := measure(func() {
			pr, pw := io.Pipe()
			go func() {
				pw.CloseWithError(audit.WriteBundle(ctx, pw, l, opener, tenant, audit.Filter{}, now))
			}()
			var err error
			if res, err = audit.Verify(pr, audit.VerifyOptions{}); err != nil {
				b.Fatal(err)
			}
		})
		if res.Events < int64(n) {
			b.Fatalf("verified %d events, want %d", res.Events, n)
		}
		// Verification alone, as an auditor runs it on a file.
		path := filepath.Join(b.TempDir(), "bundle.jsonl")
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := audit.WriteBundle(ctx, f, l, opener, tenant, audit.Filter{}, now); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		vf := measure(func() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if _, err := audit.Verify(f, audit.VerifyOptions{}); err != nil {
				b.Fatal(err)
			}
		})
		os.Remove(path)
		b.ReportMetric(m.seconds, "export-s")
		b.ReportMetric(m.rssMiB, "export-peak-rss-MiB")
		b.ReportMetric(v.seconds, "export+verify-s")
		b.ReportMetric(v.rssMiB, "verify-peak-rss-MiB")
		b.ReportMetric(vf.seconds, "verify-file-s")
		fmt.Fprintf(os.Stderr, "BenchmarkLog_Export1M: %d events in the SQLite log (%.0f MiB, filled in %.0f s), %d checkpoints, bundle %.0f MiB\n"+
			"  WriteBundle to a counter:    %.2f s, peak heap %.1f MiB, peak RSS %.1f MiB%s\n"+
			"  WriteBundle | pipe | Verify: %.2f s, peak heap %.1f MiB, peak RSS %.1f MiB%s\n"+
			"  Verify of the bundle file:   %.2f s, peak heap %.1f MiB, peak RSS %.1f MiB%s\n",
			n, float64(fi.Size())/(1<<20), fill.Seconds(), res.Checkpoints, float64(size)/(1<<20),
			m.seconds, m.heapMiB, m.rssMiB, m.rssNote, v.seconds, v.heapMiB, v.rssMiB, v.rssNote,
			vf.seconds, vf.heapMiB, vf.rssMiB, vf.rssNote)
	}
}
