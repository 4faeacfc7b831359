package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/vault"
)

// queryer is a *sql.DB or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// errMissingHash is the cause when a stored hash the tree needs is absent:
// the file has been damaged or tampered with.
var errMissingHash = errors.New("stored hash is missing")

// hashReader reads tenant's stored hashes from q, preferring those in
// fresh (written earlier in the same transaction).
func hashReader(ctx context.Context, q queryer, tenant string, fresh map[int64]tlog.Hash) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		at := map[int64][]int{} // stored index → positions in out still to fill
		var need []any
		for i, x := range indexes {
			if h, ok := fresh[x]; ok {
				out[i] = h
				continue
			}
			if _, ok := at[x]; !ok {
				need = append(need, x)
			}
			at[x] = append(at[x], i)
		}
		if len(need) == 0 {
			return out, nil
		}
		rows, err := q.QueryContext(ctx, `SELECT idx, hash FROM audit_hashes WHERE tenant_id = ? AND idx IN (?`+
			strings.Repeat(", ?", len(need)-1)+`)`, append([]any{tenant}, need...)...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var idx int64
			var h []byte
			if err := rows.Scan(&idx, &h); err != nil {
				return nil, err
			}
			if len(h) != tlog.HashSize {
				return nil, fmt.Errorf("stored hash %d of %q has %d bytes", idx, tenant, len(h))
			}
			for _, i := range at[idx] {
				copy(out[i][:], h)
			}
			delete(at, idx)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for idx := range at {
			return nil, fmt.Errorf("%w: %d of %q", errMissingHash, idx, tenant)
		}
		return out, nil
	})
}

// treeError translates an error of reading the tree.
func treeError(err error) error {
	if errors.Is(err, errMissingHash) {
		return vault.WrapError(vault.EINTERNAL, err, "Audit log is damaged.")
	}
	return unavailable(err)
}

// Size returns the number of events in tenant's log. Errors: unavailable.
func (l *Log) Size(ctx context.Context, tenant string) (int64, error) {
	var n int64
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_events WHERE tenant_id = ?`, tenant).Scan(&n); err != nil {
		return 0, unavailable(err)
	}
	return n, nil
}

// Checkpoint signs, stores and returns a checkpoint of tenant's tree as it
// is now, or returns the stored one if the tree has not grown since. An
// empty log has no checkpoint: there is nothing to vouch for. With an
// Anchor, the tree must extend the checkpoint signed last, which is
// replaced by the new one before it is stored or returned. Errors:
// not_found (the log is empty), unavailable (also when the tree does not
// extend the anchored checkpoint), internal, or those of Options.Signer.
func (l *Log) Checkpoint(ctx context.Context, tenant string) (*Checkpoint, error) {
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	return l.checkpoint(ctx, tenant, false)
}

// checkpoint is Checkpoint under ckMu. With rebase, the tree need not
// extend the anchored checkpoint (AcceptRollback).
func (l *Log) checkpoint(ctx context.Context, tenant string, rebase bool) (*Checkpoint, error) {
	if err := l.divergence(tenant); err != nil {
		return nil, err
	}
	size, err := l.Size(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if size == 0 {
		if !rebase {
			// An emptied log is checked against its anchor all the same.
			if _, err := l.extends(ctx, tenant, 0, tlog.Hash{}); err != nil {
				return nil, err
			}
		}
		return nil, vault.Errorf(vault.ENOTFOUND, "Audit log is empty.")
	}
	stored, err := l.checkpointAt(ctx, tenant, size)
	if err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
		return nil, err
	}
	var root tlog.Hash
	if stored != nil {
		root = stored.Root
	} else if root, err = tlog.TreeHash(size, hashReader(ctx, l.db, tenant, nil)); err != nil {
		return nil, treeError(err)
	}
	anchored := int64(-1) // unknown: store the anchor
	if !rebase {
		if anchored, err = l.extends(ctx, tenant, size, root); err != nil {
			return nil, err
		}
	}
	if stored != nil {
		// The newest note of this tree: a heartbeat's or an export's, if
		// any came after the checkpoint.
		if stored, err = l.newestAt(ctx, stored); err != nil {
			return nil, err
		}
		// Signed by an earlier run, before anchors or before a crash.
		if l.opts.Anchor != nil && anchored < size {
			if err := l.opts.Anchor.Store(ctx, tenant, stored.Note); err != nil {
				return nil, err
			}
		}
		l.noteSigned(tenant, size)
		return stored, nil
	}
	c, err := l.signTree(ctx, tenant, size, root)
	if err != nil {
		return nil, err
	}
	if err := l.keep(ctx, c, true); err != nil {
		return nil, err
	}
	return c, nil
}

// keep anchors a newly signed checkpoint (unless it is of a smaller tree
// than the anchored one: anchor false), remembered outside the database
// before anyone can see it, then stores it and tells OnSigned.
func (l *Log) keep(ctx context.Context, c *Checkpoint, anchor bool) error {
	if l.opts.Anchor != nil && anchor {
		if err := l.opts.Anchor.Store(ctx, c.Tenant, c.Note); err != nil {
			return err
		}
	}
	if err := l.store(ctx, c); err != nil {
		return err
	}
	l.noteSigned(c.Tenant, c.Size)
	l.signedNew(c)
	return nil
}

// signTree signs tenant's tree of the given size and root: the note signature
// and, with Options.Timestamper, the log's timestamp line. Errors: those of
// the signers, internal.
func (l *Log) signTree(ctx context.Context, tenant string, size int64, root tlog.Hash) (*Checkpoint, error) {
	signer, vkey, err := l.opts.Signer(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("checkpoint signer of %q: %w", tenant, err)
	}
	signers := []note.Signer{signer}
	now := l.now()
	var ts time.Time
	if l.opts.Timestamper != nil {
		key, err := l.opts.Timestamper(ctx, tenant)
		if err != nil {
			return nil, fmt.Errorf("timestamp key of %q: %w", tenant, err)
		}
		if key == nil {
			return nil, vault.Errorf(vault.EINTERNAL, "No timestamp key for the audit log of %q.", tenant)
		}
		tsig, err := newTimestampSigner(vkey, key, func() time.Time { return now })
		if err != nil {
			return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot timestamp the audit checkpoint.")
		}
		signers = append(signers, tsig)
		ts = time.Unix(now.Unix(), 0).UTC()
	}
	msg, err := note.Sign(&note.Note{Text: CheckpointText(tenant, size, root)}, signers...)
	if err != nil {
		return nil, vault.WrapError(vault.EINTERNAL, err, "Cannot sign the audit checkpoint.")
	}
	return &Checkpoint{Tenant: tenant, Size: size, Root: root, Note: msg, CreatedAt: now, Time: ts}, nil
}

// store has the writer store a newly signed checkpoint, so that signing
// never waits for the write lock behind a stream of appends.
func (l *Log) store(ctx context.Context, c *Checkpoint) error {
	req := &request{ctx: ctx, ck: c, done: make(chan result, 1)}
	if err := l.send(ctx, req); err != nil {
		return err
	}
	select {
	case r := <-req.done:
		return r.err
	case <-ctx.Done():
		return unavailable(ctx.Err())
	}
}

// signedNew notes the timestamp of a newly signed and stored checkpoint
// and passes it to Options.OnSigned.
func (l *Log) signedNew(c *Checkpoint) {
	l.stMu.Lock()
	l.logs[c.Tenant] = struct{}{}
	if c.CreatedAt.After(l.lastSig[c.Tenant]) {
		l.lastSig[c.Tenant] = c.CreatedAt
	}
	l.stMu.Unlock()
	if l.opts.OnSigned != nil {
		l.opts.OnSigned(c)
	}
}

// storeSigned inserts c into audit_checkpoints or, when a checkpoint of
// its size is stored there already (signed by an earlier run, a heartbeat,
// an export), into audit_timestamps: every note the log signs is kept.
func storeSigned(ctx context.Context, tx *sql.Tx, c *Checkpoint) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_checkpoints WHERE tenant_id = ? AND size = ?`, c.Tenant, c.Size).Scan(&n); err != nil {
		return err
	}
	at := c.CreatedAt.UTC().Format(TimeLayout)
	if n != 0 {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_timestamps (tenant_id, size, note, signed_at) VALUES (?, ?, ?, ?)`,
			c.Tenant, c.Size, c.Note, at)
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (tenant_id, size, root, note, created_at) VALUES (?, ?, ?, ?, ?)`,
		c.Tenant, c.Size, c.Root[:], c.Note, at)
	return err
}

// checkpointAt returns tenant's stored checkpoint of the given size.
// Errors: not_found, unavailable, internal.
func (l *Log) checkpointAt(ctx context.Context, tenant string, size int64) (*Checkpoint, error) {
	var found *Checkpoint
	err := l.checkpoints(ctx, `SELECT size, root, note, created_at FROM audit_checkpoints WHERE tenant_id = ? AND size = ?`,
		tenant, size, func(c *Checkpoint) error { found = c; return nil })
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, vault.Errorf(vault.ENOTFOUND, "Audit checkpoint not found.")
	}
	return found, nil
}

// Prove returns the inclusion proof of the event seq in tenant's tree of
// the given size, which must be at most the log's size. Errors: invalid,
// unavailable, internal.
func (l *Log) Prove(ctx context.Context, tenant string, seq, size int64) (tlog.RecordProof, error) {
	if seq < 1 || size < seq {
		return nil, vault.Errorf(vault.EINVALID, "Invalid sequence number or tree size.")
	}
	n, err := l.Size(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if size > n {
		return nil, vault.Errorf(vault.EINVALID, "Tree size %d is beyond the end of the log (%d).", size, n)
	}
	p, err := tlog.ProveRecord(size, seq-1, hashReader(ctx, l.db, tenant, nil))
	if err != nil {
		return nil, treeError(err)
	}
	return p, nil
}

// VerifyProof checks that proof shows leaf to be event seq of the tree of
// the given size and root hash.
func VerifyProof(leaf []byte, seq int64, proof tlog.RecordProof, size int64, root tlog.Hash) error {
	if seq < 1 || seq > size {
		return fmt.Errorf("audit: event %d is outside a tree of size %d", seq, size)
	}
	if err := tlog.CheckRecord(proof, size, root, seq-1, LeafHash(leaf)); err != nil {
		return fmt.Errorf("audit: event %d is not in the tree of size %d: %w", seq, size, err)
	}
	return nil
}

// VerifierKey returns the note verifier key that checks tenant's
// checkpoints. Errors: those of Options.Signer.
func (l *Log) VerifierKey(ctx context.Context, tenant string) (string, error) {
	_, vkey, err := l.opts.Signer(ctx, tenant)
	if err != nil {
		return "", fmt.Errorf("checkpoint signer of %q: %w", tenant, err)
	}
	return vkey, nil
}

// noteSigned records that tenant has a checkpoint of the given size.
func (l *Log) noteSigned(tenant string, size int64) {
	l.stMu.Lock()
	defer l.stMu.Unlock()
	if size > l.signed[tenant] {
		l.signed[tenant] = size
	}
}

// grew notes, after a commit, the firms whose trees grew, and wakes the
// checkpointer for those that are CheckpointEvery events past their last
// checkpoint. Signing happens there, outside the writer.
func (l *Log) grew(tips map[string]tip) {
	kick := false
	l.stMu.Lock()
	for t, tp := range tips {
		l.grown[t] = struct{}{}
		l.logs[t] = struct{}{}
		// A firm whose signing failed waits for the timer rather than
		// retrying at every commit.
		if _, failing := l.failing[t]; !failing && tp.seq-l.signed[t] >= int64(l.opts.CheckpointEvery) {
			l.urgent[t] = struct{}{}
			kick = true
		}
	}
	l.stMu.Unlock()
	if kick {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// checkpointer is the goroutine that signs checkpoints: at once for firms
// CheckpointEvery events past their last one, and every CheckpointInterval
// for every firm whose tree grew. At startup it looks at every firm, for
// trees that grew unsigned before a crash; at Close it signs a last time.
func (l *Log) checkpointer() {
	defer close(l.ckDone)
	if err := l.catchUp(); err != nil {
		l.log.Warn().Err(err).Msg("cannot list audit logs to checkpoint")
	}
	tick := time.NewTicker(l.opts.CheckpointInterval)
	defer tick.Stop()
	beat := time.NewTicker(l.heartbeatCheck())
	defer beat.Stop()
	for {
		select {
		case <-l.stop:
			l.sign(l.take(false), false)
			return
		case <-l.kick:
			l.sign(l.take(true), true)
		case <-tick.C:
			l.sign(l.take(false), false)
		case <-beat.C:
			l.heartbeats()
		}
	}
}

// catchUp marks every firm with events as grown, so the first timer pass
// signs what a previous run left unsigned. It finds the firms with one
// index seek each, not a scan of the events.
func (l *Log) catchUp() error {
	rows, err := l.db.Query(`
		WITH RECURSIVE t(id) AS (
			SELECT MIN(tenant_id) FROM audit_events
			UNION ALL
			SELECT (SELECT MIN(tenant_id) FROM audit_events WHERE tenant_id > t.id) FROM t WHERE t.id IS NOT NULL
		)
		SELECT id FROM t WHERE id IS NOT NULL`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var tenants []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return err
		}
		tenants = append(tenants, t)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	l.stMu.Lock()
	defer l.stMu.Unlock()
	for _, t := range tenants {
		l.grown[t] = struct{}{}
		l.logs[t] = struct{}{}
	}
	return nil
}

// checkpointIfDue signs a checkpoint of tenant, if it is due.
func (l *Log) checkpointIfDue(ctx context.Context, tenant string, dueOnly bool) error {
	if dueOnly {
		n, err := l.Size(ctx, tenant)
		if err != nil {
			return err
		}
		l.stMu.Lock()
		signed := l.signed[tenant]
		l.stMu.Unlock()
		if n-signed < int64(l.opts.CheckpointEvery) {
			return nil
		}
	}
	_, err := l.Checkpoint(ctx, tenant)
	return err
}

// take returns, and forgets, the firms due for a checkpoint: the urgent
// ones, or (urgentOnly false) every one that grew.
func (l *Log) take(urgentOnly bool) []string {
	l.stMu.Lock()
	defer l.stMu.Unlock()
	set := map[string]struct{}{}
	for t := range l.urgent {
		set[t] = struct{}{}
	}
	clear(l.urgent)
	if !urgentOnly {
		for t := range l.grown {
			set[t] = struct{}{}
		}
		clear(l.grown)
	}
	tenants := make([]string, 0, len(set))
	for t := range set {
		tenants = append(tenants, t)
	}
	sort.Strings(tenants)
	return tenants
}

// sign checkpoints each tenant or, with dueOnly, each one still
// CheckpointEvery events past its last checkpoint: commits that happened
// while one was being signed asked again. A failure is logged and left to
// the next timer pass.
func (l *Log) sign(tenants []string, dueOnly bool) {
	for _, t := range tenants {
		if l.divergence(t) != nil {
			continue // logged once when found; nothing to sign until an operator acts
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := l.checkpointIfDue(ctx, t, dueOnly)
		cancel()
		l.stMu.Lock()
		if err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
			l.grown[t] = struct{}{}
			l.failing[t] = struct{}{}
		} else {
			delete(l.failing, t)
		}
		l.stMu.Unlock()
		if err != nil && !vault.IsCode(err, vault.ENOTFOUND) {
			l.log.Error().Err(err).Str("tenant_id", t).Msg("cannot sign audit checkpoint")
		}
	}
}
