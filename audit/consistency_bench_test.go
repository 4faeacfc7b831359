package audit_test

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/casevault/casevault/audit"
)

// BenchmarkLog_Consistency1M times consistency proofs in the real SQLite
// audit log of a million events (filled through Append by 64 writers
// first, as BenchmarkLog_Export1M does; not timed): each operation is one
// Log.ProveTree from a random earlier size to the full tree, with the two
// roots (Log.TreeHash) an API answer carries, checked with
// audit.VerifyConsistency. CASEVAULT_BENCH_EVENTS changes the number of
// events. Run with
//
//	go test -run '^$' -bench Consistency1M -benchtime 2000x -timeout 30m ./audit/
func BenchmarkLog_Consistency1M(b *testing.B) {
	n := int64(benchEvents(b))
	env := newTestEnv(b)
	l := env.open(b, nil)
	tenant := newTenant()
	ctx := context.Background()
	fill := fillLog(b, l, tenant, int(n))
	if b.Failed() {
		return
	}
	r := mrand.New(mrand.NewPCG(7, 11))
	var hashes int
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		from := r.Int64N(n) + 1
		p, err := l.ProveTree(ctx, tenant, from, n)
		if err != nil {
			b.Fatal(err)
		}
		fr, err := l.TreeHash(ctx, tenant, from)
		if err != nil {
			b.Fatal(err)
		}
		tr, err := l.TreeHash(ctx, tenant, n)
		if err != nil {
			b.Fatal(err)
		}
		if err := audit.VerifyConsistency(from, fr, n, tr, p); err != nil {
			b.Fatal(err)
		}
		hashes += len(p)
	}
	per := time.Since(start) / time.Duration(b.N)
	b.StopTimer()
	b.ReportMetric(float64(per.Microseconds()), "µs/proof+roots")
	b.ReportMetric(float64(hashes)/float64(b.N), "hashes/proof")
	// The proof alone, as the bundle export asks for it.
	start = time.Now()
	const alone = 1000
	for range alone {
		if _, err := l.ProveTree(ctx, tenant, r.Int64N(n)+1, n); err != nil {
			b.Fatal(err)
		}
	}
	proofOnly := time.Since(start) / alone
	b.ReportMetric(float64(proofOnly.Microseconds()), "µs/proof")
	fmt.Fprintf(os.Stderr, "BenchmarkLog_Consistency1M: %d events (filled in %.0f s); ProveTree+2×TreeHash+check %v, ProveTree alone %v, %.1f hashes per proof\n",
		n, fill.Seconds(), per, proofOnly, float64(hashes)/float64(b.N))
}
