package audit

import (
	"context"

	"github.com/casevault/casevault/vault"
)

// DropShredded removes every row of tenant's log from l once the firm is
// being crypto-shredded (`casevault tenant shred`, docs/SHRED-FORMAT.md):
// the second exception to the audit tables being append-only, beside
// DropTenant after a move. The log must end with the tenant.shred event at
// sequence number size, the firm's last event, whose final bundle and
// checkpoint the shred has taken: if anything was appended after it, or
// the log is not of that size, nothing is dropped (conflict). The rows go
// as DropTenant's do (dropRows: tables rebuilt with secure_delete, free
// pages zeroed, WAL truncated), on the writer goroutine, so no append
// comes between the check and the drop. It forgets what l kept in memory
// of the firm; the caller deletes the firm's anchored checkpoint. Called
// again after the rows are gone, it finds an empty log and rebuilds the
// file all the same. Errors: invalid, conflict, unavailable, internal.
func (l *Log) DropShredded(ctx context.Context, tenant string, size int64) error {
	if tenant == "" || size < 1 {
		return vault.Errorf(vault.EINVALID, "The service log is never shredded.")
	}
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	err := l.run(ctx, func(ctx context.Context) error {
		n, err := l.Size(ctx, tenant)
		if err != nil {
			return err
		}
		if n != 0 {
			var last *Record
			if err := l.Records(ctx, tenant, Filter{AfterSeq: n - 1, Limit: 1}, func(r *Record) error {
				last = r
				return nil
			}); err != nil {
				return err
			}
			if n != size || last == nil || last.Entry.Action != vault.ActShred {
				return vault.Errorf(vault.ECONFLICT, "The firm's audit log does not end with its tenant.shred event %d (it has %d events); nothing was dropped.", size, n)
			}
		}
		delete(l.tips, tenant)
		return l.dropRows(ctx, tenant)
	})
	if err != nil {
		return err
	}
	l.forget(tenant)
	return nil
}
