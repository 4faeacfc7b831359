package audit

import (
	"context"
	"strconv"
	"time"

	"github.com/casevault/casevault/vault"
)

// CheckpointsAfter returns up to limit of tenant's stored checkpoints of
// sizes above size, smallest first, for those that pass checkpoints on (a
// firm's sink) from a cursor of their own. Errors: unavailable, internal.
func (l *Log) CheckpointsAfter(ctx context.Context, tenant string, size int64, limit int) ([]*Checkpoint, error) {
	var out []*Checkpoint
	err := l.checkpoints(ctx, `SELECT size, root, note, created_at FROM audit_checkpoints
		WHERE tenant_id = ? AND size > ? ORDER BY size LIMIT `+strconv.Itoa(max(limit, 1)),
		tenant, size, func(c *Checkpoint) error { out = append(out, c); return nil })
	return out, err
}

// CountCheckpointsAfter returns how many of tenant's stored checkpoints
// have sizes above size. Errors: unavailable.
func (l *Log) CountCheckpointsAfter(ctx context.Context, tenant string, size int64) (int64, error) {
	var n int64
	if err := l.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_checkpoints WHERE tenant_id = ? AND size > ?`, tenant, size).Scan(&n); err != nil {
		return 0, unavailable(err)
	}
	return n, nil
}

// CheckpointAtOrBefore returns tenant's stored checkpoint of the largest
// size among those stored at or before t. Errors: not_found (none),
// unavailable, internal.
func (l *Log) CheckpointAtOrBefore(ctx context.Context, tenant string, t time.Time) (*Checkpoint, error) {
	var found *Checkpoint
	// The layout is digits and fixed punctuation only, so it is safe
	// inline; stored times use it too, so text order is time order.
	err := l.checkpoints(ctx, `SELECT size, root, note, created_at FROM audit_checkpoints
		WHERE tenant_id = ? AND size >= ? AND created_at <= '`+t.UTC().Format(TimeLayout)+`' ORDER BY size DESC LIMIT 1`,
		tenant, 0, func(c *Checkpoint) error { found = c; return nil })
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, vault.Errorf(vault.ENOTFOUND, "Audit checkpoint not found.")
	}
	return found, nil
}
