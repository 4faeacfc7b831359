package sqlite_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/casevault/casevault/vault"
	"github.com/casevault/casevault/vault/vaulttest"
)

// fixture is testdata/pre0005/fixture.json: what the code before migration
// 0005 put in that database.
type fixture struct {
	Tenants []*vault.Tenant
	Users   []struct {
		ID, TenantID, Email, Name, Role, Password string
		Disabled                                  bool
	}
	Tokens []struct{ ID, TenantID, UserID, Kind, Name string }
	Docs   []struct {
		ID, TenantID, MatterID, Name string
		ContentTypes                 []string
	}
	Matters []*vault.Matter
	Markers []string
}

// copyFixture copies testdata/pre0005 into a new directory with the file
// modes the service wants (git keeps none), and returns it and the fixture.
func copyFixture(tb testing.TB) (string, *fixture) {
	tb.Helper()
	src := filepath.Join("testdata", "pre0005")
	dir := tb.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o600)
	})
	if err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "fixture.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatal(err)
	}
	return dir, &f
}

// markersIn returns the markers found, case-insensitively, in the bytes of
// the database file, its WAL and its shared-memory file, as "file: marker".
func markersIn(tb testing.TB, dbPath string, markers []string) []string {
	tb.Helper()
	hits, _ := vaulttest.MarkersInDatabase(tb, dbPath, markers...)
	return hits
}

// TestMigration_SealsPlaintext opens a database written by the code before
// migration 0005 (testdata/pre0005) with the current code: every firm, user,
// token, matter and document is still there and reads back the same, every
// account signs in by its email, and not one of the plaintext markers the
// old code wrote is left in the database file, its WAL or its shm file.
func TestMigration_SealsPlaintext(t *testing.T) {
	ctx := context.Background()
	dir, fx := copyFixture(t)
	dbPath := filepath.Join(dir, "casevault.db")
	if hits := markersIn(t, dbPath, fx.Markers); len(hits) < 10 {
		t.Fatalf("the fixture holds only %v in plaintext: it no longer tests the migration", hits)
	}

	v := vaulttest.Open(t, dir, nil)
	if hits := markersIn(t, dbPath, fx.Markers); len(hits) > 0 {
		t.Errorf("plaintext left after the migration: %v", hits)
	}
	checkFixture(t, v, fx)

	t.Run("Schema", func(t *testing.T) {
		checkSchemaText(t, dbPath)
		var n int
		if err := rawDB(t, dbPath).QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations WHERE name LIKE '0005%'`).Scan(&n); err != nil || n != 2 {
			t.Errorf("0005 records = %d, %v; want the SQL and the seal step", n, err)
		}
	})

	t.Run("Reopen", func(t *testing.T) {
		// Sealing is done once: the next start finds it recorded and the
		// data as it left it.
		v.DB.Close()
		v2 := vaulttest.Open(t, dir, nil)
		checkFixture(t, v2, fx)
		v2.DB.Close()
		if hits := markersIn(t, dbPath, fx.Markers); len(hits) > 0 {
			t.Errorf("plaintext after reopening: %v", hits)
		}
	})
}

// checkFixture checks that v holds everything fx lists, read through the
// current code.
// fixtureMade is when testdata/pre0005 was made (its tokens' created_at).
var fixtureMade = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func checkFixture(t *testing.T, v *vaulttest.Vault, fx *fixture) {
	t.Helper()
	ctx := context.Background()
	tenants, err := v.DB.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tenants) != len(fx.Tenants) {
		t.Fatalf("Tenants = %d, want %d", len(tenants), len(fx.Tenants))
	}
	for i, want := range fx.Tenants {
		if got := tenants[i]; got.ID != want.ID || got.Name != want.Name || got.Region != want.Region || got.Damaged() {
			t.Errorf("tenant = %+v, want %+v", got, want)
		}
	}
	for _, want := range fx.Users {
		got, err := v.DB.User(ctx, want.TenantID, want.ID)
		if err != nil {
			t.Fatalf("user %s: %v", want.ID, err)
		}
		if got.Email != want.Email || got.Name != want.Name || string(got.Role) != want.Role || got.Disabled != want.Disabled || got.Damaged() {
			t.Errorf("user = %+v, want %+v", got, want)
		}
		// Found by its email, in any case, through the blind index.
		secret, tok, err := v.Svc.Login(ctx, strings.ToUpper(want.Email), want.Password, "192.0.2.1")
		if want.Disabled {
			if vault.ErrorCode(err) != vault.EUNAUTHORIZED {
				t.Errorf("disabled %s signs in: %v", want.Email, err)
			}
			continue
		}
		if err != nil || tok.UserID != want.ID {
			t.Errorf("Login(%s) = %v, %v; want user %s", want.Email, tok, err, want.ID)
			continue
		}
		if u, _, err := v.Svc.Authenticate(ctx, secret); err != nil || u.ID != want.ID {
			t.Errorf("Authenticate after Login(%s) = %v, %v", want.Email, u, err)
		}
		// As of the fixture's making: its session tokens (12 h) have
		// expired since, and the test must not depend on the day it runs.
		toks, err := v.DB.Tokens(ctx, want.TenantID, want.ID, fixtureMade)
		if err != nil {
			t.Fatal(err)
		}
		for _, wt := range fx.Tokens {
			if wt.UserID != want.ID {
				continue
			}
			i := slices.IndexFunc(toks, func(t *vault.Token) bool { return t.ID == wt.ID })
			if i < 0 || toks[i].Name != wt.Name || toks[i].Kind != wt.Kind || toks[i].Damaged() {
				t.Errorf("token %s of %s = %v, want name %q", wt.ID, want.Email, toks, wt.Name)
			}
		}
	}
	for _, want := range fx.Matters {
		got, err := v.DB.Matter(ctx, want.TenantID, want.ID)
		if err != nil || got.Name != want.Name || got.Client != want.Client {
			t.Errorf("matter = %+v, %v; want %+v", got, err, want)
		}
	}
	for _, want := range fx.Docs {
		got, err := v.DB.Document(ctx, want.TenantID, want.ID)
		if err != nil || got.Name != want.Name || got.ContentType != want.ContentTypes[len(want.ContentTypes)-1] || got.Damaged() {
			t.Errorf("document = %+v, %v; want %+v", got, err, want)
		}
		vs, err := v.DB.Versions(ctx, want.TenantID, want.ID)
		if err != nil || len(vs) != len(want.ContentTypes) {
			t.Fatalf("versions of %s = %v, %v", want.ID, vs, err)
		}
		for i, ct := range want.ContentTypes {
			if vs[i].ContentType != ct || vs[i].Damaged() {
				t.Errorf("version %d of %s = %+v, want content type %q", i+1, want.ID, vs[i], ct)
			}
		}
	}
	// Grants and walls still point at their users.
	for _, tn := range fx.Tenants {
		gs, err := v.DB.Grants(ctx, tn.ID, vault.GrantFilter{})
		if err != nil {
			t.Fatal(err)
		}
		ws, err := v.DB.Walls(ctx, tn.ID, vault.WallFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if tn.ID == fx.Tenants[0].ID && (len(gs) != 1 || len(ws) != 1) {
			t.Errorf("firm %s has %d grants and %d walls, want 1 and 1", tn.ID, len(gs), len(ws))
		}
	}
}

// TestMigration_FirmWithBrokenKeys migrates the fixture after one firm's
// field keyset was damaged: that firm's plaintext cannot be sealed, so it
// is dropped and its fields read as damaged, while the service starts and
// the other firm reads as before.
func TestMigration_FirmWithBrokenKeys(t *testing.T) {
	ctx := context.Background()
	dir, fx := copyFixture(t)
	dbPath := filepath.Join(dir, "casevault.db")
	broken := fx.Tenants[1]
	if _, err := rawDB(t, dbPath).ExecContext(ctx,
		`UPDATE tenants SET field_keyset = substr(field_keyset, 1, 40) || X'00' || substr(field_keyset, 42) WHERE id = ?`, broken.ID); err != nil {
		t.Fatal(err)
	}
	v := vaulttest.Open(t, dir, nil)
	if hits := markersIn(t, dbPath, fx.Markers); len(hits) > 0 {
		t.Errorf("plaintext left after the migration: %v", hits)
	}
	ts, err := v.DB.Tenants(ctx)
	if err != nil {
		t.Fatalf("Tenants: %v", err)
	}
	if len(ts) != 2 || ts[0].Name != fx.Tenants[0].Name || ts[0].Damaged() || ts[1].ID != broken.ID || ts[1].Error != vault.ECANNOTDECRYPT {
		t.Errorf("Tenants = %+v, %+v", ts[0], ts[1])
	}
	for _, want := range fx.Users {
		got, err := v.DB.User(ctx, want.TenantID, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if damaged := want.TenantID == broken.ID; got.Damaged() != damaged || (!damaged && got.Email != want.Email) {
			t.Errorf("user %s = %+v", want.Email, got)
		}
	}
}
