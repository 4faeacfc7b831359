package main

import (
	"context"
	"time"

	"github.com/casevault/casevault/backup"
	"github.com/casevault/casevault/vault"
)

// backupWatchEvery is how often serve looks for stale backups.
const backupWatchEvery = 5 * time.Second

// durability returns region's durability figures now (web.Server's
// Durability: GET /api/v1/durability, /metrics, /readyz): each database's
// backup, the last drill and the mirror, when the region's store has one.
func (m *Main) durability(region string) vault.Durability {
	d := vault.Durability{Region: region}
	if r := m.drills.backup(region); r != nil {
		since := m.drills.since
		for _, db := range []string{backup.DBMetadata, backup.DBAudit} {
			d.Backups = append(d.Backups, vault.BackupStatus{
				Database: db, LastSync: r.LastSync(db), Interval: m.Config.BackupInterval(region), Since: since,
			})
		}
	}
	d.Drill = m.drills.Last(region)
	if mr, ok := m.Service.Regions[region].(vault.MirrorReporter); ok {
		st := mr.MirrorStats()
		d.Mirror = &st
	}
	return d
}

// setBackups makes the backups Run started known to the figures; until
// then a region shows none.
func (d *drillRunner) setBackups(b map[string]*backup.Replicator) {
	cp := make(map[string]*backup.Replicator, len(b))
	for k, v := range b {
		cp[k] = v
	}
	d.backups.Store(&cp)
}

// backup returns region's backup, or nil.
func (d *drillRunner) backup(region string) *backup.Replicator {
	if d == nil {
		return nil
	}
	if b := d.backups.Load(); b != nil {
		return (*b)[region]
	}
	return nil
}

// watchBackups logs, at error level, each backup that turns stale (its
// last sync older than vault.BackupStatus.StaleAfter), and at info level
// each that is fresh again: once per change, until ctx ends.
func (m *Main) watchBackups(ctx context.Context) {
	stale := map[string]bool{}
	t := time.NewTicker(backupWatchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		for _, region := range m.DB.Regions() {
			for _, b := range m.durability(region).Backups {
				k := region + "/" + b.Database
				is := b.Stale(now)
				if is == stale[k] {
					continue
				}
				stale[k] = is
				log := m.Log.With().Str("component", "backup").Str("region", region).Str("database", b.Database).
					Dur("age", b.Age(now)).Dur("stale_after", b.StaleAfter()).Logger()
				if is {
					log.Error().Msg("backup is stale: its last sync is older than three sync intervals")
					if err := m.Service.NotifyBackupLate(ctx, region, b.Database); err != nil {
						log.Warn().Err(err).Msg("cannot notify the region's firms of a stale backup")
					}
				} else {
					log.Info().Msg("backup is fresh again")
				}
			}
		}
	}
}
