package audit

import (
	"context"
	"errors"
	"maps"
	"sort"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/casevault/casevault/vault"
)

// Router is the audit log of a process that serves several cells: each
// region's firms have their own Log, in their cell's audit.db, and the
// service-wide log (tenant "") is a Log of its own. Every call about a
// firm goes to the log of its cell; a firm whose region is not served here
// is unavailable, never written elsewhere. It implements vault.AuditLog
// and the sources that the witness client and the sink worker read.
type Router struct {
	// Logs are the served cells' logs by region name; "" is the
	// service-wide log.
	Logs map[string]*Log
	// RegionOf returns a firm's region. Errors: not_found.
	RegionOf func(ctx context.Context, tenant string) (string, error)
}

var _ vault.AuditLog = (*Router)(nil)

// Log returns the log that holds tenant's events ("" the service log).
// Errors: not_found (unknown firm), unavailable (its cell is not served).
func (r *Router) Log(ctx context.Context, tenant string) (*Log, error) {
	region := ""
	if tenant != "" {
		var err error
		if region, err = r.RegionOf(ctx, tenant); err != nil {
			if vault.IsCode(err, vault.ENOTFOUND) {
				return nil, vault.Errorf(vault.EUNAVAILABLE, "The audit log of this firm is not served by this server.")
			}
			return nil, err
		}
	}
	l, ok := r.Logs[region]
	if !ok {
		return nil, vault.Errorf(vault.EUNAVAILABLE, "The audit log of region %s is not served by this server.", region)
	}
	return l, nil
}

// names returns the keys of Logs, sorted.
func (r *Router) names() []string {
	names := make([]string, 0, len(r.Logs))
	for n := range r.Logs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Append records e in the log of e's firm. Errors: as Log.Append.
func (r *Router) Append(ctx context.Context, e *vault.AuditEvent) (int64, error) {
	l, err := r.Log(ctx, e.TenantID)
	if err != nil {
		return 0, err
	}
	return l.Append(ctx, e)
}

// Ping pings every log. Errors: unavailable.
func (r *Router) Ping(ctx context.Context) error {
	for _, n := range r.names() {
		if err := r.Logs[n].Ping(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Stats sums the counters of every log.
func (r *Router) Stats() vault.AuditStats {
	var s vault.AuditStats
	for _, l := range r.Logs {
		t := l.Stats()
		s.Appended += t.Appended
		s.Failed += t.Failed
		s.Commits += t.Commits
		s.Diverged += t.Diverged
	}
	return s
}

// Diverged returns the diverged logs of every cell.
func (r *Router) Diverged() map[string]string {
	out := make(map[string]string)
	for _, l := range r.Logs {
		maps.Copy(out, l.Diverged())
	}
	return out
}

// Close closes every log.
func (r *Router) Close() error {
	var errs []error
	for _, l := range r.Logs {
		errs = append(errs, l.Close())
	}
	return errors.Join(errs...)
}

// AcceptRollback accepts the rollback of tenant's log (see Log).
func (r *Router) AcceptRollback(ctx context.Context, tenant string) (*Checkpoint, error) {
	l, err := r.Log(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return l.AcceptRollback(ctx, tenant)
}

// ProveTree is Log.ProveTree on tenant's log.
func (r *Router) ProveTree(ctx context.Context, tenant string, from, to int64) (tlog.TreeProof, error) {
	l, err := r.Log(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return l.ProveTree(ctx, tenant, from, to)
}

// AddCosignature is Log.AddCosignature on tenant's log.
func (r *Router) AddCosignature(ctx context.Context, tenant string, size int64, line string) error {
	l, err := r.Log(ctx, tenant)
	if err != nil {
		return err
	}
	return l.AddCosignature(ctx, tenant, size, line)
}

// Size is Log.Size on tenant's log.
func (r *Router) Size(ctx context.Context, tenant string) (int64, error) {
	l, err := r.Log(ctx, tenant)
	if err != nil {
		return 0, err
	}
	return l.Size(ctx, tenant)
}

// Cosignatures is Log.Cosignatures on tenant's log.
func (r *Router) Cosignatures(ctx context.Context, tenant string, size int64) ([]*Cosignature, error) {
	l, err := r.Log(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return l.Cosignatures(ctx, tenant, size)
}

// CheckpointsAfter is Log.CheckpointsAfter on tenant's log.
func (r *Router) CheckpointsAfter(ctx context.Context, tenant string, size int64, limit int) ([]*Checkpoint, error) {
	l, err := r.Log(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return l.CheckpointsAfter(ctx, tenant, size, limit)
}

// CountCheckpointsAfter is Log.CountCheckpointsAfter on tenant's log.
func (r *Router) CountCheckpointsAfter(ctx context.Context, tenant string, size int64) (int64, error) {
	l, err := r.Log(ctx, tenant)
	if err != nil {
		return 0, err
	}
	return l.CountCheckpointsAfter(ctx, tenant, size)
}

// CheckpointAtOrBefore is Log.CheckpointAtOrBefore on tenant's log.
func (r *Router) CheckpointAtOrBefore(ctx context.Context, tenant string, t time.Time) (*Checkpoint, error) {
	l, err := r.Log(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return l.CheckpointAtOrBefore(ctx, tenant, t)
}

// VerifierKey is Log.VerifierKey on tenant's log.
func (r *Router) VerifierKey(ctx context.Context, tenant string) (string, error) {
	l, err := r.Log(ctx, tenant)
	if err != nil {
		return "", err
	}
	return l.VerifierKey(ctx, tenant)
}
