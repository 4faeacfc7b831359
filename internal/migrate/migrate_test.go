package migrate_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"

	"github.com/casevault/casevault/internal/migrate"
)

// open returns a database with foreign keys on and one connection, so that
// every statement runs on the connection the migrations used.
func open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db")+"?_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func stamp() string { return "now" }

const schema = `
CREATE TABLE parents (id TEXT PRIMARY KEY, legacy TEXT UNIQUE);
CREATE TABLE children (id TEXT PRIMARY KEY, parent_id TEXT NOT NULL REFERENCES parents (id));
INSERT INTO parents VALUES ('p1', 'a'), ('p2', 'b');
INSERT INTO children VALUES ('c1', 'p1'), ('c2', 'p2');
`

// rebuild drops parents' UNIQUE column the way SQLite's documentation says:
// a new table, a copy, a drop and a rename, which foreign key enforcement
// would refuse (the drop deletes every parent).
const rebuild = migrate.NoForeignKeys + `
CREATE TABLE parents_new (id TEXT PRIMARY KEY);
INSERT INTO parents_new SELECT id FROM parents;
DROP TABLE parents;
ALTER TABLE parents_new RENAME TO parents;
`

func TestApply_NoForeignKeys(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	fsys := fstest.MapFS{
		"m/0001_schema.sql":  {Data: []byte(schema)},
		"m/0002_rebuild.sql": {Data: []byte(rebuild)},
	}
	if err := migrate.Apply(ctx, db, fsys, "m/*.sql", stamp); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM children JOIN parents ON parents.id = children.parent_id`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("children still joined to parents = %d, %v; want 2", n, err)
	}
	// Enforcement is back on the connection the migration used.
	if _, err := db.ExecContext(ctx, `INSERT INTO children VALUES ('c3', 'missing')`); err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("orphan insert after the migration = %v, want a FOREIGN KEY error", err)
	}
	// Applied once.
	if err := migrate.Apply(ctx, db, fsys, "m/*.sql", stamp); err != nil {
		t.Fatalf("Apply again: %v", err)
	}

	t.Run("BrokenReference", func(t *testing.T) {
		db := open(t)
		fsys := fstest.MapFS{
			"m/0001_schema.sql": {Data: []byte(schema)},
			"m/0002_lose.sql": {Data: []byte(migrate.NoForeignKeys + `
				CREATE TABLE parents_new (id TEXT PRIMARY KEY);
				INSERT INTO parents_new SELECT id FROM parents WHERE id = 'p1';
				DROP TABLE parents;
				ALTER TABLE parents_new RENAME TO parents;`)},
		}
		err := migrate.Apply(ctx, db, fsys, "m/*.sql", stamp)
		if err == nil || !strings.Contains(err.Error(), "foreign key") {
			t.Fatalf("Apply of a rebuild that loses a parent = %v, want a foreign key error", err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM parents`).Scan(&n); err != nil || n != 2 {
			t.Errorf("parents after the failed migration = %d, %v; want 2 (rolled back)", n, err)
		}
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations WHERE name = '0002_lose.sql'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("failed migration recorded: %d, %v", n, err)
		}
	})
}
