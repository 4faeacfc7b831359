package vaulttest

import (
	"context"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// BenchEvents returns how many events an audit benchmark appends:
// CASEVAULT_BENCH_EVENTS when it is set (a bad value fails b), else def.
func BenchEvents(b *testing.B, def int) int {
	b.Helper()
	s := os.Getenv("CASEVAULT_BENCH_EVENTS")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		b.Fatalf("CASEVAULT_BENCH_EVENTS=%q: %v", s, err)
	}
	return n
}

// AppendAll appends events to l from writers goroutines at once, each
// taking the next event not yet appended, and returns how long they took.
// An append that fails fails b.
func AppendAll(b *testing.B, l vault.AuditLog, events []*vault.AuditEvent, writers int) time.Duration {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range writers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(events)) {
					return
				}
				if _, err := l.Append(ctx, events[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}
