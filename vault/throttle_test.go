package vault_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
)

// The documented rules (README, "Sign-in throttle"): five free failures per
// account and address, then a wait of 1 s doubling per failure up to 15
// minutes; 100 failures of an account within an hour refuse its failing
// addresses until the hour ends.
const (
	freeFailures = 5
	maxDelay     = 15 * time.Minute
	ceiling      = 100
	window       = time.Hour
)

// signIn tries a sign-in and returns its error (nil on success).
func (e *env) signIn(email, password, source string) error {
	_, _, err := e.Svc.Login(context.Background(), email, password, source)
	return err
}

// wantRefused fails unless err is rate_limited with Retry-After wait.
func wantRefused(tb testing.TB, err error, wait time.Duration) {
	tb.Helper()
	wantCode(tb, err, vault.ERATELIMITED)
	if got := vault.RetryAfter(err); got != wait {
		tb.Fatalf("RetryAfter = %v, want %v", got, wait)
	}
}

// throttleNotices counts the audit records of refused attempts.
func (e *env) throttleNotices() int {
	n := 0
	for _, ev := range e.Audit.Events() {
		if ev.Details["reason"] == "rate_limited" {
			n++
		}
	}
	return n
}

func TestService_Login_ThrottlePair(t *testing.T) {
	e := newEnv(t, nil)
	tenant, _ := e.firm(t, "Firm", "us")
	u := e.member(t, tenant.ID, vault.RoleLawyer)
	const office, home = "198.51.100.7", "203.0.113.9"

	for range freeFailures {
		wantCode(t, e.signIn(u.Email, "wrong password!", office), vault.EUNAUTHORIZED)
	}
	// The sixth attempt from that address waits a second, even with the
	// right password, and is refused without a password check.
	err := e.signIn(u.Email, testPassword, office)
	wantRefused(t, err, time.Second)
	if msg := vault.ErrorMessage(err); !strings.Contains(msg, "Try again in 1 second.") {
		t.Errorf("message = %q, want when to retry", msg)
	}
	// The owner signs in from another address at once.
	if err := e.signIn(u.Email, testPassword, home); err != nil {
		t.Fatalf("Login from another address: %v", err)
	}

	// Each further failure doubles the wait, up to 15 minutes. Hammering
	// during a wait is refused and recorded once per wait.
	wait := time.Second
	for range 11 {
		e.clock.Add(wait)
		wantCode(t, e.signIn(u.Email, "wrong password!", office), vault.EUNAUTHORIZED)
		wait = min(2*wait, maxDelay)
		before := e.throttleNotices()
		for range 5 {
			wantRefused(t, e.signIn(u.Email, "wrong password!", office), wait)
		}
		if got, want := e.throttleNotices()-before, 1; got != want {
			t.Fatalf("a block hammered 5 times is recorded %d times, want %d", got, want)
		}
	}
	if wait != maxDelay {
		t.Fatalf("wait after 16 failures = %v, want the maximum %v", wait, maxDelay)
	}
	// At the longest wait, still no lockout from elsewhere.
	if err := e.signIn(u.Email, testPassword, home); err != nil {
		t.Fatalf("Login from another address: %v", err)
	}

	// From the same address: refused until the wait is over, then the
	// right password succeeds and resets the pair.
	e.clock.Add(maxDelay - time.Second)
	wantRefused(t, e.signIn(u.Email, testPassword, office), time.Second)
	e.clock.Add(time.Second)
	if err := e.signIn(u.Email, testPassword, office); err != nil {
		t.Fatalf("Login after the wait: %v", err)
	}
	for range freeFailures {
		wantCode(t, e.signIn(u.Email, "wrong password!", office), vault.EUNAUTHORIZED)
	}
	wantRefused(t, e.signIn(u.Email, testPassword, office), time.Second)
}

func TestService_Login_ThrottleKeys(t *testing.T) {
	e := newEnv(t, nil)
	tenant, _ := e.firm(t, "Firm", "us")
	u := e.member(t, tenant.ID, vault.RoleLawyer)
	other := e.member(t, tenant.ID, vault.RoleLawyer)

	t.Run("UnknownAccount", func(t *testing.T) {
		// An email without an account is throttled exactly alike, so the
		// throttle tells nothing about which accounts exist.
		for range freeFailures {
			wantCode(t, e.signIn("ghost@example.com", testPassword, ""), vault.EUNAUTHORIZED)
		}
		wantRefused(t, e.signIn("GHOST@example.com ", testPassword, ""), time.Second)
	})

	t.Run("Office", func(t *testing.T) {
		// Many failures on many accounts from one IPv6 /64, in its various
		// spellings, block no one else behind it: not another account,
		// and not the failing accounts' owners from the same address.
		for i := range 40 {
			src := fmt.Sprintf("2001:db8:1:2::%x", i+1)
			if i%2 == 1 {
				src = "[" + src + "]:443"
			}
			wantCode(t, e.signIn(fmt.Sprintf("guess%d@example.com", i%8), testPassword, src), vault.EUNAUTHORIZED)
		}
		if err := e.signIn(u.Email, testPassword, "2001:db8:1:2:ffff::1"); err != nil {
			t.Fatalf("Login behind the same /64: %v", err)
		}
		// The pair is the /64: its spellings and neighbours are one source.
		for i := range freeFailures {
			src := []string{"2001:db8:1:3::1", "[2001:db8:1:3::2]:80", "2001:db8:1:3:ffff::9"}[i%3]
			wantCode(t, e.signIn(other.Email, "wrong password!", src), vault.EUNAUTHORIZED)
		}
		wantRefused(t, e.signIn(other.Email, testPassword, "2001:db8:1:3::7"), time.Second)
		// IPv4 spellings are one address; a neighbour is another.
		for i := range freeFailures {
			src := []string{"192.0.2.9", "192.0.2.9:5555", "::ffff:192.0.2.9"}[i%3]
			wantCode(t, e.signIn(u.Email, "wrong password!", src), vault.EUNAUTHORIZED)
		}
		wantRefused(t, e.signIn(u.Email, testPassword, "::ffff:192.0.2.9"), time.Second)
		if err := e.signIn(u.Email, testPassword, "192.0.2.10"); err != nil {
			t.Fatalf("Login from a neighbour: %v", err)
		}
	})

	t.Run("ResetOnSuccess", func(t *testing.T) {
		v := e.member(t, tenant.ID, vault.RoleLawyer)
		for range 3 {
			for range freeFailures - 1 {
				wantCode(t, e.signIn(v.Email, "wrong password!", ""), vault.EUNAUTHORIZED)
			}
			if err := e.signIn(v.Email, testPassword, ""); err != nil {
				t.Fatalf("Login after %d failures: %v", freeFailures-1, err)
			}
		}
	})

	t.Run("Parallel", func(t *testing.T) {
		// Parallel guesses from one pair get no more than the free ones:
		// an attempt counts from the moment it is let through.
		v := e.member(t, tenant.ID, vault.RoleLawyer)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for range 32 {
			wg.Go(func() {
				code := vault.ErrorCode(e.signIn(v.Email, "wrong password!", "192.0.2.77"))
				mu.Lock()
				codes[code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if codes[vault.EUNAUTHORIZED] != freeFailures || codes[vault.ERATELIMITED] != 32-freeFailures {
			t.Fatalf("32 parallel guesses: %v, want %d checked and the rest refused", codes, freeFailures)
		}
	})
}

func TestService_Login_ThrottleCeiling(t *testing.T) {
	e := newEnv(t, nil)
	tenant, _ := e.firm(t, "Firm", "us")
	u := e.member(t, tenant.ID, vault.RoleLawyer)
	addr := func(i int) string { return fmt.Sprintf("198.51.100.%d", i) }

	// 1,000 failures spread over 100 addresses: ten rounds, one an hour.
	// Each round takes the account over its ceiling; the owner signs in
	// from an address that is not failing at once, every time.
	failures := 0
	for round := range 10 {
		for i := range 100 {
			err := e.signIn(u.Email, "wrong password!", addr(i))
			wantCode(t, err, vault.EUNAUTHORIZED)
			failures++
		}
		if err := e.signIn(u.Email, testPassword, fmt.Sprintf("203.0.113.%d", round)); err != nil {
			t.Fatalf("round %d: owner from a fresh address: %v", round, err)
		}
		if round < 9 {
			e.clock.Add(window)
		}
	}
	if failures != 1000 {
		t.Fatalf("failures = %d, want 1000", failures)
	}

	// Over the ceiling, an address that is failing on the account is
	// refused until the window ends, even with the right password and
	// although its own wait is over; the owner's success elsewhere does
	// not lift that.
	e.clock.Add(10 * time.Minute)
	wantRefused(t, e.signIn(u.Email, testPassword, addr(0)), window-10*time.Minute)
	wantRefused(t, e.signIn(u.Email, "wrong password!", addr(99)), window-10*time.Minute)
	if err := e.signIn(u.Email, testPassword, "203.0.113.200"); err != nil {
		t.Fatalf("owner from a fresh address over the ceiling: %v", err)
	}
	wantRefused(t, e.signIn(u.Email, testPassword, addr(0)), window-10*time.Minute)
	// A fresh address has its password checked, and once it fails, it is
	// a failing address too: past the ceiling each address gets one guess.
	wantCode(t, e.signIn(u.Email, "wrong password!", "203.0.113.201"), vault.EUNAUTHORIZED)
	wantRefused(t, e.signIn(u.Email, testPassword, "203.0.113.201"), window-10*time.Minute)

	// When the window ends, the failing address is back to its own wait:
	// ten failures, 32 s after the last, long over.
	e.clock.Add(window - 10*time.Minute)
	if err := e.signIn(u.Email, testPassword, addr(0)); err != nil {
		t.Fatalf("Login from a failing address after the window: %v", err)
	}
}

func TestService_Login_ThrottleShared(t *testing.T) {
	dir := t.TempDir()
	a := openEnv(t, dir, nil)
	tenant, _ := a.firm(t, "Firm", "us")
	u := a.member(t, tenant.ID, vault.RoleLawyer)
	const office = "198.51.100.7"

	// Two Services on the same database file (two processes) share the
	// counts: three failures through one and two through the other use up
	// the pair's free failures on both.
	b := openEnv(t, dir, nil)
	for i := range freeFailures {
		x := a
		if i%2 == 1 {
			x = b
		}
		wantCode(t, x.signIn(u.Email, "wrong password!", office), vault.EUNAUTHORIZED)
	}
	wantRefused(t, a.signIn(u.Email, testPassword, office), time.Second)
	wantRefused(t, b.signIn(u.Email, testPassword, office), time.Second)
	// One failure more after the wait makes it 2 s.
	a.clock.Add(time.Second)
	b.clock.Add(time.Second)
	wantCode(t, b.signIn(u.Email, "wrong password!", office), vault.EUNAUTHORIZED)

	// A restart (the database closed and opened again) forgets nothing.
	if err := a.DB.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.DB.Close(); err != nil {
		t.Fatal(err)
	}
	c := openEnv(t, dir, nil) // on the same clock: 2 s after the first failure
	c.clock.Add(2 * time.Second)
	wantRefused(t, c.signIn(u.Email, testPassword, office), time.Second)
	c.clock.Add(time.Second)
	if err := c.signIn(u.Email, testPassword, office); err != nil {
		t.Fatalf("Login after the wait, after a restart: %v", err)
	}
}

func TestService_ChangePassword_Throttle(t *testing.T) {
	e := newEnv(t, nil)
	tenant, _ := e.firm(t, "Firm", "us")
	u := e.member(t, tenant.ID, vault.RoleLawyer)
	const office, home = "198.51.100.7", "203.0.113.9"
	from := func(src string) context.Context {
		return vault.WithRequestMeta(context.Background(), vault.RequestMeta{Source: src})
	}
	const newPassword = "a brand new passphrase"

	// Wrong current passwords are throttled per account and address, with
	// the same counts as sign-in.
	for range freeFailures - 1 {
		wantCode(t, e.Svc.ChangePassword(from(office), u, "not my password", newPassword), vault.EFORBIDDEN)
	}
	wantCode(t, e.signIn(u.Email, "wrong password!", office), vault.EUNAUTHORIZED)
	before := e.throttleNotices()
	wantRefused(t, e.Svc.ChangePassword(from(office), u, testPassword, newPassword), time.Second)
	wantRefused(t, e.Svc.ChangePassword(from(office), u, testPassword, newPassword), time.Second)
	if got, want := e.throttleNotices()-before, 1; got != want {
		t.Errorf("refused password changes recorded %d times, want %d", got, want)
	}
	wantRefused(t, e.signIn(u.Email, testPassword, office), time.Second)
	// From elsewhere, the right current password is checked at once.
	if err := e.Svc.ChangePassword(from(home), u, testPassword, newPassword); err != nil {
		t.Fatalf("ChangePassword from another address: %v", err)
	}
	e.clock.Add(time.Second)
	if err := e.Svc.ChangePassword(from(office), u, newPassword, testPassword); err != nil {
		t.Fatalf("ChangePassword after the wait: %v", err)
	}

	// Over the account's ceiling, failing addresses are refused and fresh
	// ones are checked, as at sign-in.
	v := e.member(t, tenant.ID, vault.RoleLawyer)
	for i := range ceiling {
		wantCode(t, e.Svc.ChangePassword(from(fmt.Sprintf("198.51.100.%d", i)), v, "not my password", newPassword), vault.EFORBIDDEN)
	}
	wantRefused(t, e.Svc.ChangePassword(from("198.51.100.3"), v, testPassword, newPassword), window)
	if err := e.Svc.ChangePassword(from(home), v, testPassword, newPassword); err != nil {
		t.Fatalf("ChangePassword from a fresh address over the ceiling: %v", err)
	}
}

// TestService_ThrottleAtRest fails sign-ins with marker emails and sources
// and checks that nothing under the data directory holds them: the
// throttle's rows are keyed by blind indexes.
func TestService_ThrottleAtRest(t *testing.T) {
	e := newEnv(t, nil)
	tenant, _ := e.firm(t, "Firm", "us")
	u := e.member(t, tenant.ID, vault.RoleLawyer)
	markers := []string{
		"zq7-throttle-email@marker.example", // an email with no account
		"zq7-throttle-source",               // a source that is not an IP address
		"192.0.2.213",                       // an IPv4 source
		"2001:db8:7a7a:1313",                // the /64 of an IPv6 source
	}
	sources := []string{markers[1], markers[2], markers[3] + "::5"}
	for _, src := range sources {
		for _, email := range []string{markers[0], u.Email} {
			for range freeFailures + 2 {
				err := e.signIn(email, "wrong password!", src)
				if c := vault.ErrorCode(err); c != vault.EUNAUTHORIZED && c != vault.ERATELIMITED {
					t.Fatalf("Login: %v", err)
				}
			}
		}
	}
	e.clock.Add(time.Second)
	if err := e.signIn(u.Email, testPassword, markers[2]); err != nil {
		t.Fatal(err)
	}
	ctx := vault.WithRequestMeta(context.Background(), vault.RequestMeta{Source: markers[1]})
	wantCode(t, e.Svc.ChangePassword(ctx, u, "not my password", "a brand new passphrase"), vault.EFORBIDDEN)

	// The rows are there, keyed by 32-byte indexes only.
	db, err := sql.Open("sqlite", filepath.Join(e.Dir, "casevault.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pairs, accounts, odd int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM throttle_pairs), (SELECT COUNT(*) FROM throttle_accounts),
		(SELECT COUNT(*) FROM throttle_pairs WHERE length(key) <> 32) + (SELECT COUNT(*) FROM throttle_accounts WHERE length(key) <> 32)`,
	).Scan(&pairs, &accounts, &odd); err != nil {
		t.Fatal(err)
	}
	if got, want := pairs, 2*len(sources)-1; got != want || accounts != 2 || odd != 0 {
		t.Errorf("throttle rows: %d pairs, %d accounts, %d odd keys; want %d, 2, 0", pairs, accounts, odd, want)
	}
	for _, m := range markers {
		for _, spelling := range []string{m, strings.ToUpper(m)} {
			if hits := grepTree(t, e.Dir, []byte(spelling)); len(hits) > 0 {
				t.Errorf("marker %q found in %v", spelling, hits)
			}
		}
	}
}
