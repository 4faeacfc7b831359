package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/casevault/casevault/vault"
)

var _ vault.ThrottleStore = (*DB)(nil)

// throttleCountsQuery reads a pair's and an account's unexpired counts in one
// statement; a missing or expired row reads as NULLs.
const throttleCountsQuery = `
	SELECT p.failures, p.last_at, p.noticed_until, a.failures, a.expires_at
	FROM (SELECT 1) AS one
	LEFT JOIN throttle_pairs AS p ON p.key = ? AND p.expires_at > ?
	LEFT JOIN throttle_accounts AS a ON a.key = ? AND a.expires_at > ?`

// ThrottleCounts returns the counts of pair and account at now.
// Errors: invalid (keys that are not 32 bytes), unavailable (busy).
func (db *DB) ThrottleCounts(ctx context.Context, pair, account []byte, now time.Time) (vault.ThrottleCounts, error) {
	if err := checkThrottleKeys(pair, account); err != nil {
		return vault.ThrottleCounts{}, err
	}
	return throttleCounts(ctx, db.db, pair, account, now)
}

func throttleCounts(ctx context.Context, q queryer, pair, account []byte, now time.Time) (vault.ThrottleCounts, error) {
	var (
		c                vault.ThrottleCounts
		pf, af           sql.NullInt64
		last, noticed, w nullTime
	)
	at := formatTime(now)
	if err := q.QueryRowContext(ctx, throttleCountsQuery, pair, at, account, at).Scan(&pf, &last, &noticed, &af, &w); err != nil {
		return c, fmt.Errorf("read throttle: %w", formatError(err))
	}
	c.PairFailures, c.PairLast, c.PairNoticed = int(pf.Int64), last.Time, noticed.Time
	c.AccountFailures, c.AccountWindowEnd = int(af.Int64), w.Time
	return c, nil
}

// ChargeThrottle counts one more failure of c.Pair and c.Account if allow
// agrees with the counts read inside the same write transaction (BEGIN
// IMMEDIATE: one writer at a time, across processes). Each count is one
// atomic upsert that starts over when the stored row has expired.
// Errors: invalid, unavailable (busy).
func (db *DB) ChargeThrottle(ctx context.Context, c vault.ThrottleCharge, allow func(vault.ThrottleCounts) bool) (vault.ThrottleCounts, bool, error) {
	if err := checkThrottleKeys(c.Pair, c.Account); err != nil {
		return vault.ThrottleCounts{}, false, err
	}
	db.throttleMu.Lock()
	defer db.throttleMu.Unlock()
	tx, err := db.begin(ctx)
	if err != nil {
		return vault.ThrottleCounts{}, false, fmt.Errorf("update throttle: %w", err)
	}
	defer tx.Rollback()

	before, err := throttleCounts(ctx, tx, c.Pair, c.Account, c.At)
	if err != nil {
		return before, false, err
	}
	if !allow(before) {
		return before, false, nil
	}
	at := formatTime(c.At)
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO throttle_pairs (key, failures, last_at, expires_at) VALUES (?, 1, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN throttle_pairs.expires_at <= excluded.last_at THEN 1
				ELSE throttle_pairs.failures + 1 END,
			noticed_until = CASE WHEN throttle_pairs.expires_at <= excluded.last_at THEN NULL
				ELSE throttle_pairs.noticed_until END,
			last_at = max(throttle_pairs.last_at, excluded.last_at),
			expires_at = max(throttle_pairs.expires_at, excluded.expires_at)`,
		c.Pair, at, formatTime(c.PairExpires),
	); err != nil {
		return before, false, fmt.Errorf("update throttle: %w", formatError(err))
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO throttle_accounts (key, failures, expires_at) VALUES (?, 1, ?)
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN throttle_accounts.expires_at <= ? THEN 1
				ELSE throttle_accounts.failures + 1 END,
			expires_at = CASE WHEN throttle_accounts.expires_at <= ? THEN excluded.expires_at
				ELSE throttle_accounts.expires_at END`,
		c.Account, formatTime(c.WindowEnd), at, at,
	); err != nil {
		return before, false, fmt.Errorf("update throttle: %w", formatError(err))
	}
	after, err := throttleCounts(ctx, tx, c.Pair, c.Account, c.At)
	if err != nil {
		return before, false, err
	}
	if err := tx.commit(); err != nil {
		return before, false, fmt.Errorf("update throttle: %w", err)
	}
	return after, true, nil
}

// RefundThrottle forgets pair's failures and takes one failure off
// account's window ending at windowEnd, if that window is still the
// account's. Errors: unavailable, invalid.
func (db *DB) RefundThrottle(ctx context.Context, pair, account []byte, windowEnd time.Time) error {
	if err := checkThrottleKeys(pair, account); err != nil {
		return err
	}
	db.throttleMu.Lock()
	defer db.throttleMu.Unlock()
	tx, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("update throttle: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM throttle_pairs WHERE key = ?`, pair); err != nil {
		return fmt.Errorf("update throttle: %w", formatError(err))
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE throttle_accounts SET failures = failures - 1
		WHERE key = ? AND expires_at = ? AND failures > 0`,
		account, formatTime(windowEnd),
	); err != nil {
		return fmt.Errorf("update throttle: %w", formatError(err))
	}
	if err := tx.commit(); err != nil {
		return fmt.Errorf("update throttle: %w", err)
	}
	return nil
}

// NoticeThrottle notes that pair's block until until was recorded, in one
// conditional update, and reports whether this call noted it.
// Errors: invalid, unavailable (busy).
func (db *DB) NoticeThrottle(ctx context.Context, pair []byte, until time.Time) (bool, error) {
	if len(pair) != 32 {
		return false, vault.Errorf(vault.EINVALID, "Throttle keys must be 32 bytes.")
	}
	u := formatTime(until)
	db.throttleMu.Lock()
	defer db.throttleMu.Unlock()
	res, err := db.db.ExecContext(ctx, `
		UPDATE throttle_pairs SET noticed_until = ?
		WHERE key = ? AND (noticed_until IS NULL OR noticed_until <> ?)`,
		u, pair, u)
	if err != nil {
		return false, fmt.Errorf("update throttle: %w", formatError(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("notice throttle: %w", err)
	}
	return n == 1, nil
}

// purgeBatch bounds how many rows one purge statement deletes, so that a
// large purge (after an attack) never holds the write lock, or sign-ins,
// for long.
const purgeBatch = 1000

// PurgeThrottle deletes the throttle rows that have expired at now, in
// batches, and returns how many. Errors: unavailable (busy).
func (db *DB) PurgeThrottle(ctx context.Context, now time.Time) (int, error) {
	at := formatTime(now)
	total := 0
	for _, table := range []string{"throttle_pairs", "throttle_accounts"} {
		for {
			db.throttleMu.Lock()
			res, err := db.db.ExecContext(ctx, `
				DELETE FROM `+table+` WHERE key IN (
					SELECT key FROM `+table+` WHERE expires_at <= ? LIMIT ?)`,
				at, purgeBatch)
			db.throttleMu.Unlock()
			if err != nil {
				return total, fmt.Errorf("purge throttle: %w", formatError(err))
			}
			n, err := res.RowsAffected()
			if err != nil {
				return total, fmt.Errorf("purge throttle: %w", err)
			}
			total += int(n)
			if n < purgeBatch {
				break
			}
		}
	}
	return total, nil
}

// checkThrottleKeys refuses keys that are not blind indexes.
func checkThrottleKeys(pair, account []byte) error {
	if len(pair) != 32 || len(account) != 32 {
		return vault.Errorf(vault.EINVALID, "Throttle keys must be 32 bytes.")
	}
	return nil
}
