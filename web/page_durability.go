package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// durabilityPageData is what the durability page's template receives.
type durabilityPageData struct {
	Region  string
	Backups []durabilityBackupRow
	Drill   *durabilityDrillRow
	Mirror  *mirrorJSON
}

// durabilityBackupRow is one database's backup, in words.
type durabilityBackupRow struct {
	Database string
	LastSync string // "never" before the first
	Age      string
	Interval string
	Stale    bool
}

// durabilityDrillRow is the last drill, in words.
type durabilityDrillRow struct {
	ID       string
	Finished time.Time
	OK       bool
	RPO, RTO string
	Failure  string
}

// handleDurabilityPage answers GET /durability: the firm's region's
// backups, last restore drill and mirror, for owners and auditors, as GET
// /api/v1/durability shows them; others get the human error page.
func (s *Server) handleDurabilityPage(c *gin.Context) {
	d, err := s.durabilityOf(c)
	if err != nil {
		s.renderError(c, err)
		return
	}
	j := durabilityJSON(d, s.Service.Now())
	data := durabilityPageData{Region: j.Region, Mirror: j.Mirror}
	for _, b := range j.Backups {
		row := durabilityBackupRow{Database: b.Database, LastSync: "never", Age: seconds(b.AgeSeconds), Interval: seconds(b.IntervalSeconds), Stale: b.Stale}
		if b.LastSync != nil {
			row.LastSync = b.LastSync.Format("2 Jan 2006 15:04:05 UTC")
		}
		data.Backups = append(data.Backups, row)
	}
	if r := j.Drill; r != nil {
		data.Drill = &durabilityDrillRow{ID: r.ID, Finished: r.Finished, OK: r.OK, Failure: r.Failure}
		if r.RPOSeconds != nil {
			data.Drill.RPO, data.Drill.RTO = seconds(*r.RPOSeconds), seconds(*r.RTOSeconds)
		}
	}
	c.Header("Cache-Control", "no-store")
	s.render(c, http.StatusOK, "durability", pageData{Title: "Durability", Data: data})
}

// seconds says a number of seconds in a short human form: "7s", "3m 20s".
func seconds(v float64) string {
	return (time.Duration(v) * time.Second).Round(time.Second).String()
}
