package audit

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/casevault/casevault/vault"
)

// dropTables are the tables that hold rows of a firm's log.
var dropTables = []string{"audit_events", "audit_hashes", "audit_checkpoints", "audit_timestamps", "audit_cosignatures", "audit_held"}

// checkpointWait bounds how long DropTenant waits for readers to let the
// WAL be emptied.
const checkpointWait = 30 * time.Second

// DropTenant removes every row of tenant's log from l (the old cell's),
// after the log lives on in its new cell: the one exception to the audit
// tables being append-only (docs/AUDIT-FORMAT.md §5, "Moving a firm").
// The log must have been handed over (Handover) and the directory must no
// longer name this region: l's signer for the firm must not be the old
// key the handover names. In one transaction the tables' DELETE triggers
// are dropped, the firm's rows deleted (with secure_delete on, so their
// bytes are overwritten), and the triggers created again from their own
// text, so no other firm's row can be deleted meanwhile; then the file is
// rebuilt (VACUUM: no page, free or not, keeps a byte of the firm, index
// separators included) and the WAL emptied and truncated. The other firms'
// appends wait for it in the writer's queue. It forgets what l kept in
// memory of the firm. Called again, or for a firm l never held, it finds
// nothing to delete and rebuilds the file all the same (so a crash between
// the delete and the rebuild is finished by a rerun). Errors: invalid,
// conflict (not handed over, or the directory still names this region),
// unavailable, internal.
func (l *Log) DropTenant(ctx context.Context, tenant string) error {
	if tenant == "" {
		return vault.Errorf(vault.EINVALID, "The service log does not move.")
	}
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	n, err := l.Size(ctx, tenant)
	if err != nil {
		return err
	}
	reason := l.heldReason(tenant)
	if n > 0 || reason != "" {
		if reason != holdMovedOut {
			return vault.Errorf(vault.ECONFLICT, "The firm's audit log has not been handed over from this log.")
		}
		last, err := l.lastEvent(ctx, tenant)
		if err != nil {
			return err
		}
		if last == nil || last.Action != ActionTenantMoved {
			return vault.Errorf(vault.ECONFLICT, "The firm's audit log does not end with its handover.")
		}
		if _, vkey, err := l.opts.Signer(ctx, tenant); err != nil {
			return fmt.Errorf("checkpoint signer of %q: %w", tenant, err)
		} else if vkey == last.Details[DetailOldKey] {
			return vault.Errorf(vault.ECONFLICT, "The directory still names this region for the firm: switch it before dropping the old log.")
		}
	}
	err = l.run(ctx, func(ctx context.Context) error {
		delete(l.tips, tenant)
		return l.dropRows(ctx, tenant)
	})
	if err != nil {
		return err
	}
	l.forget(tenant)
	return nil
}

// dropRows is DropTenant on the writer goroutine.
func (l *Log) dropRows(ctx context.Context, tenant string) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var secure int
	if err := conn.QueryRowContext(ctx, `PRAGMA secure_delete`).Scan(&secure); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA secure_delete = %d`, secure))
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	triggers, err := deleteTriggers(ctx, tx)
	if err != nil {
		return err
	}
	for name := range triggers {
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER `+name); err != nil {
			return err
		}
	}
	for _, t := range dropTables {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+t+` WHERE tenant_id = ?`, tenant); err != nil {
			return err
		}
	}
	for _, text := range triggers {
		if _, err := tx.ExecContext(ctx, text); err != nil {
			return err
		}
	}
	if again, err := deleteTriggers(ctx, tx); err != nil {
		return err
	} else if len(again) != len(triggers) {
		return vault.Errorf(vault.EINTERNAL, "The audit log's append-only triggers were not restored.")
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `VACUUM`); err != nil {
		return err
	}
	return truncateWAL(ctx, conn)
}

// deleteTriggers returns the text of every trigger that refuses a DELETE
// on an audit table, by name.
func deleteTriggers(ctx context.Context, tx *sql.Tx) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'audit\_%\_no\_delete' ESCAPE '\'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, text string
		if err := rows.Scan(&name, &text); err != nil {
			return nil, err
		}
		out[name] = text
	}
	return out, rows.Err()
}

// truncateWAL copies the WAL into the file and truncates it to nothing,
// waiting (at most checkpointWait) for readers of older pages to finish.
func truncateWAL(ctx context.Context, conn *sql.Conn) error {
	deadline := time.Now().Add(checkpointWait)
	for {
		var busy, logged, done int
		if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logged, &done); err != nil {
			return err
		}
		if busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return vault.Errorf(vault.EUNAVAILABLE, "Readers of the audit log kept its WAL busy: run the drop again.")
		}
		select {
		case <-ctx.Done():
			return unavailable(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// forget drops what l keeps in memory of tenant's log.
func (l *Log) forget(tenant string) {
	l.stMu.Lock()
	delete(l.signed, tenant)
	delete(l.grown, tenant)
	delete(l.urgent, tenant)
	delete(l.failing, tenant)
	delete(l.logs, tenant)
	delete(l.lastSig, tenant)
	l.stMu.Unlock()
	l.divMu.Lock()
	delete(l.diverged, tenant)
	l.anyDiverged.Store(len(l.diverged) > 0)
	delete(l.held, tenant)
	l.anyHeld.Store(len(l.held) > 0)
	l.divMu.Unlock()
}
