package backup_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/superfly/ltx"

	"github.com/casevault/casevault/backup"
)

const day = 24 * time.Hour

var defaultTiers = backup.Retention{All: 48 * time.Hour, Daily: 35 * day, Monthly: 365 * day}

// history is a synthetic backup of 400 days up to now: one L1 file every
// step (TXIDs one after the other), one L2 file per day, and a snapshot
// at 00:30 UTC each day and every 6 hours of the last 3 days.
func history(now time.Time, step time.Duration) map[int][]*ltx.FileInfo {
	files := map[int][]*ltx.FileInfo{}
	start := now.Add(-400 * day).Truncate(day)
	var tx ltx.TXID
	var dayStart ltx.TXID = 1
	for t := start; t.Before(now); t = t.Add(step) {
		tx++
		files[1] = append(files[1], &ltx.FileInfo{Level: 1, MinTXID: tx, MaxTXID: tx, CreatedAt: t})
		next := t.Add(step)
		if next.Truncate(day) != t.Truncate(day) || !next.Before(now) {
			files[2] = append(files[2], &ltx.FileInfo{Level: 2, MinTXID: dayStart, MaxTXID: tx, CreatedAt: t.Add(time.Minute)})
			dayStart = tx + 1
		}
		snapAt := t.Truncate(day).Add(30 * time.Minute)
		recent := now.Sub(t) < 3*day
		if (!t.After(snapAt) && next.After(snapAt)) || (recent && t.Truncate(6*time.Hour) != next.Truncate(6*time.Hour)) {
			files[litestream.SnapshotLevel] = append(files[litestream.SnapshotLevel],
				&ltx.FileInfo{Level: litestream.SnapshotLevel, MinTXID: 1, MaxTXID: tx, CreatedAt: t.Add(time.Second)})
		}
	}
	return files
}

func TestPrunePlan(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	files := history(now, time.Hour)
	del := PrunePlanSet(files, now, defaultTiers)
	cutoff := now.Add(-defaultTiers.All)

	var kept []*ltx.FileInfo
	for _, s := range files[litestream.SnapshotLevel] {
		if !del[s] {
			kept = append(kept, s)
		}
	}
	// Every snapshot of the last 48 hours; one per day for 35 days; one
	// per month for a year; the base just before the 48 hours.
	perDay, perMonth := map[string]int{}, map[string]int{}
	var base *ltx.FileInfo
	for _, s := range files[litestream.SnapshotLevel] {
		if s.CreatedAt.Before(cutoff) {
			base = s
		}
	}
	for _, s := range kept {
		age := now.Sub(s.CreatedAt)
		switch {
		case age <= defaultTiers.All:
		case s == base:
		case age <= defaultTiers.Daily:
			perDay[s.CreatedAt.Format(time.DateOnly)]++
		case age <= defaultTiers.Monthly:
			perMonth[s.CreatedAt.Format("2006-01")]++
		default:
			t.Errorf("snapshot of %s kept: older than every tier", s.CreatedAt)
		}
	}
	for _, s := range files[litestream.SnapshotLevel] {
		if age := now.Sub(s.CreatedAt); age <= defaultTiers.All && del[s] {
			t.Errorf("snapshot of %s (within the all tier) deleted", s.CreatedAt)
		}
	}
	for d, n := range perDay {
		if n != 1 {
			t.Errorf("day %s: %d snapshots kept, want 1", d, n)
		}
	}
	for mo, n := range perMonth {
		if n != 1 {
			t.Errorf("month %s: %d snapshots kept, want 1", mo, n)
		}
	}
	if got := len(perDay); got < 32 || got > 35 {
		t.Errorf("daily snapshots kept: got %d, want 33 or so (35 days less the all tier)", got)
	}
	if got := len(perMonth); got < 10 || got > 12 {
		t.Errorf("monthly snapshots kept: got %d, want 10 to 12 (a year less the daily tier)", got)
	}
	// The newest of each day is the one kept.
	for _, s := range kept {
		for _, o := range files[litestream.SnapshotLevel] {
			if age := now.Sub(s.CreatedAt); age > defaultTiers.All && age <= defaultTiers.Daily && s != base &&
				o.CreatedAt.Format(time.DateOnly) == s.CreatedAt.Format(time.DateOnly) && o.CreatedAt.After(s.CreatedAt) {
				t.Errorf("day %s: kept %s, not the newest %s", s.CreatedAt.Format(time.DateOnly), s.CreatedAt, o.CreatedAt)
			}
		}
	}

	// Lower levels: everything a restore to any time of the all tier needs
	// stays; the rest (before the base) goes, but the newest of each level.
	for _, level := range []int{1, 2} {
		fs := files[level]
		left := 0
		for i, f := range fs {
			switch {
			case f.MaxTXID > base.MaxTXID && del[f]:
				t.Errorf("L%d %s-%s of %s deleted: needed after the base %s", level, f.MinTXID, f.MaxTXID, f.CreatedAt, base.MaxTXID)
			case i == len(fs)-1 && del[f]:
				t.Errorf("L%d: the newest file deleted", level)
			case f.MaxTXID <= base.MaxTXID && f.CreatedAt.Before(cutoff) && !del[f]:
				t.Errorf("L%d %s-%s of %s kept: before the base", level, f.MinTXID, f.MaxTXID, f.CreatedAt)
			}
			if !del[f] {
				left++
			}
		}
		if left == 0 || left > 60 {
			t.Errorf("L%d: %d files left of %d, want the last ~2 days' worth", level, left, len(fs))
		}
	}

	t.Run("ScalarKeepsAll", func(t *testing.T) {
		// The scalar form: everything for 35 days, nothing after.
		del := PrunePlanSet(files, now, backup.Retention{All: 35 * day})
		for _, s := range files[litestream.SnapshotLevel] {
			old := now.Sub(s.CreatedAt) > 35*day
			if !old && del[s] {
				t.Errorf("snapshot of %s deleted within 35 days", s.CreatedAt)
			}
		}
		for _, f := range files[1] {
			if now.Sub(f.CreatedAt) <= 35*day && del[f] {
				t.Fatalf("L1 of %s deleted within 35 days", f.CreatedAt)
			}
		}
	})
	t.Run("Empty", func(t *testing.T) {
		if got := backup.PrunePlan(map[int][]*ltx.FileInfo{}, now, defaultTiers); len(got) != 0 {
			t.Errorf("plan over nothing: got %d files", len(got))
		}
		young := history(now, time.Hour)
		// A backup younger than the all tier loses nothing.
		for level, fs := range young {
			var keep []*ltx.FileInfo
			for _, f := range fs {
				if now.Sub(f.CreatedAt) < 40*time.Hour {
					keep = append(keep, f)
				}
			}
			young[level] = keep
		}
		if got := backup.PrunePlan(young, now, defaultTiers); len(got) != 0 {
			t.Errorf("plan over 40 hours: got %d files to delete, want none", len(got))
		}
	})
}

// PrunePlanSet is backup.PrunePlan as a set.
func PrunePlanSet(files map[int][]*ltx.FileInfo, now time.Time, p backup.Retention) map[*ltx.FileInfo]bool {
	out := map[*ltx.FileInfo]bool{}
	for _, f := range backup.PrunePlan(files, now, p) {
		out[f] = true
	}
	return out
}

// TestPrune_Store prunes a real (fs) backup store holding encrypted LTX
// objects written with creation times spread over 400 days, then asks
// Litestream's own restore planner what it can restore: any time of the
// last 48 hours to the newest file before it, older times to their day's
// or month's snapshot, nothing beyond a year.
func TestPrune_Store(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	key := newKey(t, t.TempDir(), "us")
	c, err := backup.NewClient(store, key, backup.DBMetadata, "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	files := history(now, day)
	delete(files, 2) // fewer objects to encrypt; L1 and snapshots tell
	n := 0
	for level, fs := range files {
		for _, f := range fs {
			b := ltxFile(t, f.MinTXID, f.MaxTXID, f.CreatedAt, 64)
			if _, err := c.WriteLTXFile(ctx, level, f.MinTXID, f.MaxTXID, bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	deleted, err := backup.Prune(ctx, c, now, defaultTiers)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(backup.PrunePlan(files, now, defaultTiers)); deleted != want || deleted == 0 {
		t.Fatalf("Prune deleted %d of %d objects, want the plan's %d", deleted, n, want)
	}
	if again, err := backup.Prune(ctx, c, now, defaultTiers); err != nil || again != 0 {
		t.Errorf("a second Prune: %d, %v; want 0", again, err)
	}

	plan := func(at time.Time) []*ltx.FileInfo {
		t.Helper()
		p, err := litestream.CalcRestorePlan(ctx, c, 0, at, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("restore plan at %s: %v", at, err)
		}
		return p
	}
	// newestBefore is the newest TXID written before at, all levels.
	newestBefore := func(at time.Time) ltx.TXID {
		var tx ltx.TXID
		for _, fs := range files {
			for _, f := range fs {
				if f.CreatedAt.Before(at) && f.MaxTXID > tx {
					tx = f.MaxTXID
				}
			}
		}
		return tx
	}
	for _, age := range []time.Duration{time.Hour, 20 * time.Hour, 40 * time.Hour, 47*time.Hour + 30*time.Minute} {
		at := now.Add(-age)
		p := plan(at)
		if p[0].Level != litestream.SnapshotLevel {
			t.Errorf("%s ago: the plan starts at level %d, want a snapshot", age, p[0].Level)
		}
		if got, want := p[len(p)-1].MaxTXID, newestBefore(at); got != want {
			t.Errorf("%s ago: the plan reaches TXID %s, want %s (the newest file before it)", age, got, want)
		}
	}
	for _, age := range []time.Duration{5 * day, 20 * day, 34 * day, 100 * day, 300 * day} {
		at := now.Add(-age)
		p := plan(at)
		if len(p) != 1 || p[0].Level != litestream.SnapshotLevel {
			t.Errorf("%s ago: plan of %d files, want one snapshot", age, len(p))
			continue
		}
		if gap := at.Sub(p[0].CreatedAt); gap < 0 || (age <= 35*day && gap > day) || gap > 31*day {
			t.Errorf("%s ago: restores the snapshot of %s, %s earlier", age, p[0].CreatedAt, gap)
		}
	}
	if p, err := litestream.CalcRestorePlan(ctx, c, 0, now.Add(-390*day), slog.New(slog.DiscardHandler)); err == nil {
		t.Errorf("390 days ago: got a plan of %d files from %s, want none (beyond a year)", len(p), p[0].CreatedAt)
	}
	if p := plan(time.Time{}); !slices.ContainsFunc(p, func(f *ltx.FileInfo) bool { return f.MaxTXID == newestBefore(now.Add(time.Hour)) }) {
		t.Errorf("latest: the plan does not reach the newest file")
	}
}

func TestPlanBefore(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	files := history(now, time.Hour)
	before := now.Add(-10*day - 3*time.Hour)
	del, base := backup.PlanBefore(files, before)
	if base == nil || base.CreatedAt.Before(before) || now.Sub(base.CreatedAt) > 10*day {
		t.Fatalf("base = %+v, want the first snapshot after %s", base, before)
	}
	gone := map[*ltx.FileInfo]bool{}
	for _, f := range del {
		gone[f] = true
	}
	for level, fs := range files {
		for i, f := range fs {
			switch {
			case f.CreatedAt.Before(base.CreatedAt) && f.MaxTXID < base.MaxTXID && i < len(fs)-1 && !gone[f]:
				t.Errorf("L%d %s-%s of %s kept: before the base", level, f.MinTXID, f.MaxTXID, f.CreatedAt)
			case f.MaxTXID > base.MaxTXID && gone[f]:
				t.Errorf("L%d %s-%s deleted: after the base", level, f.MinTXID, f.MaxTXID)
			case f == base && gone[f]:
				t.Errorf("the base deleted")
			}
		}
	}
	if del, base := backup.PlanBefore(files, now.Add(time.Hour)); base != nil || len(del) != 0 {
		t.Errorf("before a time after every snapshot: base %v, %d to delete; want nothing", base, len(del))
	}
}
