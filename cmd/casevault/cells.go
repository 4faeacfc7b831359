package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/rs/zerolog"

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

// cmdMigrateCells runs `casevault migrate cells`: the split that serve
// otherwise makes at its first start, on its own, with the server
// stopped. It then opens everything as serve would, which checks every
// firm's audit log against the checkpoint anchored for it, and fails if
// one does not extend it.
func cmdMigrateCells(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlagSet("migrate cells", stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	m, err := cf.load(stderr)
	if err != nil {
		return err
	}
	if err := m.Config.Validate(); err != nil {
		return err
	}
	res, err := m.newSplit().Run(ctx)
	if err != nil {
		return fmt.Errorf("split into cells: %w", err)
	}
	m.Log = m.Log.Level(zerolog.WarnLevel)
	if err := m.Open(ctx); err != nil {
		m.Close()
		return err
	}
	defer m.Close()
	diverged := m.Audit.Diverged()
	if *asJSON {
		if err := writeJSON(stdout, map[string]any{"split": res.Done, "firms": res.Tenants, "rows": res.Rows, "diverged": diverged}); err != nil {
			return err
		}
	} else {
		if res.Done {
			fmt.Fprintln(stdout, "Split the databases written before cells into one cell per region:")
			for _, region := range m.Config.RegionNames() {
				fmt.Fprintf(stdout, "  %s: %d firms, %d rows, in %s\n", region, res.Tenants[region], res.Rows[region], m.Config.CellDir(region))
			}
		} else {
			fmt.Fprintln(stdout, "Nothing to split: the data directory is already in cells.")
		}
		for tenant, why := range diverged {
			fmt.Fprintf(stdout, "Audit log of %s does not extend its anchored checkpoint: %s\n", tenant, why)
		}
	}
	if len(diverged) > 0 {
		return errReported
	}
	return nil
}
