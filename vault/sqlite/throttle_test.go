package sqlite_test

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/sqlite"
)

// throttleKey stands for a blind index.
func throttleKey(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

var throttleT0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// charge counts one failure of pair and account at at, with a 24 h pair
// memory and a 1 h account window, and returns the counts after it.
func charge(tb testing.TB, db *sqlite.DB, pair, account string, at time.Time) vault.ThrottleCounts {
	tb.Helper()
	c, ok, err := db.ChargeThrottle(context.Background(), vault.ThrottleCharge{
		Pair: throttleKey(pair), Account: throttleKey(account), At: at,
		PairExpires: at.Add(24 * time.Hour), WindowEnd: at.Add(time.Hour),
	}, func(vault.ThrottleCounts) bool { return true })
	if err != nil || !ok {
		tb.Fatalf("ChargeThrottle = %v, %v", ok, err)
	}
	return c
}

func counts(tb testing.TB, db *sqlite.DB, pair, account string, at time.Time) vault.ThrottleCounts {
	tb.Helper()
	c, err := db.ThrottleCounts(context.Background(), throttleKey(pair), throttleKey(account), at)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestDB_ChargeThrottle(t *testing.T) {
	db := MustOpenDB(t)
	if got := counts(t, db, "p", "a", throttleT0); got != (vault.ThrottleCounts{}) {
		t.Fatalf("counts of nothing = %+v, want zero", got)
	}
	charge(t, db, "p", "a", throttleT0)
	got := charge(t, db, "p", "a", throttleT0.Add(time.Minute))
	want := vault.ThrottleCounts{PairFailures: 2, PairLast: throttleT0.Add(time.Minute), AccountFailures: 2, AccountWindowEnd: throttleT0.Add(time.Hour)}
	if got != want {
		t.Fatalf("after two charges: %+v, want %+v", got, want)
	}
	// Another source on the account: its own pair, the same account.
	if got := charge(t, db, "q", "a", throttleT0.Add(2*time.Minute)); got.PairFailures != 1 || got.AccountFailures != 3 {
		t.Errorf("other pair: %+v, want 1 pair failure and 3 account failures", got)
	}

	t.Run("Refused", func(t *testing.T) {
		var seen vault.ThrottleCounts
		c, ok, err := db.ChargeThrottle(context.Background(), vault.ThrottleCharge{
			Pair: throttleKey("p"), Account: throttleKey("a"), At: throttleT0.Add(3 * time.Minute),
			PairExpires: throttleT0.Add(25 * time.Hour), WindowEnd: throttleT0.Add(2 * time.Hour),
		}, func(c vault.ThrottleCounts) bool { seen = c; return false })
		if err != nil || ok || c != seen || c.PairFailures != 2 {
			t.Fatalf("refused charge = %+v, %v, %v (allow saw %+v)", c, ok, err, seen)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		// The account's window ends an hour after its first failure; the
		// pair forgets 24 h after its last.
		end := throttleT0.Add(time.Hour)
		if got := counts(t, db, "p", "a", end.Add(-time.Nanosecond)); got.AccountFailures != 3 {
			t.Errorf("just before the window ends: %+v", got)
		}
		if got := counts(t, db, "p", "a", end); got.AccountFailures != 0 || got.PairFailures != 2 {
			t.Errorf("when the window ends: %+v, want the pair only", got)
		}
		if got := charge(t, db, "p", "a", end); got.AccountFailures != 1 || !got.AccountWindowEnd.Equal(end.Add(time.Hour)) || got.PairFailures != 3 {
			t.Errorf("a charge after the window: %+v, want a new window", got)
		}
		if _, err := db.NoticeThrottle(context.Background(), throttleKey("p"), end.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		gone := end.Add(24 * time.Hour)
		if got := counts(t, db, "p", "a", gone); got != (vault.ThrottleCounts{}) {
			t.Errorf("a day after the last failure: %+v, want zero", got)
		}
		got := charge(t, db, "p", "a", gone)
		if got.PairFailures != 1 || !got.PairNoticed.IsZero() {
			t.Errorf("a charge after the pair expired: %+v, want a fresh pair", got)
		}
	})
}

func TestDB_RefundThrottle(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	for range 3 {
		charge(t, db, "p", "a", throttleT0)
	}
	c := charge(t, db, "q", "a", throttleT0)
	if err := db.RefundThrottle(ctx, throttleKey("q"), throttleKey("a"), c.AccountWindowEnd); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, db, "q", "a", throttleT0); got.PairFailures != 0 || got.AccountFailures != 3 {
		t.Errorf("after a refund: %+v, want the pair gone and 3 account failures", got)
	}
	// A refund for a window that has ended leaves the new one alone.
	later := throttleT0.Add(2 * time.Hour)
	charge(t, db, "p", "a", later)
	if err := db.RefundThrottle(ctx, throttleKey("p"), throttleKey("a"), c.AccountWindowEnd); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, db, "p", "a", later); got.PairFailures != 0 || got.AccountFailures != 1 {
		t.Errorf("after a stale refund: %+v, want the pair gone and 1 account failure", got)
	}
}

func TestDB_NoticeThrottle(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	charge(t, db, "p", "a", throttleT0)
	until := throttleT0.Add(time.Minute)
	for i, want := range []bool{true, false, false} {
		if got, err := db.NoticeThrottle(ctx, throttleKey("p"), until); err != nil || got != want {
			t.Fatalf("notice %d = %v, %v; want %v", i, got, err, want)
		}
	}
	if got := counts(t, db, "p", "a", throttleT0); !got.PairNoticed.Equal(until) {
		t.Errorf("PairNoticed = %v, want %v", got.PairNoticed, until)
	}
	if got, err := db.NoticeThrottle(ctx, throttleKey("p"), until.Add(time.Second)); err != nil || !got {
		t.Errorf("a new block: %v, %v; want noticed", got, err)
	}
	if got, err := db.NoticeThrottle(ctx, throttleKey("nothing"), until); err != nil || got {
		t.Errorf("a missing pair: %v, %v; want not noticed", got, err)
	}
	_, err := db.NoticeThrottle(ctx, []byte("short"), until)
	wantCode(t, err, vault.EINVALID)
	_, err = db.ThrottleCounts(ctx, throttleKey("p"), []byte("user@example.com"), until)
	wantCode(t, err, vault.EINVALID)
}

// TestDB_ChargeThrottle_Concurrent charges one pair from two handles on the
// same file (two processes) at once: no count is lost, and a check made
// inside the charge lets exactly as many through as it should.
func TestDB_ChargeThrottle_Concurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "casevault.db")
	dbs := []*sqlite.DB{MustOpenDBAt(t, path), MustOpenDBAt(t, path)}
	run := func(pair string, n int, allow func(vault.ThrottleCounts) bool) int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		passed := 0
		for i := range n {
			wg.Go(func() {
				_, ok, err := dbs[i%2].ChargeThrottle(context.Background(), vault.ThrottleCharge{
					Pair: throttleKey(pair), Account: throttleKey("a"), At: throttleT0,
					PairExpires: throttleT0.Add(24 * time.Hour), WindowEnd: throttleT0.Add(time.Hour),
				}, allow)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				if ok {
					passed++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		return passed
	}
	if got := run("p", 40, func(vault.ThrottleCounts) bool { return true }); got != 40 {
		t.Fatalf("%d charges passed, want 40", got)
	}
	if got := counts(t, dbs[0], "p", "a", throttleT0); got.PairFailures != 40 || got.AccountFailures != 40 {
		t.Errorf("after 40 concurrent charges: %+v", got)
	}
	if got := run("q", 30, func(c vault.ThrottleCounts) bool { return c.PairFailures < 5 }); got != 5 {
		t.Errorf("%d charges passed a check for fewer than 5, want 5", got)
	}
}

func TestDB_PurgeThrottle(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "casevault.db")
	db := MustOpenDBAt(t, path)
	charge(t, db, "kept", "a", throttleT0.Add(time.Hour))
	// Many expired rows, written directly: the purge works in batches.
	raw := rawDB(t, path)
	const n = 2501 // three batches
	if _, err := raw.Exec(`
		WITH RECURSIVE seq (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO throttle_pairs (key, failures, last_at, expires_at)
		SELECT randomblob(32), 1, '2026-11-24T12:00:00.000000000Z', '2026-11-25T11:00:00.000000000Z' FROM seq`, n); err != nil {
		t.Fatal(err)
	}
	now := throttleT0.Add(2*time.Hour + time.Second) // past the window of "kept", not its pair memory
	got, err := db.PurgeThrottle(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := n + 1; got != want {
		t.Errorf("purged %d rows, want %d (the old pairs and the ended window)", got, want)
	}
	if c := counts(t, db, "kept", "a", now); c.PairFailures != 1 {
		t.Errorf("unexpired pair after purge: %+v", c)
	}
	var left int
	if err := raw.QueryRow(`SELECT (SELECT COUNT(*) FROM throttle_pairs) + (SELECT COUNT(*) FROM throttle_accounts)`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 1 {
		t.Errorf("%d rows left, want 1", left)
	}
}
