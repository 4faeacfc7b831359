package audit

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/vault"
)

// ActionRollbackAccepted is the action of the event an operator's
// `casevault audit accept-rollback` records in a log whose tree no longer
// extends the checkpoint signed last (an older audit.db put back): the gap
// is written down, never passed over in silence.
const ActionRollbackAccepted = "audit.rollback_accepted"

// Anchor keeps the latest checkpoint signed of every log outside the audit
// database (keys.AuditAnchors): whoever can write audit.db cannot also
// rewrite what the server remembers having signed. Tenant "" is the
// service log.
type Anchor interface {
	// Load returns the checkpoint note stored for tenant's log. Errors:
	// not_found (none yet), invalid (damaged, or not this log's),
	// unavailable, internal.
	Load(ctx context.Context, tenant string) ([]byte, error)

	// Store durably replaces the note stored for tenant's log. Errors:
	// unavailable, internal.
	Store(ctx context.Context, tenant string, note []byte) error

	// Tenants lists the logs with a stored note. Errors: internal.
	Tenants(ctx context.Context) ([]string, error)
}

// remembered is a log's anchored checkpoint.
type remembered struct {
	size int64
	root tlog.Hash
}

// remembered returns the checkpoint anchored for tenant, its signature and
// origin checked. Errors: not_found (none), invalid, unavailable, internal.
func (l *Log) remembered(ctx context.Context, tenant string) (remembered, error) {
	msg, err := l.opts.Anchor.Load(ctx, tenant)
	if err != nil {
		return remembered{}, err
	}
	// Any key of the region, retired ones included: the checkpoint signed
	// last before a rotation is signed by the old key.
	vs, err := l.verifiers(ctx, tenant)
	if err != nil {
		return remembered{}, err
	}
	n, err := note.Open(msg, vs)
	if err != nil {
		return remembered{}, vault.WrapError(vault.EINVALID, err, "The anchored audit checkpoint does not verify.")
	}
	origin, size, root, err := ParseCheckpointText(n.Text)
	if err != nil || origin != Origin(tenant) {
		return remembered{}, vault.Errorf(vault.EINVALID, "The anchored audit checkpoint is not this log's.")
	}
	return remembered{size: size, root: root}, nil
}

// extends checks that tenant's tree of the given size and root extends the
// anchored checkpoint, with an RFC 6962 consistency proof built from the
// stored hashes. It returns the anchored size (0 when none). When the tree
// does not extend it, the log is marked diverged (no more appends or
// checkpoints) and the error is unavailable.
func (l *Log) extends(ctx context.Context, tenant string, size int64, root tlog.Hash) (int64, error) {
	if l.opts.Anchor == nil {
		return 0, nil
	}
	rem, err := l.remembered(ctx, tenant)
	switch {
	case vault.IsCode(err, vault.ENOTFOUND):
		return 0, nil
	case vault.IsCode(err, vault.EINVALID):
		return 0, l.diverge(tenant, -1, fmt.Sprintf("the checkpoint remembered outside the audit database cannot be read: %v", err))
	case err != nil:
		return 0, err
	}
	if rem.size > size {
		return 0, l.diverge(tenant, size, fmt.Sprintf("the log has %d events, fewer than the %d of the checkpoint signed last (root %s): the histories part after event %d",
			size, rem.size, b64(rem.root), size))
	}
	hr := hashReader(ctx, l.db, tenant, nil)
	proof, err := tlog.ProveTree(size, rem.size, hr)
	if err == nil {
		err = tlog.CheckTree(proof, size, root, rem.size, rem.root)
	}
	if err != nil {
		got, herr := tlog.TreeHash(rem.size, hr)
		at := "cannot be computed"
		if herr == nil {
			at = b64(got)
		}
		where := fmt.Sprintf("the histories part at or before event %d", rem.size)
		diverges := rem.size
		if agree, part, ok := l.partAt(ctx, tenant, rem.size); ok {
			where = fmt.Sprintf("the histories agree up to event %d (a checkpoint signed then) and part after it, at or before event %d", agree, part)
			diverges = agree + 1
		}
		return 0, l.diverge(tenant, diverges, fmt.Sprintf("the tree of size %d does not extend the checkpoint signed last (size %d, root %s; this log's root at size %d %s): %s",
			size, rem.size, b64(rem.root), rem.size, at, where))
	}
	return rem.size, nil
}

// maxPartProbe bounds how many of a log's stored checkpoints partAt reads.
const maxPartProbe = 1024

// partAt narrows down where tenant's tree leaves the history the server
// signed, with the checkpoints stored below size whose signatures verify
// (a writer of the file cannot forge them): agree is the largest whose
// root the tree still has, part the next one's size (or size). The tree of
// one history agrees with it at every smaller size, so a binary search
// finds it. ok is false when no stored checkpoint agrees.
func (l *Log) partAt(ctx context.Context, tenant string, size int64) (agree, part int64, ok bool) {
	vs, err := l.verifiers(ctx, tenant)
	if err != nil {
		return 0, 0, false
	}
	rows, err := l.db.QueryContext(ctx, `SELECT note FROM audit_checkpoints WHERE tenant_id = ? AND size < ? ORDER BY size DESC LIMIT ?`, tenant, size, maxPartProbe)
	if err != nil {
		return 0, 0, false
	}
	var signed []remembered // by size, ascending once reversed
	for rows.Next() {
		var msg []byte
		if rows.Scan(&msg) != nil {
			continue
		}
		n, err := note.Open(msg, vs)
		if err != nil {
			continue
		}
		origin, s, root, err := ParseCheckpointText(n.Text)
		if err != nil || origin != Origin(tenant) || s == 0 {
			continue
		}
		signed = append(signed, remembered{size: s, root: root})
	}
	rows.Close()
	slices.Reverse(signed)
	hr := hashReader(ctx, l.db, tenant, nil)
	agrees := func(i int) bool {
		h, err := tlog.TreeHash(signed[i].size, hr)
		return err == nil && h == signed[i].root
	}
	// The first index that disagrees; all before it agree.
	i := sort.Search(len(signed), func(i int) bool { return !agrees(i) })
	if i == 0 {
		return 0, 0, false
	}
	part = size
	if i < len(signed) {
		part = signed[i].size
	}
	return signed[i-1].size, part, true
}

// b64 is how checkpoints spell a hash.
func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// diverge marks tenant's log as no longer extending its anchored
// checkpoint, logs it once, and returns the unavailable error of every
// later append and checkpoint. at is the size where the histories part, or
// -1 when unknown.
func (l *Log) diverge(tenant string, at int64, why string) error {
	l.divMu.Lock()
	_, known := l.diverged[tenant]
	l.diverged[tenant] = why
	l.anyDiverged.Store(true)
	l.divMu.Unlock()
	if !known {
		l.log.Error().Str("tenant_id", tenant).Int64("diverges_at", at).Str("reason", why).
			Msg("audit log does not extend the checkpoint signed last: refusing to sign or append; restore the database, or record the gap with casevault audit accept-rollback")
	}
	return divergedError(tenant, why)
}

// divergedError is the error of appends and checkpoints of a diverged log.
func divergedError(tenant, why string) error {
	return vault.WrapError(vault.EUNAVAILABLE, fmt.Errorf("audit log %q: %s", tenant, why), "Audit log unavailable.")
}

// divergence returns the error of tenant's log if it is diverged, else nil.
// It costs one atomic load while no log is diverged: the append path stays
// fast.
func (l *Log) divergence(tenant string) error {
	if l.anyHeld.Load() {
		if err := l.heldError(tenant); err != nil {
			return err
		}
	}
	return l.divergedOnly(tenant)
}

// divergedOnly is divergence without the holds of a move.
func (l *Log) divergedOnly(tenant string) error {
	if !l.anyDiverged.Load() {
		return nil
	}
	l.divMu.RLock()
	why, ok := l.diverged[tenant]
	l.divMu.RUnlock()
	if !ok {
		return nil
	}
	return divergedError(tenant, why)
}

// Diverged returns, for every log that does not extend the checkpoint it
// signed last, why: its appends and checkpoints are refused until an
// operator acts.
func (l *Log) Diverged() map[string]string {
	l.divMu.RLock()
	defer l.divMu.RUnlock()
	out := make(map[string]string, len(l.diverged))
	for t, why := range l.diverged {
		out[t] = why
	}
	return out
}

// checkAnchors checks, at open, that every log with an anchored
// checkpoint extends it; those that do not are marked diverged (and
// logged), the others keep working.
func (l *Log) checkAnchors(ctx context.Context) error {
	if l.opts.Anchor == nil {
		return nil
	}
	tenants, err := l.opts.Anchor.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if r := l.heldReason(t); r == holdMovingIn || r == holdAdopting {
			continue // a copy being moved in: Adopt checks it against this cell's anchor
		}
		if err := l.checkAnchor(ctx, t); err != nil && !vault.IsCode(err, vault.EUNAVAILABLE) {
			l.log.Error().Err(err).Str("tenant_id", t).Msg("cannot check the audit log against its anchored checkpoint")
		}
	}
	return nil
}

// checkAnchor checks tenant's whole tree against its anchored checkpoint.
func (l *Log) checkAnchor(ctx context.Context, tenant string) error {
	size, err := l.Size(ctx, tenant)
	if err != nil {
		return err
	}
	var root tlog.Hash
	if size > 0 {
		if root, err = tlog.TreeHash(size, hashReader(ctx, l.db, tenant, nil)); err != nil {
			return l.diverge(tenant, -1, fmt.Sprintf("the tree of size %d cannot be computed: %v", size, err))
		}
	}
	_, err = l.extends(ctx, tenant, size, root)
	return err
}

// AcceptRollback is the operator's step after putting back an older audit
// database: it records in tenant's log an ActionRollbackAccepted event
// naming the remembered checkpoint and the log's size, then signs a
// checkpoint of the log as it is and anchors it in place of the old one.
// Run it with the server stopped. Errors: invalid (no remembered
// checkpoint, or the log extends it: nothing to accept), unavailable,
// internal.
func (l *Log) AcceptRollback(ctx context.Context, tenant string) (*Checkpoint, error) {
	if l.opts.Anchor == nil {
		return nil, vault.Errorf(vault.EINVALID, "This audit log keeps no anchored checkpoints.")
	}
	l.ckMu.Lock()
	defer l.ckMu.Unlock()
	rem, err := l.remembered(ctx, tenant)
	if vault.IsCode(err, vault.ENOTFOUND) {
		return nil, vault.Errorf(vault.EINVALID, "No checkpoint of this log is remembered: nothing to accept.")
	} else if err != nil && !vault.IsCode(err, vault.EINVALID) {
		return nil, err
	}
	if l.divergence(tenant) == nil {
		return nil, vault.Errorf(vault.EINVALID, "This log extends the checkpoint signed last: nothing to accept.")
	}
	size, err := l.Size(ctx, tenant)
	if err != nil {
		return nil, err
	}
	l.divMu.Lock()
	why := l.diverged[tenant]
	delete(l.diverged, tenant)
	l.anyDiverged.Store(len(l.diverged) > 0)
	l.divMu.Unlock()
	redo := func(err error) error { l.diverge(tenant, -1, why); return err }
	objectID := tenant
	if tenant == "" {
		objectID = "service"
	}
	_, err = l.Append(ctx, &vault.AuditEvent{
		TenantID: tenant, ActorID: vault.ActorOperator, Action: ActionRollbackAccepted,
		ObjectType: "audit_log", ObjectID: objectID, Outcome: OutcomeOK,
		Details: map[string]string{
			"remembered_size": strconv.FormatInt(rem.size, 10),
			"remembered_root": b64(rem.root),
			"current_size":    strconv.FormatInt(size, 10),
		},
	})
	if err != nil {
		return nil, redo(err)
	}
	// A rotation of the region's key since the remembered checkpoint goes
	// on record too, before the new key signs the log as it is.
	if msg, lerr := l.opts.Anchor.Load(ctx, tenant); lerr == nil {
		if _, err := l.appendRotations(ctx, tenant, msg, size); err != nil {
			return nil, redo(err)
		}
	}
	c, err := l.checkpoint(ctx, tenant, true)
	if err != nil {
		return nil, redo(err)
	}
	return c, nil
}
