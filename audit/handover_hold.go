package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/casevault/casevault/vault"
)

// Holding a log still while a move carries it between cells. A held log
// takes no appends and signs nothing (no checkpoint, heartbeat or
// export) but what the move itself writes: in the old cell from its
// handover event on, so that event is its last and the old key signs
// nothing after it; in the new cell from the first copied row until
// Adopt, so that nothing of it is signed before the new key signs it. The
// hold is in the file (audit_held), so it survives a restart.

// Reasons a log is held.
const (
	holdMovedOut = "moved_out" // the handover is recorded: the log lives on elsewhere
	holdMovingIn = "moving_in" // being copied here, not yet adopted
)

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

// heldError is the error of an append or a signing of a held log.
func (l *Log) heldError(tenant string) error {
	switch l.heldReason(tenant) {
	case holdMovedOut:
		return vault.WrapError(vault.EUNAVAILABLE, fmt.Errorf("audit log %q was handed over to another cell", tenant), "The firm is moving to another region.")
	case holdMovingIn:
		return vault.WrapError(vault.EUNAVAILABLE, fmt.Errorf("audit log %q is being moved into this cell", tenant), "The firm is moving to another region.")
	}
	return nil
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

// release lifts the hold of tenant's log, in the file and in memory.
func (l *Log) release(ctx context.Context, tenant string) error {
	return l.run(ctx, func(ctx context.Context) error {
		if _, err := l.db.ExecContext(ctx, `DELETE FROM audit_held WHERE tenant_id = ?`, tenant); err != nil {
			return err
		}
		l.setHeld(tenant, "")
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
// the order they came. An append to a log that is held, or that a
// handover earlier in the batch holds, is refused.
func (l *Log) commitInOrder(batch []*request) {
	var run []*request
	var holding map[string]bool // logs a handover in this batch holds
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
		case r.entry != nil && (holding[r.entry.Tenant] || l.heldError(r.entry.Tenant) != nil):
			l.failed.Add(1)
			err := l.heldError(r.entry.Tenant)
			if err == nil {
				err = vault.Errorf(vault.EUNAVAILABLE, "The firm is moving to another region.")
			}
			r.done <- result{err: err}
		default:
			if r.entry != nil && r.hold != "" {
				if holding == nil {
					holding = map[string]bool{}
				}
				holding[r.entry.Tenant] = true
			}
			run = append(run, r)
		}
	}
	flush()
}
