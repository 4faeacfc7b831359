package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/casevault/casevault/vault"
)

// durabilityResponse is the body of GET /api/v1/durability (docs/API.md,
// "Durability"): the firm's region's backups, last drill and mirror.
type durabilityResponse struct {
	Region  string       `json:"region"`
	Backups []backupJSON `json:"backups"`
	Drill   *drillJSON   `json:"drill"`
	Mirror  *mirrorJSON  `json:"mirror"`
	At      time.Time    `json:"at"`
}

type backupJSON struct {
	Database        string     `json:"database"`
	LastSync        *time.Time `json:"last_sync"`
	AgeSeconds      float64    `json:"age_seconds"`
	IntervalSeconds float64    `json:"interval_seconds"`
	Stale           bool       `json:"stale"`
	Error           string     `json:"error"`
}

type drillJSON struct {
	ID         string    `json:"id"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	OK         bool      `json:"ok"`
	RPOSeconds *float64  `json:"rpo_seconds"`
	RTOSeconds *float64  `json:"rto_seconds"`
	Failure    string    `json:"failure"`
}

type mirrorJSON struct {
	Required          bool       `json:"required"`
	Pending           int64      `json:"pending"`
	OldestPending     *time.Time `json:"oldest_pending"`
	Fallbacks         int64      `json:"fallbacks"`
	Repaired          int64      `json:"repaired"`
	LastScrub         *time.Time `json:"last_scrub"`
	LastScrubFindings int64      `json:"last_scrub_findings"`
	LastScrubError    string     `json:"last_scrub_error"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// durabilityJSON is d as the API shows it, at now.
func durabilityJSON(d vault.Durability, now time.Time) durabilityResponse {
	out := durabilityResponse{Region: d.Region, Backups: []backupJSON{}, At: now.UTC()}
	for _, b := range d.Backups {
		out.Backups = append(out.Backups, backupJSON{
			Database: b.Database, LastSync: timePtr(b.LastSync), AgeSeconds: b.Age(now).Seconds(),
			IntervalSeconds: b.Interval.Seconds(), Stale: b.Stale(now), Error: b.Err,
		})
	}
	if r := d.Drill; r != nil {
		out.Drill = &drillJSON{ID: r.ID, Started: r.Started.UTC(), Finished: r.Finished.UTC(), OK: r.OK, Failure: r.Failure}
		if r.OK {
			rpo, rto := r.RPO.Seconds(), r.RTO.Seconds()
			out.Drill.RPOSeconds, out.Drill.RTOSeconds = &rpo, &rto
		}
	}
	if m := d.Mirror; m != nil {
		out.Mirror = &mirrorJSON{Required: m.Required, Pending: m.Pending, OldestPending: timePtr(m.OldestPending),
			Fallbacks: m.Fallbacks, Repaired: m.Repaired, LastScrub: timePtr(m.LastScrub),
			LastScrubFindings: m.LastScrubFindings, LastScrubError: m.LastScrubErr}
	}
	return out
}

// durabilityOf returns the actor's firm's region's figures: owners and
// auditors only (vault.Service.DurabilityRegion decides).
func (s *Server) durabilityOf(c *gin.Context) (vault.Durability, error) {
	region, err := s.Service.DurabilityRegion(c.Request.Context(), actorOf(c))
	if err != nil {
		return vault.Durability{}, err
	}
	if s.Durability == nil {
		return vault.Durability{Region: region}, nil
	}
	return s.Durability(region), nil
}

// handleDurability answers GET /api/v1/durability.
func (s *Server) handleDurability(c *gin.Context) {
	d, err := s.durabilityOf(c)
	if err != nil {
		s.Error(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	writeJSON(c, http.StatusOK, durabilityJSON(d, s.Service.Now()))
}

// backupChecks adds a check "backup:NAME" per region to /readyz: "ok",
// "stale" (a database's last sync is older than its limit) or "off". They
// never fail readiness, which is about serving traffic: a stale backup is
// an alert (/metrics, the log), not a reason to stop serving.
func (s *Server) backupChecks(checks map[string]string) {
	if s.Durability == nil {
		return
	}
	now := s.Service.Now()
	for _, region := range s.Service.RegionNames() {
		d := s.Durability(region)
		state := "off"
		if len(d.Backups) > 0 {
			state = "ok"
		}
		for _, b := range d.Backups {
			if b.Stale(now) {
				state = "stale"
			}
		}
		checks["backup:"+region] = state
	}
}

// durabilityCollector exposes each region's backup ages and last drill,
// read at scrape time. Unchecked: regions are known once wired.
type durabilityCollector struct{ s *Server }

var (
	descBackupAge   = prometheus.NewDesc("casevault_backup_age_seconds", "Seconds since the database's backup last synced (since the start when it never did).", []string{"region", "database"}, nil)
	descBackupStale = prometheus.NewDesc("casevault_backup_stale", "1 when the database's backup is stale: its last sync is older than 3 sync intervals and at least a minute. Alert on 1.", []string{"region", "database"}, nil)
	descDrillLast   = prometheus.NewDesc("casevault_drill_last_timestamp_seconds", "When the region's last restore drill finished (Unix time).", []string{"region"}, nil)
	descDrillOK     = prometheus.NewDesc("casevault_drill_last_ok", "1 when the region's last restore drill passed, 0 when it failed. Alert on 0.", []string{"region"}, nil)
	descDrillRPO    = prometheus.NewDesc("casevault_drill_rpo_seconds", "Age of the newest data in the backup when the region's last passing drill restored it.", []string{"region"}, nil)
	descDrillRTO    = prometheus.NewDesc("casevault_drill_rto_seconds", "Time from the start of the region's last passing drill to a restored cell that passed its checks.", []string{"region"}, nil)
)

func (durabilityCollector) Describe(chan<- *prometheus.Desc) {}

func (c durabilityCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	if s.Durability == nil {
		return
	}
	now := s.Service.Now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, region := range s.Service.RegionNames() {
		d := s.Durability(region)
		for _, b := range d.Backups {
			gauge(descBackupAge, b.Age(now).Seconds(), region, b.Database)
			stale := 0.0
			if b.Stale(now) {
				stale = 1
			}
			gauge(descBackupStale, stale, region, b.Database)
		}
		if r := d.Drill; r != nil {
			gauge(descDrillLast, float64(r.Finished.UnixNano())/1e9, region)
			ok := 0.0
			if r.OK {
				ok = 1
				gauge(descDrillRPO, r.RPO.Seconds(), region)
				gauge(descDrillRTO, r.RTO.Seconds(), region)
			}
			gauge(descDrillOK, ok, region)
		}
	}
}
