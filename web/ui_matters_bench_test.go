package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"
)

// BenchmarkUI_MatterPage measures the server time of GET /matters/:id for
// a matter of 1,000 documents, over real HTTP on loopback with a signed-in
// session: the whole request, from the first byte sent to the last byte of
// the page read, 200 times per iteration (page 1 by name, then by size
// descending, then page 20 by update time). It prints p50 and p99; the
// target is p99 < 50 ms.
func BenchmarkUI_MatterPage(b *testing.B) {
	e := newEnv(b)
	owner, email, password := e.uiUser(b, "", "")
	m, err := e.Svc.CreateMatter(context.Background(), owner, "Big matter", "Big Client")
	if err != nil {
		b.Fatal(err)
	}
	const docs = 1000
	seedDocuments(b, e.Svc, owner, m.ID, docs)
	u := mattersSession(b, e.Server.URL(), email, password)
	queries := []string{"", "?sort=size&dir=desc", "?sort=updated&dir=asc&page=20"}
	get := func(q string) time.Duration {
		start := time.Now()
		resp, err := u.c.Get(u.base + "/matters/" + m.ID + q)
		if err != nil {
			b.Fatal(err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET: %d, %v", resp.StatusCode, err)
		}
		return time.Since(start)
	}
	for _, q := range queries {
		get(q) // warm the connection and the caches
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var took []time.Duration
		for j := range 200 {
			took = append(took, get(queries[j%len(queries)]))
		}
		slices.Sort(took)
		p := func(q float64) time.Duration { return took[int(q*float64(len(took)-1))] }
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b.ReportMetric(ms(p(0.5)), "p50-ms")
		b.ReportMetric(ms(p(0.99)), "p99-ms")
		fmt.Fprintf(os.Stderr, "matter page, %d documents: %d requests, p50 %.1f ms, p99 %.1f ms, max %.1f ms (target p99 < 50 ms)\n",
			docs, len(took), ms(p(0.5)), ms(p(0.99)), ms(took[len(took)-1]))
	}
}
