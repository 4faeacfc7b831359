package audit

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/vault"
)

// ProveTree returns the RFC 6962 consistency proof (RFC 9162 §2.1.4) that
// tenant's tree of size from is a prefix of its tree of size to. Errors:
// invalid (from < 1 or from > to), not_found (to is beyond the end of the
// log), unavailable, internal.
func (l *Log) ProveTree(ctx context.Context, tenant string, from, to int64) (tlog.TreeProof, error) {
	if err := l.checkSizes(ctx, tenant, from, to); err != nil {
		return nil, err
	}
	p, err := tlog.ProveTree(to, from, hashReader(ctx, l.db, tenant, nil))
	if err != nil {
		return nil, treeError(err)
	}
	return p, nil
}

// TreeHash returns the root of tenant's tree of the given size, at least 1.
// Errors: invalid, not_found (beyond the end of the log), unavailable,
// internal.
func (l *Log) TreeHash(ctx context.Context, tenant string, size int64) (tlog.Hash, error) {
	if err := l.checkSizes(ctx, tenant, size, size); err != nil {
		return tlog.Hash{}, err
	}
	h, err := tlog.TreeHash(size, hashReader(ctx, l.db, tenant, nil))
	if err != nil {
		return tlog.Hash{}, treeError(err)
	}
	return h, nil
}

// checkSizes checks 1 ≤ from ≤ to ≤ the size of tenant's log.
func (l *Log) checkSizes(ctx context.Context, tenant string, from, to int64) error {
	if from < 1 || from > to {
		return vault.Errorf(vault.EINVALID, "Tree sizes must satisfy 1 ≤ from ≤ to.")
	}
	n, err := l.Size(ctx, tenant)
	if err != nil {
		return err
	}
	if to > n {
		return vault.Errorf(vault.ENOTFOUND, "Tree size %d is beyond the end of the log (%d).", to, n)
	}
	return nil
}

// Consistency returns the consistency proof of tenant's tree from size
// from to size to (0: the latest checkpoint's size, signed first if the
// tree grew), with both roots and the stored checkpoints of those sizes
// where there are any. Errors: invalid, not_found, unavailable, internal.
func (r *Reader) Consistency(ctx context.Context, tenant string, from, to int64) (*vault.AuditConsistency, error) {
	r, err := r.routed(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if to == 0 {
		cp, err := r.Log.Checkpoint(ctx, tenant)
		if err != nil {
			return nil, err
		}
		to = cp.Size
	}
	proof, err := r.Log.ProveTree(ctx, tenant, from, to)
	if err != nil {
		return nil, err
	}
	fromRoot, err := r.Log.TreeHash(ctx, tenant, from)
	if err != nil {
		return nil, err
	}
	toRoot, err := r.Log.TreeHash(ctx, tenant, to)
	if err != nil {
		return nil, err
	}
	vkey, err := r.Log.VerifierKey(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := &vault.AuditConsistency{
		From: from, To: to, FromRoot: b64(fromRoot), ToRoot: b64(toRoot), Proof: []string{}, VerifierKey: vkey,
	}
	for _, h := range proof {
		out.Proof = append(out.Proof, b64(h))
	}
	for _, s := range []struct {
		size int64
		dst  **vault.AuditCheckpoint
	}{{from, &out.FromCheckpoint}, {to, &out.ToCheckpoint}} {
		c, err := r.Log.checkpointAt(ctx, tenant, s.size)
		switch {
		case vault.IsCode(err, vault.ENOTFOUND):
		case err != nil:
			return nil, err
		default:
			n, err := r.Log.CosignedNote(ctx, c)
			if err != nil {
				return nil, err
			}
			*s.dst = &vault.AuditCheckpoint{Size: c.Size, Root: b64(c.Root), Note: string(n), VerifierKey: vkey}
		}
	}
	return out, nil
}

// VerifyConsistency checks that proof shows the tree of size from and root
// fromRoot to be a prefix of the tree of size to and root toRoot. Equal
// sizes need an empty proof and equal roots.
func VerifyConsistency(from int64, fromRoot tlog.Hash, to int64, toRoot tlog.Hash, proof tlog.TreeProof) error {
	return tlog.CheckTree(proof, to, toRoot, from, fromRoot)
}
