package main

import (
	"context"
	"fmt"
	"os"

	"github.com/casevault/casevault/vault/cell"
	"github.com/casevault/casevault/vault/sqlite"
)

// openCells splits a data directory written before cells (once), then
// opens the service database and each configured region's cell database,
// and the router over them.
func (m *Main) openCells(ctx context.Context) error {
	if err := m.splitLegacy(ctx); err != nil {
		return err
	}
	service, err := sqlite.Open(ctx, m.Config.ServiceDatabasePath())
	if err != nil {
		return fmt.Errorf("service database: %w", err)
	}
	cells := make(map[string]*sqlite.DB)
	router := cell.New(service, cells)
	for _, name := range m.Config.RegionNames() {
		if err := os.MkdirAll(m.Config.CellDir(name), 0o700); err != nil {
			router.Close()
			return fmt.Errorf("region %s: cell: %w", name, err)
		}
		db, err := sqlite.Open(ctx, m.Config.CellDatabasePath(name))
		if err != nil {
			router.Close()
			return fmt.Errorf("region %s: database: %w", name, err)
		}
		cells[name] = db
	}
	if err := router.Repair(ctx); err != nil {
		router.Close()
		return fmt.Errorf("directory: %w", err)
	}
	m.DB = router
	return nil
}

// newSplit is the split of this configuration's legacy databases.
func (m *Main) newSplit() *cell.Split {
	c := &m.Config
	return &cell.Split{
		LegacyDB: c.LegacyDatabasePath(), LegacyAudit: c.LegacyAuditPath(),
		ServiceDB: c.ServiceDatabasePath(), ServiceAudit: c.ServiceAuditPath(),
		CellDB: c.CellDatabasePath, CellAudit: c.CellAuditPath, Regions: c.RegionNames(),
	}
}

// splitLegacy splits the one casevault.db and audit.db of a release before
// cells into the cells of their firms' regions, if they are there.
func (m *Main) splitLegacy(ctx context.Context) error {
	res, err := m.newSplit().Run(ctx)
	if err != nil {
		return fmt.Errorf("split into cells: %w", err)
	}
	if res.Done {
		ev := m.Log.Info()
		for region, n := range res.Tenants {
			ev = ev.Int("firms_"+region, n)
		}
		ev.Msg("split the databases written before cells into one cell per region")
	}
	return nil
}
