package vault

import "time"

// Durability is what a region's durability looks like now: its backups,
// its last restore drill and its mirror. Owners and auditors read it
// through GET /api/v1/durability; /metrics and /readyz show the same
// figures. Nothing here names a firm, a matter or a document.
type Durability struct {
	Region  string
	Backups []BackupStatus // one per database; none when backups are off
	Drill   *DrillSummary  // nil before the first drill
	Mirror  *MirrorStats   // nil when the region has no mirror
}

// BackupStatus is the state of one database's continuous backup.
type BackupStatus struct {
	Database string        // "casevault" or "audit"
	LastSync time.Time     // zero before the first sync
	Interval time.Duration // the configured sync interval
	// Since is when this process started backing the database up: the
	// age of a backup that never synced counts from it.
	Since time.Time
	// Err is the last sync's failure, "" when it succeeded.
	Err string
}

// Age is how long ago the backup last synced, at now (since Since when it
// never did).
func (b BackupStatus) Age(now time.Time) time.Duration {
	last := b.LastSync
	if last.IsZero() {
		last = b.Since
	}
	if last.IsZero() || now.Before(last) {
		return 0
	}
	return now.Sub(last)
}

// StaleAfter is how old a backup may grow before it is stale: three sync
// intervals, and at least a minute (README, "Alerts").
func (b BackupStatus) StaleAfter() time.Duration {
	return max(3*b.Interval, time.Minute)
}

// Stale reports whether the backup's last sync is older than StaleAfter
// at now: an alert.
func (b BackupStatus) Stale(now time.Time) bool { return b.Age(now) > b.StaleAfter() }

// DrillSummary is the outcome of a region's last restore drill.
type DrillSummary struct {
	ID       string
	Started  time.Time
	Finished time.Time
	OK       bool
	// RPO is the age of the newest data in the backup when the drill
	// restored it; RTO is the time from the drill's start to a restored
	// cell that passed its checks.
	RPO, RTO time.Duration
	// Failure says what failed when OK is false.
	Failure string
}

// MirrorStats are what a region store with a mirror (a second site) tells
// about it.
type MirrorStats struct {
	// Required is whether an upload commits only once both sites hold it.
	Required bool
	// Pending counts objects known to be missing or damaged on one site
	// and not yet re-copied (the mirror lag); OldestPending is when the
	// oldest of them was found.
	Pending       int64
	OldestPending time.Time
	// Fallbacks counts reads served from the other site since the start;
	// Repaired counts objects re-copied since the start.
	Fallbacks, Repaired int64
	// LastScrub is when the last scrub finished (zero before the first);
	// LastScrubFindings counts what it found missing or damaged, and
	// LastScrubErr is its failure, "" when it completed.
	LastScrub         time.Time
	LastScrubFindings int64
	LastScrubErr      string
}

// MirrorReporter is implemented by a region store that has a mirror.
type MirrorReporter interface {
	MirrorStats() MirrorStats
}
