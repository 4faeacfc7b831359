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
// first, as BenchmarkLog_Export1M does; not timed). Each iteration makes
// 2,000 proofs from a random earlier size to the full tree: Log.ProveTree
// with the two roots (Log.TreeHash) an API answer carries, checked with
// audit.VerifyConsistency; then 2,000 ProveTree calls alone, as a bundle
// export asks for them. CASEVAULT_BENCH_EVENTS changes the number of
// events. Run with
//
//	go test -run '^$' -bench Consistency1M -benchtime 1x -timeout 30m ./audit/
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
	const proofs = 2000
	b.ResetTimer()
	for range b.N {
		var hashes int
		start := time.Now()
		for range proofs {
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
		full := time.Since(start) / proofs
		start = time.Now()
		for range proofs {
			if _, err := l.ProveTree(ctx, tenant, r.Int64N(n)+1, n); err != nil {
				b.Fatal(err)
			}
		}
		alone := time.Since(start) / proofs
		b.ReportMetric(float64(full.Microseconds()), "µs/proof+roots")
		b.ReportMetric(float64(alone.Microseconds()), "µs/proof")
		b.ReportMetric(float64(hashes)/proofs, "hashes/proof")
		fmt.Fprintf(os.Stderr, "BenchmarkLog_Consistency1M: %d events (filled in %.0f s); %d proofs each: ProveTree+2×TreeHash+check %v, ProveTree alone %v, %.1f hashes per proof\n",
			n, fill.Seconds(), proofs, full, alone, float64(hashes)/proofs)
	}
}
