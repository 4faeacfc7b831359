package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/vault"
)

// Heartbeats. A log that grows is signed at least every CheckpointInterval
// (10 s by default), each checkpoint with a timestamp; a log that does not
// grow would keep showing the same, ever older, timestamp, and an old
// checkpoint could not be told from a fresh one. So every Options.Heartbeat
// (an hour by default) an idle log's latest tree is signed again, at the
// same size, with a fresh timestamp: stored in audit_timestamps, anchored,
// passed to OnSigned and returned as the log's checkpoint, as CloudTrail
// writes a digest every hour even when nothing happened.
//
// A log's last signing time is read from the database the first time it is
// needed, so a restart signs at most one heartbeat per idle log per
// interval, never one per stored checkpoint.

// heartbeatCheck is how often the checkpointer looks for idle logs due a
// heartbeat: a tenth of the interval, at most a minute.
func (l *Log) heartbeatCheck() time.Duration {
	return max(min(l.opts.Heartbeat/10, time.Minute), time.Millisecond)
}

// heartbeats signs a heartbeat of every known log whose newest timestamp
// is at least Options.Heartbeat old.
func (l *Log) heartbeats() {
	now := l.now()
	l.stMu.Lock()
	tenants := make([]string, 0, len(l.logs))
	for t := range l.logs {
		tenants = append(tenants, t)
	}
	l.stMu.Unlock()
	sort.Strings(tenants)
	for _, t := range tenants {
		if l.divergence(t) != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := l.heartbeatIfDue(ctx, t, now)
		cancel()
		if err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
			l.log.Error().Err(err).Str("tenant_id", t).Msg("cannot sign audit heartbeat")
		}
	}
}

// heartbeatIfDue signs a heartbeat of tenant's log if its newest timestamp
// is at least Options.Heartbeat before now.
func (l *Log) heartbeatIfDue(ctx context.Context, tenant string, now time.Time) error {
	last, err := l.lastSigned(ctx, tenant)
	if err != nil {
		return err
	}
	if now.Sub(last) < l.opts.Heartbeat {
		return nil
	}
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	// Signed meanwhile (by the timer, an export)?
	if last, err = l.lastSigned(ctx, tenant); err != nil || l.now().Sub(last) < l.opts.Heartbeat {
		return err
	}
	size, err := l.Size(ctx, tenant)
	if err != nil || size == 0 {
		return err
	}
	_, err = l.resign(ctx, tenant, size)
	return err
}

// lastSigned returns the time of the newest note signed of tenant's log,
// from memory or, the first time, from the database (zero when none).
func (l *Log) lastSigned(ctx context.Context, tenant string) (time.Time, error) {
	l.stMu.Lock()
	t, ok := l.lastSig[tenant]
	l.stMu.Unlock()
	if ok {
		return t, nil
	}
	var ck, ts sql.NullString
	err := l.db.QueryRowContext(ctx, `SELECT (SELECT MAX(created_at) FROM audit_checkpoints WHERE tenant_id = ?),
		(SELECT MAX(signed_at) FROM audit_timestamps WHERE tenant_id = ?)`, tenant, tenant).Scan(&ck, &ts)
	if err != nil {
		return time.Time{}, unavailable(err)
	}
	for _, s := range []sql.NullString{ck, ts} {
		if !s.Valid {
			continue
		}
		if at, err := time.Parse(time.RFC3339Nano, s.String); err == nil && at.After(t) {
			t = at.UTC()
		}
	}
	l.stMu.Lock()
	if cur, ok := l.lastSig[tenant]; !ok || t.After(cur) {
		l.lastSig[tenant] = t
	}
	t = l.lastSig[tenant]
	l.stMu.Unlock()
	return t, nil
}

// resign signs, under ckMu, a fresh checkpoint of tenant's tree of the
// given size, at most the log's size: a heartbeat (the latest size) or an
// export's (the size that ends with its audit.export event). The tree must
// be consistent with the anchored checkpoint: extend it when it is at least
// as large (and then replace it), or be extended by it when it is smaller
// (the anchor never moves back). The new note is stored, in
// audit_checkpoints when its size has no checkpoint yet, else in
// audit_timestamps, and passed to OnSigned. Errors: invalid (size), not_found
// (empty log), unavailable (also when the tree is not consistent with the
// anchor), internal.
func (l *Log) resign(ctx context.Context, tenant string, size int64) (*Checkpoint, error) {
	if err := l.divergence(tenant); err != nil {
		return nil, err
	}
	n, err := l.Size(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, vault.Errorf(vault.ENOTFOUND, "Audit log is empty.")
	}
	if size < 1 || size > n {
		return nil, vault.Errorf(vault.EINVALID, "Tree size %d is outside the log (1..%d).", size, n)
	}
	root, err := tlog.TreeHash(size, hashReader(ctx, l.db, tenant, nil))
	if err != nil {
		return nil, treeError(err)
	}
	moveAnchor := true
	if l.opts.Anchor != nil {
		rem, err := l.remembered(ctx, tenant)
		switch {
		case vault.IsCode(err, vault.ENOTFOUND):
		case err == nil && rem.size > size:
			// The anchor is of a larger tree: this one must be its prefix.
			moveAnchor = false
			if err := l.extendedBy(ctx, tenant, size, root, rem); err != nil {
				return nil, err
			}
		default:
			if _, err := l.extends(ctx, tenant, size, root); err != nil {
				return nil, err
			}
		}
	}
	c, err := l.signTree(ctx, tenant, size, root)
	if err != nil {
		return nil, err
	}
	if err := l.keep(ctx, c, moveAnchor); err != nil {
		return nil, err
	}
	return c, nil
}

// extendedBy checks that the anchored checkpoint rem, of a larger tree,
// extends tenant's tree of the given size and root; when it does not, the
// log is marked diverged.
func (l *Log) extendedBy(ctx context.Context, tenant string, size int64, root tlog.Hash, rem remembered) error {
	proof, err := tlog.ProveTree(rem.size, size, hashReader(ctx, l.db, tenant, nil))
	if err == nil {
		err = tlog.CheckTree(proof, rem.size, rem.root, size, root)
	}
	if err != nil {
		return l.diverge(tenant, -1, fmt.Sprintf("the tree of size %d is not a prefix of the checkpoint signed last (size %d, root %s): %v",
			size, rem.size, b64(rem.root), err))
	}
	return nil
}

// SignAt signs, stores and returns a fresh checkpoint, with a timestamp, of
// tenant's tree of the given size (at most the log's size), even when one
// of that size is stored already or a larger one is anchored: an export's
// bundle ends with its own audit.export event, whatever was appended after
// it. Errors: as resign.
func (l *Log) SignAt(ctx context.Context, tenant string, size int64) (*Checkpoint, error) {
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	return l.resign(ctx, tenant, size)
}

// newestAt returns the newest note signed of c's tree: c itself, or a
// heartbeat's or an export's signed after it; its Time is set from the
// note's timestamp.
func (l *Log) newestAt(ctx context.Context, c *Checkpoint) (*Checkpoint, error) {
	var msg []byte
	var at string
	err := l.db.QueryRowContext(ctx, `SELECT note, signed_at FROM audit_timestamps WHERE tenant_id = ? AND size = ? ORDER BY id DESC LIMIT 1`,
		c.Tenant, c.Size).Scan(&msg, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, unavailable(err)
	default:
		t, err := time.Parse(time.RFC3339Nano, at)
		if err != nil {
			return nil, vault.WrapError(vault.EINTERNAL, err, "Audit timestamp of size %d has a damaged time.", c.Size)
		}
		c = &Checkpoint{Tenant: c.Tenant, Size: c.Size, Root: c.Root, Note: msg, CreatedAt: t.UTC()}
	}
	return l.timed(ctx, c), nil
}

// timed sets c.Time from its note's timestamp line, when it has one that
// verifies with the log's key.
func (l *Log) timed(ctx context.Context, c *Checkpoint) *Checkpoint {
	_, vkey, err := l.opts.Signer(ctx, c.Tenant)
	if err != nil {
		return c
	}
	if t, ok, err := CheckpointTime(c.Note, vkey); err == nil && ok {
		c.Time = t
	}
	return c
}
