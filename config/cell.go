package config

import (
	"fmt"
	"path/filepath"
)

// Each region is a cell: its firms' metadata database, audit database,
// blob store and keys are its own, under its own paths. Only what no firm
// owns is service-wide, in DataDir: the service database (the setup token,
// the directory of firm ids and keyed email hashes to regions, the sign-in
// throttle's keyed hashes) and the service audit log.

// CellDir returns the directory of region name's cell: its dir, or
// DataDir/regions/NAME.
func (c *Config) CellDir(name string) string {
	if d := c.Regions[name].Dir; d != "" {
		return d
	}
	return filepath.Join(c.DataDir, "regions", name)
}

// CellDatabasePath is the metadata database of region name's firms.
func (c *Config) CellDatabasePath(name string) string {
	return filepath.Join(c.CellDir(name), "casevault.db")
}

// CellAuditPath is the audit log of region name's firms.
func (c *Config) CellAuditPath(name string) string {
	return filepath.Join(c.CellDir(name), "audit.db")
}

// ServiceDatabasePath is the service-wide database, which holds no firm's
// data: the setup token, the directory (firm id → region, keyed email hash
// → region) and the sign-in throttle's keyed hashes.
func (c *Config) ServiceDatabasePath() string { return filepath.Join(c.DataDir, "service.db") }

// ServiceAuditPath is the service-wide audit log: events of no firm, such
// as sign-in failures of unknown accounts (emails only as keyed hashes).
func (c *Config) ServiceAuditPath() string { return filepath.Join(c.DataDir, "service-audit.db") }

// LegacyDatabasePath is the one metadata database of every firm written
// by releases before cells; Main splits it into cells and removes it.
func (c *Config) LegacyDatabasePath() string { return filepath.Join(c.DataDir, "casevault.db") }

// LegacyAuditPath is the one audit log of every firm written by releases
// before cells; Main splits it into cells and removes it.
func (c *Config) LegacyAuditPath() string { return filepath.Join(c.DataDir, "audit.db") }

// validateCells refuses cells that overlap each other, hold keys, or sit
// where the service-wide files are.
func (c *Config) validateCells() error {
	names := c.RegionNames()
	for _, a := range names {
		da := c.CellDir(a)
		if within(c.DataDir, da) {
			return fmt.Errorf("config: regions.%s.dir: %q is data_dir itself or holds it; a cell needs a directory of its own, apart from the service-wide files", a, da)
		}
		if within(c.KeyDir(), da) || within(c.MasterKeyPath(a), da) {
			return fmt.Errorf("config: regions.%s.dir: %q holds keys; keep keys apart from the data", a, da)
		}
	}
	for i, a := range names {
		da := c.CellDir(a)
		for _, b := range names[i+1:] {
			db := c.CellDir(b)
			if within(da, db) || within(db, da) {
				return fmt.Errorf("config: regions.%s.dir and regions.%s.dir: %q and %q overlap; each cell needs a directory of its own", a, b, da, db)
			}
			if pa, pb := c.RegionPath(a), c.RegionPath(b); c.Regions[a].Type == StoreFS && c.Regions[b].Type == StoreFS && (within(pa, pb) || within(pb, pa)) {
				return fmt.Errorf("config: regions.%s.path and regions.%s.path: %q and %q overlap", a, b, pa, pb)
			}
		}
		if c.Regions[a].Type == StoreFS {
			for _, b := range names {
				if b != a && within(c.RegionPath(a), c.CellDir(b)) {
					return fmt.Errorf("config: regions.%s.path: %q lies inside the cell of region %s", a, c.RegionPath(a), b)
				}
			}
		}
	}
	return nil
}
