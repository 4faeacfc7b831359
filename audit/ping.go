package audit

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"

	"github.com/casevault/casevault/vault"
)

// MinFreeSpace is the free space the audit log's volume must keep for the
// log to call itself ready: below it, a full disk — which stops every
// action — is near.
const MinFreeSpace = 64 << 20

// Ping reports whether the log can take appends: the database answers, its
// volume has MinFreeSpace free, and it is not within MinFreeSpace (or a
// tenth of the cap, if less) of Options.MaxSize. A server not ready stops getting traffic before the log
// fills up and every request fails. Errors: unavailable.
func (l *Log) Ping(ctx context.Context) error {
	var pages, free, size int64
	if err := l.db.QueryRowContext(ctx, `SELECT page_count, freelist_count, page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()`).Scan(&pages, &free, &size); err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Audit log is unavailable.")
	}
	if max := l.opts.MaxSize; max > 0 {
		margin := min(int64(MinFreeSpace), max/10)
		if (pages-free)*size > max-margin {
			return vault.Errorf(vault.EUNAVAILABLE, "Audit log is nearly at its size cap.")
		}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(l.path), &st); err != nil {
		return vault.WrapError(vault.EUNAVAILABLE, err, "Cannot read the audit log volume's free space.")
	}
	if avail := int64(st.Bavail) * st.Bsize; avail < MinFreeSpace {
		return vault.Errorf(vault.EUNAVAILABLE, "Audit log volume has only %s free.", fmt.Sprintf("%d MiB", avail>>20))
	}
	return nil
}

// Stats returns the log's counters since Open: events appended, events
// refused because their batch could not be written, and group commits.
func (l *Log) Stats() vault.AuditStats {
	l.divMu.RLock()
	diverged := int64(len(l.diverged))
	l.divMu.RUnlock()
	return vault.AuditStats{Appended: l.appended.Load(), Failed: l.failed.Load(), Commits: l.batches.Load(), Diverged: diverged}
}
