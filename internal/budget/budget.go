// Package budget bounds memory that grows with the number of transfers at
// once (an S3 store's upload buffers, the key manager's read-ahead) and
// counts its use for monitoring.
package budget

import (
	"context"
	"sync/atomic"

	"golang.org/x/sync/semaphore"

	"github.com/casevault/casevault/vault"
)

// Budget is a number of bytes that holders take and give back. It is safe
// for concurrent use.
type Budget struct {
	sem     *semaphore.Weighted
	limit   int64
	inUse   atomic.Int64
	waiting atomic.Int64
	denied  atomic.Int64
}

// New returns a budget of limit bytes.
func New(limit int64) *Budget { return &Budget{sem: semaphore.NewWeighted(limit), limit: limit} }

// Limit is the budget's size in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Acquire takes n bytes, waiting (and counted as waiting) until they are
// free or ctx ends, whose error it then returns.
func (b *Budget) Acquire(ctx context.Context, n int64) error {
	if !b.sem.TryAcquire(n) {
		b.waiting.Add(1)
		err := b.sem.Acquire(ctx, n)
		b.waiting.Add(-1)
		if err != nil {
			return err
		}
	}
	b.inUse.Add(n)
	return nil
}

// TryAcquire takes n bytes if they are free now; a refusal is counted as
// denied.
func (b *Budget) TryAcquire(n int64) bool {
	if !b.sem.TryAcquire(n) {
		b.denied.Add(1)
		return false
	}
	b.inUse.Add(n)
	return true
}

// Release gives back n bytes taken by Acquire or TryAcquire.
func (b *Budget) Release(n int64) {
	b.inUse.Add(-n)
	b.sem.Release(n)
}

// Report says how the budget stands: its limit, the bytes held, the
// holders waiting in Acquire now, and the TryAcquire refusals so far.
func (b *Budget) Report() vault.MemoryBudget {
	return vault.MemoryBudget{Limit: b.limit, InUse: b.inUse.Load(), Waiting: b.waiting.Load(), Denied: b.denied.Load()}
}
