package cell

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/casevault/casevault/vault"
)

// The data directory written by the release before cells, with a us and a
// ca firm (cmd/casevault TestPrecellsFixture checks it end to end).
const fixtureDir = "../../testdata/precells/data"

// fixtureSplit copies the fixture's two databases into a temporary data
// dir and returns the split of them.
func fixtureSplit(t *testing.T) (*Split, string) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"casevault.db", "audit.db"} {
		b, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cellPath := func(name string) func(string) string {
		return func(region string) string { return filepath.Join(dir, "regions", region, name) }
	}
	return &Split{
		LegacyDB: filepath.Join(dir, "casevault.db"), LegacyAudit: filepath.Join(dir, "audit.db"),
		ServiceDB: filepath.Join(dir, "service.db"), ServiceAudit: filepath.Join(dir, "service-audit.db"),
		CellDB: cellPath("casevault.db"), CellAudit: cellPath("audit.db"), Regions: []string{"ca", "us"},
	}, dir
}

// contents returns, for every table of the database at path, its rows
// grouped by firm ("" for rows of no firm, "*" for tables without one).
func contents(t *testing.T, path string) map[string]map[string]int {
	t.Helper()
	db, err := openRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	tables, err := tenantTables(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]int{}
	for _, tt := range tables {
		rows, err := db.QueryContext(ctx, `SELECT `+tt.column+`, count(*) FROM "`+tt.name+`" GROUP BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		out[tt.name] = map[string]int{}
		for rows.Next() {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				t.Fatal(err)
			}
			out[tt.name][id] = n
		}
		rows.Close()
	}
	return out
}

func triggerCount(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'trigger'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSplit_Fixture splits the fixture: each cell's copies hold exactly
// its firm's rows, as many as the legacy files held, the service copies
// hold no firm's row, the audit copies keep their append-only triggers,
// the legacy files are gone and a second run does nothing.
func TestSplit_Fixture(t *testing.T) {
	s, dir := fixtureSplit(t)
	legacyMeta, legacyAudit := contents(t, s.LegacyDB), contents(t, s.LegacyAudit)
	triggers := triggerCount(t, s.LegacyAudit)
	tenants, err := legacyTenants(context.Background(), s.LegacyDB)
	if err != nil || len(tenants) != 2 {
		t.Fatalf("fixture firms: %v (%v), want 2", tenants, err)
	}
	res, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done || res.Tenants["us"] != 1 || res.Tenants["ca"] != 1 {
		t.Fatalf("result %+v, want done with one firm in each region", res)
	}
	for id, region := range tenants {
		for _, c := range []struct {
			path   string
			legacy map[string]map[string]int
		}{{s.CellDB(region), legacyMeta}, {s.CellAudit(region), legacyAudit}} {
			got := contents(t, c.path)
			for table, byFirm := range got {
				want := map[string]int{}
				if n := c.legacy[table][id]; n > 0 {
					want[id] = n
				}
				if !reflect.DeepEqual(byFirm, want) {
					t.Errorf("%s %s: rows by firm %v, want %v", filepath.Base(c.path), table, byFirm, want)
				}
			}
		}
		if got := triggerCount(t, s.CellAudit(region)); got != triggers {
			t.Errorf("cell %s audit.db: %d triggers, want %d", region, got, triggers)
		}
	}
	for table, byFirm := range contents(t, s.ServiceDB) {
		if len(byFirm) > 0 {
			t.Errorf("service.db %s: rows of firms %v, want none", table, byFirm)
		}
	}
	for table, byFirm := range contents(t, s.ServiceAudit) {
		for id, n := range byFirm {
			if id != "" || n != legacyAudit[table][""] {
				t.Errorf("service-audit.db %s: %d rows of %q, want only the service log's %d", table, n, id, legacyAudit[table][""])
			}
		}
	}
	for _, name := range []string{"casevault.db", "audit.db", "casevault.db-wal", "audit.db-wal"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s still there after the split (%v)", name, err)
		}
	}
	if res, err := s.Run(context.Background()); err != nil || res.Done {
		t.Errorf("second run: %+v, %v; want nothing done", res, err)
	}
}

// TestSplit_ResumesAfterCrash stops the split after each rename in turn,
// as a crash would, and reruns it: the result is the same as an
// uninterrupted split's.
func TestSplit_ResumesAfterCrash(t *testing.T) {
	clean, _ := fixtureSplit(t)
	if _, err := clean.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]map[string]int{}
	for _, region := range clean.Regions {
		want[region+"/casevault.db"] = contents(t, clean.CellDB(region))
		want[region+"/audit.db"] = contents(t, clean.CellAudit(region))
	}
	for stop := 1; stop <= 5; stop++ {
		s, _ := fixtureSplit(t)
		s.stopAfter = stop
		if _, err := s.Run(context.Background()); err != errStopped {
			t.Fatalf("stop after %d: %v, want the test's stop", stop, err)
		}
		s.stopAfter = 0
		if res, err := s.Run(context.Background()); err != nil || !res.Done {
			t.Fatalf("rerun after stop %d: %+v, %v", stop, res, err)
		}
		for _, region := range s.Regions {
			for name, path := range map[string]string{"/casevault.db": s.CellDB(region), "/audit.db": s.CellAudit(region)} {
				if got := contents(t, path); !reflect.DeepEqual(got, want[region+name]) {
					t.Errorf("stop after %d: %s%s = %v, want %v", stop, region, name, got, want[region+name])
				}
			}
		}
	}
}

// TestSplit_Refusals: a firm of a region the configuration does not list,
// and a service database beside the legacy one that the split did not
// write, stop the split with a clear error and touch nothing.
func TestSplit_Refusals(t *testing.T) {
	s, _ := fixtureSplit(t)
	s.Regions = []string{"us"}
	_, err := s.Run(context.Background())
	if !vault.IsCode(err, vault.EINVALID) || !strings.Contains(err.Error(), "region ca") {
		t.Errorf("unconfigured region: %v, want invalid naming region ca", err)
	}
	if !s.Needed() {
		t.Error("legacy database gone after a refused split")
	}

	s, _ = fixtureSplit(t)
	if err := os.WriteFile(s.ServiceDB, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := openRaw(s.ServiceDB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE settings (key TEXT PRIMARY KEY, value BLOB, updated_at TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = s.Run(context.Background())
	if !vault.IsCode(err, vault.EINVALID) || !strings.Contains(err.Error(), "move one of them away") {
		t.Errorf("unmarked service database: %v, want invalid", err)
	}
	if !s.Needed() {
		t.Error("legacy database gone after a refused split")
	}
}
