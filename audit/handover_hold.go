package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/casevault/casevault/vault"
)

// Holding a log while a move carries it between cells. The hold is in
// the file (audit_held), so it survives a restart. A held log signs
// nothing (no checkpoint, heartbeat, rotation or export) but what the move
// itself signs, and in two of the four states takes no appends either:
//
//   - handing_over, in the old cell from the handover event to the switch:
//     the old key has signed its last checkpoint of the firm (the
//     handover's) and signs nothing more; events are still appended, so
//     that a move interrupted there leaves the firm working in its old
//     region until it is run again (the copy takes them along, and the new
//     key's first checkpoint covers them);
//   - moved_out, in the old cell from the switch on, until DropTenant:
//     nothing;
//   - moving_in, in the new cell while the copy is made: nothing;
//   - adopting, in the new cell from the switch until Adopt: appends, so
//     that a move interrupted there leaves the firm working in its new
//     region; Adopt's checkpoint, the new key's first, covers them.

// Reasons a log is held.
const (
	holdHandingOver = "handing_over" // the handover is recorded, the directory still names this cell
	holdMovedOut    = "moved_out"    // the directory names the firm's new cell: the log lives on there
	holdMovingIn    = "moving_in"    // being copied here
	holdAdopting    = "adopting"     // copied here, the directory names this cell, not yet adopted
)

// takesAppends reports whether a log held for reason takes appends.
func takesAppends(reason string) bool {
	return reason == "" || reason == holdHandingOver || reason == holdAdopting
}

// loadHeld reads the held logs at Open.
func (l *Log) loadHeld(ctx context.Context) error {
	rows, err := l.db.QueryContext(ctx, `SELECT tenant_id, reason FROM audit_held`)
	if err != nil {
		return unavailable(err)
	}
	defer rows.Close()
	for rows.Next() {
		var t, reason string
		if err := rows.Scan(&t, &reason); err != nil {
			return unavailable(err)
		}
		l.setHeld(t, reason)
	}
	if err := rows.Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// setHeld notes in memory that tenant's log is held ("" lifts it).
func (l *Log) setHeld(tenant, reason string) {
	l.divMu.Lock()
	defer l.divMu.Unlock()
	if reason == "" {
		delete(l.held, tenant)
	} else {
		l.held[tenant] = reason
	}
	l.anyHeld.Store(len(l.held) > 0)
}

// heldReason returns why tenant's log is held, "" when it is not.
func (l *Log) heldReason(tenant string) string {
	if !l.anyHeld.Load() {
		return ""
	}
	l.divMu.RLock()
	defer l.divMu.RUnlock()
	return l.held[tenant]
}

// heldError is the error of a signing of a held log (an append, too,
// unless the log takes appends: appendError).
func (l *Log) heldError(tenant string) error {
	switch l.heldReason(tenant) {
	case holdHandingOver:
		return vault.WrapError(vault.EUNAVAILABLE, fmt.Errorf("audit log %q is being handed over to another cell", tenant), "The firm is moving to another region.")
	case holdAdopting:
		return vault.WrapError(vault.EUNAVAILABLE, fmt.Errorf("audit log %q is not adopted by this cell yet", tenant), "The firm is moving to another region.")
	case holdMovedOut:
		return vault.WrapError(vault.EUNAVAILABLE, fmt.Errorf("audit log %q was handed over to another cell", tenant), "The firm is moving to another region.")
	case holdMovingIn:
		return vault.WrapError(vault.EUNAVAILABLE, fmt.Errorf("audit log %q is being moved into this cell", tenant), "The firm is moving to another region.")
	}
	return nil
}

// appendError is the error of an append to tenant's log when it is held
// and takes no appends, or it is diverged; nil otherwise.
func (l *Log) appendError(tenant string) error {
	if l.anyHeld.Load() && !takesAppends(l.heldReason(tenant)) {
		return l.heldError(tenant)
	}
	return l.divergedOnly(tenant)
}

// changeHold changes the hold of tenant's log from one of reasons from
// to reason ("" lifts it), on the writer goroutine (inside run); a log
// already held for reason is left as it is. Errors: conflict (held for
// another reason), unavailable.
func (l *Log) changeHold(ctx context.Context, tenant, reason string, from ...string) error {
	now := l.heldReason(tenant)
	if now == reason {
		return nil
	}
	if !slices.Contains(from, now) {
		return vault.Errorf(vault.ECONFLICT, "The firm's audit log here is %s, not %s.", heldName(now), heldName(from[0]))
	}
	var err error
	if reason == "" {
		_, err = l.db.ExecContext(ctx, `DELETE FROM audit_held WHERE tenant_id = ?`, tenant)
	} else {
		_, err = l.db.ExecContext(ctx, `INSERT INTO audit_held (tenant_id, reason, since) VALUES (?, ?, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET reason = excluded.reason, since = excluded.since`, tenant, reason, l.now().Format(TimeLayout))
	}
	if err != nil {
		return err
	}
	l.setHeld(tenant, reason)
	return nil
}

// heldName says in words what a hold reason means.
func heldName(reason string) string {
	switch reason {
	case holdHandingOver:
		return "being handed over"
	case holdMovedOut:
		return "handed over"
	case holdMovingIn:
		return "being copied in"
	case holdAdopting:
		return "waiting to be adopted"
	}
	return "not held by a move"
}

// storeHold records in tx that tenant's log is held.
func storeHold(ctx context.Context, tx *sql.Tx, tenant, reason, since string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_held (tenant_id, reason, since) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET reason = excluded.reason, since = excluded.since`, tenant, reason, since)
	return err
}

// hold holds tenant's log, in the file and in memory, through the writer.
func (l *Log) hold(ctx context.Context, tenant, reason string) error {
	return l.run(ctx, func(ctx context.Context) error {
		tx, err := l.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := storeHold(ctx, tx, tenant, reason, l.now().Format(TimeLayout)); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		l.setHeld(tenant, reason)
		return nil
	})
}

// run has the writer goroutine run fn between two batches, so that the
// writes of a move never race the log's appends. Errors: unavailable.
func (l *Log) run(ctx context.Context, fn func(ctx context.Context) error) error {
	req := &request{ctx: ctx, fn: fn, done: make(chan result, 1)}
	if err := l.send(ctx, req); err != nil {
		return err
	}
	select {
	case r := <-req.done:
		var ve *vault.Error
		if r.err != nil && !errors.As(r.err, &ve) {
			return unavailable(r.err)
		}
		return r.err
	case <-ctx.Done():
		return unavailable(ctx.Err())
	}
}

// commitInOrder commits a batch of the writer: runs of appends and
// checkpoints in one transaction each (commit), each fn request alone, in
// the order they came. An append to a log held so that it takes no
// appends is refused.
func (l *Log) commitInOrder(batch []*request) {
	var run []*request
	flush := func() {
		if len(run) > 0 {
			l.commit(run)
			run = run[:0]
		}
	}
	for _, r := range batch {
		switch {
		case r.fn != nil:
			flush()
			if err := r.ctx.Err(); err != nil {
				r.done <- result{err: unavailable(err)}
				continue
			}
			r.done <- result{err: r.fn(r.ctx)}
		case r.entry != nil && !takesAppends(l.heldReason(r.entry.Tenant)):
			l.failed.Add(1)
			r.done <- result{err: l.heldError(r.entry.Tenant)}
		default:
			run = append(run, r)
		}
	}
	flush()
}
