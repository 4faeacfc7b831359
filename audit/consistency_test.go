package audit_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/audit"
	"github.com/casevault/casevault/vault"
)

// appendMany appends n sample events to tenant's log, many at a time, so
// that they share group commits.
func appendMany(tb testing.TB, l *audit.Log, tenant string, n int) {
	tb.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := l.Append(context.Background(), sampleEvent(tenant, i)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

// proveTree returns the consistency proof from → to of tenant's log and
// the two roots.
func proveTree(tb testing.TB, l *audit.Log, tenant string, from, to int64) (tlog.TreeProof, tlog.Hash, tlog.Hash) {
	tb.Helper()
	ctx := context.Background()
	p, err := l.ProveTree(ctx, tenant, from, to)
	if err != nil {
		tb.Fatalf("ProveTree(%d, %d): %v", from, to, err)
	}
	fr, err := l.TreeHash(ctx, tenant, from)
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := l.TreeHash(ctx, tenant, to)
	if err != nil {
		tb.Fatal(err)
	}
	return p, fr, tr
}

// TestLog_ProveTree checks consistency proofs between every pair of sizes
// 1..40 and a few large ones against roots computed from the leaves, and
// that a proof of one log does not verify against a fork of it: a copy of
// the file that grew differently from size 30 on.
func TestLog_ProveTree(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t)
	l := env.open(t, nil)
	tenant := newTenant()
	appendMany(t, l, tenant, 30)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// The fork: the same file, copied at size 30.
	fork := &testEnv{Path: filepath.Join(t.TempDir(), "audit.db"), Sealer: env.Sealer, Keys: env.Keys}
	raw, err := os.ReadFile(env.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fork.Path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	l = env.open(t, nil)
	lf := fork.open(t, nil)
	appendMany(t, l, tenant, 1200)
	appendMany(t, lf, tenant, 60)

	all := leaves(t, l, tenant)
	roots := map[int64]tlog.Hash{}
	rootOf := func(n int64) tlog.Hash {
		if r, ok := roots[n]; ok {
			return r
		}
		roots[n] = treeHash(t, all[:n])
		return roots[n]
	}
	check := func(from, to int64) {
		t.Helper()
		p, fr, tr := proveTree(t, l, tenant, from, to)
		if fr != rootOf(from) || tr != rootOf(to) {
			t.Fatalf("ProveTree(%d, %d): roots differ from the leaves'", from, to)
		}
		if err := audit.VerifyConsistency(from, fr, to, tr, p); err != nil {
			t.Fatalf("proof %d → %d: %v", from, to, err)
		}
		if from < to {
			if err := tlog.CheckTree(p, to, tr, from, rootOf(from+1)); err == nil && rootOf(from+1) != fr {
				t.Fatalf("proof %d → %d verifies another old root", from, to)
			}
		}
	}
	for from := int64(1); from <= 40; from++ {
		for to := from; to <= 40; to++ {
			check(from, to)
		}
	}
	size := int64(len(all))
	for _, tt := range [][2]int64{{1, size}, {30, size}, {512, 1024}, {513, 1024}, {777, size - 1}, {size, size}, {1023, 1025}} {
		check(tt[0], tt[1])
	}

	// The fork shares sizes 1..30 and nothing after.
	for _, tt := range [][2]int64{{10, 50}, {30, 31}, {30, 90}, {31, 90}, {60, 90}} {
		from, to := tt[0], tt[1]
		pf, ffr, ftr := proveTree(t, lf, tenant, from, to)
		if err := audit.VerifyConsistency(from, ffr, to, ftr, pf); err != nil {
			t.Fatalf("fork's own proof %d → %d: %v", from, to, err)
		}
		if ftr == rootOf(to) {
			t.Fatalf("fork has the same root at %d", to)
		}
		// The fork's proof does not take the real log's root at from to
		// the fork's root at to, unless they agree at from (from ≤ 30),
		// and the real log's proof never reaches the fork's root.
		p, _, _ := proveTree(t, l, tenant, from, to)
		if err := audit.VerifyConsistency(from, rootOf(from), to, ftr, p); err == nil {
			t.Fatalf("real proof %d → %d verifies the fork's root", from, to)
		}
		err = audit.VerifyConsistency(from, rootOf(from), to, ftr, pf)
		if agree := from <= 30; agree != (err == nil) {
			t.Fatalf("fork's proof %d → %d from the real root: err %v, want error %v", from, to, err, !agree)
		}
		if from <= 30 && ffr != rootOf(from) {
			t.Fatalf("fork differs at %d, before it forked", from)
		}
	}

	for _, tt := range [][2]int64{{0, 5}, {6, 5}, {-1, 3}} {
		_, err := l.ProveTree(ctx, tenant, tt[0], tt[1])
		assertCode(t, err, vault.EINVALID)
	}
	_, err = l.ProveTree(ctx, tenant, 1, size+1)
	assertCode(t, err, vault.ENOTFOUND)
	_, err = l.TreeHash(ctx, tenant, size+1)
	assertCode(t, err, vault.ENOTFOUND)
	_, err = l.ProveTree(ctx, newTenant(), 1, 1)
	assertCode(t, err, vault.ENOTFOUND)
}
