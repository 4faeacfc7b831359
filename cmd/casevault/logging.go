package main

import (
	"context"
	"io"

	"github.com/rs/zerolog"

	"github.com/casevault/casevault/internal/celllog"
)

// Cell log files rotate past cellLogMaxBytes, keeping cellLogKeep old
// files (casevault.log.1 the newest): at most about 320 MiB a cell.
const (
	cellLogMaxBytes = 64 << 20
	cellLogKeep     = 4
)

// newRootLogger builds the root logger: JSON lines at the configured level,
// through a celllog.Writer. A line about a firm (it has a tenant_id) goes
// whole to CELL/log/casevault.log of the firm's cell and redacted to
// stderr, the operator's service log; every other line goes to stderr as
// it is. Until the directory is open (openCells), a firm's lines are only
// redacted.
func (m *Main) newRootLogger(stderr io.Writer) zerolog.Logger {
	w := celllog.New(stderr, m.cellLogDir)
	w.MaxFileBytes, w.Keep = cellLogMaxBytes, cellLogKeep
	w.SetResolver(m.firmRegion)
	m.cellLogs = w
	return newLogger(w, m.Config.LogLevel)
}

// cellLogDir is the directory of region's cell, ok only when this process
// serves it: a line of a firm in another region goes to no file here.
func (m *Main) cellLogDir(region string) (string, bool) {
	if m.DB == nil {
		return "", false
	}
	if _, ok := m.DB.Cells[region]; !ok {
		return "", false
	}
	return m.Config.CellDir(region), true
}

// firmRegion is the region of firm tenantID in the directory (read on each
// line, so a moved firm's lines follow it at once).
func (m *Main) firmRegion(tenantID string) (string, bool) {
	if m.DB == nil {
		return "", false
	}
	region, err := m.DB.Region(context.Background(), tenantID)
	return region, err == nil
}
