package main

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casevault/casevault/backup"
	"github.com/casevault/casevault/drill"
	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/web"
)

// drillRunner runs the restore drills of the serving process: those the
// schedule starts (regions.NAME.backup.drill_interval) and those the
// operator API asks for (`casevault drill` while a server runs). It runs
// at most one drill per region at a time, remembers the last of each and
// logs a change of outcome at error level (an alert).
type drillRunner struct {
	m *Main
	// since is when the backups started: a backup that never synced is
	// as old as this.
	since time.Time
	// backups are the cells' backups once Run started them.
	backups atomic.Pointer[map[string]*backup.Replicator]

	ctx    context.Context // cancelled by Close: drills and the schedule stop
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	jobs    map[string]*web.DrillStatus // by region
	last    map[string]*drill.Record    // by region, the last finished drill
	alerted map[string]bool             // by region: the last drill failed and was alerted
}

var _ web.DrillOperator = (*drillRunner)(nil)

// newDrillRunner wires the drills over the opened program, starting from
// the newest record each cell kept.
func (m *Main) newDrillRunner(ctx context.Context) *drillRunner {
	d := &drillRunner{m: m, since: time.Now(), jobs: map[string]*web.DrillStatus{}, last: map[string]*drill.Record{}, alerted: map[string]bool{}}
	d.ctx, d.cancel = context.WithCancel(context.WithoutCancel(ctx))
	// Litestream's restore logs through slog's default logger: into ours.
	slog.SetDefault(slog.New(&zerologHandler{log: m.Log.With().Str("component", "drill").Logger()}))
	for _, region := range m.DB.Regions() {
		if r := m.lastDrill(region); r != nil {
			d.last[region] = r
			d.alerted[region] = !r.OK
		}
	}
	return d
}

// StartDrill starts a drill of region in the background and returns its
// status, or the status of the one running. Errors: invalid (a region not
// served, or whose backups are off), unavailable (shutting down).
func (d *drillRunner) StartDrill(_ context.Context, region string) (web.DrillStatus, error) {
	if !d.served(region) {
		return web.DrillStatus{}, vault.Errorf(vault.EINVALID, "Region %q is not served here.", region)
	}
	if !d.m.Config.BackupEnabled(region) {
		return web.DrillStatus{}, vault.Errorf(vault.EINVALID, "Region %s's backups are off: there is nothing to drill.", region)
	}
	st, ok := d.start(region)
	if !ok && d.ctx.Err() != nil {
		return web.DrillStatus{}, vault.Errorf(vault.EUNAVAILABLE, "The server is shutting down.")
	}
	return st, nil
}

func (d *drillRunner) served(region string) bool {
	for _, r := range d.m.DB.Regions() {
		if r == region {
			return true
		}
	}
	return false
}

// start starts a drill of region unless one runs; it reports whether it
// started one.
func (d *drillRunner) start(region string) (web.DrillStatus, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if st := d.jobs[region]; st != nil && st.Running {
		return *st, false
	}
	if d.ctx.Err() != nil {
		return web.DrillStatus{}, false
	}
	st := &web.DrillStatus{Region: region, ID: drill.NewID(), Running: true}
	d.jobs[region] = st
	d.wg.Go(func() { d.run(region, st.ID) })
	return *st, true
}

// run runs one drill and records how it ended.
func (d *drillRunner) run(region, id string) {
	log := d.m.Log.With().Str("component", "drill").Str("region", region).Str("drill_id", id).Logger()
	log.Info().Msg("restore drill started")
	rec, signed, err := d.m.runDrill(d.ctx, region, id)
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.jobs[region]
	st.Running = false
	if rec != nil {
		st.Drill = rec
		st.Record = string(signed)
	}
	if err != nil {
		st.ErrorCode, st.Error = vault.ErrorCode(err), vault.ErrorMessage(err)
		if st.ErrorCode == vault.EINTERNAL {
			st.Error = "Internal error (see the server log)."
		}
		if d.ctx.Err() != nil {
			log.Info().Err(err).Msg("restore drill stopped by the shutdown")
		} else {
			log.Error().Err(err).Msg("restore drill could not be recorded")
		}
	}
	if rec == nil || signed == nil || d.ctx.Err() != nil {
		return // not recorded, or stopped by the shutdown: no alert
	}
	d.last[region] = rec
	ev := log.Info()
	switch {
	case !rec.OK && !d.alerted[region]:
		ev = log.Error()
		d.alerted[region] = true
	case !rec.OK:
		ev = log.Warn() // still failing: alerted at the change
	case d.alerted[region]:
		d.alerted[region] = false
		log.Info().Msg("restore drills pass again")
	}
	e := ev.Bool("ok", rec.OK).Str("failure", rec.Failure)
	if rec.RPOms != nil {
		e = e.Int64("rpo_ms", *rec.RPOms)
	}
	if rec.RTOms != nil {
		e = e.Int64("rto_ms", *rec.RTOms)
	}
	e.Msg("restore drill finished")
}

// Drills returns the status of each served region's drill: the one running
// or the last one.
func (d *drillRunner) Drills(context.Context) ([]web.DrillStatus, error) {
	var out []web.DrillStatus
	for _, region := range d.m.DB.Regions() {
		st, err := d.Drill(context.Background(), region)
		if err == nil {
			out = append(out, st)
		}
	}
	return out, nil
}

// Drill returns region's drill: the one running, or the last this process
// ran, or the last its cell kept. Errors: not_found (none), invalid
// (a region not served).
func (d *drillRunner) Drill(_ context.Context, region string) (web.DrillStatus, error) {
	if !d.served(region) {
		return web.DrillStatus{}, vault.Errorf(vault.ENOTFOUND, "Region %q is not served here.", region)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if st := d.jobs[region]; st != nil {
		return *st, nil
	}
	if r := d.last[region]; r != nil {
		return web.DrillStatus{Region: region, ID: r.ID, Drill: r}, nil
	}
	return web.DrillStatus{}, vault.Errorf(vault.ENOTFOUND, "No drill of region %s yet.", region)
}

// Last returns region's last finished drill, or nil.
func (d *drillRunner) Last(region string) *vault.DrillSummary {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.last[region]
	if r == nil {
		return nil
	}
	s := r.Summary()
	return &s
}

// schedule runs a drill of each served region whose drills are on, first
// after its drill_delay and then every drill_interval, until Close. A
// drill still running when the next is due is not doubled.
func (d *drillRunner) schedule() {
	for _, region := range d.m.DB.Regions() {
		every := d.m.Config.DrillInterval(region)
		if every == 0 {
			continue
		}
		delay := d.m.Config.DrillDelay(region)
		d.wg.Go(func() {
			t := time.NewTimer(delay)
			defer t.Stop()
			for {
				select {
				case <-d.ctx.Done():
					return
				case <-t.C:
				}
				d.start(region)
				t.Reset(every)
			}
		})
	}
}

// Close stops the schedule and the drills running (a drill stopped midway
// leaves no record; its restore is deleted) and waits for them.
func (d *drillRunner) Close() {
	if d == nil {
		return
	}
	d.cancel()
	d.wg.Wait()
}
