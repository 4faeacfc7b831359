package backup

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/superfly/ltx"

	"github.com/casevault/casevault/vault"
)

// Retention is a tiered retention policy over a database's backup
// (docs/BACKUP-FORMAT.md, "Retention"). Within All of now, a restore can
// reach any time (every snapshot is kept, and every file at every level
// after the newest snapshot older than All); beyond it, only the kept
// snapshots themselves: the newest of each UTC day within Daily and of
// each UTC month within Monthly. A tier of zero keeps nothing of its own.
type Retention struct {
	All, Daily, Monthly time.Duration
}

// Longest is the longest tier: Litestream's own snapshot retention is set
// to it, so that it never deletes what a tier keeps.
func (p Retention) Longest() time.Duration { return max(p.All, p.Daily, p.Monthly) }

// pruneInterval is how often a running backup prunes.
const pruneInterval = time.Hour

// PrunePlan returns the files of files (by level) that p does not keep at
// now. It always keeps the newest file of each level (Litestream
// compacts from it), the newest snapshot, and the newest snapshot older
// than All (the base a restore to the start of the All tier starts from).
// A file of a lower level goes only when it ends at or before that base
// and was written before the All tier began.
func PrunePlan(files map[int][]*ltx.FileInfo, now time.Time, p Retention) []*ltx.FileInfo {
	cutoff := now.Add(-p.All)
	snaps := slices.Clone(files[litestream.SnapshotLevel])
	slices.SortFunc(snaps, func(a, b *ltx.FileInfo) int { return a.CreatedAt.Compare(b.CreatedAt) })
	keep := make(map[*ltx.FileInfo]bool)
	var base *ltx.FileInfo
	day := map[string]*ltx.FileInfo{}
	month := map[string]*ltx.FileInfo{}
	for _, s := range snaps {
		at := s.CreatedAt.UTC()
		switch {
		case !at.Before(cutoff):
			keep[s] = true
		default:
			base = s // the newest before the cutoff, in the end
		}
		if p.Daily > 0 && !at.Before(now.Add(-p.Daily)) {
			day[at.Format(time.DateOnly)] = s // the newest of its day, in the end
		}
		if p.Monthly > 0 && !at.Before(now.Add(-p.Monthly)) {
			month[at.Format("2006-01")] = s
		}
	}
	for _, s := range day {
		keep[s] = true
	}
	for _, s := range month {
		keep[s] = true
	}
	if base != nil {
		keep[base] = true
	}
	if n := len(snaps); n > 0 {
		keep[snaps[n-1]] = true
	}
	var del []*ltx.FileInfo
	for _, s := range files[litestream.SnapshotLevel] {
		if !keep[s] {
			del = append(del, s)
		}
	}
	if base == nil {
		return del // every lower file may still be needed
	}
	levels := make([]int, 0, len(files))
	for level := range files {
		if level != litestream.SnapshotLevel {
			levels = append(levels, level)
		}
	}
	slices.Sort(levels)
	for _, level := range levels {
		fs := files[level]
		var newest *ltx.FileInfo
		for _, f := range fs {
			if newest == nil || f.MaxTXID > newest.MaxTXID {
				newest = f
			}
		}
		for _, f := range fs {
			if f != newest && f.MaxTXID <= base.MaxTXID && f.CreatedAt.Before(cutoff) {
				del = append(del, f)
			}
		}
	}
	return del
}

// Prune deletes from client's database what p does not keep at now and
// returns how many files it deleted. Errors: those of the store.
func Prune(ctx context.Context, client litestream.ReplicaClient, now time.Time, p Retention) (int, error) {
	files, err := listAll(ctx, client)
	if err != nil {
		return 0, err
	}
	del := PrunePlan(files, now, p)
	if len(del) == 0 {
		return 0, nil
	}
	if err := client.DeleteLTXFiles(ctx, del); err != nil {
		return 0, fmt.Errorf("prune backup: %w", err)
	}
	return len(del), nil
}

// PlanBefore returns what a backup can forget of the time before before:
// base, the oldest snapshot created at or after it, and del, every older
// snapshot and every file of the lower levels that ends at or before
// base (base holds what they hold, as of its own time), but the newest of
// each level (Litestream compacts from it). With no snapshot created at
// or after before, base is nil and nothing is to go.
func PlanBefore(files map[int][]*ltx.FileInfo, before time.Time) (del []*ltx.FileInfo, base *ltx.FileInfo) {
	for _, s := range files[litestream.SnapshotLevel] {
		if !s.CreatedAt.Before(before) && (base == nil || s.CreatedAt.Before(base.CreatedAt)) {
			base = s
		}
	}
	if base == nil {
		return nil, nil
	}
	for level, fs := range files {
		if level == litestream.SnapshotLevel {
			for _, s := range fs {
				if s.CreatedAt.Before(base.CreatedAt) && s.MaxTXID <= base.MaxTXID {
					del = append(del, s)
				}
			}
			continue
		}
		var newest *ltx.FileInfo
		for _, f := range fs {
			if newest == nil || f.MaxTXID > newest.MaxTXID {
				newest = f
			}
		}
		for _, f := range fs {
			if f != newest && f.MaxTXID <= base.MaxTXID {
				del = append(del, f)
			}
		}
	}
	return del, base
}

// listAll lists every level of client's database.
func listAll(ctx context.Context, client litestream.ReplicaClient) (map[int][]*ltx.FileInfo, error) {
	files := make(map[int][]*ltx.FileInfo)
	for level := 0; level <= litestream.SnapshotLevel; level++ {
		itr, err := client.LTXFiles(ctx, level, 0, false)
		if err != nil {
			return nil, err
		}
		infos, err := ltx.SliceFileIterator(itr)
		if err != nil {
			return nil, err
		}
		if len(infos) > 0 {
			files[level] = infos
		}
	}
	return files, nil
}

// ForgetBefore deletes from client's database what PlanBefore says may
// go, and returns how many files it deleted and the snapshot a restore
// now starts from at the earliest. Errors: not_found (no snapshot at or
// after before: nothing deleted), those of the store.
func ForgetBefore(ctx context.Context, client litestream.ReplicaClient, before time.Time) (int, *ltx.FileInfo, error) {
	files, err := listAll(ctx, client)
	if err != nil {
		return 0, nil, err
	}
	del, base := PlanBefore(files, before)
	if base == nil {
		return 0, nil, vault.Errorf(vault.ENOTFOUND, "No snapshot was taken at or after %s: the backup would have nothing to restore from.", before.UTC().Format(time.RFC3339))
	}
	if len(del) > 0 {
		if err := client.DeleteLTXFiles(ctx, del); err != nil {
			return 0, base, fmt.Errorf("forget backup: %w", err)
		}
	}
	return len(del), base, nil
}
