package vault

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// The sign-in throttle's rules (NIST SP 800-63B §5.2.2, OWASP Authentication
// Cheat Sheet). Failures are counted per account (the normalised email) and
// source (the client address as sourceKey normalises it), so what an
// attacker does from their address slows only their address:
//
//   - A pair's first throttleFreeFailures failures cost nothing but the
//     password check. After them the pair waits throttleFirstDelay after its
//     last failure, doubled by each further failure, up to throttleMaxDelay.
//   - A correct password from a pair resets it; otherwise a pair forgets its
//     failures throttlePairMemory after the last.
//   - An account that has had throttleCeiling failures (from all sources)
//     in a window of throttleWindow is under attack: until the window ends,
//     sources that are failing on it themselves (with failures not yet
//     forgotten) are refused outright, while a source that is not still has
//     its password checked, so the owner signs in from anywhere else.
//
// A refused attempt checks no password: that is the work a throttle exists
// to deny. An attempt that is let through counts as a failure from that
// moment until it succeeds, so parallel requests from one pair cannot all
// pass while the first of them is still being checked.
const (
	throttleFreeFailures = 5
	throttleFirstDelay   = time.Second
	throttleMaxDelay     = 15 * time.Minute
	throttlePairMemory   = 24 * time.Hour
	throttleCeiling      = 100
	throttleWindow       = time.Hour
)

// Throttle slows password guessing at sign-in and at the current-password
// check of a password change. account is a normalised email and source a
// client address as sourceKey normalises it ("" when unknown). The
// database-backed throttle is the Service's default; an in-memory one
// (newMemoryThrottle, the limiter of earlier versions) exists for
// comparison.
type Throttle interface {
	// Check decides whether an attempt on account from source may have its
	// password checked at now. When it may, the caller reports the outcome
	// with Failed or Succeeded. Errors: unavailable, internal.
	Check(ctx context.Context, account, source string, now time.Time) (*Attempt, error)
	// Failed reports that an allowed attempt's password was wrong.
	// Errors: unavailable, internal.
	Failed(ctx context.Context, a *Attempt) error
	// Succeeded reports that an allowed attempt's password was right,
	// which resets its pair. Errors: unavailable, internal.
	Succeeded(ctx context.Context, a *Attempt) error
	// Purge forgets state that has expired at now and returns how many
	// entries it removed. Errors: unavailable, internal.
	Purge(ctx context.Context, now time.Time) (int, error)
}

// Attempt is a Throttle's decision on one attempt.
type Attempt struct {
	// Allowed says the password may be checked.
	Allowed bool
	// Until, when the attempt is refused, is when the same account and
	// source may try again.
	Until time.Time
	// Notice, when the attempt is refused, says that this block has not
	// been refused before, anywhere: the caller records it in the audit
	// log. Later refusals of the same block are not recorded, so hammering
	// a blocked pair cannot fill the audit disk.
	Notice bool

	at time.Time

	// The pair and account of the attempt, as the implementation that
	// issued it keys them.
	account, source  string    // memoryThrottle
	pairKey, acctKey []byte    // storeThrottle
	windowEnd        time.Time // storeThrottle: the account window it was counted in
}

// refusal is the rate_limited error for a refused attempt at now.
func (a *Attempt) refusal(what string, now time.Time) error {
	wait := a.Until.Sub(now)
	err := Errorf(ERATELIMITED, "%s Try again in %s.", what, waitText(wait))
	err.RetryAfter = wait
	return err
}

// waitText renders a wait for a message: seconds under a minute, else
// minutes, rounded up.
func waitText(d time.Duration) string {
	if d < time.Minute {
		s := int((d + time.Second - 1) / time.Second)
		if s <= 1 {
			return "1 second"
		}
		return fmt.Sprintf("%d seconds", s)
	}
	m := int((d + time.Minute - 1) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// throttleDelay is how long after its last failure a pair with n failures
// waits before its next attempt.
func throttleDelay(n int) time.Duration {
	if n < throttleFreeFailures {
		return 0
	}
	d := throttleFirstDelay
	for i := throttleFreeFailures; i < n && d < throttleMaxDelay; i++ {
		d *= 2
	}
	return min(d, throttleMaxDelay)
}

// ThrottleCounts is what the database holds about one attempt's pair and
// account. A pair or account with nothing unexpired has zero counts.
type ThrottleCounts struct {
	PairFailures int       // failures of the pair not yet forgotten
	PairLast     time.Time // the pair's last failure
	PairNoticed  time.Time // end of the pair's block last recorded, or zero
	// AccountFailures are the account's failures, from every source, in
	// its current window, which ends at AccountWindowEnd.
	AccountFailures  int
	AccountWindowEnd time.Time
}

// until returns when an attempt with counts c may be checked: zero for at
// once.
func (c ThrottleCounts) until() time.Time {
	var until time.Time
	if c.PairFailures >= throttleFreeFailures {
		until = c.PairLast.Add(throttleDelay(c.PairFailures))
	}
	if c.PairFailures > 0 && c.AccountFailures >= throttleCeiling && c.AccountWindowEnd.After(until) {
		until = c.AccountWindowEnd
	}
	return until
}

// ThrottleCharge is one attempt to count as a failure.
type ThrottleCharge struct {
	Pair, Account []byte    // blind indexes of the pair and the account
	At            time.Time // when it was made: the pair's new last failure
	PairExpires   time.Time // when the pair forgets its failures
	WindowEnd     time.Time // the end of the account's window, if this starts one
}

// ThrottleStore keeps the sign-in throttle's counts in the metadata
// database, so that a restart does not reset them and every process on the
// database shares them. Rows are found by blind indexes of the pair and of
// the account, never by an email or an address. Implemented by
// vault/sqlite.
type ThrottleStore interface {
	// ThrottleCounts returns the counts of pair and account at now; rows
	// that have expired at now count as absent. Errors: unavailable.
	ThrottleCounts(ctx context.Context, pair, account []byte, now time.Time) (ThrottleCounts, error)
	// ChargeThrottle counts one more failure of c.Pair and c.Account, at
	// c.At, if allow agrees, and returns the counts after it. allow is
	// called with the counts as they stand inside the transaction that
	// writes them, so concurrent processes neither lose counts nor both
	// pass a check that only one of them should. When allow refuses,
	// nothing is written and the counts it saw are returned with false.
	// Errors: invalid (keys not 32 bytes), unavailable.
	ChargeThrottle(ctx context.Context, c ThrottleCharge, allow func(ThrottleCounts) bool) (ThrottleCounts, bool, error)
	// RefundThrottle forgets pair's failures and takes one failure off
	// account's window that ends at windowEnd, if it is still current: a
	// charged attempt succeeded. Errors: unavailable.
	RefundThrottle(ctx context.Context, pair, account []byte, windowEnd time.Time) error
	// NoticeThrottle notes that pair's block until until was recorded and
	// reports whether it had not been noted before. Errors: unavailable.
	NoticeThrottle(ctx context.Context, pair []byte, until time.Time) (bool, error)
	// PurgeThrottle deletes the rows that have expired at now and returns
	// how many. Errors: unavailable.
	PurgeThrottle(ctx context.Context, now time.Time) (int, error)
}

// storeThrottle is the database-backed Throttle.
type storeThrottle struct {
	store ThrottleStore
	index Indexer
}

var _ Throttle = storeThrottle{}

// keys returns the blind indexes of the pair and of the account, under the
// service-wide index key: a throttle belongs to no firm. The account's
// length prefixes it, so no account and source can be read as another.
func (t storeThrottle) keys(ctx context.Context, account, source string) (pair, acct []byte, err error) {
	if t.store == nil || t.index == nil {
		return nil, nil, Errorf(EINTERNAL, "The sign-in throttle is not configured.")
	}
	if pair, err = t.index.Index(ctx, "", IndexLogin, "pair\x00"+strconv.Itoa(len(account))+"\x00"+account+source); err != nil {
		return nil, nil, err
	}
	if acct, err = t.index.Index(ctx, "", IndexLogin, "account\x00"+account); err != nil {
		return nil, nil, err
	}
	return pair, acct, nil
}

// Check implements Throttle. It reads first, so that a refused attempt
// (the common case under attack) costs no write, and charges an allowed
// one in a transaction that decides again.
func (t storeThrottle) Check(ctx context.Context, account, source string, now time.Time) (*Attempt, error) {
	pair, acct, err := t.keys(ctx, account, source)
	if err != nil {
		return nil, err
	}
	a := &Attempt{at: now, pairKey: pair, acctKey: acct}
	c, err := t.store.ThrottleCounts(ctx, pair, acct, now)
	if err != nil {
		return nil, err
	}
	allow := func(c ThrottleCounts) bool { return !now.Before(c.until()) }
	if allow(c) {
		var ok bool
		c, ok, err = t.store.ChargeThrottle(ctx, ThrottleCharge{
			Pair: pair, Account: acct, At: now,
			PairExpires: now.Add(throttlePairMemory), WindowEnd: now.Add(throttleWindow),
		}, allow)
		if err != nil {
			return nil, err
		}
		if ok {
			a.Allowed, a.windowEnd = true, c.AccountWindowEnd
			return a, nil
		}
	}
	// Refused; the block is recorded once, by whichever process notes it
	// first.
	a.Until = c.until()
	if !c.PairNoticed.Equal(a.Until) {
		if a.Notice, err = t.store.NoticeThrottle(ctx, pair, a.Until); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Failed implements Throttle: the attempt was counted when it was allowed.
func (storeThrottle) Failed(context.Context, *Attempt) error { return nil }

// Succeeded implements Throttle.
func (t storeThrottle) Succeeded(ctx context.Context, a *Attempt) error {
	return t.store.RefundThrottle(ctx, a.pairKey, a.acctKey, a.windowEnd)
}

// Purge implements Throttle.
func (t storeThrottle) Purge(ctx context.Context, now time.Time) (int, error) {
	if t.store == nil {
		return 0, nil
	}
	return t.store.PurgeThrottle(ctx, now)
}

// throttle returns the Service's Throttle: Service.Throttle, or by default
// the database-backed one over Store and Indexer.
func (s *Service) throttle() Throttle {
	if s.Throttle != nil {
		return s.Throttle
	}
	st, _ := s.Store.(ThrottleStore)
	return storeThrottle{store: st, index: s.Indexer}
}

// PurgeThrottle forgets sign-in throttle state that has expired; the
// janitor calls it. It returns how many entries it removed.
func (s *Service) PurgeThrottle(ctx context.Context) (int, error) {
	return s.throttle().Purge(ctx, s.now())
}
